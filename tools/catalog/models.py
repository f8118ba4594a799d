"""Typed models of every catalog file. Unknown keys are rejected everywhere.

Field-level rules that need no other file live here (URL scheme, arXiv id format, year range); rules that
compare files (unique ids, known categories, results pointing at known tasks) live in `validate.py`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .authors import AuthorName, Name, parse_author

MIN_YEAR = 2015
MAX_YEAR = date.today().year + 1
ARXIV_RE = re.compile(r"^\d{4}\.\d{4,5}$")
ID_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# The same rules as the validators below, written into the JSON Schemas so an editor flags them as you type.
URL_PATTERN = r"^https://\S+$"
DOI_PATTERN = r"^10\.\d{4,9}/\S+$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)


def _https_url(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError("must be an https:// URL")
    if any(c.isspace() for c in value) or len(value) <= len("https://"):
        raise ValueError("must be a well-formed https:// URL without spaces")
    return value


def _arxiv_id(value: str) -> str:
    if not ARXIV_RE.match(value):
        raise ValueError("must be a new-style arXiv id such as 2205.13535 (no version suffix)")
    return value


def _year(value: int) -> int:
    if not MIN_YEAR <= value <= MAX_YEAR:
        raise ValueError(f"must be between {MIN_YEAR} and {MAX_YEAR}")
    return value


def _doi(value: str) -> str:
    if not re.match(DOI_PATTERN, value):
        raise ValueError("must be a bare DOI such as 10.1109/CVPR52729.2023.01234 (no https://doi.org/)")
    return value


Url = Annotated[str, AfterValidator(_https_url), Field(json_schema_extra={"pattern": URL_PATTERN})]
ArxivId = Annotated[str, AfterValidator(_arxiv_id), Field(json_schema_extra={"pattern": ARXIV_RE.pattern})]
# The schema names the lower bound only: the upper one (next year) moves, and a committed schema must not.
Year = Annotated[int, AfterValidator(_year), Field(json_schema_extra={"minimum": MIN_YEAR})]
Doi = Annotated[str, AfterValidator(_doi), Field(json_schema_extra={"pattern": DOI_PATTERN})]
Slug = Annotated[str, StringConstraints(pattern=ID_RE)]
Text = Annotated[str, StringConstraints(min_length=1)]


class TaxonomyNode(Strict):
    id: Slug
    name: Text
    description: Text
    children: list[TaxonomyNode] = Field(default_factory=list)


class Taxonomy(Strict):
    """The survey's tree. Method entries point at leaves."""

    survey: Paper
    benchmark: Paper | None = Field(default=None, description="The survey's benchmark paper (V-PETL Bench).")
    nodes: list[TaxonomyNode]
    notes: list[Text] = Field(default_factory=list)
    sources: list[Url] = Field(default_factory=list)

    def walk(self) -> list[tuple[TaxonomyNode, tuple[str, ...]]]:
        """Every node with the ids of its ancestors, depth first."""
        out: list[tuple[TaxonomyNode, tuple[str, ...]]] = []

        def visit(node: TaxonomyNode, parents: tuple[str, ...]) -> None:
            out.append((node, parents))
            for child in node.children:
                visit(child, (*parents, node.id))

        for node in self.nodes:
            visit(node, ())
        return out

    def leaves(self) -> list[TaxonomyNode]:
        return [node for node, _ in self.walk() if not node.children]

    def node(self, node_id: str) -> TaxonomyNode | None:
        return next((n for n, _ in self.walk() if n.id == node_id), None)

    def path(self, node_id: str) -> list[TaxonomyNode]:
        """The nodes from the root down to `node_id` (empty when unknown)."""
        for node, parents in self.walk():
            if node.id == node_id:
                return [*(self.node(p) for p in parents), node]  # type: ignore[list-item]
        return []


