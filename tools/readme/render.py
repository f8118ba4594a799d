"""Render README.md from the typed catalog through the Jinja2 template next to this module."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..catalog.models import Catalog, MethodEntry, TaxonomyNode
from . import markdown

TEMPLATE = "README.md.j2"


@dataclass(frozen=True)
class Section:
    """One taxonomy node as a README section: its heading level, the node, and its own methods."""

    level: int
    node: TaxonomyNode
    entries: list[MethodEntry]
    total: int

    @property
    def heading(self) -> markdown.Safe:
        return markdown.Safe("#" * self.level)

    @property
    def indent(self) -> markdown.Safe:
        return markdown.Safe("  " * (self.level - 2))

    @property
    def anchor(self) -> markdown.Safe:
        """The anchor GitHub and mkdocs give the heading: lower case, punctuation dropped, spaces as '-'."""
        words = re.sub(r"[^\w\- ]", "", self.node.name.lower())
        return markdown.Safe(re.sub(r"[^a-z0-9-]", "", words.replace(" ", "-")))


def _order(entry: MethodEntry) -> tuple[int, str, str]:
    """Newest first, then by name, so the list reads like an Awesome list and the output is stable."""
    return (-(entry.paper.year or 0), entry.name.casefold(), entry.id)


def sections(catalog: Catalog) -> list[Section]:
    """Every taxonomy node in taxonomy.yaml order, depth first; leaves carry their methods."""
    if catalog.taxonomy is None:
        return []
    out = []
    for node, parents in catalog.taxonomy.walk():
        own = sorted((m for m in catalog.methods.values() if m.category == node.id), key=_order)
        out.append(Section(len(parents) + 2, node, own, len(catalog.methods_in(node.id))))
    return out


def venue(entry: MethodEntry) -> str:
    return " ".join(str(x) for x in (entry.paper.venue, entry.paper.year) if x) or "venue not verified"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        finalize=markdown.finalize,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # HTML autoescaping does not fit Markdown; `finalize` escapes every value instead
    )
    env.filters.update(link=markdown.link, code=markdown.code, md=markdown.escape)
    env.globals.update(venue=venue)
    return env


def render_readme(catalog: Catalog) -> str:
    text = _environment().get_template(TEMPLATE).render(
        sections=sections(catalog), count=len(catalog.methods), survey=catalog.taxonomy and catalog.taxonomy.survey
    )
    # Blank lines are folded so that empty optional parts of the template leave no gaps.
    lines = text.splitlines()
    folded = [line for i, line in enumerate(lines) if line.strip() or (i and lines[i - 1].strip())]
    return "\n".join(folded).strip() + "\n"
