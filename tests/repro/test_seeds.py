"""`--seeds`: one run folder per seed, and the mean and standard deviation over the seeds computed from them."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from vpeft.cli import main
from vpeft.repro import seeds

SHORT = ["--model", "smoke-vit", "--set", "epochs=2", "--set", "warmup_epochs=1", "--set", "image_size=16",
         "--set", "batch_size=100", "--no-progress", "--tasks", "svhn,eurosat"]


def test_parse() -> None:
    assert seeds.parse("42, 44,82,100,800") == [42, 44, 82, 100, 800]
    for bad in ("", "a", "1,-2", "3,3", str(2**31)):
        with pytest.raises(Exception, match="--seeds"):
            seeds.parse(bad)


def test_spread_is_the_sample_standard_deviation() -> None:
    assert seeds.spread([1.0, 2.0, 4.0]).__dict__ == {"mean": pytest.approx(7 / 3),
                                                       "std": pytest.approx(1.5275252316519468)}
    assert seeds.spread([5.0]).std is None


def test_each_seed_runs_and_the_summary_is_computed_from_them(smoke_ready: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["reproduce", "lora", "--data-root", str(smoke_ready), "--weights",
            str(smoke_ready / "smoke-vit.safetensors"), "--out", str(out), "--seeds", "1,2", *SHORT]
    assert main(args) == 1  # a tiny model is far from the published numbers
    stdout = capsys.readouterr().out
    records = {s: json.loads((out / f"seed-{s}" / "record.json").read_text()) for s in (1, 2)}
    assert [r["seed"] for r in records.values()] == [1, 2]
    assert [r["identity"]["seed"] for r in records.values()] == [1, 2]
    summary = json.loads((out / "seeds.json").read_text())
    assert summary["seeds"] == [1, 2]
    for task in ("svhn", "eurosat"):
        values = [r["tasks"][task]["accuracy"] for r in records.values()]
        assert summary["tasks"][task]["mean"] == pytest.approx(statistics.fmean(values))
        assert summary["tasks"][task]["std"] == pytest.approx(statistics.stdev(values))
    means = [r["mean"] for r in records.values()]
    assert summary["mean"] == {"mean": pytest.approx(statistics.fmean(means)), "std": pytest.approx(
        statistics.stdev(means))}
    ref = next(r for r in summary["reported"] if r["is_reference"])
    assert f"{summary['mean']['mean']:.2f} ± {summary['mean']['std']:.2f}" in stdout
    assert f"{summary['mean']['mean'] - ref['mean']:+.2f}" in stdout
    assert "NOT within tolerance" in stdout and "(mean over 2 seeds)" in stdout
    assert main(args) == 1  # re-running resumes every seed from its own folder, nothing retrained
    assert json.loads((out / "seeds.json").read_text())["tasks"] == summary["tasks"]
