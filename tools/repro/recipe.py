"""Turn a catalog recipe into the settings of each task: recipe values, then per-task values, then `--set`.

Values the sources do not give (null) either have a harmless default, listed in `assumed` so the plan and the
record say so, or must be given with `--set`, otherwise the run stops before training.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..catalog.lookup import implementation_of
from ..catalog.models import SETTING_NAMES, BenchmarkRecipe, Catalog, NoRecipe, Recipe, Setting
from ..errors import UserError
from ..options import parse_key_values

Selection = Literal["last-epoch", "best-val-epoch", "best-test-epoch", "val200-grid-then-retrain"]
PEEKS_AT_TEST: set[str] = {"best-test-epoch"}

# Values no source gives, and why each default is harmless or usual; every use is listed in the plan and the record.
DEFAULTS: dict[str, tuple[Any, str]] = {
    "momentum": (0.9, "the usual SGD momentum (only used with sgd)"),
    "warmup_epochs": (0, "no warm-up unless a source says so"),
    "warmup_lr_init": (0.0, "warm-up starts from 0, as VPT's WarmupCosineSchedule does"),
    "min_lr": (0.0, "cosine decays to 0, as VPT's WarmupCosineSchedule does"),
    "drop_path": (0.0, "timm's default (no stochastic depth)"),
    "label_smoothing": (0.0, "plain cross-entropy, PyTorch's default"),
    "train_aug": (False, "no augmentation unless a source says so"),
    "image_size": (224, "the ViT-B/16 input size of every VTAB-1k and FGVC pipeline"),
    "eval_every": (1, "evaluate every epoch"),
    "runs": (1, "one seed"),
    "precision": ("fp32", "PyTorch trains in fp32 unless a script turns on autocast"),
    "interpolation": ("bicubic", "the pipeline's resize filter (PIL bicubic)"),
    "antialias": (True, "PIL resizes with antialias"),
    "scheduler": ("timm-cosine", "cosine over all epochs with the warm-up inside, as timm's CosineLRScheduler"),
    "scheduler_step": ("epoch-start", "epoch e trains at lr(e)"),
    "cooldown_epochs": (0, "no epochs after the schedule"),
    "drop_last": (False, "PyTorch DataLoader's default"),
    "weight_decay_skip": ("none", "torch optimizers decay every parameter they are given"),
}
# Settings the training needs a source (or the benchmark protocol) for; the rest have a DEFAULTS entry or are optional.
REQUIRED = ("backbone", "optimizer", "epochs", "batch_size", "normalisation", "model_selection")
# Fidelity values the pipeline implements; any other value is listed as not applied.
APPLIED: dict[str, set[Any]] = {
    "head_init": {None, "timm-trunc-normal"},
    "train_transform": {None, "resize", "resize-randaugment", "tfds-resize"},
    "eval_transform": {None, "resize", "tfds-resize"},
}
# Recorded reference settings that the pipeline already does: not listed as not applied.
PIPELINE_DOES: dict[str, Any] = {"backbone_train_mode": True}  # model.train() on the whole model every epoch


class TaskSettings(BaseModel):
    """Everything one task's training needs, as plain values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backbone: str
    optimizer: Literal["sgd", "adamw"]
    momentum: float | None = Field(default=None, ge=0, lt=1)  # sgd only
    lr: float | None = Field(default=None, gt=0)
    lr_base_batch: int | None = Field(default=None, ge=1)
    weight_decay: float | None = Field(default=None, ge=0)
    epochs: int = Field(ge=1)
    warmup_epochs: int = Field(ge=0)
    warmup_lr_init: float = Field(ge=0)
    min_lr: float = Field(ge=0)
    batch_size: int = Field(ge=1)
    drop_path: float = Field(ge=0, lt=1)
    label_smoothing: float = Field(ge=0, lt=1)
    train_aug: bool
    image_size: int = Field(ge=8)
    normalisation: Literal["imagenet", "half"]
    model_selection: Selection
    eval_every: int = Field(ge=1)
    lr_grid: list[float] | None = None
    weight_decay_grid: list[float] | None = None
    runs: int = Field(ge=1)
    precision: Literal["fp32", "bf16", "fp16"]
    interpolation: Literal["bicubic", "bilinear"]
    antialias: bool
    scheduler: Literal["timm-cosine", "vpt-warmup-cosine"]
    scheduler_step: Literal["epoch-start", "after-epoch"]
    cosine_epochs: int | None = Field(default=None, ge=1)
    cooldown_epochs: int = Field(ge=0)
    eval_epochs: list[int] | None = None
    drop_last: bool
    weight_decay_skip: Literal["none", "1d-and-bias", "bias", "head-bias"]
    seed: int | None = None  # the published run's seed, recorded; the run uses --seed
    head_init: str | None = None
    train_transform: str | None = None
    eval_transform: str | None = None
    image_format: str | None = None
    method_config: dict[str, Any] = Field(default_factory=dict)

    @property
    def total_epochs(self) -> int:
        """Epochs trained: the schedule's, then the cool-down epochs at min_lr."""
        return self.epochs + self.cooldown_epochs

    def evaluates(self, epoch: int) -> bool:
        """Whether 1-based `epoch` is evaluated: the listed epochs, or every `eval_every`; the last one always."""
        if epoch == self.total_epochs:
            return True
        return epoch in self.eval_epochs if self.eval_epochs else epoch % self.eval_every == 0

    def scaled_lr(self, lr: float) -> float:
        """VPT scales its grid lr by batch size / 256."""
        return lr * self.batch_size / self.lr_base_batch if self.lr_base_batch else lr


