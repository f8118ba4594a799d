"""`vpeft validate`: check every catalog file and the references between them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..catalog.models import Catalog
from ..catalog.service import check_catalog
from ..errors import UserError

NAME = "validate"
HELP = "check the catalog: schema, cross-references, duplicates; one line per problem"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strict", action="store_true",
                        help="also list warnings (and fail on them) and the facts left null on purpose (notes)")
    parser.add_argument("--no-registry", action="store_true", help="skip checking implementations against `methods`")


def citation_key_problems(catalog: Catalog) -> list[str]:
    """citation-keys.yaml is read by `vpeft bib` and the site: a broken one fails here too, and so does a paper
    that has authors but no locked key yet (once the catalog locks keys at all: the file exists)."""
    from ..bib.keys import LOCK_FILE, complete_keys, load_keys

    try:
        load_keys(catalog)
    except UserError as exc:
        return [str(exc)]
    lock = Path(catalog.root) / LOCK_FILE
    if not lock.is_file():
        return []
    _, missing = complete_keys(catalog, lockable_only=True)
    return [f"{lock}: {owner}: no citation key yet; run `vpeft bib --update-keys`" for owner in missing]


def run(args: argparse.Namespace) -> int:
    catalog, problems = check_catalog(args.catalog, with_registry=not args.no_registry)
    errors = [str(p) for p in problems if p.severity in ("error", "required")] + citation_key_problems(catalog)
    warnings = [str(p) for p in problems if p.severity == "warning"]
    notes = [str(p) for p in problems if p.severity == "note"]
    for problem in errors + (warnings + notes if args.strict else []):
        print(problem)
    counts = (f"{len(catalog.methods)} methods, {len(catalog.benchmarks)} benchmarks, "
              f"{len(catalog.results)} result tables")
    hint = "" if args.strict or not (warnings or notes) else " (--strict lists them)"
    print(f"{len(errors)} error(s), {len(warnings)} warning(s), {len(notes)} note(s){hint}; {counts}",
          file=sys.stderr)
    return 1 if errors or (args.strict and warnings) else 0
