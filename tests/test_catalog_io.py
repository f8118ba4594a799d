"""Reading catalog folders and files, the messages for what cannot be read, and writing new entries.

Every check is what a contributor sees: which files are read, the one line for a file that cannot be, and the file
`vpeft new` writes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, Field, ValidationError
from vpeft.catalog.errors_text import field_path, problems_from
from vpeft.catalog.loader import load_catalog
from vpeft.catalog.models import Paper
from vpeft.catalog.schema import METHOD_HEADER
from vpeft.catalog.service import valid_catalog
from vpeft.catalog.stub import already_held, entry_text, stub, write_new
from vpeft.catalog.yamlio import YamlFileError, dump_yaml, read_yaml
from vpeft.errors import UserError

from tests.conftest import CATALOG
from tests.conftest import entry_text as yaml_entry

TABLE = (CATALOG / "results" / "vpetl-bench-fgvc.yaml").read_text()


# ---------------------------------------------------------------- loader


def test_missing_taxonomy_and_a_file_in_place_of_a_folder_are_named(small_catalog: Path) -> None:
    (small_catalog / "taxonomy.yaml").unlink()
    shutil.rmtree(small_catalog / "benchmarks")
    (small_catalog / "benchmarks").write_text("oops")
    _, problems = load_catalog(small_catalog)
    lines = [str(p) for p in problems]
    assert f"{small_catalog}/taxonomy.yaml: file is missing" in lines
    assert f"{small_catalog}/benchmarks: must be a folder of YAML files, found a file" in lines


def test_result_tables_are_found_in_subfolders_and_ids_stay_unique(small_catalog: Path) -> None:
    for sub in ("a", "b"):
        (small_catalog / "results" / sub).mkdir(parents=True)
        (small_catalog / "results" / sub / "vpetl-bench-fgvc.yaml").write_text(TABLE)
    catalog, problems = load_catalog(small_catalog)
    assert list(catalog.results) == ["vpetl-bench-fgvc"], "a table in a subfolder of results/ is read"
    assert [str(p) for p in problems] == [
        f"{small_catalog}/results/b/vpetl-bench-fgvc.yaml: id: 'vpetl-bench-fgvc' is already used by "
        f"{small_catalog}/results/a/vpetl-bench-fgvc.yaml"]


def test_only_yaml_files_directly_in_methods_are_entries(small_catalog: Path) -> None:
    methods = small_catalog / "methods"
    (methods / "gamma.yml").write_text(yaml_entry("gamma", "Gamma", "Gamma: G", "2301.00003"))
    (methods / "notes.txt").write_text("not an entry")
    (methods / "drafts").mkdir()
    (methods / "drafts" / "delta.yaml").write_text("id: [broken\n")
    catalog, problems = load_catalog(small_catalog)
    assert sorted(catalog.methods) == ["alpha", "beta", "gamma"], ".yml counts; other files and subfolders do not"
    assert problems == []
    assert catalog.files["methods/gamma"] == f"{small_catalog}/methods/gamma.yml"


def test_messages_show_the_catalog_path_as_the_user_gave_it(small_catalog: Path, monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.chdir(small_catalog.parent)
    (small_catalog / "methods" / "gamma.yaml").write_text("")
    _, problems = load_catalog("catalog")
    assert [str(p) for p in problems] == ["catalog/methods/gamma.yaml: file is empty"]


# ---------------------------------------------------------------- YAML files


def test_read_yaml_refuses_what_is_not_a_readable_file(tmp_path: Path) -> None:
    with pytest.raises(YamlFileError, match=r"^shown.yaml: cannot read file: "):
        read_yaml(tmp_path, "shown.yaml")  # a folder
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: [1,\n")
    with pytest.raises(YamlFileError) as exc:
        read_yaml(bad, "bad.yaml")
    assert str(exc.value).startswith("bad.yaml: line 3, column 1: invalid YAML: "), str(exc.value)
    dup = tmp_path / "dup.yaml"
    dup.write_text("a:\n  x: 1\n  x: 2\n")
    with pytest.raises(YamlFileError, match=r"dup.yaml: line 3, column 3: invalid YAML: duplicate key 'x'"):
        read_yaml(dup, "dup.yaml")


def test_read_yaml_reads_comments_and_values() -> None:
    assert read_yaml(CATALOG / "taxonomy.yaml", "t")["survey"]["year"] > 2000


def test_dump_yaml_writes_block_style_with_long_prose_folded_and_urls_whole() -> None:
    long_prose = "word " * 30
    url = "https://example.org/" + "x" * 120
    text = dump_yaml({"summary": long_prose.strip(), "url": url, "list": ["a", "b"], "name": "Zoë"}, "# head")
    assert text.startswith("# head\nsummary: >-\n"), "prose over 100 characters is folded"
    assert f"url: {url}\n" in text, "a long string without spaces stays on one line"
    assert "list:\n  - a\n  - b\n" in text, "list items are indented under their key"
    assert "name: Zoë" in text, "non-ASCII letters are written as they are"
    assert yaml.safe_load(text)["summary"] == long_prose.strip()
    assert dump_yaml({"a": 1}) == "a: 1\n", "no header: no blank first line"


# ---------------------------------------------------------------- messages from validation errors


class Sample(BaseModel):
    kind: str = Field(pattern="^(a|b)$")
    count: int = Field(ge=0)
    ratio: float = Field(gt=0)
    label: str
    tags: list[str]
    mode: str | int = "x"


def messages(data: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ValidationError) as exc:
        Sample.model_validate(data)
    return {p.field: p.message for p in problems_from(exc.value, "f.yaml")}


def test_validation_errors_become_short_field_messages() -> None:
    got = messages({"kind": "a", "count": -1, "ratio": 0, "label": 5, "tags": ["x", 3]})
    assert got["count"] == "must be at least 0"
    assert got["ratio"] == "must be greater than 0.0", "a strict bound says so: 0 itself is refused"
    assert got["label"] == "must be a text string (quote it: '5')", "a number where text is expected: quote it"
    assert got["tags[1]"] == "must be a text string (quote it: '3')"


def test_an_error_without_a_message_of_ours_keeps_pydantics_text_lowercased() -> None:
    """`file: field: input should be ...` reads as one sentence; the whole text must stay (no letter lost)."""
    class Bounded(BaseModel):
        n: int = Field(le=5)

    with pytest.raises(ValidationError) as exc:
        Bounded.model_validate({"n": 6})
    (problem,) = problems_from(exc.value, "f.yaml")
    assert str(problem) == "f.yaml: n: input should be less than or equal to 5", str(problem)


def test_field_paths_drop_pydantic_union_branches() -> None:
    assert field_path(("paper", "authors", 0)) == "paper.authors[0]"
    assert field_path(("rows", 2, "scores", "function-after[x]", "str")) == "rows[2].scores"
    assert field_path(("a", "int", "float", "none", "b")) == "a.b"


def test_one_line_per_field_even_when_a_union_fails_in_every_branch() -> None:
    with pytest.raises(ValidationError) as exc:
        Sample.model_validate({"kind": "a", "count": 1, "ratio": 1, "label": "l", "tags": [], "mode": [1]})
    problems = problems_from(exc.value, "f.yaml")
    assert [p.field for p in problems] == ["mode"] * len(problems) and len(problems) == len(
        {p.message for p in problems}), "repeated (field, message) pairs are reported once"


# ---------------------------------------------------------------- new entries


def test_stub_is_a_valid_entry_with_its_arxiv_page_as_url_and_source() -> None:
    entry = stub("new-method", "adapter-tuning", "2401.00001", "New Method")
    assert (entry.name, entry.paper.url, entry.sources) == (
        "New Method", "https://arxiv.org/abs/2401.00001", ["https://arxiv.org/abs/2401.00001"])
    bare = stub("bare", "adapter-tuning")
    assert (bare.name, bare.paper.url, bare.sources, bare.paper.arxiv) == ("bare", None, [], None)
    text = entry_text(entry)
    assert text.startswith(METHOD_HEADER + "\n"), "the schema line editors read comes first"
    assert yaml.safe_load(text)["paper"]["arxiv"] == "2401.00001"


def test_write_new_never_overwrites_and_never_adds_a_paper_twice(small_catalog: Path) -> None:
    catalog = valid_catalog(str(small_catalog))
    with pytest.raises(UserError, match=r"alpha.yaml: already exists; edit it instead"):
        write_new(catalog, stub("alpha", "adapter-tuning"))
    with pytest.raises(UserError, match=r"the catalog already holds this paper as 'alpha' \("):
        write_new(catalog, stub("again", "adapter-tuning", "2301.00001"))
    same_title = stub("retitled", "adapter-tuning").model_copy(
        update={"paper": Paper(title="ALPHA -- a test adapter", authors=None, venue=None, year=None)})
    assert already_held(catalog, same_title) == "alpha", "the same title, spelled differently"
    path = write_new(catalog, stub("gamma", "adapter-tuning", "2301.09999"))
    assert path == small_catalog / "methods" / "gamma.yaml" and path.read_text().startswith(METHOD_HEADER)
    assert already_held(catalog, stub("delta", "adapter-tuning")) is None, "no arXiv id and no title: nothing held"


def test_a_different_paper_is_not_taken_for_one_already_held(small_catalog: Path) -> None:
    """`vpeft new` refuses a paper the catalog holds; a new paper with its own DOI or title must not be refused."""
    alpha = small_catalog / "methods" / "alpha.yaml"
    alpha.write_text(yaml_entry().replace("  venue: CVPR\n", "  venue: CVPR\n  doi: 10.1109/CVPR.2023.00001\n"))
    catalog = valid_catalog(str(small_catalog))

    def new(title: str | None, doi: str | None) -> str | None:
        paper = Paper(title=title, authors=None, venue=None, year=None, doi=doi)
        return already_held(catalog, stub("newcomer", "adapter-tuning").model_copy(update={"paper": paper}))

    assert new("A Different Paper", None) is None, "a title no entry has: not held (alpha.yaml, beta.yaml differ)"
    assert new(None, "10.1109/CVPR.2023.00000") is None, "another DOI: not held, whatever its order"
    assert new(None, "10.1109/cvpr.2023.00001") == "alpha", "alpha.yaml's paper.doi, in another case: held"
