"""`vpeft site build|serve`: the website, built by mkdocs with the page generator of `tools.site` (its hook)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import UserError

NAME = "site"
HELP = "build the website into public/ (or -o DIR), or serve it with live reload"
CONFIG = "mkdocs.yml"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="site_command", metavar="ACTION")
    sub.required = True
    build = sub.add_parser("build", help="build the site (strict: any warning fails the build)")
    build.add_argument("-o", "--output", metavar="DIR", help="folder for the built site (default: public/)")
    build.add_argument("--force", action="store_true",
                       help="build into DIR even if it holds files that are not a built site (they are deleted)")
    build.epilog = "example:\n  vpeft site build -o /tmp/vpeft-site"
    serve = sub.add_parser("serve", help="serve the site and rebuild when the catalog or a page changes")
    serve.add_argument("--dev-addr", default="127.0.0.1:8000", type=dev_addr, metavar="HOST:PORT",
                       help="default: 127.0.0.1:8000")


def dev_addr(text: str) -> str:
    """An argparse `type`: HOST:PORT with a port socket.bind accepts (else mkdocs fails after a full build)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, port 1 to 65535 (e.g. 127.0.0.1:8000), got {text!r}")
    return text


def config_file() -> Path:
    """./mkdocs.yml in a clone; elsewhere the settings shipped in the package, with its hand-written pages."""
    path = Path(CONFIG).resolve()
    if path.is_file():
        return path
    packaged = Path(__file__).resolve().parents[1] / "site" / CONFIG
    if not (packaged.parent / "docs" / "index.md").is_file():
        raise UserError(f"{CONFIG}: not found in {Path.cwd()}, and this installation has no site pages; "
                        "run `vpeft site` from the repository root")
    return packaged


def output_overrides(config: Path, output: Path | None) -> dict[str, str]:
    """The site goes into -o DIR, or ./public when the settings are the package's (never into site-packages)."""
    if output is not None:
        return {"site_dir": str(output.resolve())}
    if config != Path(CONFIG).resolve():
        return {"site_dir": str(Path("public").resolve())}
    return {}


@contextmanager
def catalog_for_hook(catalog: str) -> Iterator[None]:
    """Tell the mkdocs hook which catalog to read (it runs inside mkdocs, so an option cannot reach it), and hand
    it the catalog validated here, so that its first build does not load and validate the same files again."""
    from ..catalog.service import valid_catalog
    from ..site import handover
    from ..site.hook import CATALOG_ENV

    before = handover.fingerprint(catalog)
    # a bad catalog fails here with one line per problem, before mkdocs starts
    handover.hand_over(catalog, before, valid_catalog(catalog))
    old = os.environ.get(CATALOG_ENV)
    os.environ[CATALOG_ENV] = str(Path(catalog).resolve())
    try:
        yield
    finally:
        handover.drop()
        if old is None:
            os.environ.pop(CATALOG_ENV, None)
        else:
            os.environ[CATALOG_ENV] = old


def _log_to_stderr(level: int) -> None:
    logger = logging.getLogger("mkdocs")
    if not any(getattr(h, "_vpeft", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)-7s - %(message)s"))
        handler._vpeft = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)


def check_output(site_dir: Path, force: bool) -> None:
    """mkdocs empties site_dir before building: refuse a file, or a folder that is not a previous build."""
    if site_dir.exists() and not site_dir.is_dir():
        raise UserError(f"-o: {site_dir} is a file; name a folder")
    # A previous build always has sitemap.xml; anything else in a non-empty folder is someone's work.
    if site_dir.is_dir() and any(site_dir.iterdir()) and not (site_dir / "sitemap.xml").is_file() and not force:
        raise UserError(f"-o: {site_dir} is not empty and holds no built site; its files would be deleted "
                        "(use --force, or an empty folder)")


def build_site(config: Path, output: Path | None, catalog: str, force: bool = False) -> Path:
    """Build the site as `mkdocs build --strict` does; returns the output folder."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    overrides = output_overrides(config, output)
    with catalog_for_hook(catalog):
        try:
            cfg = load_config(config_file=str(config), strict=True, **overrides)
            check_output(Path(cfg.site_dir), force)
            cfg.plugins.on_startup(command="build", dirty=False)
            try:
                build(cfg)
            finally:
                cfg.plugins.on_shutdown()
        except MkDocsException as exc:
            raise UserError(f"site build failed: {exc.format_message()}") from None
    return Path(cfg.site_dir)


def run(args: argparse.Namespace) -> int:
    config = config_file()
    if args.site_command == "build":
        _log_to_stderr(logging.WARNING)
        out = build_site(config, Path(args.output) if args.output else None, args.catalog, args.force)
        print(f"built the site into {out}")
        return 0
    from mkdocs.commands.serve import serve
    from mkdocs.exceptions import MkDocsException

    _log_to_stderr(logging.INFO)
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    with catalog_for_hook(args.catalog):
        try:
            serve(config_file=str(config), dev_addr=args.dev_addr, watch=[str(Path(args.catalog).resolve())])
        except MkDocsException as exc:
            raise UserError(f"site serve failed: {exc.format_message()}") from None
    return 0
