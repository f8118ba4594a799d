"""Render every generated page of the site from the typed catalog.

Pages are Markdown files for mkdocs whose body is one block of HTML rendered by Jinja2 with autoescape on. Python-
Markdown passes a block of raw HTML through untouched, so text from entries is never read as Markdown; it is only
ever a template variable, so it is never read as a template either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from ..bench.result import CostResult
from ..bib import EXTENSIONS, FORMATS, bibliography_files, bibtex_entry
from ..catalog.added import added_dates
from ..catalog.models import Benchmark, Catalog, MethodEntry
from . import boards, compare, costs, exports, figures, views
from .build_info import BuildInfo
from .links import page_title, relative, safe_url
from .method_stats import SCORE_BACKBONE, SCORE_BENCHMARK, MethodStats, method_stats
from .params import BACKBONE_LABEL, backbone_families, trainable_counts, usage_snippet
from .views import Link


def _finalize(value: Any) -> Any:
    """Escape every printed string, and its backticks too: Markdown extensions that run before raw HTML is set
    aside (code fences) must not see a fence in catalog text. Markup (our own rendered SVG) passes unchanged."""
    if isinstance(value, str) and not isinstance(value, Markup):
        # str() first: Markup.replace would escape its own argument and print "&amp;#96;"
        return Markup(str(escape(value)).replace("`", "&#96;"))
    return value


ENV = Environment(
    loader=PackageLoader(__package__, "templates"),
    autoescape=True,
    finalize=_finalize,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

# Leaderboard sections by benchmark kind, in the order the leaderboards page lists them.
SECTIONS = (
    ("image", "Image classification", ("image-classification",)),
    ("video", "Video recognition", ("video-classification",)),
    ("dense", "Dense prediction", ("detection", "segmentation")),
)
NEWEST = 10
DOWNLOADS = "bibliography"  # folder of the bibliography files
BIB_STEM = "vpeft"


@dataclass
class SiteContent:
    """Generated pages (docs-relative path -> Markdown), fragments for the hand-written pages, and the nav."""

    pages: dict[str, str] = field(default_factory=dict)
    downloads: dict[str, str] = field(default_factory=dict)  # docs-relative path -> file text (bibliographies)
    fragments: dict[str, str] = field(default_factory=dict)
    nav: list[Any] = field(default_factory=list)


def render(template: str, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


def page(title: str, body: str, hide: tuple[str, ...] = (), meta: dict[str, Any] | None = None) -> str:
    front: dict[str, Any] = {"title": page_title(title)}
    if hide:
        front["hide"] = list(hide)
    front.update(meta or {})
    return "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n\n" + body.strip() + "\n"


def fill_markers(text: str, fragments: dict[str, str]) -> str:
    """Put each fragment in place of its `<!-- vpeft:NAME -->` line in a hand-written page."""
    for name, html in fragments.items():
        text = text.replace(f"<!-- vpeft:{name} -->", html)
    return text


# ---------------------------------------------------------------- pages


def score_label(catalog: Catalog) -> dict[str, str]:
    """The heading of the methods table's score column, and what it holds."""
    bench = catalog.benchmarks.get(SCORE_BENCHMARK)
    name = bench.name if bench else SCORE_BENCHMARK
    return {"name": f"Best {name} mean",
            "title": f"the highest {name} {boards.headline_label(bench) if bench else 'mean'} among the method's rows "
                     f"on {SCORE_BACKBONE}, from any source; computed by our code"}


def methods_page(catalog: Catalog, stats: dict[str, MethodStats] | None = None,
                 files: dict[str, str] | None = None) -> str:
    """The all-methods page; `stats` (see method_stats) computed without registry counts when not given; its
    table's CSV and JSON go into `files` (path -> text) when given."""
    here = "methods.md"
    if stats is None:
        stats = method_stats(catalog, {})
    rows = views.method_rows(catalog, list(catalog.methods.values()), here, stats)
    table = exports.methods_table(rows, f"{exports.DOWNLOADS}/methods", "All methods of the catalog")
    if files is not None:
        files.update(exports.files(table))
    body = render("methods.html.j2", rows=rows, filters=views.filters(catalog), score=score_label(catalog),
                  files=exports.links(table, here),
                  compare_href=relative(here, compare.PAGE))
    return page("All methods", body, hide=("navigation", "toc"))


