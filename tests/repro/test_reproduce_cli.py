"""`tools/reproduce` end to end on the smoke data: the executable, resume after an interruption, usage and data
errors (exit 2, one line, no traceback), and `vpeft results add` on a record of a run over a VTAB-layout folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from vpeft.catalog.service import valid_catalog
from vpeft.cli import main
from vpeft.repro.train import STOP_ENV

from tests.conftest import CATALOG, ROOT

# a short run of the lora recipe on the smoke folder, every value the tiny model needs given with --set
SHORT = ["--model", "smoke-vit", "--set", "epochs=2", "--set", "warmup_epochs=1", "--set", "image_size=16",
         "--set", "batch_size=100", "--no-progress"]


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_executable_runs_vpt_smoke(smoke_ready: Path, tmp_path: Path) -> None:
    """The script works from the repository root without installation, and the whole vpt smoke passes."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # two of the three smoke tasks keep the test short: svhn (grid search) and eurosat (per-task settings)
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "reproduce"), "vpt", "--smoke", "--no-progress",
                           "--tasks", "svhn,eurosat",
                           "--data-root", str(smoke_ready), "--out", str(tmp_path / "out")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "smoke check passed" in proc.stdout
    assert "model selection val200-grid-then-retrain (svhn): the test set was not used" in proc.stdout
    record = json.loads((tmp_path / "out" / "record.json").read_text())
    assert record["implementation"] == "vpt-deep" and record["method"] == "vpt" and record["smoke"] is True
    svhn = record["tasks"]["svhn"]
    assert svhn["selected"]["lr"] in record["resolved"]["tasks"]["svhn"]["lr_grid"]
    assert [p["phase"] for p in svhn["phases"]] == ["grid-lr0.1-wd0.0001", "grid-lr0.025-wd0.0001", "final"]
    assert record["tasks"]["eurosat"]["model_selection"] == "last-epoch"  # per-task recipe values
    assert len(record["recipe_hash"]) == 64 and record["packages"]["torch"]
    assert record["mean"] == pytest.approx(sum(t["accuracy"] for t in record["tasks"].values()) / 2)


