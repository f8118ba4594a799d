"""The peft bridge (issue 14, item 1): the registered peft tuners are what the probe computes for the installed
peft, their typed configs map onto peft's configs, saved files convert to peft adapter folders that peft loads,
counts agree between the meta device and CPU, and the docs list the bridged and left-out tuners.
The shared matrix (test_matrix.py) runs every bridged tuner like any other method; test_peft_registry.py checks
that registering them needs no peft and that the stored table is the installed peft's."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import timm
import torch
from pydantic import ValidationError
from vpeft import methods
from vpeft.methods import _peft_docs, _peft_probe, peft_bridge
from vpeft.methods import _peft_tuners as pt
from vpeft.methods.counting import parameter_counts
from vpeft.methods.peft_interop import CONFIG_FILE, WEIGHTS_FILE, to_peft

from tests.methods.conftest import make_input, make_vit

PeftModel = pytest.importorskip("peft", reason="the bridge's tuners are peft's: peft is not installed").PeftModel
BRIDGED = [r.id for r in peft_bridge.BRIDGED]
STORED = _peft_probe.read_table()


def applied(method_id: str) -> torch.nn.Module:
    return methods.apply(make_vit(), method_id, **methods.get(method_id).cls.tiny_model_options())


@pytest.mark.slow
def test_registered_tuners_are_the_computed_ones() -> None:
    """Re-run the probe (every peft type tried on tiny ViTs) and compare with the stored table and the registry."""
    computed = _peft_probe.table(_peft_probe.probe(_peft_probe.native_ids()))
    assert computed == STORED, f"stale peft_tuners.json: run {_peft_probe.REFRESH}"
    registered = {i for i in methods.available() if methods.get(i).module == peft_bridge.__name__}
    assert registered == {r["id"] for r in computed["tuners"] if r["bridged"]}
    for row in computed["tuners"]:
        if row["bridged"]:
            spec = methods.get(row["id"])
            assert (spec.mergeable, spec.identity_at_init) == (row["mergeable"], row["identity_at_init"])


def test_every_peft_type_is_bridged_or_has_a_reason() -> None:
    rows = {r["peft_type"]: r for r in STORED["tuners"] if not r["fixed"]}
    assert set(rows) == set(pt.peft_types())
    assert all(r["bridged"] or r["reason"] for r in rows.values())
    assert len(BRIDGED) >= 20  # peft 0.21 bridges 31; far fewer means the probe broke, not peft


def test_native_methods_keep_their_ids() -> None:
    for peft_type, native in pt.NATIVE.items():
        assert methods.get(native).module != peft_bridge.__name__
        assert pt.method_id(peft_type) not in BRIDGED


def test_dora_takes_r_and_is_peft_lora_with_dora() -> None:
    model = methods.apply(make_vit(), "dora", r=8)
    cfg = methods.applied(model).config  # type: ignore[union-attr]
    config = pt.peft_config("LORA", cfg, {"use_dora": True})
    assert (config.r, config.use_dora, config.target_modules) == (8, True, pt.target_regex("qkv"))
    assert any("lora_magnitude_vector" in n for n, _ in model.named_parameters())
    with pytest.raises(ValidationError):
        methods.make_config("dora", r="eight")


@pytest.mark.parametrize("method_id", BRIDGED)
def test_typed_config_maps_onto_peft_config(method_id: str) -> None:
    """Every option of ours is the same-named field of peft's config, with peft's default."""
    cls = methods.get(method_id).cls
    cfg = methods.make_config(method_id)
    config = pt.peft_config(cls.peft_type, cfg, cls.fixed)
    defaults = {f.name: f.default for f in dataclasses.fields(pt.config_class(cls.peft_type))}
    for name, value in cfg.model_dump(exclude={"target"}).items():
        assert getattr(config, name) == value == defaults[name]
    for name, value in cls.fixed.items():
        assert getattr(config, name) == value


def test_target_option_selects_block_linears_only() -> None:
    model = methods.apply(make_vit(), "vera", target="fc1,proj")
    wrapped = {n.rsplit(".", 2)[0] for n, p in model.named_parameters() if p.requires_grad and "vera" in n}
    assert wrapped == {f"blocks.{i}.{m}" for i in range(2) for m in ("attn.proj", "mlp.fc1")}
    assert type(model.patch_embed.proj) is torch.nn.Conv2d  # "proj" is not patch_embed.proj
    with pytest.raises(ValidationError, match="block linears"):
        methods.make_config("vera", target="qkv,head")


def trained(method_id: str) -> torch.nn.Module:
    model = applied(method_id)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=gen) * 0.05)
    return model.eval()


@pytest.mark.parametrize("method_id", BRIDGED)
def test_saved_file_converts_to_a_peft_adapter_peft_loads(method_id: str, tmp_path: Path) -> None:
    model = trained(method_id)
    methods.save_trained(model, tmp_path / "ours.safetensors")
    folder = to_peft(tmp_path / "ours.safetensors", tmp_path / "adapter")
    assert {CONFIG_FILE, WEIGHTS_FILE} <= {p.name for p in folder.iterdir()}
    config = json.loads((folder / CONFIG_FILE).read_text())
    assert config["peft_type"] == methods.get(method_id).cls.peft_type and config["modules_to_save"] == ["head"]
    loaded = PeftModel.from_pretrained(make_vit(), folder).eval()
    x = make_input()
    with torch.no_grad():
        ours, theirs = model(x), loaded(x)
    assert not torch.allclose(ours, make_vit()(x), atol=1e-4)  # the adapter and head did change the output
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-5)


@pytest.mark.parametrize("method_id", BRIDGED)
def test_meta_counts_equal_cpu_counts(method_id: str) -> None:
    """`vpeft params` counts on the meta device (or falls back to CPU): the counts are those of a real model."""
    kwargs, options = {"img_size": 32}, methods.get(method_id).cls.tiny_model_options()
    meta = parameter_counts(method_id, "vit_tiny_patch16_224", model_kwargs=kwargs, **options)
    cpu_model = timm.create_model("vit_tiny_patch16_224", pretrained=False, **kwargs)
    methods.apply(cpu_model, method_id, **options)
    assert meta.trainable_excluding_head == methods.trainable_parameters(cpu_model) > 0


def test_vera_count_on_vit_b16() -> None:
    """VeRA trains lambda_d (r) and lambda_b (out features) per targeted layer: 12 qkv layers of ViT-B/16."""
    counts = parameter_counts("vera", "vit_base_patch16_224")
    assert counts.trainable_excluding_head == 12 * (methods.make_config("vera").r + 3 * 768)


def test_docs_list_bridged_and_left_out_tuners() -> None:
    section = _peft_docs.markdown(STORED)
    for path in _peft_docs.DOCS:
        assert section in path.read_text(encoding="utf-8"), f"{path}: run {_peft_probe.REFRESH}"
    for row in STORED["tuners"]:
        assert (f"`{row['id']}`" if row["bridged"] else f"| {row['peft_type']} |") in section