def node_pages(catalog: Catalog, stats: dict[str, MethodStats]) -> dict[str, str]:
    out = {}
    assert catalog.taxonomy is not None
    for node, _ in catalog.taxonomy.walk():
        here = views.node_page(node.id)
        path = [Link(p.name, relative(here, views.node_page(p.id))) for p in catalog.taxonomy.path(node.id)[:-1]]
        children = [
            {"text": c.name, "href": relative(here, views.node_page(c.id)), "count": len(catalog.methods_in(c.id))}
            for c in node.children
        ]
        body = render(
            "node.html.j2", node=node, path=path, children=children,
            rows=views.method_rows(catalog, catalog.methods_in(node.id), here, stats), score=score_label(catalog),
            taxonomy_href=relative(here, "taxonomy.md"), compare_href=relative(here, compare.PAGE),
        )
        out[here] = page(node.name, body, hide=("toc",))
    return out


def tree_svg(catalog: Catalog, here: str) -> Markup:
    nodes = views.taxonomy_tree(catalog, here)
    fig = figures.tree_figure("Visual PEFT", len(catalog.methods), relative(here, "methods.md"), nodes)
    return Markup(render("tree.svg.j2", fig=fig))


def taxonomy_page(catalog: Catalog) -> str:
    here = "taxonomy.md"
    assert catalog.taxonomy is not None
    body = render(
        "taxonomy.html.j2", tree_svg=tree_svg(catalog, here), nodes=views.taxonomy_tree(catalog, here),
        notes=catalog.taxonomy.notes, sources=[Link(s, safe_url(s)) for s in catalog.taxonomy.sources],
    )
    return page("Taxonomy", body)


Results = Sequence[tuple[str, CostResult]]  # (file relative to the repository root, result)


def method_view(catalog: Catalog, entry: MethodEntry, trainable: dict[str, int], added: date | None = None,
                info: BuildInfo | None = None, results: Results = ()) -> dict[str, Any]:
    here = views.method_page(entry.id)
    p = entry.paper
    assert catalog.taxonomy is not None
    links = [
        Link("paper", safe_url(p.url)),
        Link(f"arXiv {p.arxiv}", safe_url(f"https://arxiv.org/abs/{p.arxiv}")) if p.arxiv else None,
        Link(f"DOI {p.doi}", safe_url(f"https://doi.org/{quote(p.doi, safe='/:;()')}")) if p.doi else None,
        Link("official code", safe_url(entry.code_url)),
    ]
    variant_of = catalog.methods.get(entry.variant_of or "")
    variants = [m for m in catalog.methods.values() if m.variant_of == entry.id]
    variant_links = {v.id: Link(v.name, relative(here, views.method_page(v.id))) for v in variants}
    count = trainable.get(entry.implementation or "")
    return {
        "name": entry.name,
        "aliases": [a for a in entry.aliases if a != entry.name],
        "title": p.title,
        "authors": p.authors_read(),
        "venue": views.venue_line(p.venue, p.venue_full, p.year),
        "links": [link for link in links if link and link.href],
        "path": [Link(n.name, relative(here, views.node_page(n.id))) for n in catalog.taxonomy.path(entry.category)],
        "variant_of": Link(variant_of.name, relative(here, views.method_page(variant_of.id))) if variant_of else None,
        "variants": [variant_links[v.id] for v in variants],
        "implemented_variants": [variant_links[v.id] for v in variants if v.implementation],
        "applications": entry.tags.applications,
        "design": entry.tags.design,
        "added": added.isoformat() if added else None,
        "file": f"catalog/methods/{Path(catalog.files.get(f'methods/{entry.id}', entry.id + '.yaml')).name}",
        "edit": info.edit_url(f"methods/{Path(catalog.files.get(f'methods/{entry.id}', entry.id + '.yaml')).name}")
        if info else None,
        "summary": entry.summary,
        "implementation": entry.implementation,
        "trainable": f"{count:,}" if count is not None else None,
        "usage": usage_snippet(entry.implementation) if entry.implementation else "",
        "families": backbone_families(entry.implementation) if entry.implementation else [],
        "results": views.method_results(catalog, entry, here),
        "costs": costs.method_cost_tables(results, catalog, entry),
        "cost_href": relative(here, costs.PAGE),
        "notes": entry.notes,
        "sources": [Link(s, safe_url(s)) for s in entry.sources],
        "bibtex": bibtex_entry(catalog, entry),
        "bib_download": relative(here, f"{DOWNLOADS}/{BIB_STEM}.bib"),
    }