def test_interrupted_run_resumes_to_the_same_result(smoke_ready: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    base = ["reproduce", "lora", "--smoke", "--tasks", "svhn", "--data-root", str(smoke_ready), "--no-progress"]
    assert _run([*base, "--out", str(tmp_path / "whole")], capsys)[0] == 0
    monkeypatch.setenv(STOP_ENV, "2")
    code, _, err = _run([*base, "--out", str(tmp_path / "cut")], capsys)
    assert code == 130 and err.count("\n") == 1 and "run the same command to resume" in err
    state = tmp_path / "cut" / "tasks" / "svhn" / "train"
    assert (state / "last.safetensors").is_file() and not (state / "done.json").exists()
    monkeypatch.delenv(STOP_ENV)
    assert _run([*base, "--out", str(tmp_path / "cut")], capsys)[0] == 0
    whole = json.loads((tmp_path / "whole" / "record.json").read_text())["tasks"]["svhn"]
    resumed = json.loads((tmp_path / "cut" / "record.json").read_text())["tasks"]["svhn"]
    assert resumed["accuracy"] == whole["accuracy"]
    assert [e["loss"] for e in resumed["phases"][0]["log"]] == pytest.approx(
        [e["loss"] for e in whole["phases"][0]["log"]])


@pytest.mark.parametrize(("args", "expected"), [
    (["reproduce", "nosuch", "--data-root", "{data}"], "vpeft: error: unknown method 'nosuch' (recipes and registry"),
    (["reproduce", "lora", "--tasks", "mnist", "--data-root", "{data}"], "vpeft: error: --tasks: unknown task 'mnist'"),
    (["reproduce", "lora", "--data-root", "{data}/missing"], "vpeft: error: --data-root {data}/missing: folder not"),
    (["reproduce", "lora", "--tasks", "pets", "--data-root", "{data}"],
     "vpeft: error: {data}: no folder for task pets (tried: oxford_iiit_pet, oxford_pet, pets)"),
    (["reproduce", "lora", "--tasks", "svhn"], "vpeft: error: --data-root DIR is required"),
    (["reproduce", "lora", "--benchmark", "fgvc", "--smoke"], "vpeft: error: --smoke runs on vtab-1k only"),
    (["reproduce", "lora", "--device", "mps", "--tasks", "svhn", "--data-root", "{data}"]
     if not __import__("torch").backends.mps.is_available() else ["reproduce", "lora", "--device", "nope"],
     "vpeft: error: --device"),
    (["reproduce", "lora", "--seeds", "42,x"], "vpeft: error: --seeds '42,x': expected comma-separated integers"),
    (["reproduce", "lora", "--seeds", "42,42"], "vpeft: error: --seeds '42,42': a seed is repeated"),
    (["reproduce", "lora", "--seeds", "42,44", "--seed", "1"], "vpeft: error: --seed and --seeds: give one"),
    (["reproduce", "lora", "--set", "lr", "--data-root", "{data}"],
     "vpeft: error: --set: expected KEY=VALUE, got 'lr'"),
    (["reproduce", "lora", "--set", "speed=3"], "vpeft: error: --set speed: unknown setting"),
    (["reproduce", "lora", "--shard", "3/2"], "vpeft: error: --shard 3/2: expected I/N"),
    (["reproduce", "lora", "--device", "cuda:7", "--tasks", "svhn", "--data-root", "{data}"]
     if not __import__("torch").cuda.is_available() else ["reproduce", "lora", "--device", "nope"],
     "vpeft: error: --device"),
])
def test_usage_and_data_errors(args: list[str], expected: str, smoke_root: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run([a.replace("{data}", str(smoke_root)) for a in args], capsys)
    assert code == 2 and out == ""
    assert err.startswith(expected.replace("{data}", str(smoke_root))) and err.count("\n") == 1, err


def test_wrong_split_size_stops_before_training(smoke_copy: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = smoke_copy / "svhn" / "val200.txt"
    path.write_text("\n".join(path.read_text().splitlines()[:150]) + "\n")
    code, out, err = _run(["reproduce", "lora", "--tasks", "svhn", "--data-root", str(smoke_copy),
                           "--out", str(tmp_path / "o"), *SHORT], capsys)
    assert (code, out) == (2, "")
    docs = "(see site/reproduce.md#prepare-vtab-1k)"
    assert err == f"vpeft: error: {path}: 150 images listed, VTAB-1k val200 has 200 {docs}\n"
    assert not (tmp_path / "o" / "tasks").exists()


def test_dry_run_prints_the_plan(smoke_ready: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["reproduce", "lora", "--smoke", "--dry-run", "--data-root", str(smoke_ready),
                         "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "tasks (3): svhn, eurosat, clevr_count" in out
    assert "optimizer         adamw" in out and "train800val200" not in out
    assert "LoRA [18] [NOAH / Neural Prompt Search (Zhang, Zhou, Liu, arXiv 2206.04673) (paper), " \
           "noah-paper-vtab-1k]: mean 87.83 (reference)" in out
    assert "NOTE: model selection looks at the test set" in out and "estimated time:" in out
    # 3 tasks x 1000 train800val200 images x 3 epochs; the test split (400) evaluated at each of the 3 epochs
    assert "(9000 training images at " in out and ", 3600 evaluated images at " in out
    assert not (tmp_path / "tasks").exists()


def test_shard_records_become_one_reproduced_table(smoke_ready: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A run over a VTAB-layout folder in two shards (as on two devices); `results add` stores them as one table."""
    out = tmp_path / "run"
    for shard in ("1/2", "2/2"):
        code, stdout, _ = _run(["reproduce", "lora", "--data-root", str(smoke_ready), "--tasks", "svhn,eurosat",
                                "--shard", shard, "--weights", str(smoke_ready / "smoke-vit.safetensors"),
                                "--out", str(out), *SHORT], capsys)
        assert code == 1 and "NOT within tolerance" in stdout  # a tiny model is far from the published numbers
    records = [out / "record-shard-1-of-2.json", out / "record-shard-2-of-2.json"]
    first, second = (json.loads(r.read_text()) for r in records)
    assert (set(first["tasks"]), set(second["tasks"])) == ({"svhn"}, {"eurosat"})
    assert first["recipe_hash"] == second["recipe_hash"]
    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG, catalog)
    base = ["--catalog", str(catalog), "results", "add", *map(str, records)]
    code, stdout, _ = _run([*base, "--url", "https://example.org/run/"], capsys)
    assert code == 0, stdout
    (table,) = (catalog / "results" / "reproduced").glob("*.yaml")
    assert table.name.startswith("reproduced-lora-vtab-1k-")
    assert _run(["--catalog", str(catalog), "validate"], capsys)[0] == 0
    stored = valid_catalog(str(catalog)).results[table.stem]
    assert stored.source.kind == "reproduced" and stored.rows[0].method == "lora"
    assert stored.rows[0].scores == {"svhn": round(first["tasks"]["svhn"]["accuracy"], 2),
                                     "eurosat": round(second["tasks"]["eurosat"]["accuracy"], 2)}
    code, _, err = _run([*base, "--url", "https://example.org/run/"], capsys)
    assert code == 2 and "already exists" in err  # never overwritten
    code, _, err = _run([*base, "--url", "http://example.org/run/"], capsys)
    assert code == 2 and err.startswith("vpeft: error: --url http://example.org/run/: must be an https:// URL")
    code, _, err = _run(["--catalog", str(catalog), "results", "add", str(records[0]), str(records[0]),
                         "--url", "https://example.org/run/"], capsys)
    assert code == 2 and "task svhn is also in an earlier record" in err
