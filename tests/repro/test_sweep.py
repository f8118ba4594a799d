"""`vpeft sweep` on a local Ray instance with 2 CPUs: a smoke sweep (1 task x 2 learning rates x 2 seeds) is killed
in the middle, resumed, and ends with the same records as the single-process `vpeft reproduce` of the same command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from vpeft.cli import main
from vpeft.errors import UserError
from vpeft.repro import smoke
from vpeft.repro.sweep import check_address

from tests.conftest import CATALOG

# svhn keeps VPT's val200 grid (eurosat's per-task rule is last-epoch); one task: a second one adds 10 s to every
# phase of the test and tests nothing the first does not
TASKS = "svhn"
# 2 epochs (warm-up 1) instead of the smoke's 3: the same pipeline, a third less time
RUN = ["vpt", "--smoke", "--tasks", TASKS, "--seeds", "1,2", "--set", "epochs=2", "--no-progress"]


def _command(data: Path, out: Path) -> list[str]:
    return ["--catalog", str(CATALOG), "sweep", *RUN, "--data-root", str(data),
            "--weights", str(data / smoke.BACKBONE_FILE), "--out", str(out), "--cpus", "2"]


def _sweep(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}
    return subprocess.Popen([sys.executable, "-m", "vpeft.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)


def _grid_done(out: Path) -> list[Path]:
    return sorted(out.glob("seed-*/tasks/*/grid-*/done.json"))


def _kill_after_some_jobs(proc: subprocess.Popen[str], out: Path, jobs: int, limit_s: float) -> None:
    """SIGKILL the sweep and the local Ray instance it started (one process group) once `jobs` grid points are done:
    a node dying, with the other jobs half-way through their epochs."""
    deadline = time.monotonic() + limit_s
    while len(_grid_done(out)) < jobs:
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before it was killed:\n{proc.communicate()[0]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"no {jobs} grid points done within {limit_s}s")
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _record(out: Path, seed: int) -> dict[str, Any]:
    return json.loads((out / f"seed-{seed}" / "record.json").read_text(encoding="utf-8"))


def _same_part(record: dict[str, Any]) -> dict[str, Any]:
    """What a resumed sweep and a single run must agree on: identity, settings, every task's numbers."""
    tasks = {t: {"accuracy": r["accuracy"], "selected": r["selected"],
                 "phases": [(p["phase"], p["log"][-1]) for p in r["phases"]]} for t, r in record["tasks"].items()}
    return {"identity": record["identity"], "recipe_hash": record["recipe_hash"], "tasks": tasks,
            "mean": record["mean"], "verdict": record["verdict"]}