def method_pages(catalog: Catalog, trainable: dict[str, int], added: dict[str, date | None],
                 info: BuildInfo | None, files: dict[str, str], results: Results = ()) -> dict[str, str]:
    """Every method's page; the CSV and JSON of each one's results table go into `files`."""
    out = {}
    for entry in catalog.methods.values():
        here = views.method_page(entry.id)
        view = method_view(catalog, entry, trainable, added.get(entry.id), info, results)
        table = exports.results_table(view["results"], f"{exports.DOWNLOADS}/method/{entry.id}-results",
                                      f"Benchmark results of {entry.name}")
        if view["results"]:
            files.update(exports.files(table))
        body = render(
            "method.html.j2", m=view, backbone=BACKBONE_LABEL, taxonomy_href=relative(here, "taxonomy.md"),
            results_files=exports.links(table, here) if view["results"] else [],
            compare_href=relative(here, compare.PAGE) + f"?m={quote(entry.id)}",
        )
        # no navigation sidebar (the tabs name the sections): its width goes to the results table's nine columns
        out[here] = page(entry.name, body, hide=("navigation",), meta=search_meta(catalog, entry))
    return out


def reporting_tables(catalog: Catalog, entry: MethodEntry) -> int:
    """How many result tables report the entry (or, for an entry with variants, any member of its family)."""
    members = views.family_ids(catalog, entry)
    return sum(1 for t in catalog.results.values() if any(r.method in members for r in t.rows))


def search_meta(catalog: Catalog, entry: MethodEntry) -> dict[str, Any]:
    """What the search index adds to a method page.

    - `tags`: the paper's authors and venue, a field apart from the page text and matched ahead of it, each as one
      token (so "Edward Hu" finds LoRA first). The theme's results do not show it. Escaped like every page text.
    - `boost`: 1 + the number of result tables that report the method, halved for a variant of another entry.
      Every search word is a prefix search, and a rare word that merely starts with the query ("lorand" for
      "lora") otherwise outranks the common one; the method more tables report is the likelier target ("lora":
      LoRA, 16 tables, before LoRand, 5), and an entry comes before its variants ("Menglin Jia": VPT first).
    """
    fields = [*entry.paper.authors_read(), views.venue_year(entry.paper.venue, entry.paper.year)]
    boost = (1 + reporting_tables(catalog, entry)) * (0.5 if entry.variant_of else 1)
    meta: dict[str, Any] = {"tags": [str(escape(f)) for f in dict.fromkeys(fields) if f], "search": {"boost": boost}}
    return meta


def plot_caption(what: str, zero_params: list[str]) -> str:
    text = (f"{what} against trainable parameters (log scale), one point per method or baseline. Filled points "
            "joined by the line form the Pareto front, computed over every point drawn, baselines included: no "
            "other point has at most as many parameters and a higher score.")
    if zero_params:
        text += (f" Zero trainable parameters cannot sit on a log scale: {', '.join(zero_params)} "
                 "is drawn in the column marked 0 on the left.")
    return text


def board_plots(board: boards.MethodBoard, bench: Benchmark) -> list[boards.Plot]:
    """One plot per column that has points, the paper-reported one first (shown; the others fold away)."""
    out = []
    y_title = boards.headline_axis(bench)
    for i, column in enumerate(board.columns):
        points = boards.paper_points(board, i)
        what = f"{bench.name} on {board.backbone}, {column.title} numbers: {board.mean_label}"
        plot = figures.accuracy_plot([figures.PlotInput(*p) for p in points], y_title)
        if plot is None:
            continue
        svg = Markup(render("plot.svg.j2", plot=plot, plot_id=f"plot-{board.anchor}-{i}", title=what))
        out.append(boards.Plot(column.title.lower() if i else "paper-reported", svg,
                               plot_caption(what, plot.zero_params)))
    return out


MEMORY_AXIS = figures.XAxis("memory of a train step, as a multiple of full fine-tuning's", "of full fine-tuning's "
                             "memory", unit="×", step=0.1)


