"""Cross-file checks: things no single file can know (unique ids, known categories, valid references)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date

from ..bib.venues import short_venues
from .models import SETTING_NAMES, Catalog, MethodEntry, NoRecipe, ResultTable
from .names import clean_label, normalise_name, normalise_title
from .problems import Problem
from .result_checks import check_results


def _file(catalog: Catalog, method_id: str) -> str:
    return catalog.files.get(f"methods/{method_id}", f"{catalog.root}/methods/{method_id}.yaml")


def _unknown(catalog: Catalog, folder: str, obj_id: str) -> bool:
    """Not in the catalog, and not merely a file that failed to load: that file's own problem is reported, and
    every reference to it would only repeat it."""
    present = catalog.methods if folder == "methods" else catalog.benchmarks
    return obj_id not in present and f"{folder}/{obj_id}" not in catalog.unreadable


def _check_categories(catalog: Catalog) -> Iterable[Problem]:
    if catalog.taxonomy is None:
        return
    leaves = {leaf.id for leaf in catalog.taxonomy.leaves()}
    choose = f"(choose one of: {', '.join(sorted(leaves))})"
    nodes = {node.id for node, _ in catalog.taxonomy.walk()}
    for entry in catalog.methods.values():
        if entry.category not in nodes:
            yield Problem(_file(catalog, entry.id), "category",
                          f"unknown category '{entry.category}' {choose}")
        elif entry.category not in leaves:
            yield Problem(_file(catalog, entry.id), "category",
                          f"'{entry.category}' is not a leaf of the taxonomy {choose}")
    for leaf in sorted(leaves - {m.category for m in catalog.methods.values()}):
        yield Problem("catalog/taxonomy.yaml", f"nodes.{leaf}", "leaf has no methods", "warning")


def _check_venues(catalog: Catalog) -> Iterable[Problem]:
    """`paper.venue` is a short name from one list, so the site can filter on it and the bibliography can expand
    it; the proceedings title as a source printed it belongs in `venue_full`."""
    known = short_venues()
    for entry in catalog.methods.values():
        venue = entry.paper.venue
        if venue is not None and venue not in known:
            yield Problem(_file(catalog, entry.id), "paper.venue",
                          f"'{venue}' is not a short venue name; use one of: {', '.join(known)} (put the full "
                          "name in paper.venue_full; a venue missing from the list is added in tools/bib/venues.py)")


def _check_tags(catalog: Catalog) -> Iterable[Problem]:
    """Every tag is a name of catalog/tags.yaml (one name per application and design, so filters do not split)."""
    if catalog.tags is None:
        return
    for entry in catalog.methods.values():
        for kind in ("applications", "design"):
            known = catalog.tags.names(kind)
            for i, tag in enumerate(getattr(entry.tags, kind)):
                if tag in known:
                    continue
                hint = catalog.tags.suggestion(kind, tag)
                fix = f"use '{hint}'" if hint else f"add it to tags.yaml first, or choose one of: {', '.join(known)}"
                yield Problem(_file(catalog, entry.id), f"tags.{kind}[{i}]",
                              f"'{tag}' is not in the tag vocabulary (catalog/tags.yaml); {fix}")


def _paper_family(entry: MethodEntry) -> str:
    """Variants share their parent's paper; they count as one paper."""
    return entry.variant_of or entry.id


def _first_owner(
    catalog: Catalog, key_of: Callable[[MethodEntry], Iterable[tuple[str, str]]], what: str, per_paper: bool = False
) -> Iterable[Problem]:
    """Report every entry whose key was already claimed by an earlier entry: the newcomer is blamed (the later
    `added` date; file-name order among entries added the same day), naming the entry that holds the key."""
    owner: dict[str, str] = {}
    for entry in sorted(catalog.methods.values(), key=lambda m: (m.added or date.min, m.id)):
        for key, field in key_of(entry):
            if not key:
                continue
            earlier = catalog.methods.get(owner.get(key, ""))
            same_paper = per_paper and earlier is not None and _paper_family(earlier) == _paper_family(entry)
            if key in owner and owner[key] != entry.id and not same_paper:
                yield Problem(_file(catalog, entry.id), field,
                              f"{what} is already used by {_file(catalog, owner[key])}")
            owner.setdefault(key, entry.id)