class Paper(Strict):
    title: Text | None
    authors: list[AuthorName] | None = Field(
        description="'Family, Given' names in the paper's order ('Ben Zaken, Elad'); null when not verified."
    )
    venue: Text | None = Field(description="Short final venue: CVPR, NeurIPS, TPAMI, ... or arXiv.")
    venue_full: Text | None = None
    year: Year | None
    arxiv: ArxivId | None = None
    doi: Doi | None = None
    url: Url | None = None
    venue_checked: date | None = Field(
        default=None,
        description="When someone last looked for the published version of an arXiv-only paper (validate --strict "
        "reminds a year after the arXiv posting, then a year after this date); say in notes where they looked.",
    )

    def author_names(self) -> list[Name]:
        """The authors' parts, in the paper's order (empty when not verified)."""
        return [parse_author(a) for a in self.authors or []]

    def authors_read(self) -> list[str]:
        """The authors as the paper prints them ("Elad Ben Zaken"), for display."""
        return [n.reading_order() for n in self.author_names()]


class Tags(Strict):
    applications: list[Text] = Field(default_factory=list)
    design: list[Text] = Field(default_factory=list)


class TagName(Strict):
    name: Text
    merged: list[Text] = Field(default_factory=list, description="Spellings folded into this name.")


class TagVocabulary(Strict):
    """The tag names entries may use: `catalog/tags.yaml`."""

    applications: list[TagName]
    design: list[TagName]

    def names(self, kind: str) -> list[str]:
        return [t.name for t in getattr(self, kind)]

    def suggestion(self, kind: str, tag: str) -> str | None:
        """The vocabulary name an old spelling was folded into (case-insensitive), or None."""
        for t in getattr(self, kind):
            if tag.lower() in {t.name.lower(), *(m.lower() for m in t.merged)}:
                return t.name
        return None


class MethodEntry(Strict):
    """One visual PEFT method: `catalog/methods/<id>.yaml`."""

    id: Slug
    name: Text
    aliases: list[Text] = Field(default_factory=list, description="Other spellings in papers and tables.")
    paper: Paper
    code_url: Url | None = None
    category: Slug = Field(description="A leaf of catalog/taxonomy.yaml.")
    tags: Tags = Field(default_factory=Tags)
    summary: Text | None = Field(description="1-3 sentences in our own words: what is trained and where.")
    variant_of: Slug | None = Field(
        default=None, description="Id of the entry whose paper this one shares (e.g. vpt-deep is a variant of vpt)."
    )
    implementation: Slug | None = Field(default=None, description="Key in the `methods` registry, or null.")
    added: date | None = Field(default=None, description="When the entry joined the catalog.")
    notes: list[Text] = Field(default_factory=list)
    sources: list[Url] = Field(default_factory=list, description="Pages the facts were checked against.")


class Task(Strict):
    id: Slug | Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]
    name: Text
    group: str | None = None
    classes: int | None = Field(default=None, ge=1)
    metric: Text = "top-1 accuracy (%)"
    folders: list[Text] = Field(default_factory=list, description="Folder names used by public codebases.")
    source: Text | None = None


class TaskGroup(Strict):
    id: Slug
    name: Text


class Benchmark(Strict):
    """A benchmark: `catalog/benchmarks/<id>.yaml`."""

    id: Slug
    name: Text
    kind: Literal["image-classification", "video-classification", "detection", "segmentation"]
    description: Text
    groups: list[TaskGroup] = Field(default_factory=list)
    tasks: list[Task]
    averaged: bool = Field(default=True, description="Whether a mean over the tasks is meaningful.")
    score_min: float = Field(default=0.0, description="Lowest possible score of every task.")
    score_max: float = Field(default=100.0, description="Highest possible score of every task.")
    notes: list[Text] = Field(default_factory=list)
    sources: list[Url] = Field(default_factory=list)

    def task_ids(self) -> list[str]:
        return [t.id for t in self.tasks]

    def tasks_in(self, group: str) -> list[str]:
        return [t.id for t in self.tasks if t.group == group]


