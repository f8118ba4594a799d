"""Run-folder JSON files are written whole or not at all, so a resumed run never meets half a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from vpeft.repro.errors import read_state, write_state


def test_write_then_read(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    write_state(path, {"accuracy": 61.5})
    assert read_state(path) == {"accuracy": 61.5}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_an_interrupt_mid_write_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "result.json"
    write_state(path, {"accuracy": 61.5})
    real_write = Path.write_text

    def write_half_then_stop(self: Path, text: str, *args: object, **kwargs: object) -> int:
        real_write(self, text[: len(text) // 2], encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", write_half_then_stop)
    with pytest.raises(KeyboardInterrupt):
        write_state(path, {"accuracy": 70.25, "log": list(range(50))})
    monkeypatch.undo()
    assert read_state(path) == {"accuracy": 61.5}
