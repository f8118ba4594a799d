"""The Cost page and the methods' cost rows: rendered from typed cost results, labelled with machine and date,
every value escaped, the plot drawn from the leaderboard's VTAB-1k numbers; the committed results load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from vpeft import methods
from vpeft.bench.result import CostResult, CostRow, Machine, ResultFileError, Settings, Versions, read_result
from vpeft.catalog.service import valid_catalog
from vpeft.site import render_site
from vpeft.site.costs import PAGE, load_results, memory_points, vtab_accuracy

from tests.conftest import ROOT


def _row(method: str, train: float, memory: int, merged: float | None = None) -> CostRow:
    return CostRow(
        method=method, mergeable=merged is not None, trainable=1234567, train_ms=100 * train, train_ratio=train,
        backbone_ms=40.0, infer_ms=50.0, infer_ratio=1.25, merged_ms=None if merged is None else 40.0 * merged,
        merged_ratio=merged,
        train_images_per_s=80.0 / train, infer_images_per_s=160.0, memory_bytes=memory,
        memory_ratio=memory / 400_000_000, activation_bytes=memory // 2, activation_ratio=memory / 400_000_000,
        param_bytes=1, optimizer_bytes=2,
    )


def result(cpu: str = "Test CPU 9000", extra: list[CostRow] | None = None) -> CostResult:
    return CostResult(
        date="2026-11-30T23:00:00+00:00",
        machine=Machine(cpu=cpu, cores=2, device="cpu", platform="Linux"),
        versions=Versions(python="3.11", torch="2.9", timm="1.0", vpeft="0.2", commit="0123456789abcdef"),
        settings=Settings(model="vit_small_patch16_224", batch=8, precision="fp32", device="cpu", rounds=5,
                          warmup=1, num_classes=100, image_size=224, optimizer="AdamW", threads=1,
                          memory="cpu-proxy"),
        backbone_infer_ms=40.0, proxy="cpu-proxy: the test's proxy",
        rows=[_row("full", 1.0, 400_000_000, 1.0), _row("lora", 0.75, 200_000_000, 1.01),
              _row("vpt-deep", 1.2, 300_000_000), *(extra or [])],
    )


@pytest.fixture(scope="module")
def site() -> object:
    return render_site(valid_catalog(str(ROOT / "catalog")), trainable={},
                       results=[("benchmarks/results/cost-test.json", result())])


def test_cost_page_table_is_labelled(site: object) -> None:
    page = site.pages[PAGE]  # type: ignore[attr-defined]
    assert "Measured on CPU (Test CPU 9000, 2 cores), 2026-11-30" in page
    assert "vpeft commit 0123456789" in page and "benchmarks/results/cost-test.json" in page
    assert "vit_small_patch16_224, batch 8, fp32, CPU" in page
    lora = re.search(r"<tr><td><a href=\"method/lora.html\">LoRA</a></td>(.*?)</tr>", page)
    assert lora is not None
    cells = re.findall(r">([^<>]+)</td>", lora.group(1))
    # trainable, train ratio, train images/s, train FLOPs ratio (not in this result: a dash), memory MB, memory
    # ratio, activations, inference, merged, images/s
    assert cells == ["1,234,567", "0.75×", "106.7", "–", "200", "0.50×", "0.50×", "1.25×", "1.01×", "160.0"]
    vpt = re.search(r"VPT-Deep</a></td>(.*?)</tr>", page)
    assert vpt is not None and "<td>–</td>" in vpt.group(1)  # not mergeable


def test_counted_flops_are_a_column() -> None:
    counted = _row("lora", 0.75, 200_000_000, 1.01).model_copy(update={"train_flops": 62, "train_flops_ratio": 0.62})
    site = render_site(valid_catalog(str(ROOT / "catalog")), trainable={},
                       results=[("x.json", result(extra=[]).model_copy(update={"rows": [counted]}))])
    lora = re.search(r"LoRA</a></td>(.*?)</tr>", site.pages[PAGE])
    assert lora is not None and re.findall(r">([^<>]+)</td>", lora.group(1))[3] == "0.62×"
    assert "Train FLOPs</abbr> ÷ full" in site.pages[PAGE]


def test_cost_page_plot_is_memory_against_vtab_accuracy(site: object) -> None:
    page = site.pages[PAGE]  # type: ignore[attr-defined]
    catalog = valid_catalog(str(ROOT / "catalog"))
    accuracy = vtab_accuracy(catalog)
    assert accuracy is not None
    points, _ = memory_points(result(), catalog, accuracy.by_line)
    assert {p[0] for p in points} >= {"Full fine-tuning", "LoRA"}
    assert page.count("<circle") == len(points)
    lora = next(p for p in points if p[0] == "LoRA")
    assert lora[1] == 0.5 and f"LoRA: {lora[2]:.2f}, 0.50× of full fine-tuning" in page


def test_method_page_shows_its_row(site: object) -> None:
    page = site.pages["method/lora.md"]  # type: ignore[attr-defined]
    section = page.split('<h2 id="cost">')[1].split("<h2")[0]
    assert "Test CPU 9000" in section and section.count("<tr><td>") == 1 and "0.75×" in section
    assert "No committed cost measurement" in site.pages["method/bitfit.md"]  # type: ignore[attr-defined]


def test_cost_is_in_the_navigation(site: object) -> None:
    assert {"Cost": PAGE} in site.nav  # type: ignore[attr-defined]


def test_result_text_is_escaped() -> None:
    hostile = result(cpu="<script>alert(1)</script>", extra=[_row("<img src=x onerror=alert(1)>", 0.5, 1)])
    site = render_site(valid_catalog(str(ROOT / "catalog")), trainable={}, results=[("x.json", hostile)])
    page = site.pages[PAGE]
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_no_results_says_so() -> None:
    site = render_site(valid_catalog(str(ROOT / "catalog")), trainable={})
    assert "No cost result is committed yet" in site.pages[PAGE]


def test_a_bad_result_file_names_file_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "benchmarks" / "results"
    folder.mkdir(parents=True)
    data = result().model_dump_json().replace('"batch":8', '"batch":"eight"')
    (folder / "cost-bad.json").write_text(data)
    with pytest.raises(ResultFileError, match=r"cost-bad.json: settings.batch: "):
        load_results(tmp_path)


def test_committed_results_load_and_cover_the_registry() -> None:
    found = load_results(ROOT)
    assert found, "no committed cost result under benchmarks/results"
    for name, res in found:
        assert read_result(ROOT / name) == res
        measured = {r.method for r in res.rows if not r.reference} | set(res.skipped)
        # the peft-bridged tuners are peft's own modules and are counted on demand; the committed table covers ours
        native = {m for m in methods.available() if not methods.get(m).cls.requires}
        assert native <= measured, f"{name}: no cost row for {sorted(native - measured)}; re-run benchmarks/cost.py"


def test_compare_data_carries_each_methods_cost_ratios(site: object) -> None:
    """The compare page shows the same train-step and memory ratios as the Cost page, labelled with what was run."""
    import json

    from vpeft.site.compare import DATA
    from vpeft.site.compare import PAGE as COMPARE

    data = json.loads(site.downloads[DATA])  # type: ignore[attr-defined]
    assert data["cost_label"] == "vit_small_patch16_224, batch 8, fp32, CPU"
    assert data["methods"]["lora"]["cost"] == {"train": "0.75x", "memory": "0.50x"}
    assert data["methods"]["vpt-deep"]["cost"] == {"train": "1.20x", "memory": "0.75x"}
    assert data["methods"]["bitfit"]["cost"] == {}  # not measured in this result
    assert "Cost page" in site.pages[COMPARE]  # type: ignore[attr-defined]


def test_compare_without_cost_results_says_so() -> None:
    import json

    from vpeft.site.compare import DATA
    from vpeft.site.compare import PAGE as COMPARE

    site = render_site(valid_catalog(str(ROOT / "catalog")), trainable={})
    assert json.loads(site.downloads[DATA])["cost_label"] == ""
    assert "no cost result is committed" in site.pages[COMPARE]
