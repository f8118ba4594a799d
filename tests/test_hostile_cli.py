"""Hostile and mistaken input to every command: one line naming the file or option, non-zero exit, no traceback,
and nothing a user wrote is overwritten."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest
import vpeft.commands.list as list_command
from vpeft.cli import main
from vpeft.commands.params import _one_line
from vpeft.errors import UserError
from vpeft.repro.errors import read_state

ROOT = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Exit code and stderr of `vpeft ARGV`, whether the error comes from argparse or from a command."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["reproduce", "lora", "--seed", "-1", "--dry-run"], "argument --seed: must be between 0 and"),
        (["reproduce", "lora", "--seed", "99999999999999999999999"], "argument --seed: must be between 0 and"),
        (["reproduce", "lora", "--seed", "x"], "argument --seed: expected an integer, got 'x'"),
        (["reproduce", "lora", "--workers", "-3"], "argument --workers: must be between 0 and 256"),
        (["reproduce", "lora", "--tolerance", "nan"], "argument --tolerance: must be a finite number >= 0"),
        (["reproduce", "lora", "--tolerance", "-1"], "argument --tolerance: must be a finite number >= 0"),
        (["params", "lora", "--num-classes", "99999999999999999999"], "--num-classes: must be between 0 and"),
        (["sweep", "vpt", "--gpus-per-run", "1.5"], "argument --gpus-per-run: must be 0, a fraction below 1"),
        (["sweep", "vpt", "--gpus-per-run", "-1"], "argument --gpus-per-run: must be 0, a fraction below 1"),
        (["sweep", "vpt", "--cpus-per-run", "0"], "argument --cpus-per-run: must be above 0"),
        (["sweep", "vpt", "--max-retries", "-1"], "argument --max-retries: must be between 0 and 100"),
        (["sweep", "vpt", "--address", "auto", "--cpus", "2"], "--cpus: sizes a local Ray instance only"),
        (["site", "serve", "--dev-addr", "127.0.0.1:99999"], "--dev-addr: expected HOST:PORT, port 1 to 65535"),
        (["site", "serve", "--dev-addr", "notaport"], "argument --dev-addr: expected HOST:PORT, port 1 to 65535"),
    ],
)
def test_out_of_range_numbers_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, err = run(capsys, *argv)
    assert code == 2 and message in one_line(err)


def test_reproduce_out_onto_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    code, err = run(capsys, "reproduce", "lora", "--smoke", "--out", str(target))
    assert code == 2 and one_line(err) == f"vpeft: error: --out {target}: is a file; name a folder (new, or a run " \
                                          "folder to resume)"
    assert target.read_text() == "mine\n"


@pytest.mark.parametrize("name", ["missing", "a-file"])
def test_schema_refuses_a_catalog_that_is_not_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       name: str) -> None:
    catalog = tmp_path / name
    if name == "a-file":
        catalog.write_text("x")
    for argv in (["schema"], ["schema", "--check"]):
        code, err = run(capsys, "--catalog", str(catalog), *argv)
        assert code == 2 and "catalog folder not found" in one_line(err)
    assert not catalog.is_dir()  # a mistyped --catalog does not become a new folder


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "/x/a.bib"), "vpeft: error: /x/a.bib: Permission denied"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/x/f/schema"), "vpeft: error: /x/f/schema: Not a direc"),
        (OSError(errno.ENOSPC, "No space left on device"), "vpeft: error: No space left on device"),
        (UnicodeDecodeError("utf-8", b"caf\xe9", 3, 4, "invalid continuation byte"),
         "vpeft: error: a file is not UTF-8 text (byte 0xe9 at offset 3); save it as UTF-8"),
    ],
)
def test_os_and_encoding_errors_are_one_line(monkeypatch: pytest.MonkeyPatch, small_catalog: Path,
                                             capsys: pytest.CaptureFixture[str], exc: Exception, message: str) -> None:
    """The net in tools/cli.py for a file error that a command did not turn into a UserError itself."""

    def fail(_args: object) -> int:
        raise exc

    monkeypatch.setattr(list_command, "run", fail)
    code, err = run(capsys, "--catalog", str(small_catalog), "list")
    assert code == 1 and one_line(err).startswith(message)


def test_readme_never_overwrites_a_file_it_did_not_write(small_catalog: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("my notes\n")
    code, err = run(capsys, "--catalog", str(small_catalog), "readme", "-o", str(notes))
    assert code == 2 and "was not written by `vpeft readme` (use --force" in one_line(err)
    assert notes.read_text() == "my notes\n"
    code, err = run(capsys, "--catalog", str(small_catalog), "readme", "-o", str(tmp_path))
    assert code == 2 and one_line(err) == f"vpeft: error: -o: {tmp_path} is a folder; name a file"
    # its own output is regenerated without asking; --force takes over a foreign file
    assert main(["--catalog", str(small_catalog), "readme", "-o", str(notes), "--force"]) == 0
    generated = notes.read_text()
    notes.write_text(generated + "stale line\n")
    assert main(["--catalog", str(small_catalog), "readme", "-o", str(notes)]) == 0
    assert notes.read_text() == generated


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"method": "caf\xe9"}', "not UTF-8 text (byte 0xe9 at offset 15)"),
        (b"[1, 2]", "top level: Input should be a valid dictionary"),
        (b"not json", "not JSON (Expecting value at line 1)"),
        (b"{}", "method: Field required"),
    ],
)
def test_results_add_bad_record(small_catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                content: bytes, message: str) -> None:
    record = tmp_path / "record.json"
    record.write_bytes(content)
    code, err = run(capsys, "--catalog", str(small_catalog), "results", "add", str(record),
                    "--url", "https://example.org/r")
    assert code == 2 and one_line(err).startswith(f"vpeft: error: {record}: {message}")


def test_site_build_never_wipes_a_folder_that_is_not_a_site(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)  # `vpeft site` reads ./mkdocs.yml
    thesis = tmp_path / "mine" / "thesis.tex"
    thesis.parent.mkdir()
    thesis.write_text("mine\n")
    code, err = run(capsys, "site", "build", "-o", str(thesis.parent))
    assert code == 2 and "is not empty and holds no built site; its files would be deleted" in one_line(err)
    code, err = run(capsys, "site", "build", "-o", str(thesis))
    assert code == 2 and one_line(err) == f"vpeft: error: -o: {thesis} is a file; name a folder"
    assert thesis.read_text() == "mine\n"


def test_torch_stack_is_cut_from_the_line() -> None:
    exc = RuntimeError('failed with error "Overflow when unpacking long long\nException raised from f at x.h:79\n#0')
    assert _one_line(exc) == 'failed with error "Overflow when unpacking long long'
    assert len(_one_line(ValueError("x" * 1000))) == 300


@pytest.mark.parametrize("form", [["--catalog", "{dir}"], ["--catalog={dir}"]])
def test_reproduce_script_takes_catalog_in_both_forms(tmp_path: Path, form: list[str]) -> None:
    """`tools/reproduce` from another folder: `--catalog DIR` and `--catalog=DIR` both reach the catalog loader."""
    missing = tmp_path / "no-catalog"
    argv = [sys.executable, str(ROOT / "tools" / "reproduce"), *(a.format(dir=missing) for a in form), "lora"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{missing}: catalog folder not found" in done.stderr


def test_bib_dash_output_is_stdout(small_catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--catalog", str(small_catalog), "bib", "-o", "-"]) == 0
    assert "@" in capsys.readouterr().out and not (tmp_path / "-").exists()


@pytest.mark.parametrize("command", [["bib"], ["new"], ["params"], ["reproduce"], ["sweep"], ["readme"],
                                     ["site", "build"], ["results", "add"]])
def test_help_shows_an_example_on_its_own_line(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    assert f"\n  vpeft {' '.join(command)} " in out  # an indented example line, not wrapped into the prose


@pytest.mark.parametrize(
    ("breakage", "line"),
    [
        ("keys-latin1", "citation-keys.yaml: not UTF-8 text (byte 0xe9 at offset 3); save it as UTF-8"),
        ("keys-yaml", "citation-keys.yaml: line 2, column 1: invalid YAML"),
        ("methods-file", "methods: must be a folder of YAML files, found a file"),
    ],
)
def test_validate_reports_what_other_commands_would_trip_on(small_catalog: Path, capsys: pytest.CaptureFixture[str],
                                                            breakage: str, line: str) -> None:
    if breakage == "keys-latin1":
        (small_catalog / "citation-keys.yaml").write_bytes(b"caf\xe9")
    elif breakage == "keys-yaml":
        (small_catalog / "citation-keys.yaml").write_text("[[[\n")
    else:
        for path in (small_catalog / "methods").iterdir():
            path.unlink()
        (small_catalog / "methods").rmdir()
        (small_catalog / "methods").write_text("x")
    code = main(["--catalog", str(small_catalog), "validate", "--no-registry"])
    out = capsys.readouterr().out
    assert code == 1 and f"{small_catalog / line.split(':')[0]}:{line.split(':', 1)[1]}" in out


@pytest.mark.parametrize("command", [["list"], ["bib"], ["readme", "--check"], ["new", "x-y", "--category", "lora"],
                                     ["reproduce", "lora", "--dry-run"], ["results", "add", "r.json", "--url", "u"]])
def test_a_missing_catalog_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    missing = tmp_path / "nope"
    code, err = run(capsys, "--catalog", str(missing), *command)
    assert code == 1 and one_line(err) == f"vpeft: error: {missing}: catalog folder not found (use --catalog DIR)"


@pytest.mark.parametrize("content", [b'{"accur', b"\xff\xfe", b"[]", b""])
def test_a_damaged_run_file_is_one_line(tmp_path: Path, content: bytes) -> None:
    """A run folder's JSON files are read back on resume; a Ctrl-C mid-write must not end in a traceback."""
    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(UserError) as info:
        read_state(path)
    assert str(info.value) == f"{path}: damaged run file (not a JSON object); delete it and re-run to redo that step"


def test_reproduce_resume_with_a_damaged_run_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text('{"recipe_ha')
    code, err = run(capsys, "reproduce", "lora", "--smoke", "--no-progress", "--out", str(out))
    assert code == 2 and one_line(err).startswith(f"vpeft: error: {out / 'run.json'}: damaged run file")