def cost_plot(catalog: Catalog, result: CostResult, accuracy: costs.Accuracy | None,
              plot_id: str) -> tuple[Markup | None, str]:
    """Memory (as a multiple of full fine-tuning's) against the leaderboard's VTAB-1k accuracy, and its caption."""
    if accuracy is None:
        return None, ""
    points, missing = costs.memory_points(result, catalog, accuracy.by_line)
    items = [figures.PlotInput(label, x, y, href) for label, x, y, href in points]
    plot = figures.accuracy_plot(items, f"VTAB-1k {accuracy.label} (%)", axis=MEMORY_AXIS)
    if plot is None:
        return None, ""
    title = f"Memory against VTAB-1k accuracy ({result.settings.model}; accuracy: {accuracy.backbone})"
    caption = (f"Memory of a train step ({result.settings.model}, batch {result.settings.batch}, measured as this "
               f"table says) against the paper-reported VTAB-1k {accuracy.label} on {accuracy.backbone} from the "
               "leaderboard, one point per method. Filled points joined by the line form the Pareto front: no other "
               "method needs less memory and scores higher.")
    if missing:
        caption += f" No leaderboard number, not drawn: {', '.join(missing)}."
    return Markup(render("plot.svg.j2", plot=plot, plot_id=plot_id, title=title)), caption


def cost_page(catalog: Catalog, results: Results) -> str:
    entries = costs.implementations(catalog)
    accuracy = costs.vtab_accuracy(catalog) if results else None
    shown = []
    for n, (name, result) in enumerate(results):
        table = costs.cost_table(name, result, entries, costs.PAGE, n)
        svg, caption = cost_plot(catalog, result, accuracy, f"plot-{table.anchor}")
        shown.append({"table": table, "plot": svg, "caption": caption})
    return page("Cost", render("cost.html.j2", results=shown), hide=("navigation", "toc"))


def leaderboard_page(catalog: Catalog, bench: Benchmark, files: dict[str, str]) -> str:
    """A benchmark's leaderboard page; the CSV and JSON of each of its tables go into `files`."""
    here = views.leaderboard_page(bench.id)
    stem = f"{exports.DOWNLOADS}/leaderboard/{bench.id}"

    def exported(table: exports.Table) -> list[Link]:
        files.update(exports.files(table))
        return exports.links(table, here)

    groups = []
    for kind, title, empty in (
        ("reported", "Reported results", "No reported results stored."),
        ("reproduced", "Reproduced results",
         "No reproduction of this benchmark is stored yet (the command vpeft results add stores one)."),
    ):
        tables = [t for t in views.tables_of(catalog, bench.id) if views.SOURCE_KIND_LABEL[t.source.kind] == kind]
        boards_ = [views.board(catalog, t, bench, here) for t in tables]
        boards_ = [replace(b, files=exported(exports.board_table(
            b, f"{stem}/{b.id}", f"{bench.name}, {b.backbone}: {b.source.text}"))) for b in boards_]
        groups.append({"id": kind, "title": title, "empty": empty, "boards": boards_})
    method_boards = []
    if bench.tasks:
        for mb in boards.method_boards(catalog, bench, here):
            # the board's number keeps the name unique when two backbones' names share their first characters
            table = exports.method_board_table(mb, f"{stem}/methods-{mb.anchor[len('backbone-'):]}-"
                                               f"{exports.slug(mb.backbone)}",
                                               f"{bench.name} on {mb.backbone}: one line per method")
            method_boards.append(replace(mb, plots=board_plots(mb, bench), files=exported(table)))
    note = ""
    if bench.groups and bench.averaged:
        note = (f"Two averages are shown: the <em>average over {len(bench.tasks)} tasks</em> weighs every task "
                f"equally; the <em>average of {len(bench.groups)} group means</em> weighs every group equally "
                "(papers use either, so both are here).")
    body = render(
        "leaderboard.html.j2", bench=bench, groups=groups, averaged_note=Markup(note),
        index_href=relative(here, "leaderboards.md"), method_boards=method_boards,
        compare_href=relative(here, compare.PAGE), contributing_href=relative(here, "contributing.md"),
        mean_label=boards.headline_label(bench),
    )
    return page(f"{bench.name} leaderboard", body, hide=("navigation",))  # toc: each backbone and table


