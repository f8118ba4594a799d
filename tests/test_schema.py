"""The committed JSON Schemas are current, and every catalog file validates against its schema."""

from __future__ import annotations

import json

import jsonschema
import pytest
from vpeft.catalog.schema import schema_files
from vpeft.catalog.yamlio import read_yaml

from tests.conftest import CATALOG


def test_committed_schemas_are_current() -> None:
    for path, text in schema_files(CATALOG).items():
        assert path.is_file(), f"{path} missing: run `vpeft schema`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `vpeft schema`"


FOLDERS = {"methods": "method", "benchmarks": "benchmark", "results": "results", "recipes": "recipe"}


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_files_match_their_schema(folder: str) -> None:
    schema = json.loads((CATALOG / "schema" / f"{FOLDERS[folder]}.schema.json").read_text())
    files = sorted((CATALOG / folder).glob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith(f"# yaml-language-server: $schema=../schema/{FOLDERS[folder]}.schema.json\n"), path
        data = json.loads(json.dumps(read_yaml(path, str(path)), default=str))
        jsonschema.validate(data, schema)


def test_schema_rejects_unknown_keys() -> None:
    schema = json.loads((CATALOG / "schema" / "method.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "x", "bogus": 1}, schema)