class Provenance(Strict):
    name: Text
    kind: Literal["benchmark", "paper", "reproduced"]
    url: Url = Field(description="The page the numbers were read on (https).")
    commit: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{7,40}$")] | None = None
    paper: Slug | None = Field(default=None, description="Catalog method id of the paper whose table this is.")
    table: Text | None = Field(default=None, description="The table as numbered by the source, e.g. Table 1.")
    section: Text | None = None
    read_in: Text | None = Field(
        default=None,
        description="Where the digits were read when that is not the `url` page itself, e.g. a full-text copy of "
        "the paper whose repository could not be named (then `url` is the paper's canonical page).",
    )

    @model_validator(mode="after")
    def _paper_needs_table(self) -> Provenance:
        # a paper number is only checkable when we know which table of the page it was read in
        if self.kind == "paper" and self.table is None:
            raise ValueError("a paper source needs `table` (as numbered in the page the url points at)")
        return self


Checkpoint = Literal[
    "orig-in21k", "augreg-in21k", "in1k", "mae", "moco-v3", "clip", "dino", "dinov2", "swin-in22k", "other"
]
ModelSelection = Literal["val200-then-retrain", "best-test-epoch", "last-epoch", "other"]
Augmentation = Literal["none", "randaug", "other"]
PROTOCOL_FIELDS = ("checkpoint", "image_size", "model_selection", "seeds", "augmentation")


class Protocol(Strict):
    """How a table's numbers were obtained; null = the source does not say (notes say what was read)."""

    checkpoint: Checkpoint | None = Field(default=None, description="Pre-trained weights of the backbone.")
    image_size: int | None = Field(default=None, ge=1)
    model_selection: ModelSelection | None = Field(
        default=None, description="How the reported epoch/configuration was chosen (best-test-epoch: on the test set)."
    )
    seeds: int | None = Field(default=None, ge=1, description="Runs averaged by each number.")
    augmentation: Augmentation | None = None

    def merged(self, override: Protocol | None) -> Protocol:
        """This protocol with the fields `override` sets (non-null) replaced."""
        if override is None:
            return self
        values = {f: getattr(override, f) if getattr(override, f) is not None else getattr(self, f)
                  for f in PROTOCOL_FIELDS}
        return Protocol(**values)


class Lineage(Strict):
    """Where a row's numbers were taken from: a row of a catalog table, or a row of a paper not in the catalog."""

    table: Slug | None = Field(default=None, description="Catalog result table id the row was copied from.")
    paper: Slug | None = Field(
        default=None, description="Catalog method id of the paper, when its table is not stored."
    )
    paper_table: Text | None = Field(default=None, description="That paper's table, as numbered there.")
    row: Text = Field(description="The row's label there, as printed.")
    basis: Literal["stated", "digits-match"] = Field(
        description="stated: the source says so (citation marker, 'results from'); digits-match: inferred from "
        "equal digits only."
    )
    tasks_equal: int | None = Field(default=None, ge=0, description="Task scores equal digit for digit.")
    evidence: Text

    @model_validator(mode="after")
    def _one_target(self) -> Lineage:
        if (self.table is None) == (self.paper is None):
            raise ValueError("give exactly one of `table` (a catalog result table) or `paper` (a catalog method id)")
        return self


class Production(Strict):
    """For benchmark tables: whether the benchmark's own code produced the row."""

    kind: Literal["own-code", "copied", "not-own-code", "unknown"] = Field(
        description="own-code: a model file of the benchmark implements the method; copied: the digits come from an "
        "earlier table (see copied_from); not-own-code: the code cannot have produced it; unknown."
    )
    model_file: Text | None = Field(default=None, description="Path of the model file in the benchmark repository.")
    evidence: Text

    @model_validator(mode="after")
    def _own_code_has_file(self) -> Production:
        if self.kind == "own-code" and self.model_file is None:
            raise ValueError("own-code needs `model_file`")
        return self