def compare_page(catalog: Catalog, with_cost: bool = False) -> str:
    here = compare.PAGE
    options = [views.Option(m.id, m.name) for m in sorted(catalog.methods.values(), key=lambda m: m.name.lower())]
    body = render("compare.html.j2", options=options, data_href=relative(here, compare.DATA),
                  script_href=relative(here, "assets/vpeft-compare.js"), methods_href=relative(here, "methods.md"),
                  leaderboards_href=relative(here, "leaderboards.md"), with_cost=with_cost,
                  cost_href=relative(here, costs.PAGE))
    return page("Compare methods", body, hide=("navigation", "toc"))


def leaderboards_page(catalog: Catalog) -> str:
    here = "leaderboards.md"
    sections = []
    for sid, title, kinds in SECTIONS:
        items = []
        for bench in catalog.benchmarks.values():
            if bench.kind not in kinds:
                continue
            tables = views.tables_of(catalog, bench.id)
            link = Link(bench.name, relative(here, views.leaderboard_page(bench.id)))
            items.append({"link": link, "tables": len(tables), "rows": sum(len(t.rows) for t in tables)})
        if items:
            sections.append({"id": sid, "title": title, "entries": items})
    return page("Leaderboards", render("leaderboards.html.j2", sections=sections))


FORMAT_LABELS = {"bibtex": "BibTeX", "csl-json": "CSL-JSON", "ris": "RIS"}


def bibliography_page(catalog: Catalog, downloads: dict[str, str]) -> str:
    """Links to every bibliography file, for the whole catalog and for each taxonomy node with papers."""
    here = "bibliography.md"
    assert catalog.taxonomy is not None

    def files(stem: str) -> list[Link]:
        return [Link(FORMAT_LABELS.get(fmt, fmt), relative(here, f"{DOWNLOADS}/{stem}.{EXTENSIONS[fmt]}"))
                for fmt in FORMATS if f"{DOWNLOADS}/{stem}.{EXTENSIONS[fmt]}" in downloads]

    nodes = [
        {"name": node.name, "depth": len(parents), "count": len(catalog.methods_in(node.id)),
         "link": relative(here, views.node_page(node.id)), "files": files(node.id)}
        for node, parents in catalog.taxonomy.walk()
    ]
    body = render("bibliography.html.j2", everything=files(BIB_STEM), nodes=[n for n in nodes if n["files"]])
    return page("Bibliography", body)


# ---------------------------------------------------------------- fragments of hand-written pages


def home_fragment(catalog: Catalog, added: dict[str, date | None]) -> str:
    here = "index.md"
    assert catalog.taxonomy is not None
    newest = sorted(catalog.methods.values(), key=lambda m: (added.get(m.id) is not None, added.get(m.id), m.id),
                    reverse=True)
    days = {added.get(m.id) for m in catalog.methods.values()}
    survey = catalog.taxonomy.survey
    return render(
        "home.html.j2",
        tree_svg=tree_svg(catalog, here),
        counts={
            "methods": len(catalog.methods),
            "benchmarks": len(catalog.benchmarks),
            "results": len(catalog.results),
            "rows": sum(len(t.rows) for t in catalog.results.values()),
        },
        # one day for every entry (the catalog's first commit): a list of ten would say nothing, say that instead
        same_day=next(iter(days)).isoformat() if len(days) == 1 and None not in days else None,
        newest=[
            {"link": Link(m.name, relative(here, views.method_page(m.id))),
             "venue": views.venue_year(m.paper.venue, m.paper.year),
             "added": added[m.id].isoformat() if added.get(m.id) else None}  # type: ignore[union-attr]
            for m in newest[:NEWEST]
        ],
        survey={
            "authors": ", ".join(survey.authors_read() or ["authors not verified"]),
            "title": survey.title or "",
            "venue": views.venue_year(survey.venue, survey.year),
            "link": Link(f"arXiv {survey.arxiv}" if survey.arxiv else "paper", safe_url(survey.url)),
        },
        methods_href=relative(here, "methods.md"),
        leaderboards_href=relative(here, "leaderboards.md"),
    )


