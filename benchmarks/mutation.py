#!/usr/bin/env python3
"""Mutation testing of vpeft's core modules with cosmic-ray, and the committed result table.

    python benchmarks/mutation.py                       # every module in benchmarks/mutation.yaml
    python benchmarks/mutation.py --module tools/repro/selection.py --sample 10

Each module is mutated by cosmic-ray (operator swaps, number and boolean replacements, removed decorators, ...) and
each mutant is run against the tests benchmarks/mutation.yaml lists for that module. A mutant the tests do not
notice "survives"; benchmarks/mutation_notes.yaml says for each survivor whether it is equivalent (no behaviour
changes, with the reason) or a gap. Results go to benchmarks/mutation_results.json (one entry per module, kept
across runs of other modules) and the table benchmarks/MUTATION.md is written from it.

The mutants are made in a copy of the work tree in a temporary folder, never in the checkout: the tests run there
through a small fork server that imports torch and timm once (vpeft itself is imported afresh, mutated, in each
forked child), and a sitecustomize on PYTHONPATH makes any `python`/`vpeft` subprocess a test starts import the
copy too. This is a script, not part of the test run; tests/test_mutation_smoke.py runs it on a few mutants.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SENTINEL = "mutation-client: pytest exit "
TARGET = 0.85  # the share of non-equivalent mutants the tests must kill in every module (issue 19)
# Third-party packages the server imports once, so that each forked test run starts without paying for them.
PREIMPORTS = ("torch", "timm", "torchvision", "numpy", "pytest", "hypothesis", "pydantic", "yaml", "jinja2",
              "bibtexparser", "safetensors", "jsonschema", "sklearn", "PIL", "tqdm")
FINDER = '''\
"""Written by benchmarks/mutation.py: `vpeft` imports from the mutated copy named by VPEFT_MUTATION_ROOT."""
import os
import sys
from importlib.machinery import ModuleSpec, PathFinder
from importlib.util import spec_from_file_location
from pathlib import Path

_MAPPING = {mapping!r}


class _CopyFinder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        root = os.environ.get("VPEFT_MUTATION_ROOT")
        if not root:
            return None
        if fullname in _MAPPING:
            folder = Path(root) / _MAPPING[fullname]
            init = folder / "__init__.py"
            if init.exists():
                return spec_from_file_location(fullname, init, submodule_search_locations=[str(folder)])
            spec = ModuleSpec(fullname, None, is_package=True)
            spec.submodule_search_locations = [str(folder)]
            return spec
        parent = fullname.rpartition(".")[0]
        if parent in _MAPPING:
            return PathFinder.find_spec(fullname, [str(Path(root) / _MAPPING[parent])])
        return None


if not any(type(f).__name__ == "_CopyFinder" or f is _CopyFinder for f in sys.meta_path):
    sys.meta_path.insert(0, _CopyFinder)
'''


class UsageError(Exception):
    """A bad option or input file: one line for the user, exit status 2."""


# ---------------------------------------------------------------- the test server (runs in the copy)


def serve(sock_path: str) -> None:
    """Import the heavy dependencies once, then fork one child per test request (a JSON line: args, timeout)."""
    sys.dont_write_bytecode = True  # a mutant may have the same size and mtime second as the file before it
    for name in PREIMPORTS:
        with contextlib.suppress(ImportError):
            __import__(name)
    try:
        import torch

        torch.set_num_threads(1)  # the machine is shared; one mutant at a time, one thread
    except ImportError:
        pass
    assert "vpeft" not in sys.modules, "the server must not import vpeft: every child imports the mutant"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(1)
    server.settimeout(5)
    parent = os.getppid()
    while True:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            if os.getppid() != parent:  # the run was stopped: do not outlive it
                return
            continue
        conn.settimeout(None)
        with conn:
            request = json.loads(conn.makefile().readline())
            if request.get("stop"):
                return
            conn.sendall((json.dumps(_run_child(request["args"], float(request["timeout"]))) + "\n").encode())


def _run_child(args: list[str], timeout: float) -> dict[str, Any]:
    log = tempfile.NamedTemporaryFile(prefix="mutation-", suffix=".log", delete=False)  # noqa: SIM115 (the child writes it)
    pid = os.fork()
    if pid == 0:  # the child: a fresh pytest in a fresh import of vpeft
        code = 3
        try:
            os.setpgrp()
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            # no scan of every installed package for pytest plugins: the tests here need none of them, and on a
            # shared machine that scan is a good part of each mutant's time
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
            import pytest
            import sitecustomize  # noqa: F401  (the copy finder; PYTHONPATH names its folder)

            code = int(pytest.main(["-q", "-x", "-p", "no:cacheprovider", "-p", "no:randomly", *args]))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            code = -9
            break
        time.sleep(0.05)
    output = Path(log.name).read_text(errors="replace")[-4000:]
    os.unlink(log.name)
    return {"code": code, "output": output}


def client(sock_path: str, args: list[str], timeout: float) -> int:
    """The test command cosmic-ray runs: ask the server to run pytest on `args`; exit with pytest's status."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(sock_path)
    conn.sendall((json.dumps({"args": args, "timeout": timeout}) + "\n").encode())
    reply = json.loads(conn.makefile().readline())
    print(reply["output"])
    print(f"{SENTINEL}{reply['code']}")  # without this line, a non-zero exit is the client's failure, not a kill
    return 1 if reply["code"] else 0


