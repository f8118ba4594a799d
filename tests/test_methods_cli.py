"""`vpeft methods` and `vpeft params` (issue 4, item 7): counts computed on the meta device, clear one-line errors."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import pytest
import timm
import torch
from vpeft import methods
from vpeft.cli import main

from tests.conftest import CATALOG

VIT_B = "vit_base_patch16_224"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def independent_count(method_id: str, model: str = VIT_B, **options: object) -> tuple[int, int, int]:
    """(total, trainable, trainable without head), counted here without `methods.counting`."""
    with torch.device("meta"):
        vit = timm.create_model(model, pretrained=False)
    methods.apply(vit, method_id, **options)
    head = {id(p) for p in vit.get_classifier().parameters()}
    params = list(vit.parameters())
    trainable = [p for p in params if p.requires_grad]
    return (sum(p.numel() for p in params), sum(p.numel() for p in trainable),
            sum(p.numel() for p in trainable if id(p) not in head))


@pytest.fixture(scope="module")
def methods_json() -> list[dict[str, object]]:
    """Computed once for the module (capsys is function-scoped, so stdout is captured here directly)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["--catalog", str(CATALOG), "methods", "--json"]) == 0
    return json.loads(buf.getvalue())


def test_methods_json_lists_the_registry(methods_json: list[dict[str, object]]) -> None:
    assert [row["id"] for row in methods_json] == methods.available()
    assert len(methods_json) >= 16  # issue 4, "done when"
    assert all(isinstance(row["trainable_excluding_head"], int) for row in methods_json if not row["requires"])
    # peft's bridged tuners are counted on demand (`vpeft params ID`): listing them must not import peft
    bridged = [row for row in methods_json if row["requires"] == ["peft"]]
    assert len(bridged) >= 20 and all(row["trainable_excluding_head"] is None for row in bridged)
    by_id = {row["id"]: row for row in methods_json}
    lora = by_id["lora"]
    assert lora["name"] == "LoRA" and lora["mergeable"] is True and lora["paper"] == "2106.09685"
    assert lora["catalog"] == ["lora"] and lora["model"] == VIT_B
    assert by_id["convpass"]["mergeable"] is False
    assert by_id["full"]["name"] is None  # baselines have no catalog entry


def test_methods_json_lists_each_methods_families(methods_json: list[dict[str, object]]) -> None:
    by_id = {row["id"]: row for row in methods_json}
    assert all(row["families"] == list(methods.get(row["id"]).families) for row in methods_json)
    assert by_id["lora"]["families"] == ["vit", "swin"] and by_id["vpt-deep"]["families"] == ["vit"]
    assert by_id["bitfit"]["families"] == ["vit", "eva", "swin", "convnext", "resnet"]


SWIN_B = "swin_base_patch4_window7_224"


@pytest.mark.parametrize(("method_id", "model"), [("lora", SWIN_B), ("ssf", SWIN_B), ("ssf", "convnext_tiny"),
                                                  ("bitfit", "resnet50")])
def test_params_on_other_families(capsys: pytest.CaptureFixture[str], method_id: str, model: str) -> None:
    code, out, _ = run(capsys, "params", method_id, "--model", model, "--json")
    data = json.loads(out)
    assert code == 0
    assert (data["total"], data["trainable"], data["trainable_excluding_head"]) == independent_count(method_id, model)


def test_params_lora_on_swin_b_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    """One (A, B) pair of rank 8 per window-attention qkv: 8 * (C + 3C) per block, Swin-B depths (2, 2, 18, 2) at
    widths (128, 256, 512, 1024)."""
    _, out, _ = run(capsys, "params", "lora", "--model", SWIN_B, "--json")
    widths = [128] * 2 + [256] * 2 + [512] * 18 + [1024] * 2
    assert json.loads(out)["trainable_excluding_head"] == sum(8 * 4 * c for c in widths)


@pytest.mark.parametrize("method_id", ["lora", "bitfit", "linear"])
def test_methods_json_counts_are_computed(methods_json: list[dict[str, object]], method_id: str) -> None:
    row = next(r for r in methods_json if r["id"] == method_id)
    assert row["trainable_excluding_head"] == independent_count(method_id)[2]


def test_methods_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--catalog", str(CATALOG), "methods")
    lines = out.strip().splitlines()
    assert code == 0 and err == ""
    assert lines[-1] == f"{len(methods.available())} method(s)"
    lora = next(line for line in lines if line.startswith("lora "))
    assert "LoRA" in lora and "294,912 (0.29M)" in lora
    assert "on demand: vpeft params vera" in next(line for line in lines if line.startswith("vera "))