def _names(entry: MethodEntry) -> Iterable[tuple[str, str]]:
    yield normalise_name(entry.id), "id"
    if normalise_name(entry.name) != normalise_name(entry.id):
        yield normalise_name(entry.name), "name"
    for i, alias in enumerate(entry.aliases):
        if normalise_name(alias) not in {normalise_name(entry.id), normalise_name(entry.name)}:
            yield normalise_name(alias), f"aliases[{i}]"


def _check_unique(catalog: Catalog) -> Iterable[Problem]:
    yield from _first_owner(catalog, _names, "this name")
    yield from _first_owner(catalog, lambda m: [(m.paper.arxiv or "", "paper.arxiv")], "this arXiv id", True)
    yield from _first_owner(catalog, lambda m: [((m.paper.doi or "").lower(), "paper.doi")], "this DOI", True)
    yield from _first_owner(
        catalog, lambda m: [(normalise_title(m.paper.title or ""), "paper.title")], "this paper title", True
    )


def _check_variants(catalog: Catalog) -> Iterable[Problem]:
    for entry in catalog.methods.values():
        if entry.variant_of is None:
            continue
        parent = catalog.methods.get(entry.variant_of)
        if parent is None and _unknown(catalog, "methods", entry.variant_of):
            yield Problem(_file(catalog, entry.id), "variant_of", f"unknown method '{entry.variant_of}'")
        elif parent is not None and parent.variant_of is not None:
            yield Problem(_file(catalog, entry.id), "variant_of", f"'{parent.id}' is itself a variant; name its parent")


def _check_implementations(catalog: Catalog, registry: Collection[str] | None) -> Iterable[Problem]:
    """Each implementation exists; with the registry's papers (id -> arXiv id), it implements the entry's paper."""
    if registry is None:
        return
    papers = registry if isinstance(registry, Mapping) else {}
    for entry in catalog.methods.values():
        if entry.implementation and entry.implementation not in registry:
            yield Problem(_file(catalog, entry.id), "implementation",
                          f"'{entry.implementation}' is not in the methods registry (see `vpeft methods`)")
        elif entry.implementation and papers.get(entry.implementation) and entry.paper.arxiv and \
                papers[entry.implementation] != entry.paper.arxiv:
            yield Problem(_file(catalog, entry.id), "implementation",
                          f"'{entry.implementation}' implements arXiv {papers[entry.implementation]}, but this entry's "
                          f"paper is arXiv {entry.paper.arxiv}: name the right implementation, or fix its `paper`")


def _check_benchmarks(catalog: Catalog) -> Iterable[Problem]:
    for bench in catalog.benchmarks.values():
        file = catalog.files[f"benchmarks/{bench.id}"]
        groups = {g.id for g in bench.groups}
        seen: set[str] = set()
        for i, task in enumerate(bench.tasks):
            if task.id in seen:
                yield Problem(file, f"tasks[{i}].id", f"duplicate task '{task.id}'")
            seen.add(task.id)
            if task.group is not None and task.group not in groups:
                yield Problem(file, f"tasks[{i}].group", f"unknown group '{task.group}'")


def _family(catalog: Catalog, entry: MethodEntry) -> list[MethodEntry]:
    return [entry, *([catalog.methods[entry.variant_of]] if entry.variant_of in catalog.methods else [])]


