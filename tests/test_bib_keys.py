"""Citation keys: every paper has a locked key, keys never change once committed, clashes get a suffix."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from vpeft.bib.keys import (
    LOCK_FILE,
    CitationKeys,
    complete_keys,
    follows_rule,
    is_provisional,
    key_owners,
    keys_text,
    load_keys,
    update_keys,
)
from vpeft.catalog.models import Paper
from vpeft.catalog.service import valid_catalog
from vpeft.cli import main
from vpeft.commands.validate import citation_key_problems
from vpeft.errors import UserError

from tests.conftest import CATALOG, ROOT, entry_text


def test_every_paper_has_a_locked_key() -> None:
    catalog = valid_catalog(str(CATALOG))
    assert citation_key_problems(catalog) == []  # the rule `vpeft validate` applies
    # the only unlocked papers are those without known authors, and their keys say so
    keys, provisional = complete_keys(catalog)
    owners = dict(key_owners(catalog))
    assert all(owners[o].authors is None and is_provisional(keys.methods[o]) for o in provisional)


def _committed_versions() -> list[str]:
    try:
        shas = subprocess.run(["git", "log", "--format=%H", "--", f"catalog/{LOCK_FILE}"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return []
    texts = []
    for sha in shas:
        shown = subprocess.run(["git", "show", f"{sha}:catalog/{LOCK_FILE}"], cwd=ROOT, capture_output=True,
                               text=True)
        if shown.returncode == 0:
            texts.append(shown.stdout)
    return texts


def test_lock_file_is_in_the_writers_form() -> None:
    # `vpeft bib --update-keys` rewrites the whole file; a hand-wrapped block would show up as a rewrap in its diff
    text = (CATALOG / LOCK_FILE).read_text(encoding="utf-8")
    assert keys_text(CitationKeys.model_validate(yaml.safe_load(text))) == text, "run `vpeft bib --update-keys`"


def test_committed_keys_never_change() -> None:
    versions = _committed_versions()
    if not versions:
        pytest.skip("no git history of the lock file here (not a git checkout)")
    current = dict(load_keys(valid_catalog(str(CATALOG))).items())
    for text in versions:
        old = yaml.safe_load(text)
        pairs = [(f"taxonomy.{k}", v) for k, v in old.get("references", {}).items()] + list(old["methods"].items())
        for owner, key in pairs:
            if is_provisional(key):  # keys of unknown-author papers were briefly locked on the bib branch
                continue
            assert current.get(owner) == key, f"{owner}: key '{key}' was committed and must not change or go"


def test_keys_are_appended_and_stay_put(small_catalog: Path) -> None:
    catalog = valid_catalog(str(small_catalog))
    assert update_keys(catalog)[-2:] == ["alpha", "beta"]
    keys = load_keys(catalog)
    assert keys.methods == {"alpha": "lovelace2023alpha", "beta": "lovelace2023beta"}
    # a corrected title does not move a published key; a new paper with the same base key gets a suffix
    (small_catalog / "methods" / "alpha.yaml").write_text(entry_text(title="Gamma: Renamed"))
    (small_catalog / "methods" / "gamma.yaml").write_text(entry_text("gamma", "Gamma", "Beta: Clash", "2301.00003"))
    catalog = valid_catalog(str(small_catalog))
    assert update_keys(catalog) == ["gamma"]
    assert load_keys(catalog).methods == {"alpha": "lovelace2023alpha", "beta": "lovelace2023beta",
                                          "gamma": "lovelace2023betab"}
    assert update_keys(catalog) == []


def test_bad_lock_file_is_one_line(small_catalog: Path) -> None:
    (small_catalog / LOCK_FILE).write_text("methods:\n  alpha: Not A Key\n")
    with pytest.raises(UserError, match=r"citation-keys.yaml: methods.alpha: "):
        load_keys(valid_catalog(str(small_catalog)))
    (small_catalog / LOCK_FILE).write_text("methods:\n  alpha: same2023x\n  beta: same2023x\n")
    with pytest.raises(UserError, match="used by both 'alpha' and 'beta'"):
        load_keys(valid_catalog(str(small_catalog)))
    (small_catalog / LOCK_FILE).write_text("methods:\n  alpha: anon2023alpha\n")
    with pytest.raises(UserError, match="provisional key"):
        load_keys(valid_catalog(str(small_catalog)))


def test_unknown_authors_give_a_provisional_key_that_is_not_locked(small_catalog: Path) -> None:
    text = entry_text("gamma", "Gamma", "Gamma: No Authors", "2301.00003").replace(
        "  authors:\n    - Lovelace, Ada\n    - Turing, Alan\n", "  authors: null\n")
    (small_catalog / "methods" / "gamma.yaml").write_text(text)
    catalog = valid_catalog(str(small_catalog))
    assert "gamma" not in update_keys(catalog)
    assert "gamma" not in load_keys(catalog).methods
    assert complete_keys(catalog)[0].methods["gamma"] == "anon2023gamma"


def test_cli_update_keys(small_catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--catalog", str(small_catalog), "bib", "--update-keys"]) == 0
    assert "4 new key(s)" in capsys.readouterr().out
    before = (small_catalog / LOCK_FILE).read_text()
    assert main(["--catalog", str(small_catalog), "bib", "--update-keys"]) == 0
    assert "0 new key(s)" in capsys.readouterr().out
    assert (small_catalog / LOCK_FILE).read_text() == before


@pytest.mark.parametrize(("key", "follows"), [
    ("chen2022adaptformer", True), ("chen2022adaptformerb", True), ("chen2022adaptformerz", True),
    ("chen2022adaptformer2", False), ("chen2022adaptformerbb", False), ("chen2022adapt", False),
    ("abc2022adaptformer", False), ("zhou2022adaptformer", False), ("", False),
])
def test_a_locked_key_follows_the_rule_when_it_is_the_rules_key_or_that_key_with_one_clash_letter(
        key: str, follows: bool) -> None:
    """citation-keys.yaml keeps old keys; `vpeft validate` asks to explain each one the rule no longer gives."""
    paper = Paper(title="AdaptFormer: Adapting Vision Transformers", authors=["Chen, Shoufa"], venue=None,
                  year=2022)
    assert follows_rule(key, paper) is follows, (
        f"{key!r} for Chen 2022 'AdaptFormer' (rule key chen2022adaptformer): "
        f"{'follows the rule' if follows else 'does not follow the rule (needs an explanation)'}")
