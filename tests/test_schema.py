"""The committed JSON Schemas are current, and every catalog file validates against its schema."""

from __future__ import annotations

import json

import jsonschema
import pytest
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.schema import schema_files
from vpeft.catalog.yamlio import read_yaml

from tests.conftest import CATALOG


def test_committed_schemas_are_current() -> None:
    for path, text in schema_files(load_catalog(CATALOG)[0]).items():
        assert path.is_file(), f"{path} missing: run `vpeft schema`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `vpeft schema`"


FOLDERS = {"methods": "method", "benchmarks": "benchmark", "results": "results", "recipes": "recipe"}


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_files_match_their_schema(folder: str) -> None:
    schema = json.loads((CATALOG / "schema" / f"{FOLDERS[folder]}.schema.json").read_text())
    files = sorted((CATALOG / folder).glob("*.yaml"))
    assert files, f"{CATALOG / folder} holds no .yaml files"
    for path in files:
        text = path.read_text(encoding="utf-8")
        header = f"# yaml-language-server: $schema=../schema/{FOLDERS[folder]}.schema.json\n"
        assert text.startswith(header), f"{path}: the first line must be {header.strip()!r} (editors read it)"
        data = json.loads(json.dumps(read_yaml(path, str(path)), default=str))
        jsonschema.validate(data, schema)


def test_schema_rejects_unknown_keys() -> None:
    schema = json.loads((CATALOG / "schema" / "method.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "x", "bogus": 1}, schema)


METHOD_SCHEMA = json.loads((CATALOG / "schema" / "method.schema.json").read_text())


@pytest.mark.parametrize(("field", "value"), [
    (("code_url",), "http://github.com/x/y"),
    (("paper", "url"), "javascript:alert(1)"),
    (("paper", "arxiv"), "arXiv:2205.13535v2"),
    (("paper", "doi"), "https://doi.org/10.1109/x"),
    (("paper", "year"), 2009),
    (("category",), "adapters"),
    (("paper", "venue"), "Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition"),
])
def test_schema_flags_what_validate_rejects(field: tuple[str, ...], value: object) -> None:
    """An editor with the schema flags the same mistakes as `vpeft validate`, as the contributor types."""
    from pydantic import ValidationError
    from vpeft.catalog.models import MethodEntry

    data = read_yaml(CATALOG / "methods" / "lora.yaml", "lora.yaml")
    data = json.loads(json.dumps(data, default=str))
    jsonschema.validate(data, METHOD_SCHEMA)
    target = data
    for key in field[:-1]:
        target = target[key]
    target[field[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, METHOD_SCHEMA)
    if field not in {("category",), ("paper", "venue")}:  # validate checks these against the taxonomy and venue list
        with pytest.raises(ValidationError):
            MethodEntry.model_validate(data)
