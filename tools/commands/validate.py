"""`vpeft validate`: check every catalog file and the references between them."""

from __future__ import annotations

import argparse
import sys

from ..catalog.models import Catalog
from ..catalog.service import check_catalog
from ..errors import UserError

NAME = "validate"
HELP = "check the catalog: schema, cross-references, duplicates; one line per problem"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strict", action="store_true", help="also report unverified (null) facts, and fail on them")
    parser.add_argument("--no-registry", action="store_true", help="skip checking implementations against `methods`")


def _citation_keys_problem(catalog: Catalog) -> list[str]:
    """citation-keys.yaml is read by `vpeft bib` and the site: a broken one must fail here too, not only there."""
    from ..bib.keys import load_keys

    try:
        load_keys(catalog)
    except UserError as exc:
        return [str(exc)]
    return []


def run(args: argparse.Namespace) -> int:
    catalog, problems = check_catalog(args.catalog, with_registry=not args.no_registry)
    errors = [str(p) for p in problems if p.severity == "error"] + _citation_keys_problem(catalog)
    warnings = [str(p) for p in problems if p.severity == "warning"]
    for problem in errors + (warnings if args.strict else []):
        print(problem)
    counts = (f"{len(catalog.methods)} methods, {len(catalog.benchmarks)} benchmarks, "
              f"{len(catalog.results)} result tables")
    hint = "" if args.strict or not warnings else " (--strict lists them)"
    print(f"{len(errors)} error(s), {len(warnings)} warning(s){hint}; {counts}", file=sys.stderr)
    return 1 if errors or (args.strict and warnings) else 0
