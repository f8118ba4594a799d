"""`vpeft new ID`: write a valid stub entry for a new method, ready to fill in.

`vpeft new --from-bibtex FILE --category LEAF` writes one stub per BibTeX entry of FILE instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from ..catalog.errors_text import problems_from
from ..catalog.models import Catalog, MethodEntry
from ..catalog.service import valid_catalog
from ..catalog.stub import stub, write_new
from ..errors import UserError

NAME = "new"
HELP = "create catalog/methods/ID.yaml, a stub entry to fill in (or one per entry of --from-bibtex FILE)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("examples:\n  vpeft new my-adapter --category adapter-tuning --arxiv 2205.13535\n"
                     "  vpeft new --from-bibtex papers.bib --category prompt-tuning")
    parser.add_argument("id", nargs="?", help="the new method's id: lowercase words joined by '-', e.g. my-adapter")
    parser.add_argument("--category", required=True, help="a leaf of the taxonomy, e.g. adapter-tuning")
    parser.add_argument("--arxiv", help="the paper's arXiv id, e.g. 2205.13535")
    parser.add_argument("--name", help="display name (default: the id)")
    parser.add_argument("--fetch", action="store_true",
                        help="fill title, authors, year and DOI from the arXiv API (needs --arxiv and the network)")
    parser.add_argument("--from-bibtex", metavar="FILE",
                        help="one stub per BibTeX entry of FILE, all in --category (instead of ID)")


def _check_category(catalog: Catalog, category: str) -> None:
    assert catalog.taxonomy is not None
    leaves = sorted(leaf.id for leaf in catalog.taxonomy.leaves())
    if category not in leaves:
        choose = ", ".join(leaves)
        raise UserError(f"--category: '{category}' is not a leaf of the taxonomy (choose one of: {choose})")


def _from_bibtex(catalog: Catalog, path: str, category: str) -> int:
    from ..bib.importer import import_bibtex  # bibtexparser and pylatexenc only when importing

    imported = import_bibtex(catalog, Path(path), category)
    for item in imported:
        print(f"wrote {write_new(catalog, item.entry)} (from '{item.key}')")
    print(f"{len(imported)} stub(s): check and complete them, run `vpeft bib --update-keys`, "
          "then `vpeft validate --strict`")
    return 0


def _fetched(entry: MethodEntry) -> MethodEntry:
    """The stub with what the arXiv API gives; offline (or any API failure) one line, and the plain stub."""
    from datetime import date

    from ..catalog.arxiv import FetchError, fetch
    from ..catalog.authors import from_reading_order

    assert entry.paper.arxiv is not None
    try:
        record = fetch(entry.paper.arxiv)
    except FetchError as exc:
        print(f"vpeft: --fetch: {exc}; writing the plain stub", file=sys.stderr)
        return entry
    # arXiv gives names in reading order: the family part is a guess until checked (the note says so)
    authors = [from_reading_order(name) for name in record.authors] or None
    paper = entry.paper.model_copy(update={"title": record.title, "authors": authors, "year": record.year,
                                           "doi": record.doi})
    note = (f"Title, authors, year{' and DOI' if record.doi else ''} from the arXiv API on {date.today()}; check "
            "them and find the final venue on the paper's own pages. arXiv gives names in reading order: each was "
            "split at the last word, so check compound family names ('Ben Zaken, Elad') on the paper's BibTeX.")
    if record.journal_ref:
        note += f" arXiv's journal reference reads: {record.journal_ref}."
    return entry.model_copy(update={"paper": paper, "notes": [*entry.notes, note]})


def run(args: argparse.Namespace) -> int:
    if args.fetch and not args.arxiv:
        raise UserError("--fetch: needs --arxiv ID (the paper to look up)")
    if args.from_bibtex and (args.id or args.arxiv or args.name):
        raise UserError("--from-bibtex: give either ID (with --arxiv/--name) or --from-bibtex FILE, not both")
    if not args.from_bibtex and not args.id:
        raise UserError("ID: missing; give the new method's id, or --from-bibtex FILE")
    catalog = valid_catalog(args.catalog)
    _check_category(catalog, args.category)
    if args.from_bibtex:
        return _from_bibtex(catalog, args.from_bibtex, args.category)
    try:
        entry = stub(args.id, args.category, args.arxiv, args.name)
    except ValidationError as exc:
        first = problems_from(exc, "new entry")[0]
        options = {"id": "ID", "arxiv": "--arxiv", "paper.arxiv": "--arxiv", "name": "--name"}
        option = options.get(first.field, first.field)
        raise UserError(f"{option}: {first.message}") from None
    if args.fetch:
        entry = _fetched(entry)
    path = write_new(catalog, entry)
    print(f"wrote {path}: fill in paper (authors as 'Family, Given', e.g. 'Ben Zaken, Elad'), summary, tags and "
          "sources, then run `vpeft validate --strict`")
    return 0