def _strip_seconds(value: Any) -> Any:
    """Epoch logs carry wall-clock seconds, which differ between any two runs."""
    if isinstance(value, dict):
        return {k: _strip_seconds(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list | tuple):
        return [_strip_seconds(v) for v in value]
    return value


@pytest.mark.slow
def test_a_killed_sweep_resumes_to_the_records_of_a_single_run(smoke_ready: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    proc = _sweep(_command(smoke_ready, out))
    _kill_after_some_jobs(proc, out, jobs=2, limit_s=600)
    assert not list(out.glob("seed-*/record.json")), "killed before the end: no record yet"
    kept = {p: p.stat().st_mtime_ns for p in _grid_done(out)}

    resumed = _sweep(_command(smoke_ready, out))
    text = resumed.communicate(timeout=900)[0]
    assert resumed.returncode == 0, text
    assert {p: p.stat().st_mtime_ns for p in kept} == kept, "finished grid points were trained again"
    assert "per task:" in text and "svhn: 6/6 jobs" in text, text
    assert len(_grid_done(out)) == 4  # 1 task x 2 learning rates x 2 seeds

    single = tmp_path / "single"
    code = main(["--catalog", str(CATALOG), "reproduce", *RUN, "--data-root", str(smoke_ready),
                 "--weights", str(smoke_ready / smoke.BACKBONE_FILE), "--out", str(single)])
    assert code == 0
    for seed in (1, 2):
        assert _strip_seconds(_same_part(_record(out, seed))) == _strip_seconds(_same_part(_record(single, seed)))
    assert json.loads((out / "seeds.json").read_text())["mean"] == json.loads((single / "seeds.json").read_text())[
        "mean"]
    chosen = _record(out, 1)["tasks"]["svhn"]["selected"]
    assert main(["--catalog", str(CATALOG), "sweep", *RUN, "--data-root", str(smoke_ready), "--weights",
                 str(smoke_ready / smoke.BACKBONE_FILE), "--out", str(out), "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert "sweep jobs: 6 (4 grid, 2 retrain); already done in" in shown and shown.rstrip().endswith(": 6")
    assert f"chosen on val200: svhn seed 1: lr {chosen['lr']:g}, weight decay {chosen['weight_decay']:g}" in shown


def test_cli_errors_are_one_line_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--catalog", str(CATALOG), "sweep", "vpt", "--smoke", "--shard", "1/2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vpeft: error: --shard:") and "\n" not in err
    assert main(["--catalog", str(CATALOG), "sweep", "vpt", "--smoke", "--cpus", "2", "--address", "auto"]) == 2
    assert capsys.readouterr().err.strip().startswith("vpeft: error: --cpus:")
    with pytest.raises(SystemExit) as exc:
        main(["--catalog", str(CATALOG), "sweep", "vpt", "--gpus-per-run", "1.5"])
    assert exc.value.code == 2
    assert "--gpus-per-run" in capsys.readouterr().err


def test_an_address_where_no_head_answers_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as free:  # a port nothing listens on: bound, never listening
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
        for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}", "no-port"):
            with pytest.raises(UserError, match=f"^--address {address}: "):
                check_address(address, timeout=2)
    check_address(None)
    check_address("auto")  # Ray finds the local cluster itself and fails fast without one


@pytest.mark.slow
def test_failed_jobs_are_reported_by_name_and_retries_resume_them(smoke_ready: Path, tmp_path: Path) -> None:
    """Every job stops after one epoch (STOP_ENV, as a crash would). No retries: each is reported by name, the
    retrain is not started, no record is written, exit 1. Two retries: each attempt resumes from the last epoch's
    checkpoint, so the same command finishes the sweep."""
    from vpeft.repro.train import STOP_ENV

    out = tmp_path / "sweep"
    base = ["--catalog", str(CATALOG), "sweep", "vpt", "--smoke", "--tasks", "svhn", "--seed", "1", "--set",
            "epochs=2", "--no-progress", "--data-root", str(smoke_ready), "--weights",
            str(smoke_ready / smoke.BACKBONE_FILE), "--out", str(out), "--cpus", "2"]
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1", STOP_ENV: "1"}
    first = subprocess.run([sys.executable, "-m", "vpeft.cli", *base, "--max-retries", "0"], capture_output=True,
                           text=True, env=env, timeout=600)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "FAILED svhn seed 1 grid lr=0.1 wd=0.0001: Interrupted: stopped after 1 epoch(s)" in first.stdout
    assert "FAILED svhn seed 1 grid lr=0.025 wd=0.0001: " in first.stdout
    assert "NOT STARTED svhn seed 1 retrain: its grid point(s) failed: svhn seed 1 grid lr=0.1" in first.stdout
    assert "records not written" in first.stdout and not (out / "record.json").exists()
    second = subprocess.run([sys.executable, "-m", "vpeft.cli", *base, "--max-retries", "2"], capture_output=True,
                            text=True, env=env, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "svhn: 3/3 jobs" in second.stdout and "FAILED" not in second.stdout
    assert json.loads((out / "record.json").read_text())["tasks"]["svhn"]["selected"]["lr"] in (0.1, 0.025)