def _label_names(catalog: Catalog, table: ResultTable, label: str, entry: MethodEntry) -> bool:
    """Whether a row label names `entry`: it is a name or alias of the entry or of its parent, or, once citation
    brackets and markers are dropped, starts with one ('VPT-D', 'FacT-TT_4', 'Convpass_attn'), or it is the paper's
    own row ('Ours') in a table of the entry's paper."""
    family = _family(catalog, entry)
    if normalise_name(label) in {n for member in family for n, _ in _names(member)}:
        return True
    text = clean_label(label)
    if text.startswith("ours") and table.source.paper in {m.id for m in family}:
        return True
    return any(text.startswith(name) for member in family for name, _ in _names(member))


def _check_results(catalog: Catalog) -> Iterable[Problem]:
    for table in catalog.results.values():
        file = catalog.files[f"results/{table.id}"]
        bench = catalog.benchmarks.get(table.benchmark)
        if bench is None and _unknown(catalog, "benchmarks", table.benchmark):
            yield Problem(file, "benchmark", f"unknown benchmark '{table.benchmark}'")
        tasks = set(bench.task_ids()) if bench else set()
        for i, row in enumerate(table.rows):
            if row.row_kind == "method" and row.method is None:
                yield Problem(file, f"rows[{i}].method", "is required for a method row (or set row_kind)")
            if row.row_kind != "method" and row.method is not None:
                yield Problem(file, f"rows[{i}].method", f"must be null for a {row.row_kind} row")
            entry = catalog.methods.get(row.method or "")
            if row.method is not None and _unknown(catalog, "methods", row.method):
                yield Problem(file, f"rows[{i}].method", f"unknown method '{row.method}'")
            elif entry is not None and not _label_names(catalog, table, row.label, entry):
                yield Problem(file, f"rows[{i}].label",
                              f"'{row.label}' does not start with a name or alias of '{entry.id}' (or of the "
                              "method it is a variant of); add it to its aliases")
            for task in row.scores:
                if bench and task not in tasks:
                    yield Problem(file, f"rows[{i}].scores.{task}", f"unknown task of {bench.id}")


def _check_recipes(catalog: Catalog, registry: Collection[str] | None) -> Iterable[Problem]:
    for recipe in catalog.recipes.values():
        file = catalog.files[f"recipes/{recipe.id}"]
        baseline = recipe.id == recipe.implementation and (registry is None or recipe.id in registry)
        if _unknown(catalog, "methods", recipe.id) and not baseline:
            yield Problem(file, "id", f"unknown method '{recipe.id}' (a recipe is named after a catalog method, or "
                                      "after the registry method it trains when the catalog has none)")
        if registry is not None and recipe.implementation not in registry:
            # a warning: the recipe may land before its implementation; `reproduce` refuses it until then
            yield Problem(file, "implementation", f"'{recipe.implementation}' is not in the methods registry yet",
                          "warning")
        for i, method_id in enumerate(recipe.compare_with):
            if _unknown(catalog, "methods", method_id):
                yield Problem(file, f"compare_with[{i}]", f"unknown method '{method_id}'")
        for bench_id, table_id in recipe.reference.items():
            table = catalog.results.get(table_id)
            if table is None:
                yield Problem(file, f"reference.{bench_id}", f"unknown result table '{table_id}'")
            elif table.benchmark != bench_id:
                yield Problem(file, f"reference.{bench_id}", f"'{table_id}' is a table of {table.benchmark}")
            elif bench_id in recipe.reference_row and recipe.reference_row[bench_id] not in {
                    r.label for r in table.rows}:
                yield Problem(file, f"reference_row.{bench_id}",
                              f"'{table_id}' has no row labelled '{recipe.reference_row[bench_id]}'")
        for bench_id in sorted(set(recipe.reference_row) - set(recipe.reference)):
            yield Problem(file, f"reference_row.{bench_id}", "a row needs a reference table for the benchmark")
        for bench_id, bench_recipe in recipe.benchmarks.items():
            bench = catalog.benchmarks.get(bench_id)
            if bench is None:
                yield Problem(file, f"benchmarks.{bench_id}", "unknown benchmark")
                continue
            if isinstance(bench_recipe, NoRecipe):
                continue
            per_task = bench_recipe.per_task.values if bench_recipe.per_task else {}
            for task, values in per_task.items():
                where = f"benchmarks.{bench_id}.per_task.values.{task}"
                if task not in bench.task_ids():
                    yield Problem(file, where, f"unknown task of {bench_id}")
                for name in sorted(n for n in values if n not in SETTING_NAMES and not n.startswith("method.")):
                    yield Problem(file, f"{where}.{name}", f"unknown setting (known: {', '.join(SETTING_NAMES)})")


