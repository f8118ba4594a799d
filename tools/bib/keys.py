"""Citation keys: `chen2022adaptformer`, kept stable in a committed lock file.

Key rule: first author's family name + year + first meaningful title word, each folded to lowercase ASCII
letters and digits ("AdaptFormer: Adapting ..." by Shoufa Chen, 2022 -> chen2022adaptformer). Unknown authors
give "anon", an unknown year "nd"; such a key is provisional and is not locked until the authors are known.
A clash with any key already taken gets the suffix b, c, ... (the first
holder keeps the bare key). Once a key is in `catalog/citation-keys.yaml` it never changes, even if the paper's
metadata is corrected later (the lock file's `explained` says why such a key no longer follows the rule);
`vpeft bib --update-keys` only appends keys for papers that have none.

Variants (`variant_of`) share their paper, so they have no key of their own: they cite the paper's owner entry.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationError, model_validator

from ..catalog.errors_text import problems_from
from ..catalog.models import Catalog, MethodEntry, Paper, Slug, Strict, Text
from ..catalog.yamlio import YamlFileError, dump_yaml, read_yaml
from ..errors import UserError
from .names import ascii_fold

LOCK_FILE = "citation-keys.yaml"
LOCK_HEADER = (
    "# Citation keys, stable once published: never edit or remove a key; `vpeft bib --update-keys` appends new\n"
    "# ones. `references` are the survey and its benchmark (taxonomy.yaml), `methods` are keyed by entry id."
)
Reference = Literal["survey", "benchmark"]
CiteKey = Annotated[str, StringConstraints(pattern=r"^[a-z]+(\d{4}|nd)[a-z0-9]*$")]
PROVISIONAL = "anon"  # author part of a key whose paper has no known authors: never locked
STOPWORDS = {"a", "an", "and", "are", "as", "at", "by", "do", "does", "for", "from", "how", "in", "is", "it", "of",
             "on", "one", "or", "the", "to", "toward", "towards", "via", "what", "when", "where", "why", "with"}


class CitationKeys(Strict):
    """The lock file `catalog/citation-keys.yaml`."""

    references: dict[Reference, CiteKey] = Field(default_factory=dict)
    methods: dict[Slug, CiteKey] = Field(default_factory=dict)
    explained: dict[str, Text] = Field(
        default_factory=dict,
        description="owner -> why its locked key differs from the key rule today (metadata corrected after locking)",
    )

    @model_validator(mode="after")
    def _unique(self) -> CitationKeys:
        seen: dict[str, str] = {}
        for owner, key in self.items():
            if is_provisional(key):
                raise ValueError(f"'{owner}': '{key}' is a provisional key (unknown authors) and cannot be locked")
            if key in seen:
                raise ValueError(f"key '{key}' is used by both '{seen[key]}' and '{owner}'")
            seen[key] = owner
        for owner in self.explained:
            if owner not in seen.values():
                raise ValueError(f"explained: '{owner}' has no locked key")
        return self

    def items(self) -> list[tuple[str, str]]:
        """(owner, key) pairs; owners of references are written `taxonomy.survey`, `taxonomy.benchmark`."""
        refs = [(f"taxonomy.{name}", key) for name, key in self.references.items()]
        return refs + list(self.methods.items())


def is_provisional(key: str) -> bool:
    return key.startswith(PROVISIONAL) and key[len(PROVISIONAL):len(PROVISIONAL) + 1].isdigit()


def lock_path(catalog: Catalog) -> Path:
    return Path(catalog.root) / LOCK_FILE


def load_keys(catalog: Catalog) -> CitationKeys:
    """The committed keys; an absent file means none yet. A bad file is one line naming it and the field."""
    path = lock_path(catalog)
    if not path.exists():
        return CitationKeys()
    stat = path.stat()
    return _load_keys(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load_keys(path_text: str, mtime_ns: int, size: int) -> CitationKeys:
    """Parsed once per file version: the site asks for one method's key at a time."""
    path = Path(path_text)
    try:
        data = read_yaml(path, path_text)
        return CitationKeys.model_validate(data)
    except YamlFileError as exc:
        raise UserError(str(exc.problem)) from None
    except ValidationError as exc:
        raise UserError(str(problems_from(exc, str(path))[0])) from None