class PublishedAggregates(Strict):
    """Aggregates as printed by the source, kept only to check our computed numbers against."""

    mean: float | None = None
    group_means: dict[str, float] = Field(default_factory=dict, description="group id -> mean as printed.")
    ppt: float | None = None
    ppt_by_task: dict[str, float] = Field(default_factory=dict)


class ResultRow(Strict):
    label: Text = Field(description="The row name exactly as published.")
    method: Slug | None = Field(description="Catalog id, or null for baselines and unidentified rows.")
    row_kind: Literal["method", "baseline", "unidentified"] = "method"
    baseline: Slug | None = Field(
        default=None, description="For baseline rows: which baseline (full-fine-tuning, linear-probing, ...)."
    )
    setting: Text | None = Field(default=None, description="Which configuration, when a method has several rows.")
    params_published: Text | None = Field(default=None, description="Trainable parameters as printed, e.g. 0.16M.")
    params_m: float | None = Field(default=None, ge=0, description="Trainable parameters in millions.")
    memory_mb: float | None = Field(default=None, ge=0)
    scores: dict[str, float | None]
    published: PublishedAggregates = Field(default_factory=PublishedAggregates)
    protocol: Protocol | None = Field(default=None, description="Fields that differ from the table's protocol.")
    copied_from: Lineage | None = None
    produced_by: Production | None = None
    printed_as_is: list[Text] = Field(
        default_factory=list,
        description="Aggregates (published.mean, published.group_means.natural, ...) that disagree with the scores "
                    "and were checked against the source: printed so there. `validate --strict` lists them as notes.",
    )
    note: Text | None = None


class ResultTable(Strict):
    """Results of one source on one benchmark and backbone: `catalog/results/<source>/<table>.yaml`."""

    id: Slug
    benchmark: Slug
    backbone: Text | None = Field(description="The backbone as the source prints it, e.g. ViT-B/16 (ImageNet-21k); "
                                              "null only in a fresh stub (validate fails until it is filled).")
    pretraining: Text | None = None
    source: Provenance
    protocol: Protocol = Field(default_factory=Protocol)
    printed_mean: Literal["task-mean", "mean-of-group-means"] | None = Field(
        default=None, description="Which mean the printed `published.mean` is; null when no mean is printed."
    )
    ppt_reported: bool = False
    rows: list[ResultRow]
    notes: list[Text] = Field(default_factory=list)

    def protocol_of(self, row: ResultRow) -> Protocol:
        return self.protocol.merged(row.protocol)


# -- Reproduction recipes: `catalog/recipes/<method>.yaml` -------------------------------------------------------

SettingValue = bool | int | float | str | list[float] | None
SETTING_NAMES = (
    "optimizer", "momentum", "lr", "lr_base_batch", "weight_decay", "epochs", "warmup_epochs", "warmup_lr_init",
    "min_lr", "batch_size", "drop_path", "label_smoothing", "train_aug", "image_size", "normalisation",
    "model_selection", "eval_every", "lr_grid", "weight_decay_grid", "runs",
    # pipeline fidelity: how the reference code decoded, resized, scheduled, evaluated and computed
    "precision", "interpolation", "antialias", "scheduler", "scheduler_step", "cosine_epochs", "cooldown_epochs",
    "eval_epochs", "drop_last", "weight_decay_skip", "seed", "head_init", "train_transform", "eval_transform",
    "image_format",
)


class Source(Strict):
    """Where a value was read: a pinned file URL (with commit) or a paper section, or both."""

    url: Url | None = None
    commit: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{7,40}$")] | None = None
    section: Text | None = Field(default=None, description="Paper section/table, or the line in the file.")

    def model_post_init(self, _context: object) -> None:
        if self.url is None and self.section is None:
            raise ValueError("give a url or a section")


class Setting(Strict):
    """One hyper-parameter: its value (null = not found in any source) and where it comes from."""

    value: SettingValue = None
    source: Source | None = None
    note: Text | None = None

    def model_post_init(self, _context: object) -> None:
        if self.value is not None and self.source is None:
            raise ValueError("a value needs a source (url or section); leave value null when unverified")