# ---------------------------------------------------------------- the copy, the server's life


def package_mapping(root: Path) -> dict[str, str]:
    """[tool.setuptools.package-dir] of pyproject.toml: import name -> folder (vpeft -> tools, ...)."""
    try:
        import tomllib as toml_reader  # Python >= 3.11
    except ImportError:  # pragma: no cover - Python 3.10: cosmic-ray's own dependency
        import toml as toml_reader  # type: ignore[no-redef]
    text = (root / "pyproject.toml").read_text()
    data = toml_reader.loads(text)
    return dict(data["tool"]["setuptools"]["package-dir"])


def copy_tree(dest: Path) -> Path:
    """The work tree as git sees it (tracked and untracked, not ignored files), copied to `dest`/repo."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        raise UsageError(f"{ROOT}: not a git work tree ({listed.stderr.strip()}); the copy to mutate is made from it")
    repo = dest / "repo"
    for name in filter(None, listed.stdout.split("\0")):
        src = ROOT / name
        if src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    return repo


class Server:
    """The fork server in the copy, its socket and the environment its test runs see."""

    def __init__(self, work: Path, repo: Path) -> None:
        stage = work / "stage"
        stage.mkdir()
        (stage / "sitecustomize.py").write_text(FINDER.format(mapping=package_mapping(repo)))
        self.sock = str(work / "tests.sock")
        self.env = dict(os.environ, VPEFT_MUTATION_ROOT=str(repo), PYTHONDONTWRITEBYTECODE="1",
                        PYTHONPATH=os.pathsep.join(filter(None, [str(stage), os.environ.get("PYTHONPATH")])))
        script = repo / "benchmarks" / "mutation.py"
        self.proc = subprocess.Popen([sys.executable, str(script), "--serve", self.sock], cwd=repo, env=self.env)
        self.command = [sys.executable, str(script), "--client", self.sock]
        while not Path(self.sock).exists():
            if self.proc.poll() is not None:
                raise UsageError("the test server did not start (see the lines above)")
            time.sleep(0.2)

    def run(self, tests: list[str], timeout: float) -> dict[str, Any]:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self.sock)
        conn.sendall((json.dumps({"args": tests, "timeout": timeout}) + "\n").encode())
        return json.loads(conn.makefile().readline())

    def stop(self) -> None:
        try:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(self.sock)
            conn.sendall(b'{"stop": true}\n')
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


# ---------------------------------------------------------------- one module


def mutant_id(module: str, operator: str, definition: str | None, diff: str) -> str:
    """A name for a mutant that survives edits elsewhere in the file: what it changes, not where the line is."""
    changed = [line[1:].strip() for line in diff.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    text = "|".join([module, operator, definition or "", *changed])
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def run_module(module: str, tests: list[str], repo: Path, server: Server, settings: dict[str, Any],
               work: Path) -> dict[str, Any]:
    """Baseline, cosmic-ray init, the fixed-seed sample, cosmic-ray exec, and the counts of this module."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    started = time.monotonic()
    baseline = server.run(tests, settings["timeout"])
    if baseline["code"] != 0:
        raise UsageError(f"{module}: its tests fail before any mutation (exit {baseline['code']}, "
                         f"{' '.join(tests)}):\n" + baseline["output"][-1500:])
    config = work / (module.replace("/", "_") + ".toml")
    command = shlex.join([*server.command, "--timeout", str(settings["timeout"]), "--", *tests])
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(module)}\n"
        f"timeout = {float(settings['timeout']) + 30}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n"
        '[cosmic-ray.distributor]\nname = "local"\n')
    session = config.with_suffix(".sqlite")
    cosmic = [sys.executable, "-m", "cosmic_ray.cli"]
    cosmic_ray(cosmic, "init", config, session, repo, server.env)
    with use_db(str(session), WorkDB.Mode.open) as db:
        everything = sorted(db.work_items, key=lambda w: (w.mutations[0].operator_name, w.mutations[0].occurrence))
        unevaluated = signature_annotations(repo / module)
        items = [w for w in everything if not in_spans(w.mutations[0].start_pos, unevaluated)]
        total = len(items)
        chosen = items if total <= settings["sample"] else random.Random(settings["seed"]).sample(items,
                                                                                                   settings["sample"])
        previous = settings.get("recheck", {}).get(module)
        if previous is not None:
            chosen = recorded_survivors(module, previous, chosen, settings)
        keep = {w.job_id for w in chosen}
        for item in everything:
            if item.job_id not in keep:
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
    cosmic_ray(cosmic, "exec", config, session, repo, server.env)
    entry = summarise(module, tests, session, total, settings, time.monotonic() - started)
    if previous is not None:  # the mutants killed in the recorded run stay killed: the module is the same
        entry = {**entry, "killed": previous["killed"] + entry["killed"], "first_commit": previous["commit"],
                 "rechecked": len(chosen)}
    return {**entry, "annotation_mutants": len(everything) - total}


