"""JSON Schemas of the catalog files, so editors (yaml-language-server) complete and check entries."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from .models import Benchmark, MethodEntry, Recipe, ResultTable, Taxonomy

SCHEMAS: dict[str, type[BaseModel]] = {
    "method": MethodEntry,
    "benchmark": Benchmark,
    "results": ResultTable,
    "taxonomy": Taxonomy,
    "recipe": Recipe,
}
SCHEMA_DIR = "schema"
METHOD_HEADER = f"# yaml-language-server: $schema=../{SCHEMA_DIR}/method.schema.json"


def schema_text(name: str) -> str:
    schema = SCHEMAS[name].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"vpeft catalog: {name}"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def schema_files(catalog_root: str | Path) -> dict[Path, str]:
    """Every schema file and the text it should hold."""
    folder = Path(catalog_root) / SCHEMA_DIR
    return {folder / f"{name}.schema.json": schema_text(name) for name in SCHEMAS}
