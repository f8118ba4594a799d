"""`vpeft bib`: the bibliography as BibTeX, CSL-JSON or RIS, for the whole catalog, a category or some methods."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..bib import FORMATS, export, select_entries
from ..bib.cff import cff_text
from ..bib.keys import complete_keys, lock_path, update_keys
from ..catalog.service import valid_catalog
from ..errors import UserError

NAME = "bib"
HELP = "export citations (BibTeX, CSL-JSON, RIS) for the catalog, a category (--category) or methods (--method)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("examples:\n  vpeft bib --category adapter-tuning -o adapters.bib\n"
                     "  vpeft bib --format csl-json --method lora ssf")
    parser.add_argument("--format", choices=(*FORMATS, "cff"), default="bibtex",
                        help="output format (default: bibtex); cff: this project's CITATION.cff")
    parser.add_argument("--category", metavar="NODE", help="only the papers of this taxonomy node (leaf or branch)")
    parser.add_argument("--method", metavar="ID", nargs="+",
                        help="only these methods' papers (with --category: added to that node's)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout (- : stdout)")
    parser.add_argument("--force", action="store_true", help="with -o: overwrite FILE if it exists")
    parser.add_argument("--update-keys", action="store_true",
                        help="append citation keys for papers that have none to CATALOG/citation-keys.yaml")


def _write(path: Path, text: str, force: bool) -> None:
    if path.exists() and not force:
        raise UserError(f"-o: {path} already exists (use --force to overwrite it)")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"-o: cannot write {path}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    catalog = valid_catalog(args.catalog)
    if args.update_keys:
        new = update_keys(catalog)
        print(f"{lock_path(catalog)}: {len(new)} new key(s)" + (f": {', '.join(new)}" if new else ""))
        return 0
    if args.format == "cff":
        if args.category or args.method:
            raise UserError("--format cff: describes the whole project; drop --category and --method")
        text = cff_text(catalog)
    else:
        text = export(catalog, args.format, select_entries(catalog, args.category, args.method))
    _, unlocked = complete_keys(catalog, lockable_only=True)
    if unlocked:
        print(f"vpeft: note: {len(unlocked)} paper(s) have no locked citation key yet ({', '.join(unlocked[:5])}"
              f"{', ...' if len(unlocked) > 5 else ''}); run `vpeft bib --update-keys`", file=sys.stderr)
    if args.output and args.output != "-":  # `-o -` is stdout, as in most tools, not a file named "-"
        _write(Path(args.output), text, args.force)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
