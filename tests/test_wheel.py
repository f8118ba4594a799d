"""The distribution as a user gets it: `python -m build` makes an sdist and a wheel (from the sdist), the wheel
installs one top-level package `vpeft`, and its command works from outside the clone.

The wheel goes into a fresh virtual environment that sees this environment's packages (torch is gigabytes; no
download in tests): pip installs it with --no-index, so its dependency ranges must accept what is installed,
and `pip check` must pass.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
MIN_SETUPTOOLS = Version("77")  # = [build-system] requires: SPDX `license = "MIT"`
# torch 2.N pairs with torchvision 0.(N+15): their lower bounds must name a pair, and both move together.
TORCHVISION_MINOR_OFFSET = 15


def build_once(shared: Path) -> Path:
    """The sdist and wheel, built by the first xdist worker that asks; the others wait on the lock and reuse them.

    Two builds at once race in ROOT: each makes the release tree ROOT/vpeft-X.Y.Z and deletes it after taring, so the
    other's tar finds files gone (CI failed so: "No such file or directory: 'vpeft-0.2.0/tools/readme/render.py'").
    """
    out = shared / "vpeft-dist"
    with open(shared / "vpeft-dist.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also when a build fails
        if not (out / "built").exists():
            out.mkdir(exist_ok=True)
            for old in out.iterdir():  # a failed earlier try
                old.unlink()
            # Build with the installed setuptools when it is new enough for pyproject.toml (no download); otherwise
            # (an old one seeded into a virtual environment) pip's isolated build fetches a current one from PyPI.
            isolation = ["--no-isolation"] if Version(version("setuptools")) >= MIN_SETUPTOOLS else []
            proc = subprocess.run([sys.executable, "-m", "build", *isolation, "--outdir", str(out), str(ROOT)],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
            assert "WARNING" not in proc.stdout + proc.stderr, "the build warns: " + (proc.stdout + proc.stderr)[-3000:]
            (out / "built").touch()
    return out


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's base is <session>/popen-gwN; their parent is this session's, shared by all workers.
    return build_once(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)


def wheel_file(dist: Path) -> Path:
    (wheel,) = dist.glob("vpeft-*.whl")
    return wheel


def metadata(dist: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel_file(dist)) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(zf.read(name).decode())
    return [Requirement(text) for text in message.get_all("Requires-Dist") or []]


def test_build_makes_an_sdist_and_a_wheel_with_one_top_level_package(dist: Path) -> None:
    assert len(list(dist.glob("vpeft-*.tar.gz"))) == 1
    with zipfile.ZipFile(wheel_file(dist)) as zf:
        names = zf.namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"vpeft"}, f"top-level entries: {sorted(top)}"
    for shipped in ("vpeft/methods/__init__.py", "vpeft/methods/layers/lowrank.py", "vpeft/cli.py",
                    "vpeft/schemas/method.schema.json", "vpeft/schemas/results.schema.json",
                    "vpeft/site/mkdocs.yml", "vpeft/site/templates/method.html.j2", "vpeft/site/docs/index.md",
                    "vpeft/site/docs/assets/vpeft.js", "vpeft/readme/README.md.j2"):
        assert shipped in names, f"the wheel lacks {shipped}"
    schemas = sorted(p.name for p in (ROOT / "catalog" / "schema").glob("*.json"))
    assert sorted(Path(n).name for n in names if n.startswith("vpeft/schemas/")) == schemas


def test_dependency_ranges_cap_only_at_major_releases_and_pair_torch_with_torchvision(dist: Path) -> None:
    requirements = {r.name.lower(): r for r in metadata(dist) if r.marker is None}
    for req in requirements.values():
        for spec in req.specifier:
            if spec.operator in ("<", "<="):
                bound = Version(spec.version)
                major_cap = spec.operator == "<" and bound.release[1:] in ((), (0,), (0, 0))
                zero_major_cap = bound.major == 0 and bound.release == (0,) * len(bound.release)
                assert major_cap or zero_major_cap, f"{req}: an upper bound tighter than the next major release"
            assert spec.operator not in ("==", "~=", "==="), f"{req}: a pin; users install beside other projects"
    torch, vision = requirements["torch"], requirements["torchvision"]
    low = {name: min(Version(s.version) for s in req.specifier if s.operator == ">=")
           for name, req in (("torch", torch), ("torchvision", vision))}
    assert low["torchvision"].minor == low["torch"].minor + TORCHVISION_MINOR_OFFSET, (
        f"torch>={low['torch']} and torchvision>={low['torchvision']} are not a released pair")


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env)], check=True)
    python = env / "bin" / "python"
    # --no-index: nothing is downloaded, so every dependency range must accept what is installed already.
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--force-reinstall",
                           "--no-deps", str(wheel_file(dist))], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return env


def run_outside(venv: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A command of the venv, started in an empty folder outside the clone, with nothing of the clone on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VPEFT_CATALOG")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(list(args), cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)


def test_installed_wheel_satisfies_its_dependencies(venv: Path, tmp_path: Path) -> None:
    """pip check compares the wheel's Requires-Dist with what is installed beside it (torch, timm, mkdocs...)."""
    check = run_outside(venv, tmp_path, "python", "-m", "pip", "check")
    # Only vpeft's own lines: the venv's seeded pip/setuptools may not fit other packages, which is not ours to test.
    ours = [line for line in check.stdout.splitlines() if line.lower().startswith("vpeft ")]
    assert not ours, "\n".join(ours)


def test_installed_package_is_vpeft_alone(venv: Path, tmp_path: Path) -> None:
    code = "import json, vpeft, vpeft.methods as m; print(json.dumps([vpeft.__file__, m.__file__]))"
    proc = run_outside(venv, tmp_path, "python", "-c", code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    package, methods_module = json.loads(proc.stdout)
    assert str(venv) in package and str(venv) in methods_module, (package, methods_module)
    (site_packages,) = venv.glob("lib/python*/site-packages")
    assert (site_packages / "vpeft").is_dir()
    assert not (site_packages / "tools").exists() and not (site_packages / "methods").exists()


@pytest.mark.slow
def test_installed_command_works_outside_the_clone(venv: Path, tmp_path: Path) -> None:
    catalog = str(ROOT / "catalog")
    version = run_outside(venv, tmp_path, "vpeft", "--version")
    assert re.fullmatch(r"vpeft \d+\.\d+\.\d+\n", version.stdout), version.stdout + version.stderr
    listed = run_outside(venv, tmp_path, "vpeft", "methods", "--json")
    assert listed.returncode == 0 and "lora" in {m["id"] for m in json.loads(listed.stdout)}, listed.stderr[-2000:]
    params = run_outside(venv, tmp_path, "vpeft", "params", "lora", "--json")
    assert params.returncode == 0 and json.loads(params.stdout)["trainable_excluding_head"] > 0, params.stderr
    for args in (("--catalog", catalog, "validate"), ("validate", "--catalog", catalog)):
        checked = run_outside(venv, tmp_path, "vpeft", *args)
        assert checked.returncode == 0 and "0 error(s)" in checked.stderr, checked.stdout + checked.stderr
    built = run_outside(venv, tmp_path, "vpeft", "site", "build", "--catalog", catalog, "-o", str(tmp_path / "out"))
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "out" / "method" / "lora.html").is_file() and (tmp_path / "out" / "contributing.html").is_file()
    assert not (tmp_path / "public").exists()
