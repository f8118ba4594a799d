"""What `vpeft validate` says about result tables, recipes, benchmarks and variants, and the warnings it gives.

Each case is a small catalog with one mistake a contributor could make; the expected output is the exact line the
contributor reads: the file, the field, what is wrong and, where there is one, what to do.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from vpeft.catalog.problems import Problem
from vpeft.catalog.service import check_catalog, optional_catalog, valid_catalog
from vpeft.cli import main
from vpeft.errors import CatalogError

from tests.conftest import entry_text

TABLE = """\
id: t1
benchmark: fgvc
backbone: ViT-B/16
source:
  name: Alpha paper
  kind: paper
  url: https://arxiv.org/abs/2301.00001
  table: Table 2
rows:
  - label: Alpha
    method: alpha
    scores: {cub200_2011: 80.0, nabirds: 70.0}
  - label: Full fine-tuning
    method: null
    row_kind: baseline
    scores: {cub200_2011: 85.0}
"""

SETTINGS = ("backbone", "optimizer", "lr", "weight_decay", "epochs", "warmup_epochs", "batch_size", "drop_path",
            "normalisation", "model_selection")
RECIPE = ("id: alpha\nimplementation: lora\ncompare_with: [alpha]\nreference: {fgvc: t1}\nbenchmarks:\n  fgvc:\n"
          + "".join(f"    {name}: {{value: null}}\n" for name in SETTINGS))


def write(root: Path, folder: str, name: str, text: str) -> Path:
    path = root / folder / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def validate_lines(root: Path, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, list[str]]:
    code = main(["--catalog", str(root), "validate", *options])
    return code, capsys.readouterr().out.strip().splitlines()


def test_a_valid_table_and_recipe_pass(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(small_catalog, "results", "t1", TABLE)
    write(small_catalog, "recipes", "alpha", RECIPE)
    code, lines = validate_lines(small_catalog, capsys)
    assert (code, lines) == (0, []), f"the reference table and recipe of this test must be valid; got {lines}"


# (case id, folder, file text, the one expected line; {f} is the file)
CASES: list[tuple[str, str, str, str]] = [
    ("table-unknown-benchmark", "results", TABLE.replace("benchmark: fgvc", "benchmark: fgvcx"),
     "{f}: benchmark: unknown benchmark 'fgvcx'"),
    ("table-unknown-task", "results", TABLE.replace("nabirds: 70.0", "nabird: 70.0"),
     "{f}: rows[0].scores.nabird: unknown task of fgvc"),
    ("table-label-not-an-alias", "results", TABLE.replace("label: Alpha", "label: Omega"),
     "{f}: rows[0].label: 'Omega' does not start with a name or alias of 'alpha' (or of the method it is a variant "
     "of); add it to its aliases"),
    ("table-unknown-method", "results", TABLE.replace("method: alpha", "method: omega"),
     "{f}: rows[0].method: unknown method 'omega'"),
    ("table-method-row-without-method", "results", TABLE.replace("method: alpha", "method: null"),
     "{f}: rows[0].method: is required for a method row (or set row_kind)"),
    ("table-baseline-with-method", "results",
     TABLE.replace("Full fine-tuning\n    method: null", "Beta\n    method: beta"),
     "{f}: rows[1].method: must be null for a baseline row"),
    ("recipe-unknown-compare-with", "recipes", RECIPE.replace("compare_with: [alpha]", "compare_with: [alpha, om]"),
     "{f}: compare_with[1]: unknown method 'om'"),
    ("recipe-unknown-reference-table", "recipes", RECIPE.replace("{fgvc: t1}", "{fgvc: t2}"),
     "{f}: reference.fgvc: unknown result table 't2'"),
    ("recipe-reference-of-another-benchmark", "recipes", RECIPE.replace("{fgvc: t1}", "{vtab-1k: t1}"),
     "{f}: reference.vtab-1k: 't1' is a table of fgvc"),
    ("recipe-unknown-benchmark", "recipes", RECIPE.replace("  fgvc:\n", "  fgvcx:\n"),
     "{f}: benchmarks.fgvcx: unknown benchmark"),
    ("recipe-not-a-method", "recipes", RECIPE.replace("id: alpha", "id: omega"),
     "{f}: id: unknown method 'omega' (a recipe is named after a catalog method, or after the registry method it "
     "trains when the catalog has none)"),
    ("recipe-per-task-unknown-task", "recipes",
     RECIPE + "    per_task:\n      source: {section: Table 9}\n      values: {cub: {lr: 0.1}}\n",
     "{f}: benchmarks.fgvc.per_task.values.cub: unknown task of fgvc"),
]


@pytest.mark.parametrize(("folder", "text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_table_or_recipe_gives_one_line(small_catalog: Path, capsys: pytest.CaptureFixture[str], folder: str,
                                              text: str, expected: str) -> None:
    table = write(small_catalog, "results", "t1", text if folder == "results" else TABLE)
    shown = table
    if folder == "recipes":
        shown = write(small_catalog, "recipes", "omega" if "id: omega" in text else "alpha", text)
    code, lines = validate_lines(small_catalog, capsys)
    assert code == 1, f"validate must fail on {expected!r}"
    assert lines == [expected.format(f=shown)], f"expected exactly one line naming the file and field; got {lines}"


def test_an_unknown_per_task_setting_lists_the_known_ones(small_catalog: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    write(small_catalog, "results", "t1", TABLE)
    text = RECIPE + ("    per_task:\n      source: {section: Table 9}\n"
                     "      values: {nabirds: {lrr: 0.1, method.r: 4}}\n")
    path = write(small_catalog, "recipes", "alpha", text)
    code, lines = validate_lines(small_catalog, capsys)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: benchmarks.fgvc.per_task.values.nabirds.lrr: unknown setting (known: "), (
        "a typo in a per-task setting names the setting and lists the known names; method.* options pass")
    assert "lr, " in lines[0]


def test_an_implementation_missing_from_the_registry_is_a_warning_shown_by_strict(
        small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(small_catalog, "results", "t1", TABLE)
    path = write(small_catalog, "recipes", "alpha", RECIPE.replace("implementation: lora", "implementation: soon"))
    assert validate_lines(small_catalog, capsys) == (0, []), "a recipe may land before its implementation"
    code, lines = validate_lines(small_catalog, capsys, "--strict")
    assert code == 1, "--strict fails on warnings"
    assert f"{path}: implementation: warning: 'soon' is not in the methods registry yet" in lines


def test_strict_lists_leaves_without_methods_and_unverified_facts(small_catalog: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    gamma = entry_text("gamma", "Gamma", "Gamma: A Third", "2301.00003").replace("  venue: CVPR\n", "  venue: null\n")
    gamma += "notes:\n  - The venue is not on the paper's pages; checked arXiv and the code.\n"
    path = write(small_catalog, "methods", "gamma", gamma)
    assert validate_lines(small_catalog, capsys)[0] == 0, "warnings alone do not fail a plain validate"
    code, lines = validate_lines(small_catalog, capsys, "--strict")
    assert code == 1, f"`vpeft validate --strict` must exit 1 when it lists warnings or notes; it printed {lines}"
    assert f"{path}: paper.venue: note: not verified yet (null; the notes say why)" in lines, (
        "an explained null fact is listed under --strict")
    assert "catalog/taxonomy.yaml: nodes.prompt-tuning: warning: leaf has no methods" in lines
    assert not any("adapter-tuning: warning" in line for line in lines), "a leaf with methods is not listed"


def test_plain_validate_counts_the_warnings_and_says_how_to_list_them(small_catalog: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--catalog", str(small_catalog), "validate"]) == 0
    err = capsys.readouterr().err
    assert "0 error(s)," in err and "(--strict lists them)" in err, err


def test_a_variant_of_a_variant_names_the_parent_to_use(small_catalog: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    write(small_catalog, "methods", "beta", entry_text("beta", "Beta", "Beta: Another Test Adapter", "2301.00002")
          + "variant_of: alpha\n")
    path = write(small_catalog, "methods", "gamma", entry_text("gamma", "Gamma", "Gamma: G", "2301.00003")
                 + "variant_of: beta\n")
    code, lines = validate_lines(small_catalog, capsys)
    assert (code, lines) == (1, [f"{path}: variant_of: 'beta' is itself a variant; name its parent"])


def test_variants_share_their_parents_paper_without_a_duplicate_report(small_catalog: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    write(small_catalog, "methods", "gamma", entry_text("gamma", "Gamma", "Alpha: A Test Adapter", "2301.00001")
          + "variant_of: alpha\n")
    assert validate_lines(small_catalog, capsys) == (0, []), "a variant repeats its parent's arXiv id and title"


@pytest.mark.parametrize(("change", "field", "message"), [
    ("  - {id: dup, name: Dup, group: natural}\n  - {id: dup, name: Dup again, group: natural}\n", "tasks[1].id",
     "duplicate task 'dup'"),
    ("  - {id: odd, name: Odd, group: nowhere}\n", "tasks[0].group", "unknown group 'nowhere'"),
])
def test_benchmark_tasks_are_unique_and_in_known_groups(small_catalog: Path, capsys: pytest.CaptureFixture[str],
                                                        change: str, field: str, message: str) -> None:
    text = ("id: tiny\nname: Tiny\nkind: image-classification\ndescription: A test benchmark.\n"
            "groups:\n  - {id: natural, name: Natural}\ntasks:\n" + change.replace("}", ", metric: top-1}"))
    path = write(small_catalog, "benchmarks", "tiny", text)
    code, lines = validate_lines(small_catalog, capsys)
    assert code == 1 and f"{path}: {field}: {message}" in lines, lines


def test_problem_lines_name_file_field_and_severity() -> None:
    assert str(Problem("a.yaml", "name", "is wrong")) == "a.yaml: name: is wrong"
    assert str(Problem("a.yaml", "", "file is empty")) == "a.yaml: file is empty"
    assert str(Problem("a.yaml", "x", "check", "warning")) == "a.yaml: x: warning: check"
    assert sorted([Problem("b", "a", "m"), Problem("a", "z", "m")])[0].file == "a", "sorted by file, then field"


def test_valid_catalog_raises_one_line_for_one_error_and_a_count_for_several(small_catalog: Path) -> None:
    (small_catalog / "methods" / "gamma.yaml").write_text("")
    with pytest.raises(CatalogError) as one:
        valid_catalog(str(small_catalog))
    assert str(one.value) == f"{small_catalog}/methods/gamma.yaml: file is empty"
    (small_catalog / "methods" / "delta.yaml").write_text("")
    with pytest.raises(CatalogError) as two:
        valid_catalog(str(small_catalog))
    first, *rest = str(two.value).splitlines()
    assert first == "the catalog has 2 problem(s); run `vpeft validate`:" and len(rest) == 2


def test_warnings_do_not_stop_a_valid_catalog_and_registry_checks_are_optional(small_catalog: Path) -> None:
    write(small_catalog, "methods", "gamma", entry_text("gamma", "Gamma", "Gamma: G", "2301.00003")
          + "implementation: nowhere\n")
    _, without = check_catalog(str(small_catalog), with_registry=False)
    assert not [p for p in without if p.severity == "error"], "without the registry the implementation is unchecked"
    _, with_registry = check_catalog(str(small_catalog))
    assert [p.field for p in with_registry if p.severity == "error"] == ["implementation"]


def test_no_catalog_outside_a_clone_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert optional_catalog("catalog") is None, "no ./catalog: commands about the implementations still work"
    with pytest.raises(CatalogError, match="catalog folder not found"):
        optional_catalog(str(tmp_path / "named-but-missing"))


@pytest.mark.parametrize("named", ["my-catalog", "zz", "catalogs"])
def test_a_named_catalog_folder_that_is_missing_is_an_error_not_silently_no_catalog(
        named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the default ./catalog may be absent (an installed package used outside a clone); a folder the user
    named with --catalog that does not exist must say so, or `vpeft params NAME` would ignore their catalog."""
    monkeypatch.chdir(tmp_path)
    assert optional_catalog("catalog") is None, "no ./catalog and none named: commands run without a catalog"
    with pytest.raises(CatalogError, match=f"^{named}: catalog folder not found"):
        optional_catalog(named)
