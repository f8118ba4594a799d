"""Load a catalog folder into typed models, collecting every problem instead of stopping at the first."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .errors_text import problems_from
from .models import Benchmark, Catalog, MethodEntry, Recipe, ResultTable, TagVocabulary, Taxonomy
from .problems import Problem
from .yamlio import YamlFileError, read_yaml

M = TypeVar("M", bound=BaseModel)

TAXONOMY_FILE = "taxonomy.yaml"
TAGS_FILE = "tags.yaml"  # optional: a catalog without it has no tag vocabulary to check against
METHODS_DIR = "methods"
BENCHMARKS_DIR = "benchmarks"
RESULTS_DIR = "results"
RECIPES_DIR = "recipes"


def _shown(root: Path, path: Path, root_shown: str) -> str:
    return str(Path(root_shown) / path.relative_to(root))


def _parse(path: Path, shown: str, model: type[M], problems: list[Problem]) -> M | None:
    try:
        data = read_yaml(path, shown)
    except YamlFileError as exc:
        problems.append(exc.problem)
        return None
    if not isinstance(data, dict):
        problems.append(Problem(shown, "", f"must be a mapping of fields, found a {type(data).__name__}"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from(exc, shown, path.read_text(encoding="utf-8")))
        return None


def _yaml_files(folder: Path, recursive: bool = False) -> list[Path]:
    if not folder.is_dir():
        return []
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix in {".yaml", ".yml"})


def _load_keyed(
    root: Path, root_shown: str, sub: str, model: type[M], catalog: Catalog, problems: list[Problem]
) -> dict[str, M]:
    """Load every file of one folder; an object's `id` must be its file name."""
    out: dict[str, M] = {}
    if (root / sub).exists() and not (root / sub).is_dir():
        problems.append(Problem(str(Path(root_shown) / sub), "", "must be a folder of YAML files, found a file"))
    for path in _yaml_files(root / sub, recursive=(sub == RESULTS_DIR)):
        shown = _shown(root, path, root_shown)
        obj = _parse(path, shown, model, problems)
        if obj is None:
            catalog.unreadable.add(f"{sub}/{path.stem}")
            continue
        obj_id = obj.id  # type: ignore[attr-defined]
        if obj_id != path.stem:
            problems.append(Problem(shown, "id", f"must equal the file name '{path.stem}', found '{obj_id}'"))
            continue
        if obj_id in out:
            problems.append(Problem(shown, "id", f"'{obj_id}' is already used by {catalog.files[f'{sub}/{obj_id}']}"))
            continue
        out[obj_id] = obj
        catalog.files[f"{sub}/{obj_id}"] = shown
    return out


def load_catalog(root: str | Path) -> tuple[Catalog, list[Problem]]:
    """Read a catalog folder. Returns the valid objects and the problems of the invalid ones.

    Use `tools.catalog.validate.validate` to add the cross-file checks.
    """
    root_shown = str(root)
    root = Path(root)
    problems: list[Problem] = []
    catalog = Catalog(root=root_shown, taxonomy=None)
    if not root.is_dir():
        return catalog, [Problem(root_shown, "", "catalog folder not found (use --catalog DIR)")]
    tax_path = root / TAXONOMY_FILE
    if tax_path.is_file():
        catalog.taxonomy = _parse(tax_path, _shown(root, tax_path, root_shown), Taxonomy, problems)
    else:
        problems.append(Problem(str(Path(root_shown) / TAXONOMY_FILE), "", "file is missing"))
    tags_path = root / TAGS_FILE
    if tags_path.is_file():
        catalog.tags = _parse(tags_path, _shown(root, tags_path, root_shown), TagVocabulary, problems)
    catalog.methods = _load_keyed(root, root_shown, METHODS_DIR, MethodEntry, catalog, problems)
    catalog.benchmarks = _load_keyed(root, root_shown, BENCHMARKS_DIR, Benchmark, catalog, problems)
    catalog.results = _load_keyed(root, root_shown, RESULTS_DIR, ResultTable, catalog, problems)
    catalog.recipes = _load_keyed(root, root_shown, RECIPES_DIR, Recipe, catalog, problems)
    return catalog, problems
