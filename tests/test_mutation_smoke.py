"""benchmarks/mutation.py, the mutation-testing command, kept working: a small real run (one module, two mutants)
and its table, plus the pieces that decide what is counted. The full run is not part of the test suite."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "mutation.py"
spec = importlib.util.spec_from_file_location("mutation_script", SCRIPT)
assert spec is not None and spec.loader is not None
mutation = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutation)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)


@pytest.mark.slow
def test_a_small_run_writes_counts_and_the_table_without_touching_the_checkout(tmp_path: Path) -> None:
    pytest.importorskip("cosmic_ray", reason="cosmic-ray comes with the test extra: pip install -e '.[test]'")
    module = ROOT / "tools" / "repro" / "schedule.py"
    before = hashlib.sha256(module.read_bytes()).hexdigest()
    results, table = tmp_path / "results.json", tmp_path / "table.md"
    proc = run("--module", "tools/repro/schedule.py", "--sample", "2", "--results", str(results), "--table",
               str(table), "--notes", str(tmp_path / "no-notes.yaml"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert hashlib.sha256(module.read_bytes()).hexdigest() == before, "mutants are made in a copy, never here"
    entry = json.loads(results.read_text())["tools/repro/schedule.py"]
    assert entry["killed"] + entry["survived"] == 2, f"two sampled mutants run and judged: {entry}"
    assert entry["incompetent"] == 0, "every mutant's tests ran (no server or client failure)"
    assert entry["mutants"] > 2 and entry["seed"] == 19 and entry["sample"] == 2
    text = table.read_text()
    assert "| `tools/repro/schedule.py` |" in text and "## `tools/repro/schedule.py`" in text


def test_bad_options_and_notes_are_one_line(tmp_path: Path) -> None:
    proc = run("--module", "tools/nowhere.py", "--render-only", "--results", str(tmp_path / "r.json"),
               "--table", str(tmp_path / "t.md"))
    assert proc.returncode == 2 and proc.stderr.startswith("mutation: --module tools/nowhere.py: not in ")
    notes = tmp_path / "notes.yaml"
    notes.write_text("tools/repro/schedule.py:\n  - {id: abc, verdict: maybe, reason: x}\n")
    proc = run("--render-only", "--notes", str(notes), "--results", str(tmp_path / "r.json"),
               "--table", str(tmp_path / "t.md"))
    assert proc.returncode == 2 and "verdict must be 'equivalent' or 'gap'" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_table_counts_equivalent_mutants_out_and_marks_the_target(tmp_path: Path) -> None:
    entry = {"module": "m.py", "tests": ["tests/t.py"], "mutants": 40, "annotation_mutants": 3, "sample": 10,
             "seed": 19, "killed": 8, "survived": 2, "incompetent": 0, "no_test": 0, "commit": "abc",
             "seconds": 1, "survivors": [
                 {"id": "e1", "line": 3, "operator": "NumberReplacer", "change": ["-x = 1", "+x = 2"]},
                 {"id": "g1", "line": 5, "operator": "AddNot", "change": ["-if a:", "+if not a:"]}]}
    notes = {"m.py:e1": {"verdict": "equivalent", "reason": "x is never read"}}
    scored = mutation.score(entry, notes)
    assert scored == {"equivalent": 1, "gap": 0, "unexplained": 1, "share": pytest.approx(8 / 9)}
    text = mutation.render({"m.py": entry}, notes, ["m.py"])
    assert "| `m.py` | abc | 40 | 3 | 10 | 8 | 2 | 1 | 0 | 1 | 89% | no |" in text, "unexplained: not ok"
    assert "**equivalent**: x is never read" in text and "**unexplained**: not yet judged" in text
    notes["m.py:g1"] = {"verdict": "gap", "reason": "no test reads a"}
    assert "| 89% | yes |" in mutation.render({"m.py": entry}, notes, ["m.py"])


def test_mutant_ids_follow_the_change_not_the_line_number() -> None:
    diff = "--- a\n+++ b\n@@ -1 +1 @@\n-    return a + b\n+    return a - b\n"
    moved = diff.replace("@@ -1 +1 @@", "@@ -40 +40 @@")
    assert mutation.mutant_id("m.py", "op", "f", diff) == mutation.mutant_id("m.py", "op", "f", moved)
    assert mutation.mutant_id("m.py", "op", "f", diff) != mutation.mutant_id("m.py", "op", "g", diff)


def test_only_signature_annotations_of_future_annotation_modules_are_left_out(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("from __future__ import annotations\n\n\nclass C:\n    x: int | None\n\n\n"
                      "def f(a: int | None, *b: str, c: float = 1.0) -> int | None:\n    return a\n")
    spans = mutation.signature_annotations(source)
    assert mutation.in_spans((8, 15), spans), "the `|` of a parameter annotation"
    assert mutation.in_spans((8, 56), spans), "the `|` of the return annotation"
    assert not mutation.in_spans((5, 11), spans), "class annotations are read by pydantic and dataclasses"
    assert not mutation.in_spans((9, 11), spans), "the body is mutated"
    source.write_text("def f(a: int | None) -> None:\n    return a\n")
    assert mutation.signature_annotations(source) == [], "without the future import annotations are evaluated"


def test_the_recorded_commit_ignores_the_scripts_own_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run after the first must not be marked "+uncommitted changes" only because it rewrote the results."""
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name in ("code.py", "results.json"):
        (tmp_path / name).write_text("x\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    monkeypatch.setattr(mutation, "ROOT", tmp_path)
    (tmp_path / "results.json").write_text("y\n")
    assert not mutation.head_commit((tmp_path / "results.json",)).endswith("+uncommitted changes")
    (tmp_path / "code.py").write_text("y\n")
    assert mutation.head_commit((tmp_path / "results.json",)).endswith("+uncommitted changes"), "the code changed"


def test_recheck_reruns_exactly_the_recorded_survivors_of_an_unchanged_module() -> None:
    from types import SimpleNamespace

    def item(operator: str, line: int) -> SimpleNamespace:
        return SimpleNamespace(mutations=[SimpleNamespace(operator_name=f"core/{operator}", start_pos=(line, 4))])

    chosen = [item("AddNot", 3), item("NumberReplacer", 7), item("AddNot", 9)]
    head = mutation.head_commit().split("+")[0]
    previous = {"sample": 8, "seed": 19, "commit": head, "survivors": [{"operator": "AddNot", "line": 9}]}
    settings = {"sample": 8, "seed": 19}
    module = "tools/repro/schedule.py"
    assert mutation.recorded_survivors(module, previous, chosen, settings) == [chosen[2]]
    with pytest.raises(mutation.UsageError, match="recorded with sample 8 and seed 19"):
        mutation.recorded_survivors(module, previous, chosen, {"sample": 10, "seed": 19})
    twice = {**previous, "survivors": [{"operator": "AddNot", "line": 9}, {"operator": "AddNot", "line": 9}]}
    with pytest.raises(mutation.UsageError, match="1 sampled mutants match its 2 recorded survivors"):
        mutation.recorded_survivors(module, twice, chosen, settings)
