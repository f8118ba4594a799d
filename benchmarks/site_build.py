"""How long the site build takes: CPU seconds of `mkdocs build --strict` of the real catalog, cold (no cache: the
registry snapshot and parameter counts are computed, importing torch) and warm (cache filled, as for any build after
the first), and of `vpeft site build` warm (`cli`: it validates the catalog before mkdocs starts and hands it to the
hook), median over interleaved runs.

    python benchmarks/site_build.py [--runs 3] [-o benchmarks/results/site-build.json]

The goal (issue 13): a full build well under 15 s of CPU on an idle 2-core machine. This is a benchmark, not a
timed test: CPU time taken while other processes share the cores is inflated (two busy hyper-threads slow each
other), so tests/site/test_site_build.py only guards against gross regressions and this script records the number.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_CPU_S = 15.0


# `vpeft site build -o OUT` with this clone's code (as tools/reproduce runs it), whether or not it is installed
VPEFT_SITE_BUILD = f"""
import importlib.util, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("_vpeft_clone", {str(ROOT / "tools" / "clone.py")!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.use_clone(Path({str(ROOT)!r}))
from vpeft.cli import main
sys.exit(main(["site", "build", "-o", sys.argv[1]]))
"""
KINDS = ("cold", "warm", "cli")


def build_once(cache: Path, out: Path, cli: bool = False) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `mkdocs build --strict` (or `vpeft site build`), process start included."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "VPEFT_CACHE_DIR": str(cache)}
    env.pop("VPEFT_CATALOG", None)
    command = ["-c", VPEFT_SITE_BUILD] if cli else ["-m", "mkdocs", "build", "--strict", "--site-dir"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *command, str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        what = "vpeft site build" if cli else "mkdocs build"
        raise SystemExit(f"site_build: {what} failed:\n{proc.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def measure(runs: int) -> dict[str, dict[str, float]]:
    """The kinds of build alternate, so a slow spell of the machine touches all alike."""
    cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
    wall: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory(prefix="vpeft-site-build-") as tmp:
        for i in range(runs):
            warm_cache = Path(tmp) / "warm"
            for kind in KINDS:
                cache = Path(tmp) / f"cold-{i}" if kind == "cold" else warm_cache
                if kind == "warm" and i == 0:
                    build_once(cache, Path(tmp) / "site")  # fills the warm cache, not timed
                c, w = build_once(cache, Path(tmp) / "site", cli=kind == "cli")
                cpu[kind].append(c)
                wall[kind].append(w)
                print(f"run {i + 1}/{runs} {kind}: {c:.1f} s CPU, {w:.1f} s wall", file=sys.stderr)
    return {kind: {"cpu_s_median": statistics.median(cpu[kind]), "wall_s_median": statistics.median(wall[kind]),
                   "cpu_s": cpu[kind], "wall_s": wall[kind]} for kind in cpu}


def commit() -> str | None:
    proc = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    return proc.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="builds of each kind (default 3)")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "benchmarks" / "results" / "site-build.json")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs: at least 1")
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cores": os.cpu_count(), "load_1min": os.getloadavg()[0]},
        "python": platform.python_version(), "commit": commit(), "runs": args.runs, "goal_cpu_s": GOAL_CPU_S,
        **measure(args.runs),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    cold = result["cold"]["cpu_s_median"]
    print(f"site build: cold {cold:.1f} s CPU, warm {result['warm']['cpu_s_median']:.1f} s CPU, `vpeft site build` "
          f"warm {result['cli']['cpu_s_median']:.1f} s CPU (goal < {GOAL_CPU_S:g}); wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
