"""Pieces of the page generator: links, titles, the Pareto front, the plot, and the registry's parameter counts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from vpeft.catalog.service import valid_catalog
from vpeft.site import build_pages, render_site
from vpeft.site.figures import PlotInput, accuracy_plot, pareto_front
from vpeft.site.links import page_title, relative, safe_url


@pytest.mark.parametrize("url", ["https://arxiv.org/abs/2106.09685", "http://example.org/a?b=c#d"])
def test_http_urls_are_links(url: str) -> None:
    assert safe_url(url) == url


@pytest.mark.parametrize("url", [None, "", "javascript:alert(1)", "JavaScript:alert(1)", " javascript:x", "data:x",
                                 "//evil.example/x", "https://", "https://a b", "https://a\nb", "ftp://x/y", "x.html"])
def test_anything_else_is_text(url: str | None) -> None:
    assert safe_url(url) is None


def test_relative_links_between_pages() -> None:
    assert relative("method/lora.md", "taxonomy/adapter-tuning.md") == "../taxonomy/adapter-tuning.html"
    assert relative("methods.md", "method/lora.md") == "method/lora.html"
    assert relative("index.md", "assets/vpeft.css") == "assets/vpeft.css"


def test_page_titles_cannot_open_a_tag() -> None:
    title = page_title("A <b>&</b> \"B\"</title><script>")
    assert "<" not in title and ">" not in title and '"' not in title
    assert title.startswith("A b&amp;/b &quot;B&quot;")


def test_pareto_front() -> None:
    items = [PlotInput("a", 1.0, 70, None), PlotInput("b", 0.1, 60, None), PlotInput("c", 2.0, 65, None),
             PlotInput("d", 10.0, 75, None), PlotInput("e", 0.1, 55, None)]
    assert pareto_front(items) == {0, 1, 3}


def test_pareto_front_counts_a_zero_parameter_baseline() -> None:
    """A frozen backbone (0 parameters) with a higher score than a method beats it: the method is off the front."""
    items = [PlotInput("Frozen", 0.0, 71.3, None), PlotInput("BitFit", 0.1, 70.0, None),
             PlotInput("LoRA", 0.3, 72.0, None), PlotInput("AdaptFormer", 0.5, 71.9, None),
             PlotInput("Full", 87.0, 75.0, None)]
    assert pareto_front(items) == {0, 2, 4}
    plot = accuracy_plot(items, "score")
    assert plot is not None and plot.zero_params == ["Frozen"]
    assert [p.label for p in plot.points if p.on_front] == ["Frozen", "LoRA", "Full"]
    assert pareto_front([PlotInput("a", 1.0, 70, None), PlotInput("b", 1.0, 70, None)]) == {0}


def test_plot_is_log_scaled_and_draws_zero_parameters_apart() -> None:
    items = [PlotInput("zero", 0.0, 50, None), PlotInput("small", 0.01, 60, None), PlotInput("big", 100.0, 70, None)]
    plot = accuracy_plot(items, "score")
    assert plot is not None and plot.zero_params == ["zero"]
    zero, small, big = plot.points
    ticks = [t.pos for t in plot.x_ticks]
    assert [t.label for t in plot.x_ticks] == ["0", "0.01M", "0.1M", "1M", "10M", "100M"]
    gaps = {round(b - a, 1) for a, b in zip(ticks[1:], ticks[2:], strict=False)}
    assert len(gaps) == 1  # equal distance per decade
    assert zero.x == ticks[0] < plot.axis_break < small.x == ticks[1] and big.x == ticks[-1]
    assert accuracy_plot(items[:1], "score") is None
    no_zero = accuracy_plot(items[1:], "score")
    assert no_zero is not None and no_zero.axis_break is None and no_zero.x_ticks[0].label == "0.01M"


def test_method_page_shows_the_registry_count(small_catalog: Path) -> None:
    import timm
    import torch
    from vpeft import methods
    text = (small_catalog / "methods" / "alpha.yaml").read_text()
    (small_catalog / "methods" / "alpha.yaml").write_text(text + "implementation: lora\n")
    site = render_site(valid_catalog(str(small_catalog)))
    with torch.device("meta"):
        model = methods.apply(timm.create_model("vit_base_patch16_224", pretrained=False), "lora")
    expected = f"{methods.trainable_parameters(model):,}"
    page = site.pages["method/alpha.md"]
    assert f"<strong>{expected}</strong>" in page
    assert 'methods.apply(model, &#34;lora&#34;)' in page
    assert "Trainable parameters" not in site.pages["method/beta.md"]
    # the backbone families the registry declares for lora, one list item each
    assert "<li>vit: timm VisionTransformer" in page and "<li>swin: timm SwinTransformer (swin_*)</li>" in page
    assert "vpeft-families" not in site.pages["method/beta.md"]


def test_build_pages_writes_a_complete_docs_folder(small_catalog: Path, tmp_path: Path) -> None:
    from tests.conftest import ROOT

    written = build_pages(valid_catalog(str(small_catalog)), tmp_path, handwritten=ROOT / "site")
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {"index.md", "methods.md", "method/alpha.md", "method/beta.md", "taxonomy/adapter-tuning.md"} <= names
    home = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert "<!-- vpeft:home -->" not in home and 'class="vpeft-tree"' in home
    assert re.search(r"^title: ", (tmp_path / "method" / "alpha.md").read_text(encoding="utf-8"), re.M)


def test_reproduced_results_are_grouped_apart_from_reported_ones(small_catalog: Path) -> None:
    import yaml

    scores = {"cub200_2011": 80.0, "nabirds": 70.0, "oxford_flowers": 90.0, "stanford_dogs": 60.0,
              "stanford_cars": 50.0}
    for kind in ("benchmark", "reproduced"):
        table = {"id": f"t-{kind}", "benchmark": "fgvc", "backbone": "ViT-B/16",
                 "source": {"name": f"source-{kind}", "kind": kind, "url": f"https://example.org/{kind}"},
                 "rows": [{"label": "Alpha", "method": "alpha", "params_m": 0.1, "scores": scores},
                          {"label": "Beta", "method": "beta", "params_m": 1.0, "scores": scores}]}
        (small_catalog / "results").mkdir(exist_ok=True)
        (small_catalog / "results" / f"t-{kind}.yaml").write_text(yaml.safe_dump(table), encoding="utf-8")
    site = render_site(valid_catalog(str(small_catalog)), trainable={})
    page = site.pages["leaderboard/fgvc.md"]
    lines, per_task = page.split('<h2 id="per-task">')
    reported, reproduced = per_task.split('<h2 id="reproduced">')
    # the per-method board puts both on Alpha's line, in their own columns
    alpha_line = lines.split('data-line="method:alpha"')[1].split("</tr>")[0]
    assert "source-benchmark" in alpha_line and "source-reproduced" in alpha_line
    assert "source-benchmark" in reported and "source-reproduced" not in reported
    assert "source-reproduced" in reproduced and "source-benchmark" not in reproduced
    alpha = site.pages["method/alpha.md"]
    assert "(reported)" in alpha and "(reproduced)" in alpha