def recorded_survivors(module: str, previous: dict[str, Any], chosen: list[Any], settings: dict[str, Any]
                       ) -> list[Any]:
    """`--recheck`: of the same fixed-seed sample, only the mutants that survived the recorded run (found by operator
    and line, which hold because the module's code has not changed since that run)."""
    if (previous["sample"], previous["seed"]) != (settings["sample"], settings["seed"]):
        raise UsageError(f"--recheck {module}: recorded with sample {previous['sample']} and seed {previous['seed']}; "
                         "use the same ones or run the module in full")
    since = previous["commit"].split("+")[0].split()[0]
    changed = subprocess.run(["git", "diff", "--quiet", since, "--", module], cwd=ROOT).returncode
    if changed != 0:
        raise UsageError(f"--recheck {module}: the module changed since its recorded run ({since}): run it in full")
    wanted = {(s["operator"], s["line"]) for s in previous["survivors"]}
    found = [w for w in chosen if (w.mutations[0].operator_name.removeprefix("core/"), w.mutations[0].start_pos[0])
             in wanted]
    if len(found) != len(previous["survivors"]):
        raise UsageError(f"--recheck {module}: {len(found)} sampled mutants match its {len(previous['survivors'])} "
                         "recorded survivors by operator and line: run the module in full")
    return found


Span = tuple[tuple[int, int], tuple[int, int]]


