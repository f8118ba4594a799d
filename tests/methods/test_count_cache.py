"""Cached parameter counts: equal to counting, counted once, recounted when anything in the key changes, and a
damaged cache never breaks a build."""

from __future__ import annotations

from pathlib import Path

import pytest
from vpeft.methods import _count_cache as cache
from vpeft.methods import counting

MODEL = "vit_tiny_patch16_224"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VPEFT_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_cached_counts_equal_counting_and_are_counted_once(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = cache.trainable_excluding_head(["lora", "bitfit"], MODEL)
    assert first == {m: counting.parameter_counts(m, MODEL).trainable_excluding_head for m in ("lora", "bitfit")}
    assert (cache_dir / cache.CACHE_FILE).is_file()

    def no_counting(*_: object, **__: object) -> None:
        raise AssertionError("counted again although the cache holds the count")

    monkeypatch.setattr(counting, "parameter_counts", no_counting)
    assert cache.trainable_excluding_head(["lora", "bitfit"], MODEL) == first


def test_a_changed_method_code_is_counted_again(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.trainable_excluding_head(["lora"], MODEL)
    calls: list[str] = []
    real = counting.parameter_counts
    monkeypatch.setattr(counting, "parameter_counts", lambda m, *a, **k: calls.append(m) or real(m, *a, **k))
    monkeypatch.setattr(cache, "code_digest", lambda: "edited")
    assert cache.trainable_excluding_head(["lora"], MODEL)["lora"] == real("lora", MODEL).trainable_excluding_head
    assert calls == ["lora"]


@pytest.mark.parametrize("damage", [b"{not json", b"[1, 2]", b'{"k": "x"}', b"\xff\xfe"])
def test_a_damaged_cache_is_ignored_and_rewritten(cache_dir: Path, damage: bytes) -> None:
    (cache_dir / cache.CACHE_FILE).write_bytes(damage)
    assert cache.trainable_excluding_head(["bitfit"], MODEL)["bitfit"] > 0
    assert cache._read(cache_dir / cache.CACHE_FILE)


def test_an_unwritable_cache_folder_still_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VPEFT_CACHE_DIR", str(blocker / "sub"))
    assert cache.trainable_excluding_head(["bitfit"], MODEL)["bitfit"] > 0
