"""mkdocs hook (named in mkdocs.yml): adds the pages generated from the catalog to the build.

Generated pages go in through mkdocs' files API, so nothing generated is written into `site/` or committed; the
hand-written pages get their `<!-- vpeft:NAME -->` markers filled. The catalog folder is `catalog/` next to
mkdocs.yml, or $VPEFT_CATALOG (set by `vpeft --catalog DIR site ...`). `mkdocs serve` watches `catalog/`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page


# Use the code of the clone this hook lies in, also when `mkdocs` runs from a clone that is not (or another one is)
# installed; inside an installed package this does nothing.
def _use_clone() -> None:
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("_vpeft_clone", root / "tools" / "clone.py")
    if spec is not None and spec.loader is not None and Path(spec.origin or "").is_file():
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.use_clone(root)


_use_clone()

from vpeft.errors import UserError  # noqa: E402
from vpeft.site.build_info import BuildInfo, build_info  # noqa: E402
from vpeft.site.costs import load_results  # noqa: E402
from vpeft.site.headings import anchored  # noqa: E402
from vpeft.site.render import SiteContent, fill_markers, render_site  # noqa: E402

CATALOG_ENV = "VPEFT_CATALOG"
log = logging.getLogger("mkdocs.plugins.vpeft")
_content: SiteContent | None = None  # the last good build: mkdocs keeps this module between `serve` rebuilds
_serving = False
_info: BuildInfo | None = None


def on_startup(command: str, **_: Any) -> None:
    global _serving
    _serving = command == "serve"


def catalog_dir(config: MkDocsConfig) -> Path:
    env = os.environ.get(CATALOG_ENV)
    return Path(env) if env else Path(config.config_file_path).resolve().parent / "catalog"


def on_config(config: MkDocsConfig, **_: Any) -> MkDocsConfig:
    """The footer names the catalog commit and the build day (the home page asks readers to cite that commit)."""
    global _info
    _info = build_info(catalog_dir(config), config.repo_url)
    if _info.repo_url:  # hand-written pages: their edit button opens the file in the docs folder on main
        config.edit_uri = f"edit/{_info.branch}/{Path(config.docs_dir).name}/"
    commit = _info.commit[:12] if _info.commit else "not in a git clone"
    if _info.commit and _info.dirty:
        commit += " plus uncommitted changes"
    url = _info.commit_url()
    shown = f'<a href="{url}">{commit}</a>' if url and not _info.dirty else commit
    config.copyright = f"Catalog commit {shown} · built {_info.day}"
    return config


def on_files(files: Files, config: MkDocsConfig, **_: Any) -> Files:
    global _content
    from vpeft.catalog.service import valid_catalog
    from vpeft.site import handover

    try:
        folder = catalog_dir(config)
        # `vpeft site` validated the catalog already (for the first build, unless a file changed since)
        catalog = handover.take(folder)
        if catalog is None:
            catalog = valid_catalog(str(folder))
        # the committed cost results of the catalog's repository (none outside a clone)
        _content = render_site(catalog, info=_info, results=load_results(folder.resolve().parent))
    except UserError as exc:
        if not (_serving and _content is not None):
            raise PluginError(f"vpeft: {exc}") from None
        # A half-edited entry must not stop `mkdocs serve`: say what is wrong, keep showing the last good pages.
        log.error(f"vpeft: {exc}\nvpeft: still serving the pages of the last valid catalog")
    for uri, text in _content.pages.items():
        if files.get_file_from_path(uri) is not None:
            raise PluginError(f"vpeft: site/{uri} is hand-written but the build also generates it; remove one")
        # method pages are reached from tables, not from the sidebar (mkdocs would list each one otherwise)
        level = InclusionLevel.NOT_IN_NAV if uri.startswith("method/") else InclusionLevel.UNDEFINED
        files.append(File.generated(config, uri, content=text, inclusion=level))
    for uri, text in _content.downloads.items():
        files.append(File.generated(config, uri, content=text))
    config.nav = _content.nav  # built after on_files, so it may name generated pages
    return files


def github_lists(text: str) -> str:
    """GitHub Markdown lists as Python-Markdown reads them: content nested under 3 spaces becomes 4, and a list
    item right after a paragraph line gets the blank line that Python-Markdown needs to start a list there."""
    text = re.sub(r"^   (?=\S)", "    ", text, flags=re.M)
    return re.sub(r"(?<=\S)\n(?=[ ]*(?:\d+\.|-) )", "\n\n", text)


def on_page_content(html: str, page: Page, config: MkDocsConfig, **_: Any) -> str:
    """Generated pages are raw HTML, which Markdown's toc extension does not read: give their headings the same
    permalinks and the page its table of contents here. A method page's edit button opens its catalog entry."""
    if page.file.generated_by is None:
        return html
    html, page.toc = anchored(html)
    # tables and figures stay out of the search index: glued cells make unreadable snippets and bury the pages
    html = html.replace('<div class="vpeft-scroll"', '<div data-search-exclude class="vpeft-scroll"')
    html = html.replace('<figure class="vpeft-figure', '<figure data-search-exclude class="vpeft-figure')
    uri = page.file.src_uri
    if _info is not None and uri.startswith("method/"):
        page.edit_url = _info.edit_url(f"methods/{Path(uri).stem}.yaml")
    else:
        page.edit_url = None  # generated from several files: nothing to edit in the repository
    return html


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, **_: Any) -> str:
    if _content is None or page.file.generated_by is not None:
        return markdown
    fragments = dict(_content.fragments)
    contributing = catalog_dir(config).resolve().parent / "CONTRIBUTING.md"  # the catalog's repository
    if contributing.is_file():  # trusted Markdown from the repository, shown without its own first heading
        text = contributing.read_text(encoding="utf-8").split("\n", 1)[1]
        fragments["contributing"] = github_lists(text)
    # hand-written pages are written for GitHub too (3-space list nesting): read their lists as GitHub does
    return fill_markers(github_lists(markdown), fragments)