# Typed settings: the same shape as Setting, with the values `reproduce` understands.
class PrecisionSetting(Setting):
    value: Literal["fp32", "bf16", "fp16"] | None = None


class InterpolationSetting(Setting):
    value: Literal["bicubic", "bilinear"] | None = None


class BoolSetting(Setting):
    value: bool | None = None


class IntSetting(Setting):
    value: int | None = None


class SchedulerSetting(Setting):
    value: Literal["timm-cosine", "vpt-warmup-cosine"] | None = None


class SchedulerStepSetting(Setting):
    value: Literal["epoch-start", "after-epoch"] | None = None


class EpochListSetting(Setting):
    value: list[Annotated[int, Field(ge=1)]] | None = None


class WeightDecaySkipSetting(Setting):
    value: Literal["none", "1d-and-bias", "bias", "head-bias"] | None = None


class HeadInitSetting(Setting):
    value: Literal["timm-trunc-normal", "pytorch-linear", "vpt-mlp-prior-bias"] | None = None


class TrainTransformSetting(Setting):
    value: Literal["resize", "resize-randaugment", "resize256-randomcrop224-flip", "randomresizedcrop-flip",
                   "tfds-resize"] | None = None


class EvalTransformSetting(Setting):
    value: Literal["resize", "resize256-centercrop224", "resize248-centercrop224", "tfds-resize"] | None = None


class ImageFormatSetting(Setting):
    value: Literal["jpeg", "png", "tfds-tensor", "original-files"] | None = None


class TaskSettings(Strict):
    """Values that differ per task, all read from one source."""

    source: Source
    values: dict[str, dict[str, SettingValue]] = Field(description="task id -> setting name -> value")


class BenchmarkRecipe(Strict):
    """How the published number of a method on one benchmark was trained and selected."""

    backbone: Setting = Field(description="exact timm model name of the backbone the number used.")
    optimizer: Setting = Field(description="sgd or adamw.")
    momentum: Setting = Field(default_factory=Setting)
    lr: Setting
    lr_base_batch: Setting = Field(default_factory=Setting, description="lr is scaled by batch_size / this, if set.")
    weight_decay: Setting
    epochs: Setting
    warmup_epochs: Setting
    warmup_lr_init: Setting = Field(default_factory=Setting)
    min_lr: Setting = Field(default_factory=Setting)
    batch_size: Setting
    drop_path: Setting
    label_smoothing: Setting = Field(default_factory=Setting)
    train_aug: Setting = Field(default_factory=Setting, description="timm RandAugment pipeline on the train split.")
    image_size: Setting = Field(default_factory=Setting)
    normalisation: Setting = Field(description="imagenet (ImageNet mean/std) or half (mean = std = 0.5).")
    model_selection: Setting = Field(
        description="last-epoch | best-val-epoch | best-test-epoch | val200-grid-then-retrain."
    )
    eval_every: Setting = Field(default_factory=Setting, description="epochs between evaluations.")
    lr_grid: Setting = Field(default_factory=Setting)
    weight_decay_grid: Setting = Field(default_factory=Setting)
    runs: Setting = Field(default_factory=Setting, description="seeds averaged by the published number.")
    precision: PrecisionSetting = Field(default_factory=PrecisionSetting,
                                        description="fp32, or bf16/fp16 autocast, as the reference trained.")
    interpolation: InterpolationSetting = Field(default_factory=InterpolationSetting,
                                                description="resize filter of the reference data path.")
    antialias: BoolSetting = Field(default_factory=BoolSetting,
                                   description="whether the reference resize low-pass filters (PIL: yes; TF: no).")
    scheduler: SchedulerSetting = Field(
        default_factory=SchedulerSetting,
        description="timm-cosine: cosine over all epochs, warm-up inside; vpt-warmup-cosine: cosine after warm-up.")
    scheduler_step: SchedulerStepSetting = Field(
        default_factory=SchedulerStepSetting,
        description="epoch-start: epoch e trains at lr(e); after-epoch: the reference calls step(e) after epoch e, "
                    "so epoch e trains at lr(e-1) (epochs 0 and 1 both at lr(0)).")
    cosine_epochs: IntSetting = Field(default_factory=IntSetting,
                                      description="length of the cosine when it differs from epochs (Hydra: 500).")
    cooldown_epochs: IntSetting = Field(default_factory=IntSetting,
                                        description="epochs trained at min_lr after `epochs` (timm cooldown).")
    eval_epochs: EpochListSetting = Field(
        default_factory=EpochListSetting,
        description="1-based epochs evaluated, when not every `eval_every` (NOAH: 1, 11, ..., 91, 100).")
    drop_last: BoolSetting = Field(default_factory=BoolSetting, description="the train loader drops the last batch.")
    weight_decay_skip: WeightDecaySkipSetting = Field(
        default_factory=WeightDecaySkipSetting,
        description="parameters without weight decay: none, 1d-and-bias (timm filter), bias, head-bias (VPT).")
    seed: IntSetting = Field(default_factory=IntSetting, description="seed of the published run (recorded).")
    head_init: HeadInitSetting = Field(default_factory=HeadInitSetting, description="initialisation of the head.")
    train_transform: TrainTransformSetting = Field(default_factory=TrainTransformSetting)
    eval_transform: EvalTransformSetting = Field(default_factory=EvalTransformSetting)
    image_format: ImageFormatSetting = Field(default_factory=ImageFormatSetting,
                                             description="how the reference stored the images it read.")
    method_config: dict[str, Setting] = Field(default_factory=dict, description="options of the registry method.")
    not_applied: dict[str, Setting] = Field(
        default_factory=dict,
        description="reference settings with no field here that `reproduce` cannot apply; the plan lists each.")
    per_task: TaskSettings | None = None
    notes: list[Text] = Field(default_factory=list)


