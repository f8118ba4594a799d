"""The cost benchmark (tools/bench): a one-round run on a tiny ViT, the files it writes, the CPU memory proxy, and
one-line errors for bad options. Nothing is downloaded (pretrained=False)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import timm
import torch
from torch import nn
from vpeft import methods
from vpeft.bench import memory, work
from vpeft.bench.cost import Options, median_ratio, run
from vpeft.bench.files import META_COLUMNS, write
from vpeft.bench.result import CostResult, CostRow, read_result
from vpeft.cli import main

TINY = {"img_size": 32, "patch_size": 8, "embed_dim": 48, "depth": 2, "num_heads": 3}


@pytest.fixture(scope="module")
def result() -> CostResult:
    opts = Options(model="vit_tiny_patch16_224", model_kwargs=TINY, batch=2, rounds=1, warmup=0,
                   num_classes=5, methods=("lora",), progress=False)
    return run(opts)


def test_rows_and_ratios(result: CostResult) -> None:
    # full is added (the reference of the train ratios), and peft's LoRA after ours (a reference row)
    assert [r.method for r in result.rows] == ["full", "lora", "peft-lora"]
    full, lora, peft = result.rows
    assert lora.merged_same_modules and peft.merged_same_modules and full.merged_same_modules
    assert peft.reference and not lora.reference and peft.trainable == lora.trainable  # same layers, same rank
    assert full.train_ratio == 1.0 and full.memory_ratio == 1.0 and full.activation_ratio == 1.0
    # one round: the median ratio is the ratio of the two measured times
    assert lora.train_ratio == pytest.approx(lora.train_ms / full.train_ms, rel=1e-12)
    # inference: to the plain backbone timed right before the method's own call
    assert lora.infer_ratio == pytest.approx(lora.infer_ms / lora.backbone_ms, rel=1e-12)
    assert lora.merged_ms is not None and lora.merged_ratio == pytest.approx(lora.merged_ms / lora.backbone_ms)
    assert result.backbone_infer_ms == sorted(r.backbone_ms for r in result.rows)[1]  # median of the 3 pairings
    assert lora.memory_ratio == pytest.approx(lora.memory_bytes / full.memory_bytes)
    assert lora.train_images_per_s == pytest.approx(2 / lora.train_ms * 1000)
    assert lora.infer_images_per_s == pytest.approx(2 / lora.merged_ms * 1000)  # merged when it can be
    assert lora.memory_bytes == lora.param_bytes + lora.optimizer_bytes + lora.activation_bytes  # the CPU proxy
    assert lora.optimizer_bytes < full.optimizer_bytes and lora.activation_bytes < full.activation_bytes


def test_train_flops_are_counted_and_frozen_weights_save_work(result: CostResult) -> None:
    full, lora, peft = result.rows
    assert full.train_flops_ratio == 1.0 and full.train_flops and lora.train_flops and peft.train_flops
    assert lora.train_flops_ratio == pytest.approx(lora.train_flops / full.train_flops, rel=1e-12)
    # frozen weights get no gradient: LoRA skips every weight-gradient product of the backbone
    assert lora.train_flops < 0.8 * full.train_flops
    # the same layers, rank and scaling do exactly the same products as peft's LoRA
    assert lora.train_flops == peft.train_flops


def test_flops_of_a_known_graph() -> None:
    model, x = _mlp(), torch.randn(2, 8)
    fwd = 2 * 2 * (8 * 16 + 16 * 4)  # two matmuls, 2 FLOPs per multiply-add
    with work.counter() as c:
        model(x).sum().backward()
    # backward: input gradient of layer 2 and both weight gradients (layer 1's input needs no gradient)
    assert c.get_total_flops() == fwd + 2 * 2 * (16 * 4 + 8 * 16 + 16 * 4)
    model[0].requires_grad_(False)
    with work.counter() as c:
        model(x).sum().backward()
    # layer 1 frozen (and the input needs no gradient): only layer 2's weight gradient runs in backward
    assert c.get_total_flops() == fwd + 2 * 2 * (16 * 4)


def test_trainable_counts_are_the_registry_counts(result: CostResult) -> None:
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=5, **TINY)
    methods.apply(model, "lora")
    assert result.rows[1].trainable == methods.trainable_parameters(model) > 0
    plain = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=5, **TINY)
    assert result.rows[0].trainable == sum(p.numel() for n, p in plain.named_parameters() if not n.startswith("head"))


def test_settings_machine_and_versions(result: CostResult) -> None:
    assert result.settings.image_size == 32 and result.settings.device == "cpu"
    assert result.settings.memory == "cpu-proxy" and result.proxy == memory.PROXY
    assert result.machine.cores >= 1 and result.machine.cpu
    assert result.versions.torch == torch.__version__ and result.versions.timm == timm.__version__


def test_median_ratio_is_per_round() -> None:
    times = [2.0, 4.0, 100.0]
    assert median_ratio(times, times) == 1.0
    assert median_ratio([1.0, 2.0, 3.0], [2.0, 2.0, 1.0]) == 1.0  # ratios 0.5, 1.0, 3.0
    assert median_ratio([1.0, 2.0, 3.0], [2.0, 2.0, 1.0]) != 2.0 / 2.0 * 1.5  # not median / median


def test_files(result: CostResult, tmp_path: Path) -> None:
    json_path, csv_path = write(result, tmp_path / "out" / "cost-x")
    assert read_result(json_path) == result
    data = json.loads(json_path.read_text())
    assert {"date", "machine", "versions", "settings", "rows"} <= set(data)
    rows = list(csv.DictReader(csv_path.open()))
    assert [r["method"] for r in rows] == ["full", "lora", "peft-lora"]
    assert list(rows[0]) == [*CostRow.model_fields, *META_COLUMNS]
    assert rows[0]["train_ratio"] == "1.0" and rows[1]["cpu"] == result.machine.cpu
    assert write(result, tmp_path / "out" / "cost-x")  # an earlier result is replaced


def test_user_file_is_not_replaced(result: CostResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mine.json").write_text("{}")
    with pytest.raises(Exception, match="not a cost result"):
        write(result, tmp_path / "mine")
    assert (tmp_path / "mine.json").read_text() == "{}"


# ---------------------------------------------------------------- the CPU memory proxy


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


def test_saved_activations_of_a_known_graph() -> None:
    model, x = _mlp(), torch.randn(2, 8)
    # Linear 1 saves its input (2x8), ReLU its output (2x16), Linear 2 that same output again (counted once);
    # the weights autograd also saves are parameters, counted as parameter bytes instead.
    assert memory.saved_activation_bytes(model, lambda: model(x)) == (2 * 8 + 2 * 16) * 4
    model[0].requires_grad_(False)  # a frozen first layer needs no saved input; ReLU still saves its output
    assert memory.saved_activation_bytes(model, lambda: model(x)) == 2 * 16 * 4
    assert memory.saved_activation_bytes(model, lambda: model(x).detach()) == 2 * 16 * 4
    with torch.no_grad():
        assert memory.saved_activation_bytes(model, lambda: model(x)) == 0


def test_one_storage_saved_twice_counts_once() -> None:
    w = nn.Parameter(torch.ones(3))
    holder = nn.Module()
    holder.w = w
    x = torch.randn(5, 3)
    def square() -> torch.Tensor:
        y = x * w  # saves x (for w's gradient)
        return y * y  # saves y as both operands: one storage
    assert memory.saved_activation_bytes(holder, square) == 2 * 5 * 3 * 4
    x_half = torch.randn(5, 3).to(torch.bfloat16)
    assert memory.saved_activation_bytes(holder, lambda: x_half * w) == 5 * 3 * 2  # bytes follow the dtype


def test_parameter_and_optimizer_bytes() -> None:
    model = _mlp()
    n = sum(p.numel() for p in model.parameters())
    assert memory.parameter_bytes(model) == n * 4
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.randn(2, 8)).sum().backward()
    sgd.step()
    assert memory.optimizer_bytes(sgd) == 0  # plain SGD keeps no state
    adam = torch.optim.Adam(model.parameters())
    adam.step()
    moments = 2 * n * 4  # exp_avg and exp_avg_sq per element; the step counters are a few bytes per tensor
    assert moments <= memory.optimizer_bytes(adam) <= moments + 16 * len(list(model.parameters()))


# ---------------------------------------------------------------- bad options


@pytest.mark.parametrize(("argv", "needle"), [
    (["--precision", "fp16"], "--precision: expected one of fp32, bf16"),
    (["--batch", "0"], "--batch: must be at least 1"),
    (["--rounds", "0"], "--rounds: must be at least 1"),
    (["--methods", "lora,nope"], "--methods: unknown method(s) nope"),
    (["--model", "not_a_model"], "--model: 'not_a_model' is not a timm model name"),
    (["--device", "tpu"], "--device: expected auto, cpu, cuda or cuda:N"),
])
def test_bad_options(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "cost", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_model_the_methods_do_not_support_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "cost", "--model", "resnet18", "--methods", "lora", "--batch", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vpeft: error: --model: resnet18: ")
    assert "supported families: vit: timm VisionTransformer" in err
    assert err.count("\n") == 1


def test_user_file_refused_before_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mine.csv").write_text("a,b\n")
    assert main(["bench", "cost", "--methods", "lora", "-o", str(tmp_path / "mine")]) == 2
    assert "not a cost result" in capsys.readouterr().err
    assert (tmp_path / "mine.csv").read_text() == "a,b\n"