def title_word(title: str | None) -> str:
    """First word not a stopword; a hyphenated word counts by its first part unless that is one letter
    ("Parameter-Efficient" -> parameter, "V-PETL" -> vpetl)."""
    for word in (title or "").replace("/", " ").split():
        parts = word.split("-")
        folded = ascii_fold(word if len(ascii_fold(parts[0])) <= 1 else parts[0])
        if folded and folded not in STOPWORDS:
            return folded
    return ""


def base_key(paper: Paper) -> str:
    family = paper.author_names()[0].family if paper.authors else ""
    author = ascii_fold(family).lstrip("0123456789") or PROVISIONAL
    year = str(paper.year) if paper.year else "nd"
    return f"{author}{year}{title_word(paper.title)}"


def follows_rule(key: str, paper: Paper) -> bool:
    """Whether `key` is the rule's key for `paper` today, or that key with a clash suffix."""
    base = base_key(paper)
    return key == base or (key.startswith(base) and len(key) - len(base) == 1 and key[-1].isalpha())


def _suffixed(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    for suffix in "bcdefghijklmnopqrstuvwxyz":
        if base + suffix not in taken:
            return base + suffix
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def key_owners(catalog: Catalog) -> list[tuple[str, Paper]]:
    """Every paper that needs a key, in a fixed order: the survey, the benchmark, then entries by id."""
    owners: list[tuple[str, Paper]] = []
    if catalog.taxonomy is not None:
        owners.append(("taxonomy.survey", catalog.taxonomy.survey))
        if catalog.taxonomy.benchmark is not None:
            owners.append(("taxonomy.benchmark", catalog.taxonomy.benchmark))
    owners += [(m.id, m.paper) for m in sorted(catalog.methods.values(), key=lambda m: m.id) if m.variant_of is None]
    return owners


def complete_keys(catalog: Catalog, locked: CitationKeys | None = None, lockable_only: bool = False
                  ) -> tuple[CitationKeys, list[str]]:
    """The locked keys plus new keys for papers without one, and the owners that got a new key.

    `lockable_only`: skip papers whose authors are unknown. Their key ("anon...") would be wrong once the authors
    are filled in, so it stays provisional (exports still use it) and is locked only when the authors are known.
    """
    locked = locked if locked is not None else load_keys(catalog)
    refs = dict(locked.references)
    methods = dict(locked.methods)
    taken = {key for _, key in locked.items()}
    new: list[str] = []
    for owner, paper in key_owners(catalog):
        table, name = (refs, owner.split(".", 1)[1]) if owner.startswith("taxonomy.") else (methods, owner)
        if name in table or (lockable_only and not paper.authors):
            continue
        key = _suffixed(base_key(paper), taken)
        table[name] = key  # type: ignore[index]
        taken.add(key)
        new.append(owner)
    # built without validation: with lockable_only=False it holds provisional keys, which the lock file refuses
    return CitationKeys.model_construct(references=refs, methods=methods, explained=dict(locked.explained)), new


def keys_text(keys: CitationKeys) -> str:
    data: dict[str, object] = {"references": dict(keys.references), "methods": dict(sorted(keys.methods.items()))}
    if keys.explained:
        data["explained"] = dict(sorted(keys.explained.items()))
    return dump_yaml(data, LOCK_HEADER)


def update_keys(catalog: Catalog) -> list[str]:
    """Append keys for papers that have none (and known authors) to the lock file; returns the owners locked."""
    keys, new = complete_keys(catalog, lockable_only=True)
    keys = CitationKeys.model_validate(keys.model_dump())  # what is written must load back
    if new:
        lock_path(catalog).write_text(keys_text(keys), encoding="utf-8")
    return new


def owner_of(catalog: Catalog, entry: MethodEntry) -> MethodEntry:
    """The entry whose paper `entry` cites: itself, or the root of its `variant_of` chain."""
    seen = {entry.id}
    while entry.variant_of is not None and entry.variant_of in catalog.methods and entry.variant_of not in seen:
        entry = catalog.methods[entry.variant_of]
        seen.add(entry.id)
    return entry