class NoRecipe(Strict):
    """A benchmark no source covers for this method: explicit, with the reason."""

    unsourced: Text = Field(description="why no setting exists (e.g. the paper never ran FGVC).")


class Recipe(Strict):
    """Recipes of one catalog method: `catalog/recipes/<id>.yaml`, id = the catalog method id (or, for the
    baselines without one, the registry method id)."""

    id: Slug
    implementation: Slug = Field(description="Key in the `methods` registry that `reproduce` trains.")
    compare_with: list[Slug] = Field(description="Catalog method ids whose reported rows the run is checked against.")
    reference: dict[str, Slug] = Field(
        default_factory=dict, description="benchmark id -> result table whose numbers decide pass/fail."
    )
    reference_row: dict[str, Text] = Field(
        default_factory=dict,
        description="benchmark id -> label of the row in the reference table that the recipe's pipeline produced.")
    benchmarks: dict[str, BenchmarkRecipe | NoRecipe]
    notes: list[Text] = Field(default_factory=list)


class Catalog(BaseModel):
    """Everything in a catalog folder, validated field by field."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    root: str
    taxonomy: Taxonomy | None
    tags: TagVocabulary | None = Field(default=None, description="catalog/tags.yaml; no tag check without it")
    methods: dict[str, MethodEntry] = Field(default_factory=dict)
    benchmarks: dict[str, Benchmark] = Field(default_factory=dict)
    results: dict[str, ResultTable] = Field(default_factory=dict)
    recipes: dict[str, Recipe] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict, description="object key -> file it came from")
    unreadable: set[str] = Field(
        default_factory=set, description="object keys ('methods/lora') of files that exist but failed to load"
    )

    def method(self, method_id: str) -> MethodEntry | None:
        return self.methods.get(method_id)

    def methods_in(self, node_id: str) -> list[MethodEntry]:
        """Methods whose category is `node_id` or lies under it."""
        if self.taxonomy is None:
            return []
        return [m for m in self.methods.values() if any(n.id == node_id for n in self.taxonomy.path(m.category))]


TaxonomyNode.model_rebuild()
Taxonomy.model_rebuild()
