"""What the site needs from the registry, snapshotted on disk, so that a rebuild does not import torch and timm.

The site shows, per implementation, whether the registry has it, the backbone families it supports and its
trainable parameters on one backbone. Reading those from the registry imports every method module, hence torch and
timm (seconds, a third of a build), although they change only when the methods' code or the installed torch, timm
or peft change. So the snapshot is keyed by exactly those, read without importing them: the digest of this
package's source files (`_count_cache.code_digest`) and the versions from the installed distributions' metadata.
It lies next to the counts (`_count_cache.cache_dir`); a missing, stale or damaged snapshot is recomputed from the
registry (counting through the count cache) and rewritten atomically, and an unwritable folder is no error: the
snapshot is then computed at each build, as counts were before it.

This module imports neither torch nor the registry until the snapshot must be recomputed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from . import _count_cache

SNAPSHOT_FILE = "registry-snapshot.json"
FORMAT = 1  # bump when the fields change, so an old file is recomputed rather than misread
DISTRIBUTIONS = ("torch", "timm", "peft")  # whose versions can change a count or a family's coverage


class MethodFacts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    requires: tuple[str, ...]  # optional distributions it needs (peft's tuners)
    families: tuple[str, ...]
    trainable: int | None  # on the snapshot's backbone, head excluded; None for a method that `requires` anything


class RegistrySnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    key: str
    methods: dict[str, MethodFacts]  # every registered id
    descriptions: dict[str, str]  # family -> what it covers (`_families.DESCRIPTIONS`)

    @model_validator(mode="after")
    def _families_described(self) -> RegistrySnapshot:
        unknown = {f for m in self.methods.values() for f in m.families} - set(self.descriptions)
        if unknown:
            raise ValueError(f"families without a description: {sorted(unknown)}")
        return self


_memo: dict[tuple[Path, str], RegistrySnapshot] = {}


def snapshot_key(model_name: str) -> str:
    parts = [str(FORMAT), model_name, _count_cache.code_digest(),
             *(f"{d} {_count_cache.installed_version(d)}" for d in DISTRIBUTIONS)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def compute_snapshot(model_name: str) -> RegistrySnapshot:
    """The snapshot from the registry itself (imports torch, timm and every method; counts what is not cached)."""
    from ._families import DESCRIPTIONS
    from .registry import available, get

    ids = available()
    counts = _count_cache.trainable_excluding_head([m for m in ids if not get(m).cls.requires], model_name)
    facts = {m: MethodFacts(requires=tuple(get(m).cls.requires), families=tuple(get(m).families),
                            trainable=counts.get(m)) for m in ids}
    return RegistrySnapshot(key=snapshot_key(model_name), methods=facts, descriptions=dict(DESCRIPTIONS))


def _read(path: Path, key: str) -> RegistrySnapshot | None:
    try:
        snapshot = RegistrySnapshot.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None
    return snapshot if snapshot.key == key else None


def registry_snapshot(model_name: str) -> RegistrySnapshot:
    """The snapshot for `model_name` and the current code and versions: read from disk, else computed and saved.

    Looked up once per process and cache folder (the site asks once per method page; reading the versions alone
    takes milliseconds), as the code digest is: a process keeps the code it started with."""
    path = _count_cache.cache_dir() / SNAPSHOT_FILE
    if (memo := _memo.get((path, model_name))) is not None:
        return memo
    key = snapshot_key(model_name)
    snapshot = _read(path, key)
    if snapshot is None:
        snapshot = compute_snapshot(model_name)
        _count_cache.write_json(path, json.loads(snapshot.model_dump_json()))
    _memo[(path, model_name)] = snapshot
    return snapshot