@dataclass
class Resolved:
    """A recipe resolved for one benchmark and a set of tasks."""

    recipe_id: str
    implementation: str
    benchmark: str
    compare_with: list[str]
    reference: str | None
    tasks: dict[str, TaskSettings]
    sources: dict[str, str]
    assumed: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    per_task_names: set[str] = field(default_factory=set)
    not_applied: list[str] = field(default_factory=list)
    reference_row: str | None = None
    run_digest: str | None = None  # set by `restrict`: shards of one run share the digest of the whole run

    def source_of(self, name: str) -> str:
        """Where a setting's value came from, for the plan."""
        if name in self.overrides or (name == "method_config" and any(k.startswith("method.") for k in self.overrides)):
            return "override (--set / --smoke / --precision / --model)"
        keys = {name} if name != "method_config" else {k for k in self.sources if k.startswith("method.")}
        found = [self.sources[k] for k in sorted(keys) if k in self.sources]
        if name in self.per_task_names or (name == "method_config" and any(
                n.startswith("method.") for n in self.per_task_names)):
            found.append(f"per task: {self.sources.get('per_task', '?')}")
        return "; ".join(found) or "default (see assumed)"

    @property
    def selection(self) -> str:
        return next(iter(self.tasks.values())).model_selection

    def to_json(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe_id, "implementation": self.implementation, "benchmark": self.benchmark,
            "compare_with": self.compare_with, "reference": self.reference, "reference_row": self.reference_row,
            "tasks": {t: s.model_dump(mode="json") for t, s in self.tasks.items()},
            "sources": self.sources, "assumed": self.assumed, "overrides": self.overrides,
            "not_applied": self.not_applied,
        }

    def restrict(self, tasks: list[str]) -> Resolved:
        """The part of the run one shard trains; it keeps the whole run's digest."""
        return replace(self, tasks={t: self.tasks[t] for t in tasks}, run_digest=self.digest())

    def digest(self) -> str:
        """sha256 of the resolved settings: the same command on the same catalog gives the same hash."""
        if self.run_digest is not None:
            return self.run_digest
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def find_recipe(catalog: Catalog, method: str, registry: list[str]) -> Recipe:
    """The recipe named `method`, or the one implemented by registry method `method` (or by the implementation
    that the catalog entry `method` names), or a bare one."""
    if method in catalog.recipes:
        return catalog.recipes[method]
    method = method if method in registry else implementation_of(catalog, method) or method
    for recipe in catalog.recipes.values():
        if recipe.implementation == method:
            return recipe
    if method in registry:
        # no recipe: every value comes from the benchmark protocol (or --set)
        return Recipe(id=method, implementation=method, compare_with=[method] if method in catalog.methods else [],
                      benchmarks={})
    known = sorted(set(catalog.recipes) | set(registry))
    raise UserError(f"unknown method '{method}' (recipes and registry methods: {', '.join(known)})")


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`--set key=value` items (YAML scalars or lists: 1e-3, true, [0.1, 0.2]); `method.NAME` sets an option."""
    out = parse_key_values(items, allow_lists=True)
    for key in out:
        if key not in SETTING_NAMES and key != "backbone" and not key.startswith("method."):
            known = ", ".join(("backbone", *SETTING_NAMES, "method.OPTION"))
            raise UserError(f"--set {key}: unknown setting (known: {known})")
    return out


def _where(setting: Setting) -> str:
    src = setting.source
    if src is None:
        return ""
    return " ".join(x for x in (src.url, f"({src.section})" if src.section else None) if x)


@dataclass
class _Layer:
    """One block of values (the recipe's, or the protocol's) with sources and per-task values."""

    values: dict[str, Any]
    sources: dict[str, str]
    notes: dict[str, str]
    per_task: dict[str, dict[str, Any]]
    per_task_source: str


def _layer(block: BenchmarkRecipe | None) -> _Layer:
    if block is None:
        return _Layer({}, {}, {}, {}, "")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    notes: dict[str, str] = {}
    for name in ("backbone", *SETTING_NAMES):
        setting: Setting = getattr(block, name)
        if setting.value is not None:
            values[name], sources[name] = setting.value, _where(setting)
        elif setting.note:
            notes[name] = setting.note
    for option, setting in block.method_config.items():
        if setting.value is not None:
            values[f"method.{option}"], sources[f"method.{option}"] = setting.value, _where(setting)
    per_task = block.per_task.values if block.per_task else {}
    where = _where(Setting(value=0, source=block.per_task.source)) if block.per_task else ""
    return _Layer(values, sources, notes, dict(per_task), where)


def _grid_rule(values: dict[str, Any]) -> bool:
    return values.get("model_selection") == "val200-grid-then-retrain"


def _fill(task: str, mine: dict[str, Any], recipe: _Layer, proto: _Layer, proto_name: str,
          why: str | None, assumed: set[str], sources: dict[str, str]) -> dict[str, Any]:
    """Required values the recipe lacks come from the benchmark protocol; the rest from DEFAULTS. Each is listed."""
    merged = dict(mine)
    if merged.get("model_selection") is None and merged.get("lr") is None and merged.get("lr_grid"):
        merged["model_selection"] = "val200-grid-then-retrain"
        assumed.add("model_selection: the recipe gives an lr grid but no selection rule; a grid needs val selection, "
                    "so val200-grid-then-retrain (the val split of the benchmark)")
    proto_values = {**proto.values, **proto.per_task.get(task, {})}
    needed = [*REQUIRED, *(("lr_grid", "weight_decay_grid") if _grid_rule(merged) else ("lr", "weight_decay"))]
    if why is not None:  # no recipe for this benchmark: the whole protocol stands in
        needed = [n for n in proto_values if not n.startswith("method.")]
    for name in needed:
        if merged.get(name) is None and proto_values.get(name) is not None:
            merged[name] = proto_values[name]
            sources.setdefault(name, f"default: {proto_name}: {proto.sources.get(name) or proto.per_task_source}")
            reason = why or recipe.notes.get(name) or "no source gives it"
            assumed.add(f"{name}: {reason}; using {proto_name}'s value")
    if not _grid_rule(merged):
        merged.pop("lr_grid", None), merged.pop("weight_decay_grid", None)
    for name, (default, reason) in DEFAULTS.items():
        if merged.get(name) is None and not (name == "momentum" and merged.get("optimizer") != "sgd"):
            merged[name] = default
            assumed.add(f"{name}: no source gives it, using {default} ({reason})")
    return merged


def _method_options(implementation: str, merged: dict[str, Any], overrides: dict[str, Any],
                    not_applied: set[str]) -> dict[str, Any]:
    """Options the registry method has; a recipe option it lacks (or a value it refuses) is listed, not applied.
    Options given with --set are passed on as they are, so a wrong one fails loudly."""
    from .. import methods

    options: dict[str, Any] = {}
    for key, value in merged.items():
        if not key.startswith("method."):
            continue
        name = key.split(".", 1)[1]
        if key not in overrides:
            try:
                methods.make_config(implementation, **{name: value})
            except (ValueError, TypeError) as exc:
                first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc).splitlines()[0]
                not_applied.add(f"method.{name} = {value}: the registry method {implementation} does not take it "
                                f"yet ({first}); its default is used")
                continue
        options[name] = value
    return options


def _settings(task: str, merged: dict[str, Any], options: dict[str, Any], label: str) -> TaskSettings:
    missing = [n for n in REQUIRED if merged.get(n) is None]
    grid = _grid_rule(merged)
    missing += [n for n in (("lr_grid", "weight_decay_grid") if grid else ("lr", "weight_decay"))
                if merged.get(n) is None]
    if missing:
        raise UserError(f"{label}: {', '.join(missing)} not known for task {task}; give --set {missing[0]}=VALUE")
    plain = {k: v for k, v in merged.items() if not k.startswith("method.")}
    try:
        return TaskSettings(**plain, method_config=options)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UserError(f"{label}: {where}: {err['msg']} (task {task})") from None


def _unapplied(block: BenchmarkRecipe | None, tasks: dict[str, TaskSettings]) -> set[str]:
    out = {f"{name} = {setting.value}: {setting.note or 'recorded from the reference'} [{_where(setting)}]"
           for name, setting in (block.not_applied.items() if block else ())
           if name not in PIPELINE_DOES or PIPELINE_DOES[name] != setting.value}
    for name, applied in APPLIED.items():
        for value in {getattr(s, name) for s in tasks.values()} - applied:
            out.add(f"{name} = {value}: the pipeline does not implement it yet")
    return out


def resolve(recipe: Recipe, benchmark: str, tasks: list[str], overrides: dict[str, Any]) -> Resolved:
    from .protocols import PROTOCOLS

    block = recipe.benchmarks.get(benchmark)
    label = f"recipe {recipe.id} ({benchmark})"
    proto_name, proto_block = PROTOCOLS.get(benchmark, ("no protocol", None))
    why = None
    if block is None:
        why = f"the catalog has no {benchmark} recipe for {recipe.id}"
    elif isinstance(block, NoRecipe):
        why = f"no source covers {benchmark} for {recipe.id} ({block.unsourced})"
    # each stand-in value says so in short; the reason, often a paragraph, is printed once among the notes
    short_why = why
    if isinstance(block, NoRecipe):
        short_why = f"no source covers {benchmark} for {recipe.id} (the reason is in the notes)"
    sourced = block if isinstance(block, BenchmarkRecipe) else None
    mine, proto = _layer(sourced), _layer(proto_block)
    sources = dict(mine.sources)
    assumed: set[str] = set()
    not_applied: set[str] = set()
    resolved: dict[str, TaskSettings] = {}
    for task in tasks:
        values = {**mine.values, **mine.per_task.get(task, {}), **overrides}
        merged = _fill(task, values, mine, proto, proto_name, short_why, assumed, sources)
        options = _method_options(recipe.implementation, merged, overrides, not_applied)
        resolved[task] = _settings(task, merged, options, label)
    if mine.per_task:
        sources["per_task"] = mine.per_task_source
    notes = list(sourced.notes) if sourced else []
    if why is not None:
        notes.insert(0, f"{why}: every value comes from {proto_name} (a stand-in, not the method's published setting)")
    return Resolved(
        recipe_id=recipe.id, implementation=recipe.implementation, benchmark=benchmark,
        compare_with=list(recipe.compare_with), reference=recipe.reference.get(benchmark), tasks=resolved,
        sources=sources, assumed=sorted(assumed), overrides=overrides, notes=notes,
        per_task_names={n for values in mine.per_task.values() for n in values},
        not_applied=sorted(not_applied | _unapplied(sourced, resolved)),
        reference_row=recipe.reference_row.get(benchmark),
    )


# --search: the grid used when a recipe publishes one learning rate and no grid. Not sourced: no paper gives a
# search protocol for these methods. It is one rule for every method family because it is centred on each recipe's
# own sourced lr (SGD prompt methods and AdamW adapters differ by orders of magnitude, so no fixed list fits both);
# 4x either way covers the spread of learning rates that the VTAB-1k recipes of one family use.
SEARCH_LR_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
SEARCH_NOTE = ("--search: val200 grid lr x {0.25, 0.5, 1, 2, 4} around the recipe's lr, its weight decay kept, then "
               "a retrain on train800val200; NOT SOURCED and not the published protocol (the recipe gives one lr)")


def with_search(res: Resolved) -> Resolved:
    """Every task whose recipe has no grid searches the default grid on val200 and retrains (VPT's protocol shape);
    tasks that already have the recipe's grid keep it. The run's digest changes with it: another run identity."""
    tasks = {}
    searched = []
    for task, s in res.tasks.items():
        if s.model_selection == "val200-grid-then-retrain" or s.lr is None:
            tasks[task] = s
            continue
        searched.append(task)
        tasks[task] = s.model_copy(update={
            "model_selection": "val200-grid-then-retrain", "lr_grid": [s.lr * f for f in SEARCH_LR_FACTORS],
            "weight_decay_grid": [s.weight_decay or 0.0], "lr": None, "weight_decay": None})
    if not searched:
        return res
    sources = {**res.sources, "lr_grid": "default search grid (not sourced, see assumed)",
               "weight_decay_grid": "the recipe's weight_decay (one value; --search)",
               "model_selection": "--search (not the published protocol)"}
    # the search sets these three; a --smoke or --set value of them no longer applies and would be shown as the source
    overrides = {k: v for k, v in res.overrides.items() if k not in ("model_selection", "lr_grid", "weight_decay_grid")}
    return replace(res, tasks=tasks, sources=sources, assumed=sorted([*res.assumed, SEARCH_NOTE]), overrides=overrides,
                   notes=[*res.notes, f"--search applies to: {', '.join(searched)}"])