def signature_annotations(path: Path) -> list[Span]:
    """Where a function's parameter and return annotations are, in a module with `from __future__ import
    annotations`: Python keeps them as strings and never evaluates them, so a mutant there changes nothing.
    (Class-level annotations are not listed: pydantic and dataclasses read those.)"""
    import ast

    tree = ast.parse(path.read_text())
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and
                 any(a.name == "annotations" for a in n.names) for n in tree.body)
    if not future:
        return []
    spans: list[Span] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            notes = [a.annotation for a in every if a is not None and a.annotation is not None]
            for note in [*notes, node.returns]:
                if note is not None:
                    spans.append(((note.lineno, note.col_offset), (note.end_lineno or 0, note.end_col_offset or 0)))
    return spans


def in_spans(pos: tuple[int, int], spans: list[Span]) -> bool:
    return any(start <= tuple(pos) < end for start, end in spans)


def cosmic_ray(cosmic: list[str], command: str, config: Path, session: Path, repo: Path, env: dict[str, str]
               ) -> None:
    proc = subprocess.run([*cosmic, command, str(config), str(session)], cwd=repo, env=env)
    if proc.returncode != 0:
        raise UsageError(f"cosmic-ray {command} failed with status {proc.returncode} (its output is above)")


def summarise(module: str, tests: list[str], session: Path, total: int, settings: dict[str, Any],
              seconds: float) -> dict[str, Any]:
    from cosmic_ray.work_db import WorkDB, use_db

    counts = {"killed": 0, "survived": 0, "incompetent": 0, "no_test": 0}
    survivors = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            outcome = result.worker_outcome.value
            if outcome == "skipped":
                continue
            if outcome == "no-test":
                counts["no_test"] += 1
                continue
            test = result.test_outcome.value if result.test_outcome else "incompetent"
            if outcome == "normal" and SENTINEL not in (result.output or "") and result.output != "timeout":
                test = "incompetent"  # the client never heard from the server: no test ran, nothing was killed
            counts[test if outcome == "normal" else "incompetent"] += 1
            if outcome == "normal" and test == "survived":
                spec = item.mutations[0]
                survivors.append({
                    "id": mutant_id(module, spec.operator_name, spec.definition_name, result.diff or ""),
                    "line": spec.start_pos[0], "operator": spec.operator_name.removeprefix("core/"),
                    "change": [line for line in (result.diff or "").splitlines()
                               if line[:1] in "+-" and not line.startswith(("+++", "---"))],
                })
    return {"module": module, "tests": tests, "mutants": total, "sample": settings["sample"],
            "seed": settings["seed"], **counts, "survivors": sorted(survivors, key=lambda s: s["line"]),
            "commit": settings["commit"], "seconds": round(seconds)}


def head_commit(outputs: tuple[Path, ...] = ()) -> str:
    """HEAD, with `+uncommitted changes` when tracked files differ from it: files this script writes (the results,
    the table) do not count, or every run after the first would be marked, though no code or test changed."""
    proc = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                            capture_output=True, text=True).stdout.splitlines()
    ignored = {str(p.resolve()) for p in outputs}
    dirty = [line for line in status if str((ROOT / line[3:]).resolve()) not in ignored]
    return proc.stdout.strip() + ("+uncommitted changes" if dirty else "")


# ---------------------------------------------------------------- the table


def load_notes(path: Path) -> dict[str, dict[str, str]]:
    """mutation_notes.yaml: module -> list of {id, verdict: equivalent|gap, reason}; keyed here by mutant id."""
    import yaml

    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    notes: dict[str, dict[str, str]] = {}
    for module, entries in data.items():
        for entry in entries or []:
            if entry.get("verdict") not in ("equivalent", "gap") or not entry.get("reason"):
                raise UsageError(f"{path}: {module}, mutant {entry.get('id')}: verdict must be 'equivalent' or "
                                 "'gap' and reason a sentence")
            notes[f"{module}:{entry['id']}"] = entry
    return notes


