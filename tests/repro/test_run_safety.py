"""Run identity and damaged run-folder files: a changed seed, weights file or data into the same --out is refused;
a damaged or hostile checkpoint, resume state, phase summary or task result is one line, exit 2, and nothing in a
pickle is ever run."""

from __future__ import annotations

import ast
import json
import pathlib
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from vpeft.cli import main
from vpeft.repro.train import STOP_ENV

from tests.conftest import ROOT

SHORT = ["--model", "smoke-vit", "--set", "epochs=2", "--set", "warmup_epochs=1", "--set", "image_size=16",
         "--set", "batch_size=100", "--no-progress", "--tasks", "svhn"]


class Payload:
    """Touches a marker file when unpickled by a loader that runs code (weights_only=False)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
        return pathlib.Path.touch, (self.marker,)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _interrupted(smoke_ready: Path, out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                 extra: list[str] | None = None) -> list[str]:
    """A run stopped after one epoch, so its folder holds a resume state; returns the command."""
    args = ["reproduce", "lora", "--data-root", str(smoke_ready), "--weights",
            str(smoke_ready / "smoke-vit.safetensors"), "--out", str(out), *SHORT, *(extra or [])]
    monkeypatch.setenv(STOP_ENV, "1")
    assert _run(args, capsys)[0] == 130
    monkeypatch.delenv(STOP_ENV)
    return args


def _one_line_exit_2(args: list[str], capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    code, out, err = _run(args, capsys)
    assert (code, out) == (2, ""), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def test_changed_seed_weights_or_data_into_the_same_out_is_refused(smoke_ready: Path, smoke_copy: Path,
                                                                    tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    args = _interrupted(smoke_ready, out, capsys, monkeypatch)
    ident = json.loads((out / "run.json").read_text())["identity"]
    assert ident["seed"] == 42 and ident["data_root"] == str(smoke_ready.resolve())
    assert len(ident["weights_sha256"]) == 64 and len(ident["data_splits_sha256"]["svhn"]) == 64
    _one_line_exit_2([*args, "--seed", "43"], capsys, f"--out {out}: holds a run with another seed (42; this "
                                                      "command: 43); use another --out folder")
    other = tmp_path / "other.safetensors"
    weights = load_file(str(smoke_ready / "smoke-vit.safetensors"))
    save_file({k: v + 1 for k, v in weights.items()}, str(other))
    at = args.index("--weights") + 1
    _one_line_exit_2([*args[:at], str(other), *args[at + 1:]], capsys, "another weights sha256")
    at = args.index("--data-root") + 1
    _one_line_exit_2([*args[:at], str(smoke_copy), *args[at + 1:]], capsys, "another data root")
    _one_line_exit_2([*args, "--set", "lr=0.005"], capsys, "another recipe hash")
    assert _run(args, capsys)[0] == 1  # the same command resumes and finishes (a tiny model: not within tolerance)


def test_same_data_root_with_changed_split_files_is_refused(smoke_copy: Path, smoke_ready: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    args = _interrupted(smoke_ready, out, capsys, monkeypatch)
    at = args.index("--data-root") + 1
    args[at] = str(smoke_copy)
    out2 = tmp_path / "out2"
    args[args.index("--out") + 1] = str(out2)
    monkeypatch.setenv(STOP_ENV, "1")
    assert _run(args, capsys)[0] == 130
    monkeypatch.delenv(STOP_ENV)
    test = smoke_copy / "svhn" / "test.txt"
    lines = test.read_text().splitlines()
    test.write_text("\n".join(lines[1:] + lines[:1]) + "\n")  # same images, other order: other split file
    _one_line_exit_2(args, capsys, "other split files for svhn")


@pytest.mark.parametrize("damage", ["random", "empty", "payload", "not-a-dict"])
def test_damaged_or_hostile_resume_state_is_one_line(damage: str, smoke_ready: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    args = _interrupted(smoke_ready, out, capsys, monkeypatch)
    state = out / "tasks" / "svhn" / "train" / "last.state.pt"
    marker = tmp_path / "marker"
    if damage == "random":
        state.write_bytes(bytes(range(256)) * 4)
    elif damage == "empty":
        state.write_bytes(b"")
    elif damage == "payload":
        saved = torch.load(state, weights_only=True)
        torch.save({**saved, "log": [Payload(marker)]}, state)
    else:
        torch.save([1, 2, 3], state)
    _one_line_exit_2(args, capsys, f"{state}: damaged run file", "delete it and re-run")
    assert not marker.exists()


def test_truncated_method_checkpoint_is_one_line(smoke_ready: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    args = _interrupted(smoke_ready, out, capsys, monkeypatch)
    weights = out / "tasks" / "svhn" / "train" / "last.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    _one_line_exit_2(args, capsys, f"{weights}: damaged run file (not this run's method weights")


@pytest.mark.parametrize(("name", "content", "needle"), [
    ("done.json", {}, "not a phase summary"),
    ("result.json", {"accuracy": "high", "model_selection": "last-epoch", "looked_at_test": False, "phases": []},
     "accuracy is not a number"),
    ("result.json", {"accuracy": 50.0}, "model_selection or looked_at_test is missing"),
])
def test_damaged_summaries_are_one_line(name: str, content: object, needle: str, smoke_ready: Path,
                                        tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    args = _interrupted(smoke_ready, out, capsys, monkeypatch)
    path = out / "tasks" / "svhn" / ("train" if name == "done.json" else "") / name
    path.write_text(json.dumps(content))
    _one_line_exit_2(args, capsys, f"{path}: damaged run file", needle)


@pytest.mark.parametrize("kind", ["payload", "strings", "garbage-safetensors"])
def test_bad_weights_files_are_one_line(kind: str, smoke_root: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "marker"
    if kind == "payload":
        path = tmp_path / "w.pth"
        torch.save({"cls_token": Payload(marker)}, path)
        needle = "refused, nothing in it was run"
    elif kind == "strings":
        path = tmp_path / "w.pth"
        torch.save({"cls_token": "zero"}, path)
        needle = "cls_token is not a tensor"
    else:
        path = tmp_path / "w.safetensors"
        path.write_bytes(b"\xff" * 64)
        needle = "not a readable weights file"
    _one_line_exit_2(["reproduce", "lora", "--data-root", str(smoke_root), "--weights", str(path),
                      "--out", str(tmp_path / "o"), *SHORT], capsys, f"--weights {path}", needle)
    assert not marker.exists()


def _unsafe_loads(path: Path) -> list[int]:
    """Lines of `torch.load(...)` calls without a literal `weights_only=True`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"):
            flag = next((k.value for k in node.keywords if k.arg == "weights_only"), None)
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                bad.append(node.lineno)
    return bad


def test_every_torch_load_in_the_repository_is_weights_only(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import torch\ntorch.load('a', weights_only=True)\ntorch.load('b', weights_only=False)\n"
                      "torch.load('c')\n")
    assert _unsafe_loads(sample) == [3, 4]  # the scan finds both unsafe forms
    files = [p for folder in ("tools", "methods", "scripts", "tests") for p in (ROOT / folder).rglob("*.py")]
    offenders = {str(p.relative_to(ROOT)): lines for p in files if (lines := _unsafe_loads(p))}
    assert offenders == {}
