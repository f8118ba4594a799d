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
from ..catalog.models import SETTING_NAMES, BenchmarkRecipe, Catalog, Recipe
from ..errors import UserError
from ..options import parse_key_values

Selection = Literal["last-epoch", "best-val-epoch", "best-test-epoch", "val200-grid-then-retrain"]
PEEKS_AT_TEST: set[str] = {"best-test-epoch"}

# defaults for values no source gives; each use is listed in the plan and the record
DEFAULTS: dict[str, Any] = {
    "momentum": 0.9, "lr_base_batch": None, "warmup_epochs": 0, "warmup_lr_init": 0.0, "min_lr": 0.0,
    "drop_path": 0.0, "label_smoothing": 0.0, "train_aug": False, "image_size": 224, "eval_every": 1,
    "lr_grid": None, "weight_decay_grid": None, "runs": 1,
}


class TaskSettings(BaseModel):
    """Everything one task's training needs, as plain values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backbone: str
    optimizer: Literal["sgd", "adamw"]
    momentum: float = Field(ge=0, lt=1)
    lr: float | None = Field(gt=0)
    lr_base_batch: int | None = Field(default=None, ge=1)
    weight_decay: float | None = Field(ge=0)
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
    method_config: dict[str, Any] = Field(default_factory=dict)

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
    run_digest: str | None = None  # set by `restrict`: shards of one run share the digest of the whole run

    def source_of(self, name: str) -> str:
        """Where a setting's value came from, for the plan."""
        if name in self.overrides or (name == "method_config" and any(k.startswith("method.") for k in self.overrides)):
            return "override (--set / --smoke)"
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
            "compare_with": self.compare_with, "reference": self.reference,
            "tasks": {t: s.model_dump(mode="json") for t, s in self.tasks.items()},
            "sources": self.sources, "assumed": self.assumed, "overrides": self.overrides,
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
        # no recipe: every value comes from --set (or --smoke)
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


def _base_values(bench_recipe: BenchmarkRecipe | None) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if bench_recipe is None:
        return values, sources, []
    unknown = [f"method.{option}: no source gives it (except per-task values), using the registry default"
               for option, setting in bench_recipe.method_config.items() if setting.value is None]
    for name in ("backbone", *SETTING_NAMES):
        setting = getattr(bench_recipe, name)
        values[name] = setting.value
        if setting.source is not None:
            src = setting.source
            sources[name] = " ".join(x for x in (src.url, f"({src.section})" if src.section else None) if x)
    for option, setting in bench_recipe.method_config.items():
        if setting.value is not None:
            values[f"method.{option}"] = setting.value
            if setting.source is not None:
                sources[f"method.{option}"] = setting.source.url or setting.source.section or ""
    return values, sources, unknown


def _settings(task: str, values: dict[str, Any], assumed: set[str], label: str) -> TaskSettings:
    merged = dict(values)
    for name, default in DEFAULTS.items():
        if merged.get(name) is None and default is not None:
            merged[name] = default
            assumed.add(f"{name}: no source gives it, using {default}")
    grid = merged.get("model_selection") == "val200-grid-then-retrain"
    missing = [n for n in ("backbone", "optimizer", "epochs", "batch_size", "normalisation", "model_selection")
               if merged.get(n) is None]
    missing += [] if grid else [n for n in ("lr", "weight_decay") if merged.get(n) is None]
    missing += [n for n in ("lr_grid", "weight_decay_grid") if grid and not merged.get(n)]
    if missing:
        raise UserError(f"{label}: {', '.join(missing)} not known for task {task}; give --set {missing[0]}=VALUE")
    options = {k.split(".", 1)[1]: v for k, v in merged.items() if k.startswith("method.")}
    plain = {k: v for k, v in merged.items() if not k.startswith("method.")}
    try:
        return TaskSettings(**plain, method_config=options)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UserError(f"{label}: {where}: {err['msg']} (task {task})") from None


def resolve(recipe: Recipe, benchmark: str, tasks: list[str], overrides: dict[str, Any]) -> Resolved:
    bench_recipe = recipe.benchmarks.get(benchmark)
    label = f"recipe {recipe.id} ({benchmark})"
    values, sources, unknown = _base_values(bench_recipe)
    per_task = bench_recipe.per_task.values if bench_recipe and bench_recipe.per_task else {}
    assumed: set[str] = set(unknown)
    if bench_recipe is None:
        assumed.add(f"no recipe for {benchmark} in the catalog: every value comes from --set")
    resolved: dict[str, TaskSettings] = {}
    for task in tasks:
        task_values = {**values, **per_task.get(task, {}), **overrides}
        resolved[task] = _settings(task, task_values, assumed, label)
    if per_task and bench_recipe and bench_recipe.per_task:
        src = bench_recipe.per_task.source
        sources["per_task"] = " ".join(x for x in (src.url, f"({src.section})" if src.section else None) if x)
    return Resolved(
        recipe_id=recipe.id, implementation=recipe.implementation, benchmark=benchmark,
        compare_with=list(recipe.compare_with), reference=recipe.reference.get(benchmark), tasks=resolved,
        sources=sources, assumed=sorted(assumed), overrides=overrides,
        notes=list(bench_recipe.notes) if bench_recipe else [],
        per_task_names={n for values in per_task.values() for n in values},
    )