def sources_fragment(catalog: Catalog) -> str:
    seen: dict[str, dict[str, Any]] = {}
    for table in catalog.results.values():
        bench = catalog.benchmarks.get(table.benchmark)
        row = seen.setdefault(table.source.url, {
            "what": [], "link": Link(table.source.name, safe_url(table.source.url)),
            "commit": table.source.commit, "kind": table.source.kind,
        })
        row["what"].append(f"{bench.name if bench else table.benchmark} ({table.backbone})")
    sources = [{**s, "what": "results: " + ", ".join(s["what"])} for s in seen.values()]
    if catalog.taxonomy:
        sources += [{"what": "taxonomy", "link": Link(s, safe_url(s)), "commit": None, "kind": "paper"}
                    for s in catalog.taxonomy.sources]
    return render("sources.html.j2", sources=sources)


# ---------------------------------------------------------------- the whole site


def nav(catalog: Catalog) -> list[Any]:
    """The navigation (titles escaped like page titles: themes print them as HTML)."""
    assert catalog.taxonomy is not None

    def item(node: Any) -> dict[str, Any]:  # a node with children is a section: its own page first, then theirs
        if not node.children:
            return {page_title(node.name): views.node_page(node.id)}
        return {page_title(node.name): [{f"All of {page_title(node.name)}": views.node_page(node.id)},
                                        *(item(c) for c in node.children)]}

    boards = [{page_title(b.name): views.leaderboard_page(b.id)} for b in catalog.benchmarks.values()]
    return [
        {"Home": "index.md"},
        {"Methods": [{"All methods": "methods.md"}, {"Taxonomy": "taxonomy.md"}, {"peft tuners": "peft.md"},
                     *(item(n) for n in catalog.taxonomy.nodes)]},
        {"Leaderboards": [{"Overview": "leaderboards.md"}, {"Compare methods": compare.PAGE}, *boards]},
        {"Cost": costs.PAGE},
        {"Reproduce": [{"Single runs": "reproduce.md"}, {"Sweeps, multi-GPU, clusters": "sweep.md"}]},
        {"Bibliography": "bibliography.md"},
        {"Contributing": "contributing.md"},
        {"About": "about.md"},
    ]


def render_site(catalog: Catalog, trainable: dict[str, int] | None = None, info: BuildInfo | None = None,
                added: dict[str, date | None] | None = None, results: Results = ()) -> SiteContent:
    """Every generated page. `trainable` (implementation id -> count) is computed from the registry when None,
    `added` (method id -> day) from git history (see tools/catalog/added.py); `info` gives the edit links;
    `results` are the committed cost results (`costs.load_results`), none by default."""
    if catalog.taxonomy is None:
        raise ValueError("the catalog has no taxonomy.yaml")
    if trainable is None:
        trainable = trainable_counts({m.implementation for m in catalog.methods.values() if m.implementation})
    if added is None:
        added = added_dates(catalog)
    stats = method_stats(catalog, trainable)
    downloads = {f"{DOWNLOADS}/{name}": text for name, text in bibliography_files(catalog, BIB_STEM).items()}
    pages = {
        "methods.md": methods_page(catalog, stats, downloads),
        "taxonomy.md": taxonomy_page(catalog),
        "leaderboards.md": leaderboards_page(catalog),
        compare.PAGE: compare_page(catalog, bool(results)),
        "bibliography.md": bibliography_page(catalog, downloads),
        costs.PAGE: cost_page(catalog, results),
        **node_pages(catalog, stats),
        **method_pages(catalog, trainable, added, info, downloads, results),
        **{views.leaderboard_page(b.id): leaderboard_page(catalog, b, downloads) for b in catalog.benchmarks.values()},
    }
    downloads[compare.DATA] = compare.compare_json(catalog, trainable, results)
    fragments = {"home": home_fragment(catalog, added), "sources": sources_fragment(catalog)}
    return SiteContent(pages=pages, downloads=downloads, fragments=fragments, nav=nav(catalog))


def build_pages(catalog: Catalog, out_dir: Path, handwritten: Path | None = None,
                results: Results = ()) -> list[Path]:
    """Write the generated pages (and, given `handwritten`, its pages with their markers filled) to `out_dir`."""
    content = render_site(catalog, results=results)
    files = {**content.pages, **content.downloads}
    if handwritten is not None:
        for src in sorted(handwritten.rglob("*.md")):
            files[src.relative_to(handwritten).as_posix()] = fill_markers(src.read_text(encoding="utf-8"),
                                                                         content.fragments)
    written = []
    for rel, text in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
