"""The registry snapshot the site reads instead of importing torch: equal to what the registry says, recomputed
when the methods' code or the torch/timm/peft versions change, and a damaged or unwritable one never an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vpeft import methods
from vpeft.methods import _count_cache, _snapshot, counting
from vpeft.methods._families import DESCRIPTIONS
from vpeft.methods._snapshot import RegistrySnapshot

MODEL = "vit_tiny_patch16_224"  # the site's backbone is ViT-B/16; the snapshot takes any, and a small one counts fast


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VPEFT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_snapshot, "_memo", {})  # each test reads and writes its own folder, as a new process does
    return tmp_path


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> RegistrySnapshot:
    """The snapshot computed from the registry once (counting every method takes seconds)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VPEFT_CACHE_DIR", str(tmp_path_factory.mktemp("snapshot")))
        mp.setattr(_snapshot, "_memo", {})
        return _snapshot.registry_snapshot(MODEL)


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch, real: RegistrySnapshot) -> list[str]:
    """Model names the snapshot is computed for (rather than read from disk); each computation gives `real` with
    the key of the moment, without counting again."""
    calls: list[str] = []

    def compute(model_name: str) -> RegistrySnapshot:
        calls.append(model_name)
        return real.model_copy(update={"key": _snapshot.snapshot_key(model_name)})

    monkeypatch.setattr(_snapshot, "compute_snapshot", compute)
    return calls


def test_the_snapshot_is_what_the_registry_says(real: RegistrySnapshot) -> None:
    snap = real
    assert list(snap.methods) == methods.available()
    for m, facts in snap.methods.items():
        spec = methods.get(m)
        assert (facts.requires, facts.families) == (spec.cls.requires, spec.families), m
        expected = None if spec.cls.requires else counting.parameter_counts(m, MODEL).trainable_excluding_head
        assert facts.trainable == expected, m
    assert sum(f.trainable is not None for f in snap.methods.values()) >= 20  # not a snapshot of nothing
    assert snap.descriptions == DESCRIPTIONS


def test_a_warm_snapshot_is_read_not_computed(cache_dir: Path, computed: list[str], real: RegistrySnapshot) -> None:
    first = _snapshot.registry_snapshot(MODEL)
    _snapshot._memo.clear()
    assert _snapshot.registry_snapshot(MODEL) == first
    assert first.methods == real.methods and first.descriptions == real.descriptions  # as read back from disk
    assert computed == [MODEL]


@pytest.mark.parametrize("changed", ["code", "torch", "timm", "peft", "backbone"])
def test_edited_code_or_another_version_recomputes(cache_dir: Path, computed: list[str],
                                                   monkeypatch: pytest.MonkeyPatch, changed: str) -> None:
    before = _snapshot.registry_snapshot(MODEL).key
    _snapshot._memo.clear()
    model = MODEL
    if changed == "code":
        monkeypatch.setattr(_count_cache, "code_digest", lambda: "edited")
    elif changed == "backbone":
        model = "vit_small_patch16_224"
    else:
        real = _count_cache.installed_version
        monkeypatch.setattr(_count_cache, "installed_version", lambda d: "0.0.0-other" if d == changed else real(d))
    assert _snapshot.registry_snapshot(model).key != before
    assert computed == [MODEL, model]


def _undescribed_family(path: Path) -> bytes:
    data = json.loads(path.read_text())
    del data["descriptions"]["vit"]
    return json.dumps(data).encode()


@pytest.mark.parametrize("damage", [b"{not json", b"[1, 2]", b'{"key": 3}', b"\xff\xfe", "families", "truncated"])
def test_a_damaged_snapshot_is_recomputed_and_rewritten(cache_dir: Path, computed: list[str],
                                                         damage: bytes | str) -> None:
    good = _snapshot.registry_snapshot(MODEL)
    path = cache_dir / _snapshot.SNAPSHOT_FILE
    if damage == "families":  # valid JSON, right key, but a family without a description
        damage = _undescribed_family(path)
    elif damage == "truncated":
        damage = path.read_bytes()[:-40]
    path.write_bytes(damage)  # type: ignore[arg-type]
    _snapshot._memo.clear()
    assert _snapshot.registry_snapshot(MODEL) == good
    assert computed == [MODEL, MODEL]
    assert _snapshot._read(path, good.key) == good


def test_an_unwritable_cache_folder_still_gives_the_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             computed: list[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VPEFT_CACHE_DIR", str(blocker / "sub"))
    monkeypatch.setattr(_snapshot, "_memo", {})
    assert _snapshot.registry_snapshot(MODEL).methods["bitfit"].trainable
    assert computed == [MODEL]