def score(entry: dict[str, Any], notes: dict[str, dict[str, str]]) -> dict[str, Any]:
    verdicts = [notes.get(f"{entry['module']}:{s['id']}", {}).get("verdict", "unexplained")
                for s in entry["survivors"]]
    equivalent = verdicts.count("equivalent")
    judged = entry["killed"] + entry["survived"] - equivalent
    share = entry["killed"] / judged if judged else 1.0
    return {"equivalent": equivalent, "gap": verdicts.count("gap"), "unexplained": verdicts.count("unexplained"),
            "share": share}


def render(results: dict[str, Any], notes: dict[str, dict[str, str]], order: list[str]) -> str:
    lines = [
        "# Mutation testing of the core modules",
        "",
        "Written by `python benchmarks/mutation.py` (cosmic-ray; settings and the tests run against each module in",
        "`benchmarks/mutation.yaml`, verdicts on survivors in `benchmarks/mutation_notes.yaml`). Do not edit by hand.",
        "",
        "*mutants*: all cosmic-ray makes of the module; *run*: the fixed-seed sample that was run",
        "(`random.Random(seed)` over the mutants sorted by operator and occurrence; all of them when there are no more",
        "than the sample size);",
        "*commit*: the commit whose code was mutated (with the tests of that tree); `+uncommitted changes` when the",
        "work tree differed from it. *killed %*: killed / (run - equivalent). Target: at least "
        f"{TARGET:.0%} in every module.",
        "",
        "*annotations*: mutants inside function signature annotations of a module with `from __future__ import",
        "annotations`, which Python never evaluates; they are equivalent by construction and not run.",
        "",
        "| module | commit | mutants | annotations | run | killed | survived | equivalent | gap | unexplained |"
        " killed % | ok |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    modules = [m for m in order if m in results] + sorted(set(results) - set(order))
    for module in modules:
        entry, s = results[module], score(results[module], notes)
        run = entry["killed"] + entry["survived"]
        ok = "yes" if s["share"] >= TARGET and not s["unexplained"] else "no"
        lines.append(f"| `{module}` | {entry['commit']} | {entry['mutants']} | {entry['annotation_mutants']} | "
                     f"{run} | {entry['killed']} | "
                     f"{entry['survived']} | {s['equivalent']} | {s['gap']} | {s['unexplained']} | "
                     f"{s['share']:.0%} | {ok} |")
    for module in order:
        if module not in results:
            lines.append(f"| `{module}` | not run yet | | | | | | | | | | no |")
    lines += ["", "Sample size and seed per module: " + ", ".join(
        f"`{m}` {results[m]['sample']}/{results[m]['seed']}" for m in modules) + ".", ""]
    for module in modules:
        entry = results[module]
        lines += [f"## `{module}`", "", "Tests: " + ", ".join(f"`{t}`" for t in entry["tests"]) + ".", ""]
        if entry.get("first_commit"):
            lines += [f"Sample first run at {entry['first_commit']}; its {entry['rechecked']} survivor(s) re-run at "
                      f"{entry['commit']} with the tests added since (`--recheck`).", ""]
        if not entry["survivors"]:
            lines += ["No mutant survived.", ""]
            continue
        for surv in entry["survivors"]:
            note = notes.get(f"{module}:{surv['id']}", {"verdict": "unexplained", "reason": "not yet judged"})
            change = " → ".join(f"`{c.strip()}`" for c in surv["change"]) or "(no diff)"
            lines.append(f"- `{surv['id']}` line {surv['line']}, {surv['operator']}: {change}. "
                         f"**{note['verdict']}**: {note['reason'].strip()}")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------- command line


def load_settings(path: Path, args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, list[str]]]:
    import yaml

    data = yaml.safe_load(path.read_text())
    modules: dict[str, list[str]] = data["modules"]
    chosen = args.module or list(modules)
    for module in chosen:
        if module not in modules:
            raise UsageError(f"--module {module}: not in {path} (one of: {', '.join(modules)})")
        for name in [module, *modules[module]]:
            if not (ROOT / name).is_file():
                raise UsageError(f"{path}: {module}: {name} is not a file in {ROOT}")
    settings = {"seed": args.seed if args.seed is not None else data["seed"],
                "sample": args.sample if args.sample is not None else data["sample"],
                "timeout": data["timeout"]}
    if settings["sample"] < 1:
        raise UsageError("--sample: must be at least 1")
    return settings, {m: modules[m] for m in chosen}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", action="append", help="a module from the config (repeatable); default: all")
    parser.add_argument("--sample", type=int, help="mutants run per module (default: the config's)")
    parser.add_argument("--seed", type=int, help="seed of the sample (default: the config's)")
    parser.add_argument("--config", type=Path, default=HERE / "mutation.yaml")
    parser.add_argument("--notes", type=Path, default=HERE / "mutation_notes.yaml")
    parser.add_argument("--results", type=Path, default=HERE / "mutation_results.json")
    parser.add_argument("--table", type=Path, default=HERE / "MUTATION.md")
    parser.add_argument("--render-only", action="store_true", help="rewrite the table from the results file")
    parser.add_argument("--recheck", action="store_true",
                        help="re-run only the recorded survivors of each module (after adding tests); the module's "
                             "code must be unchanged since its recorded run")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=300, help=argparse.SUPPRESS)
    parser.add_argument("tests", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.serve:
        serve(args.serve)
        return 0
    if args.client:
        return client(args.client, args.tests, args.timeout)
    try:
        return run(args)
    except UsageError as exc:
        print(f"mutation: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    import yaml

    for path in (args.config, args.notes):
        if path.exists():
            try:
                yaml.safe_load(path.read_text())
            except yaml.YAMLError as exc:
                raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    settings, modules = load_settings(args.config, args)
    notes = load_notes(args.notes)
    if not args.render_only:
        try:
            import cosmic_ray  # noqa: F401
        except ImportError:
            raise UsageError("cosmic-ray is not installed: pip install -e '.[test]'") from None
        if args.recheck:
            recorded = json.loads(args.results.read_text()) if args.results.exists() else {}
            missing = [m for m in modules if m not in recorded]
            if missing:
                raise UsageError(f"--recheck: no recorded run of {', '.join(missing)} in {args.results}")
            settings = {**settings, "recheck": {m: recorded[m] for m in modules}}
        mutate(modules, settings, args.results, args.table)
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    order = list(yaml.safe_load(args.config.read_text())["modules"])
    args.table.write_text(render(results, notes, order))
    print(f"mutation: wrote {args.table}", file=sys.stderr)
    return 0


def save_results(path: Path, new: dict[str, Any]) -> dict[str, Any]:
    results = json.loads(path.read_text()) if path.exists() else {}
    results.update(new)
    path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return results


def mutate(modules: dict[str, list[str]], settings: dict[str, Any], results_path: Path,
           table_path: Path | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vpeft-mutation-") as tmp:
        work = Path(os.environ.get("VPEFT_MUTATION_KEEP") or tmp)  # a folder to keep, for looking into a run
        work.mkdir(parents=True, exist_ok=True)
        outputs = (results_path, *([table_path] if table_path else []))
        settings = {**settings, "commit": head_commit(outputs)}  # the tree the copy is made of, whatever happens later
        repo = copy_tree(work)
        server = Server(work, repo)
        try:
            for module, tests in modules.items():
                print(f"mutation: {module} against {' '.join(tests)}", file=sys.stderr)
                out[module] = entry = run_module(module, tests, repo, server, settings, work)
                save_results(results_path, {module: entry})  # each module as it ends: a stopped run keeps them
                print(f"mutation: {module}: {entry['killed']} killed, {entry['survived']} survived of "
                      f"{entry['killed'] + entry['survived']} run ({entry['mutants']} mutants), "
                      f"{entry['seconds']} s", file=sys.stderr)
        finally:
            server.stop()
    return out


if __name__ == "__main__":
    sys.exit(main())
