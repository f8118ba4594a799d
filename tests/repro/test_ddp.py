"""DDP: `torchrun --nproc_per_node 2 tools/reproduce ...` with the gloo backend on CPU gives the smoke accuracy of one
process; the evaluation slices of the ranks cover every image exactly once; only rank 0 writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from vpeft.cli import main
from vpeft.repro import distributed, smoke

from tests.conftest import CATALOG

REPO = Path(__file__).resolve().parents[2]
RUN = ["lora", "--smoke", "--tasks", "svhn", "--no-progress"]


@pytest.mark.parametrize(("world", "count"), [(2, 400), (2, 401), (3, 400), (4, 3), (8, 5)])
def test_the_evaluation_slices_cover_each_image_once(world: int, count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distributed, "active", lambda: True)
    monkeypatch.setenv("WORLD_SIZE", str(world))
    slices = []
    for r in range(world):
        monkeypatch.setattr(distributed, "rank", lambda r=r: r)
        slices.append(distributed.eval_indices(count))
    flat = [i for s in slices for i in s]
    assert sorted(flat) == list(range(count))  # nothing dropped, nothing repeated (no padding)


def test_a_batch_that_does_not_split_over_the_ranks_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distributed, "active", lambda: True)
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert distributed.per_rank_batch(48) == 16
    with pytest.raises(distributed.UserError, match="--nproc_per_node 3: the batch size 50"):
        distributed.per_rank_batch(50)


def _accuracy(out: Path) -> float:
    return json.loads((out / "record.json").read_text(encoding="utf-8"))["tasks"]["svhn"]["accuracy"]


@pytest.mark.slow
def test_torchrun_with_two_gloo_processes_gives_the_accuracy_of_one(smoke_ready: Path, tmp_path: Path) -> None:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    assert torchrun is not None, "torchrun comes with torch"
    data = ["--data-root", str(smoke_ready), "--weights", str(smoke_ready / smoke.BACKBONE_FILE)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    two = tmp_path / "two"
    done = subprocess.run([torchrun, "--nproc_per_node", "2", "--standalone", str(REPO / "tools" / "reproduce"),
                           *RUN, *data, "--out", str(two)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("record: ") == 1  # one report: rank 1 prints nothing
    one = tmp_path / "one"
    assert main(["--catalog", str(CATALOG), "reproduce", *RUN, *data, "--out", str(one)]) == 0
    # The ranks train on the same global batches (DistributedSampler's permutation is the single loader's); only the
    # order of floating-point sums differs, which AdamW's first steps can amplify by a few test images.
    assert abs(_accuracy(two) - _accuracy(one)) <= 1.0, (_accuracy(two), _accuracy(one))
    log_two = json.loads((two / "record.json").read_text())["tasks"]["svhn"]["phases"][0]
    assert log_two["log"][0]["loss"] == pytest.approx(
        json.loads((one / "record.json").read_text())["tasks"]["svhn"]["phases"][0]["log"][0]["loss"], rel=0.05)
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())
    assert (json.loads((two / "record.json").read_text())["processes"],
            json.loads((one / "record.json").read_text())["processes"]) == (2, 1)