# Facts a contributor fills in from the paper's pages. Left null, a note must say what was tried (a note that
# names the fact: "authors ...", "venue ..."); then it is listed by --strict, unexplained it is an error.
_FACTS: tuple[tuple[str, str, Callable[[MethodEntry], object]], ...] = (
    ("paper.title", "title", lambda m: m.paper.title),
    ("paper.authors", "author", lambda m: m.paper.authors),
    ("paper.venue", "venue", lambda m: m.paper.venue),
    ("paper.year", "year", lambda m: m.paper.year),
    ("paper.url", "url", lambda m: m.paper.url),
)
_FILL = {
    "summary": "write 1-3 sentences in your own words: what is trained and where it sits in the network",
    "sources": "list the pages you checked the facts against (arXiv abstract page, proceedings page, README)",
}


def _explained(entry: MethodEntry, word: str) -> bool:
    return any(word in note.lower() for note in entry.notes)


def _unverified_facts(catalog: Catalog) -> Iterable[Problem]:
    for entry in catalog.methods.values():
        file = _file(catalog, entry.id)
        for field, word, get in _FACTS:
            if get(entry):
                continue
            if _explained(entry, word):
                yield Problem(file, field, "not verified yet (null; the notes say why)", "note")
            else:
                yield Problem(file, field, f"empty: fill it in from the paper's own pages, or keep it null and add a "
                                           f"note saying what you tried (a note that mentions the {word})",
                              "required")
        for field, fix in _FILL.items():
            if not getattr(entry, field):
                yield Problem(file, field, f"empty: {fix}", "required")


def _posted(arxiv: str) -> date:
    """The month a new-style arXiv id was assigned (2303.00690 -> March 2023)."""
    return date(2000 + int(arxiv[:2]), int(arxiv[2:4]), 1)


def _year_later(day: date) -> date:
    return day.replace(year=day.year + 1, day=min(day.day, 28))


def _stale_preprints(catalog: Catalog, today: date) -> Iterable[Problem]:
    """arXiv-only papers over a year old: most are published by then, and the catalog should cite that version."""
    for entry in catalog.methods.values():
        paper = entry.paper
        if paper.venue != "arXiv" or not paper.arxiv or entry.variant_of:
            continue
        since = max(_posted(paper.arxiv), paper.venue_checked or date.min)
        if _year_later(since) <= today:
            checked = f"last checked {paper.venue_checked}" if paper.venue_checked else "never checked"
            yield Problem(_file(catalog, entry.id), "paper.venue",
                          f"arXiv-only, posted {_posted(paper.arxiv):%Y-%m} and {checked}: look for the published "
                          "version (venue page, DBLP), then set venue or paper.venue_checked", "warning")


def validate(catalog: Catalog, registry: Collection[str] | None = None, today: date | None = None
             ) -> list[Problem]:
    """All cross-file problems (errors and warnings), sorted by file then field."""
    problems = [
        *_check_categories(catalog),
        *_check_venues(catalog),
        *_check_tags(catalog),
        *_check_unique(catalog),
        *_check_variants(catalog),
        *_check_implementations(catalog, registry),
        *_check_benchmarks(catalog),
        *_check_results(catalog),
        *_check_recipes(catalog, registry),
        *check_results(catalog),
        *_unverified_facts(catalog),
        *_stale_preprints(catalog, today or date.today()),
    ]
    return sorted(problems)
