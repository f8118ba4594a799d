"""JSON Schemas of the catalog files, so editors (yaml-language-server) complete and check entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..bib.venues import short_venues
from .models import Benchmark, Catalog, MethodEntry, Recipe, ResultTable, TagVocabulary, Taxonomy

SCHEMAS: dict[str, type[BaseModel]] = {
    "method": MethodEntry,
    "benchmark": Benchmark,
    "results": ResultTable,
    "taxonomy": Taxonomy,
    "recipe": Recipe,
    "tags": TagVocabulary,
}
SCHEMA_DIR = "schema"
METHOD_HEADER = f"# yaml-language-server: $schema=../{SCHEMA_DIR}/method.schema.json"


def schema_text(name: str, leaves: list[str] | None = None) -> str:
    """The JSON Schema of one kind of file; `leaves` (the taxonomy's) become the choices of a method's category."""
    schema = SCHEMAS[name].model_json_schema()
    if name == "method" and leaves:
        schema["properties"]["category"]["enum"] = sorted(leaves)
    if name == "method":
        _enum_of_string(schema["$defs"]["Paper"]["properties"]["venue"], short_venues())
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"vpeft catalog: {name}"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def _enum_of_string(prop: dict[str, Any], choices: list[str]) -> None:
    """Restrict the string branch of a nullable string property to `choices` (null stays allowed)."""
    for branch in prop.get("anyOf", [prop]):
        if branch.get("type") == "string":
            branch["enum"] = choices


def schema_files(catalog: Catalog) -> dict[Path, str]:
    """Every schema file of a catalog and the text it should hold (categories from its taxonomy, if it loaded)."""
    folder = Path(catalog.root) / SCHEMA_DIR
    leaves = [leaf.id for leaf in catalog.taxonomy.leaves()] if catalog.taxonomy else None
    return {folder / f"{name}.schema.json": schema_text(name, leaves) for name in SCHEMAS}