def test_params_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "params", "lora", "--json")
    data = json.loads(out)
    assert code == 0
    assert (data["total"], data["trainable"], data["trainable_excluding_head"]) == independent_count("lora")
    assert data["config"] == methods.get("lora").config().model_dump(mode="json")


def test_params_set_values_are_yaml_scalars(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "params", "lora", "--set", "r=4", "--set", "target=q,v", "--set", "alpha=0.5",
                       "--model", "vit_tiny_patch16_224", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["config"] == {"r": 4, "alpha": 0.5, "dropout": 0.0, "target": "q,v", "init": "paper"}
    expected = independent_count("lora", "vit_tiny_patch16_224", r=4, target="q,v", alpha=0.5)
    assert (data["total"], data["trainable"], data["trainable_excluding_head"]) == expected
    code, out, _ = run(capsys, "params", "fact", "--set", "rank=null", "--json")
    assert code == 0 and json.loads(out)["config"]["rank"] is None


def test_params_num_classes_changes_only_the_head(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "params", "ssf", "--num-classes", "10", "--json")
    data = json.loads(out)
    assert data["trainable"] - data["trainable_excluding_head"] == 768 * 10 + 10


def test_params_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "params", "bitfit")
    assert code == 0
    assert out.splitlines()[0] == f"bitfit on {VIT_B}"
    assert "trainable_excluding_head" in out and "102,912" in out


@pytest.mark.parametrize(
    ("argv", "start"),
    [
        (["params", "no-such-method"], "vpeft: error: METHOD: unknown method 'no-such-method'; available: "),
        (["params", "lora", "--set", "rank=4"], "vpeft: error: --set: unknown option(s) rank for method 'lora'"),
        (["params", "lora", "--set", "r=abc"], "vpeft: error: --set r='abc': Input should be a valid integer"),
        (["params", "lora", "--set", "r=0"], "vpeft: error: --set r=0: Input should be greater than or equal"),
        (["params", "lora", "--set", "target=k"], "vpeft: error: --set target='k': Input should be 'qkv' or"),
        (["params", "lora", "--set", "r"], "vpeft: error: --set: expected KEY=VALUE, got 'r'"),
        (["params", "lora", "--set", "r=[1, 2]"], "vpeft: error: --set r: the value must be a single scalar"),
        (["params", "lora", "--set", "r=4", "--set", "r=8"], "vpeft: error: --set: option 'r' given twice"),
        (["params", "lora", "--model", "no_such_model"], "vpeft: error: --model: unknown timm model 'no_such_model'"),
        (["params", "lora", "--model", "resnet18"], "vpeft: error: --model: method 'lora' does not support"),
        (["params", "vpt-deep", "--model", "resnet50"], "vpeft: error: --model: method 'vpt-deep' does not support "
         "family 'resnet' (timm.models.resnet.ResNet); supported families: vit: timm VisionTransformer"),
        (["params", "repadapter", "--set", "groups=3"], "vpeft: error: --set: repadapter on vit_base_patch16_224:"),
        (["params", "lora", "--num-classes", "-1"], "vpeft: error: --num-classes: must be between 0 and"),
    ],
)
def test_params_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], start: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith(start), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_params_bad_option_syntax_is_argparse_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["params", "lora", "--num-classes", "many"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--num-classes" in err and len(err.strip().splitlines()) == 1


def test_commands_do_not_import_torch_at_import_time() -> None:
    code = "import sys, tools.commands.methods, tools.commands.params; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_params_takes_a_catalog_entry_that_names_an_implementation(capsys: pytest.CaptureFixture[str]) -> None:
    """`vpeft params VPT-Deep` (a catalog name) counts the registry method the entry names."""
    assert main(["--catalog", str(CATALOG), "params", "VPT-Deep", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "vpt-deep" and out["catalog_entry"] == "VPT-Deep"
    assert main(["--catalog", str(CATALOG), "params", "vpt-deep", "--json"]) == 0
    assert "catalog_entry" not in json.loads(capsys.readouterr().out)


def test_reproduce_takes_a_catalog_entry_that_names_an_implementation() -> None:
    from vpeft.catalog.service import valid_catalog
    from vpeft.repro.recipe import find_recipe

    catalog = valid_catalog(str(CATALOG))
    assert find_recipe(catalog, "VPT-Deep", methods.available()).implementation == "vpt-deep"
