"""The built site's links to its repository and itself (issue 16 items 4, 6, 7), read from the HTML files."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from xml.etree import ElementTree

from vpeft.catalog.added import first_commit_dates
from vpeft.catalog.service import valid_catalog
from vpeft.site.views import venue_line

from tests.conftest import CATALOG, ROOT
from tests.site.conftest import TEST_REPO_URL, TEST_SITE_URL, Built, read_page

CAT = valid_catalog(str(CATALOG))


def test_every_method_page_links_its_entry_for_editing(real_site: Built) -> None:
    for method_id in CAT.methods:
        html = (real_site.out / "method" / f"{method_id}.html").read_text(encoding="utf-8")
        edit = f"{TEST_REPO_URL}/edit/main/catalog/methods/{method_id}.yaml"
        assert f'class="vpeft-edit" href="{edit}"' in html, method_id
        assert f'href="{edit}" title="Edit this page"' in html, method_id  # the theme's edit button too


def test_footer_names_the_catalog_commit_and_the_build_day(real_site: Built) -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    for page in ("index.html", "method/lora.html", "leaderboard/vtab-1k.html"):
        html = (real_site.out / page).read_text(encoding="utf-8")
        footer = re.search(r'md-copyright__highlight">\s*(.*?)\s*</div>', html, re.S)
        assert footer, page
        assert "Catalog commit" in footer.group(1) and head[:12] in footer.group(1)
        assert re.search(r"built \d{4}-\d{2}-\d{2}", footer.group(1))


def test_the_repository_is_linked_from_every_page(real_site: Built) -> None:
    for path in real_site.out.rglob("*.html"):
        assert f'href="{TEST_REPO_URL}"' in path.read_text(encoding="utf-8"), path


def test_sitemap_lists_every_page(real_site: Built) -> None:
    tree = ElementTree.parse(real_site.out / "sitemap.xml")
    locs = {e.text for e in tree.iter() if e.tag.endswith("loc")}
    pages = {TEST_SITE_URL + p.relative_to(real_site.out).as_posix() for p in real_site.out.rglob("*.html")}
    assert locs == pages - {TEST_SITE_URL + "404.html"}


def test_the_404_page_links_absolutely_under_the_site_path(real_site: Built) -> None:
    page = read_page(real_site.out / "404.html")
    refs = [e.attrs.get("href") or e.attrs.get("src") for e in page.elements if e.tag in ("link", "script", "a")]
    local = [r for r in refs if r and not r.startswith(("http", "#", "mailto"))]
    assert local and all(r.startswith("/vpeft/") for r in local), local


def test_generated_pages_have_a_toc_and_permalinks(real_site: Built) -> None:
    html = (real_site.out / "method" / "lora.html").read_text(encoding="utf-8")
    for anchor in ("summary", "implementation", "results", "cite"):
        assert f'<a class="headerlink" href="#{anchor}"' in html
        assert f'href="#{anchor}" class="md-nav__link"' in html  # the table of contents


def test_taxonomy_navigation_is_nested(real_site: Built) -> None:
    html = (real_site.out / "taxonomy.html").read_text(encoding="utf-8")
    assert CAT.taxonomy is not None
    parent = next(n for n in CAT.taxonomy.nodes if n.children)
    child = parent.children[0]
    # the child's nav entry sits inside the parent's nested list
    section = re.search(rf'<label class="md-nav__title" for="[^"]*">\s*<span class="md-nav__icon md-icon"></span>\s*'
                        rf'{re.escape(parent.name)}\s*</label>(.*?)</nav>', html, re.S)
    assert section and f"taxonomy/{child.id}.html" in section.group(1)


def test_reproduce_steps_are_one_numbered_list(real_site: Built) -> None:
    html = (real_site.out / "reproduce.html").read_text(encoding="utf-8")
    first = html.index("<strong>Get the images.</strong>")
    ol = html.rindex("<ol>", 0, first)
    end = html.index("</ol>", first)
    steps = html[ol:end]
    for step in ("Arrange one folder per task", "Name the task folders", "Check before you train"):
        assert step in steps


def test_venue_lines_say_nothing_twice() -> None:
    assert venue_line("ICLR", "International Conference on Learning Representations (ICLR) 2022", 2022) == \
        "ICLR 2022 · International Conference on Learning Representations"
    assert venue_line("ICCV", "Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV), "
                      "2023, pp. 4230-4239", 2023) == \
        "ICCV 2023 · Proceedings of the IEEE/CVF International Conference on Computer Vision, pp. 4230-4239"
    assert venue_line("ICLR", "ICLR 2023 poster", 2023) == "ICLR 2023 · poster"
    assert venue_line("arXiv", "arXiv preprint 2303.00690 (1 Mar 2023)", 2023) == \
        "arXiv 2023 · arXiv preprint 2303.00690 (1 Mar 2023)"  # a year inside a date stays
    assert venue_line("CVPR", None, 2023) == "CVPR 2023"
    for entry in CAT.methods.values():
        line = venue_line(entry.paper.venue, entry.paper.venue_full, entry.paper.year)
        if entry.paper.venue:
            assert line.count(f"({entry.paper.venue})") == 0, line


def test_methods_table_has_sortable_parameter_and_score_columns(real_site: Built) -> None:
    html = (real_site.out / "methods.html").read_text(encoding="utf-8")
    head = html[html.index('<table id="all-methods"'):html.index("</thead>", html.index('<table id="all-methods"'))]
    names = re.findall(r'<th scope="col" data-sort-type="(\w+)"[^>]*>([^<]+)</th>', head)
    assert names[:4] == [("text", "Method"), ("number", "Best VTAB-1k mean"), ("number", "Params counted"),
                         ("number", "Params published")]
    lora = re.search(r'<a href="method/lora.html">LoRA</a></td>(.*?)</tr>', html, re.S)
    assert lora is not None
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", lora.group(1))[:3]
    assert cells[1] == "0.29 M"  # the registry's 294,912 trainable parameters, in millions
    assert re.fullmatch(r"\d+\.\d\d", cells[0]) and cells[2].endswith(" M")


def test_first_commit_dates_follow_renames() -> None:
    log = ("\0" + "2026-01-02\n\nA\tcatalog/methods/old.yaml\nA\tcatalog/methods/b.yaml\n"
           "\0" + "2026-03-04\n\nR100\tcatalog/methods/old.yaml\tcatalog/methods/new.yaml\nA\tcatalog/methods/c.yaml\n")
    dates = first_commit_dates(log)
    assert dates["new.yaml"] == date(2026, 1, 2) and dates["b.yaml"] == date(2026, 1, 2)
    assert dates["c.yaml"] == date(2026, 3, 4)


def test_added_dates_come_from_the_first_commit_else_the_entry(small_catalog, monkeypatch) -> None:  # noqa: ANN001
    from vpeft.catalog.added import added_dates

    recorded = {m.id: m.added for m in valid_catalog(str(small_catalog)).methods.values()}
    assert added_dates(valid_catalog(str(small_catalog))) == recorded  # not a clone: the entries' own field
    env = {"GIT_AUTHOR_DATE": "2025-05-06T12:00:00Z", "GIT_COMMITTER_DATE": "2025-05-06T12:00:00Z",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    run = {"cwd": small_catalog, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)
    subprocess.run(["git", "add", "methods/alpha.yaml"], **run)
    subprocess.run(["git", "commit", "-qm", "alpha"], **run)
    dates = added_dates(valid_catalog(str(small_catalog)))
    assert dates["alpha"] == date(2025, 5, 6)  # committed: git's day
    assert dates["beta"] == recorded["beta"]  # not committed yet: the recorded day
