"""The typed cost-benchmark result: what `benchmarks/cost.py` writes and what the site and README read.

One model for both sides, so a result file the site reads is checked against exactly what the benchmark wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import UserError

RESULTS_DIR = "benchmarks/results"  # relative to the repository root
STEM = "cost-"  # result files are RESULTS_DIR/cost-*.json
BASELINE = "full"  # the train ratios' denominator
PEFT_LORA = "peft-lora"  # Hugging Face peft's LoRA with our LoRA's default config: a reference row, not a method


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Machine(_Strict):
    cpu: str
    cores: int
    device: str  # "cpu" or the CUDA device name
    platform: str


class Versions(_Strict):
    python: str
    torch: str
    timm: str
    vpeft: str
    commit: str | None  # the repository commit the benchmark ran from (None outside a git checkout)
    dirty: bool | None = None  # uncommitted changes in the tree (then the commit alone does not pin the code)


class Settings(_Strict):
    model: str
    batch: int
    precision: str
    device: str
    rounds: int
    warmup: int
    num_classes: int
    image_size: int
    model_kwargs: dict[str, Any] = Field(default_factory=dict)  # extra timm.create_model arguments (tests)
    optimizer: str
    threads: int  # torch intra-op threads
    memory: str  # how `memory_bytes` was measured: "cuda-peak" or "cpu-proxy"


class CostRow(_Strict):
    """One method. Times are medians over rounds in milliseconds; ratios are medians of the per-round ratios."""

    method: str  # a registry id, or "peft-lora" (Hugging Face peft's LoRA, a reference row)
    mergeable: bool
    reference: bool = False  # not a vpeft method: measured for comparison only
    trainable: int  # trainable parameters excluding the classifier head
    train_ms: float
    train_ratio: float  # to full fine-tuning, same round
    backbone_ms: float  # the plain backbone, timed right before this method's inference
    infer_ms: float  # unmerged
    infer_ratio: float  # to the plain backbone timed right before it
    merged_ms: float | None  # None: the method cannot be merged
    merged_ratio: float | None
    merged_same_modules: bool | None = None  # the merged model has exactly the backbone's modules and shapes
    train_images_per_s: float
    infer_images_per_s: float  # merged where the method can be merged, else unmerged
    memory_bytes: int
    memory_ratio: float  # to full fine-tuning
    activation_bytes: int  # bytes of the tensors autograd saves for backward (saved_tensors_hooks)
    activation_ratio: float  # to full fine-tuning
    param_bytes: int
    optimizer_bytes: int
    # FLOPs of one forward and backward (tools/bench/work.py): unlike times, the same on any machine under any
    # load. None in results written before the benchmark counted them.
    train_flops: int | None = None
    train_flops_ratio: float | None = None  # to full fine-tuning


class CostResult(_Strict):
    date: str  # ISO 8601, UTC
    machine: Machine
    versions: Versions
    settings: Settings
    backbone_infer_ms: float
    proxy: str = Field(description="what memory_bytes means on this run")
    rows: list[CostRow]
    skipped: dict[str, str] = Field(default_factory=dict)  # method -> why it could not run on this backbone

    def row(self, method: str) -> CostRow | None:
        return next((r for r in self.rows if r.method == method), None)


class ResultFileError(UserError):
    """A result file cannot be read; the message names the file and the field."""

    exit_code = 1


def read_result(path: Path) -> CostResult:
    try:
        return CostResult.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ResultFileError(f"{path}: {where}: {first['msg']}") from None


def result_files(root: Path) -> list[Path]:
    """The committed cost results under `root`/benchmarks/results, in name order."""
    folder = root / RESULTS_DIR
    return sorted(folder.glob(f"{STEM}*.json")) if folder.is_dir() else []
