"""`reproduce`: check data, train every task by its recipe, compare with the catalog, write the run record."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..catalog.models import Benchmark, BenchmarkRecipe, Catalog
from ..catalog.service import valid_catalog
from ..errors import UserError
from . import backbone, distributed, identity, seeds, smoke, verified
from . import device as dev
from . import record as rec
from .checkpoint import read_result
from .compare import Comparison, compare, table_lines
from .data import ImageCache
from .errors import DataError, write_state
from .layout import TaskData, check_data, select_tasks
from .plan import measure_eval_images_per_s, measure_images_per_s, plan_lines
from .recipe import PEEKS_AT_TEST, Resolved, find_recipe, parse_overrides, resolve, with_search
from .selection import run_task
from .train import Context

REPO = Path(__file__).resolve().parents[2]
SUPPORTED = ("vtab-1k", "fgvc")


@dataclass
class Options:
    method: str
    benchmark: str = "vtab-1k"
    tasks: str | None = None
    data_root: Path | None = None
    model: str | None = None
    weights: Path | None = None
    overrides: list[str] = field(default_factory=list)
    device: str | None = None
    precision: str | None = None
    seed: int = 42
    seeds: list[int] | None = None  # --seeds: one run per seed under out/seed-N, then mean and std
    out: Path = Path("reproduce-out")
    dry_run: bool = False
    tolerance: float = 1.0
    smoke: bool = False
    shard: str | None = None
    workers: int = 0
    search: bool = False  # --search: a val200 grid for recipes that give one lr (recipe.with_search)
    progress: bool = True
    catalog: str = "catalog"
    argv: list[str] = field(default_factory=list)


def _shard(tasks: list[str], spec: str | None) -> list[str]:
    """`--shard i/n` (1-based): every n-th task from the i-th, so n processes or devices split the work."""
    if spec is None:
        return tasks
    i, sep, n = spec.partition("/")
    if not (sep and i.isdigit() and n.isdigit() and 1 <= int(i) <= int(n)):
        raise UserError(f"--shard {spec}: expected I/N with 1 <= I <= N, e.g. 1/4")
    return tasks[int(i) - 1 :: int(n)]


def _benchmark(catalog: Catalog, bench_id: str) -> Benchmark:
    if bench_id not in SUPPORTED:
        raise UserError(f"--benchmark {bench_id}: not supported (use {' or '.join(SUPPORTED)})")
    return catalog.benchmarks[bench_id]


def _tasks(opts: Options, bench: Benchmark) -> list[str]:
    tasks = select_tasks(bench, opts.tasks)
    if opts.smoke and bench.id != "vtab-1k":
        raise UserError(f"--smoke runs on vtab-1k only (digits in the VTAB-1k layout), not --benchmark {bench.id}")
    if opts.smoke:
        if opts.tasks and set(tasks) - set(smoke.SMOKE_TASKS):
            raise UserError(f"--smoke runs only {', '.join(smoke.SMOKE_TASKS)}")
        tasks = [t for t in tasks if t in smoke.SMOKE_TASKS] if opts.tasks else list(smoke.SMOKE_TASKS)
    return tasks


def resolve_run(opts: Options, catalog: Catalog, bench: Benchmark) -> Resolved:
    from .. import methods

    registry = methods.available()
    recipe = find_recipe(catalog, opts.method, registry)
    if recipe.implementation not in registry:
        raise UserError(f"method {opts.method}: its recipe trains registry method '{recipe.implementation}', "
                        f"which is not implemented yet (registry: {', '.join(registry)})")
    overrides = parse_overrides(opts.overrides)
    if opts.model:
        overrides["backbone"] = opts.model
    if opts.precision:
        overrides["precision"] = opts.precision
    if opts.smoke:
        bench_recipe = recipe.benchmarks.get(bench.id)
        optimizer = bench_recipe.optimizer.value if isinstance(bench_recipe, BenchmarkRecipe) else None
        overrides = {**smoke.smoke_settings(str(optimizer) if optimizer else None),
                     **smoke.smoke_method_options(recipe.implementation), **overrides}
    tasks = _tasks(opts, bench)
    mine = _shard(tasks, opts.shard)
    if not mine:
        raise UserError(f"--shard {opts.shard}: no task left for this shard ({len(tasks)} task(s) in all)")
    whole = resolve(recipe, bench.id, tasks, overrides)
    whole = with_search(whole) if opts.search else whole
    return whole.restrict(mine) if opts.shard else whole


def _model_factory(res: Resolved, task: str, opts: Options, classes: int, hub: bool = True) -> Any:
    """Builds the backbone with the method applied; `hub=False` never downloads (dry-run speed measurement)."""
    s = res.tasks[task]
    pretrained = hub and opts.weights is None
    return partial(backbone.build, s.backbone, classes, s.drop_path, opts.weights, pretrained, res.implementation,
                   s.method_config)


def _identity(opts: Options, res: Resolved, data: dict[str, TaskData], seed: int) -> dict[str, Any]:
    ident = identity.make(res.recipe_id, res.implementation, res.benchmark, res.digest(), seed, opts.weights, data)
    ident["data_root"] = str(opts.data_root.resolve()) if opts.data_root else None
    return ident


def _run_tasks(opts: Options, res: Resolved, bench: Benchmark, data: dict[str, TaskData],
               device: Any, seed: int, out: Path) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for task in tqdm(list(res.tasks), desc="tasks", disable=not opts.progress):
        folder = task_folder(out, task)
        done = folder / "result.json"
        if done.is_file():  # finished by an earlier (interrupted) run of the same command
            results[task] = read_result(done)
            continue
        results[task] = finish_task(task_context(opts, res, bench, data, device, seed, task), data[task], folder)
    return results


def task_folder(out: Path, task: str) -> Path:
    return out / "tasks" / task


def task_context(opts: Options, res: Resolved, bench: Benchmark, data: dict[str, TaskData], device: Any, seed: int,
                 task: str, progress: bool | None = None) -> Context:
    """Everything one task's phases share; a sweep job builds the same one (see sweep.py)."""
    classes = next(t.classes or 2 for t in bench.tasks if t.id == task)
    return Context(folder=data[task].images, settings=res.tasks[task], device=device, seed=seed,
                   make_model=_model_factory(res, task, opts, classes), workers=opts.workers,
                   progress=opts.progress if progress is None else progress, crop=bench.id == "fgvc",
                   cache=ImageCache())


def finish_task(ctx: Context, data: TaskData, folder: Path) -> dict[str, Any]:
    """Train (or resume) one task by its selection rule and write its `result.json`."""
    start = time.perf_counter()
    result = run_task(ctx, data, folder)
    result["seconds"] = round(time.perf_counter() - start, 3)
    folder.mkdir(parents=True, exist_ok=True)
    write_state(folder / "result.json", result)
    return result


def _verdict(opts: Options, cmp: Comparison, bench: Benchmark) -> tuple[int, str]:
    if opts.smoke:
        ok = smoke.passed(cmp.ours, bench)
        failed = [t for t, good in ok.items() if not good]
        if failed:
            return 1, f"smoke check FAILED: {', '.join(failed)} not above twice the chance level"
        return 0, ("smoke check passed: every task above twice the chance level (the published numbers above are "
                   "for the real backbone and data, not expected to match)")
    ref = cmp.reference() or next((r for r in cmp.reported if r.mean is not None), None)
    if ref is None or ref.mean is None or cmp.mean is None:
        return 1, "nothing to check against: the catalog has no reported numbers for these tasks"
    diff = cmp.mean - ref.mean
    where = f"{diff:+.2f} points against {ref.label} ({ref.table}), tolerance {opts.tolerance}"
    return (0, f"within tolerance: {where}") if abs(diff) <= opts.tolerance else (1, f"NOT within tolerance: {where}")


def _selection_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    rules: dict[str, list[str]] = {}
    for task, result in results.items():
        rules.setdefault(result["model_selection"], []).append(task)
    lines = []
    for rule, tasks in rules.items():
        peek = ("the accuracy is the best test-set evaluation, as in the published number (see the recipe)"
                if rule in PEEKS_AT_TEST else "the test set was not used to select")
        lines.append(f"model selection {rule} ({', '.join(tasks)}): {peek}")
    return lines


def _summary(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    phases = [p for r in results.values() for p in r["phases"]]
    rates = [p["images_per_s"] for p in phases if p.get("images_per_s")]
    # per task (prompt lengths and heads differ); the run's figure is their mean, as tables report one count
    by_task = {t: r["phases"][-1]["trainable_parameters"] for t, r in results.items()}
    return {
        "trainable_parameters": round(sum(by_task.values()) / len(by_task)) if by_task else None,
        "trainable_parameters_by_task": by_task,
        "peak_memory_mb": max((p["peak_memory_mb"] for p in phases), default=None),
        "peak_memory_kind": phases[0]["peak_memory_kind"] if phases else None,
        "images_per_s": sum(rates) / len(rates) if rates else None,
        "data_wait_fraction": _mean([p.get("data_wait_fraction") for p in phases]),
        "eval_images_per_s": _mean([p.get("eval_images_per_s") for p in phases]),
    }


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _record(opts: Options, res: Resolved, results: dict[str, Any], cmp: Comparison, device: Any,
            timings: dict[str, float], verdict: str, ident: dict[str, Any]) -> dict[str, Any]:
    first = next(iter(res.tasks.values()))
    return {"identity": ident, "device_name": dev.describe(device),
        "format": rec.FORMAT, "method": res.recipe_id, "implementation": res.implementation,
        "benchmark": res.benchmark, "smoke": opts.smoke, "backbone": first.backbone,
        "weights": str(opts.weights) if opts.weights else None, "recipe_hash": res.digest(),
        "resolved": res.to_json(), **rec.environment(REPO), "device": str(device), "seed": ident["seed"],
        "shard": opts.shard, "tasks": results, **_summary(results), "mean": cmp.mean,
        "mean_of_group_means": cmp.mean_of_group_means, "group_means": cmp.group_means,
        "reported": [r.__dict__ for r in cmp.reported], "verdict": verdict, "tolerance": opts.tolerance,
        "timings": timings, "command": opts.argv,
        "processes": distributed.world() if distributed.active() else 1,  # torchrun: the ranks one run was split over
    }


def _prepare_data(opts: Options, bench: Benchmark, res: Resolved) -> dict[str, TaskData] | None:
    if opts.data_root is None:
        if not opts.dry_run:
            raise DataError(f"--data-root DIR is required (the folder holding the {bench.name} task folders)",
                            "prepare-fgvc" if bench.id == "fgvc" else "prepare-vtab-1k")
        return None
    # delay: no bar at all for a check that fails (or finishes) within a second, so an error stays one line
    with tqdm(desc="checking images", unit="img", disable=not opts.progress, leave=False, delay=1.0) as bar:
        known = verified.load(opts.out)
        data = check_data(opts.data_root, bench, list(res.tasks), progress=bar.update, verified=known)
    if not opts.dry_run:
        verified.save(opts.out, known)
    return data


def _train_seed(opts: Options, catalog: Catalog, bench: Benchmark, res: Resolved, data: dict[str, TaskData],
                device: Any, seed: int, out: Path) -> tuple[int, str, list[str], Comparison]:
    """One complete run with one seed into `out`: train (or resume) every task, compare, write the record."""
    started = time.perf_counter()
    ident = _identity(opts, res, data, seed)
    identity.claim(out, ident, res.to_json())
    results = _run_tasks(opts, res, bench, data, device, seed, out)
    cmp = compare(catalog, bench, {t: r["accuracy"] for t, r in results.items()}, res.compare_with, res.reference,
                  res.reference_row)
    code, verdict = _verdict(opts, cmp, bench)
    lines = table_lines(cmp, bench)
    summary = _summary(results)
    if summary["trainable_parameters"] is not None:
        reported = ", ".join(f"[{i + 1}] {r.params_m}M" for i, r in enumerate(cmp.reported) if r.params_m is not None)
        varies = len(set(summary["trainable_parameters_by_task"].values())) > 1
        lines.append(f"trainable parameters (without head): {summary['trainable_parameters'] / 1e6:.4f}M"
                     + (" (mean over tasks)" if varies else "")
                     + (f"; reported {reported}" if reported else ""))
    lines += _selection_lines(results)
    timings = {"train_s": round(time.perf_counter() - started, 3)}
    name = f"record-shard-{opts.shard.replace('/', '-of-')}.json" if opts.shard else "record.json"
    rec.write(_record(opts, res, results, cmp, device, timings, verdict, ident), out / name)
    return code, verdict, [*lines, verdict, f"record: {out / name}"], cmp


def seed_list(opts: Options) -> list[int]:
    return opts.seeds if opts.seeds else [opts.seed]


def seed_folder(opts: Options, seed: int) -> Path:
    """The run folder of one seed: --out itself, or --out/seed-N when --seeds lists more than one."""
    return opts.out / f"seed-{seed}" if opts.seeds and len(opts.seeds) > 1 else opts.out


def claim_seed(opts: Options, ready: Prepared, seed: int) -> Path:
    """Start (or resume) one seed's run folder; refused when it holds another run."""
    assert ready.data is not None
    out = seed_folder(opts, seed)
    identity.claim(out, _identity(opts, ready.res, ready.data, seed), ready.res.to_json())
    return out


def _many_seeds(opts: Options, catalog: Catalog, bench: Benchmark, res: Resolved, data: dict[str, TaskData],
                device: Any) -> int:
    by_seed: dict[int, Comparison] = {}
    for seed in seed_list(opts):
        _, _, lines, by_seed[seed] = _train_seed(opts, catalog, bench, res, data, device, seed,
                                                 seed_folder(opts, seed))
        print(f"seed {seed}: " + lines[-2] + f" ({lines[-1]})")
    summary = seeds.summarise(by_seed)
    mean = summary["mean"]["mean"] if summary["mean"] else None
    code, verdict = _verdict(opts, Comparison(tasks=[], ours={}, mean=mean, group_means={}, mean_of_group_means=None,
                                              reported=next(iter(by_seed.values())).reported), bench)
    if opts.smoke:  # the smoke check holds per seed
        failed = [seed for seed, cmp in by_seed.items() if _verdict(opts, cmp, bench)[0] != 0]
        code, verdict = (1, f"smoke check FAILED for seed(s) {failed}") if failed else (0, verdict)
    name = f"seeds-shard-{opts.shard.replace('/', '-of-')}.json" if opts.shard else "seeds.json"
    write_state(opts.out / name, {**summary, "verdict": verdict, "command": opts.argv})
    print("\n".join([*seeds.lines(summary, bench), f"{verdict} (mean over {len(by_seed)} seeds)",
                      f"summary: {opts.out / name}"]))
    return code


@dataclass
class Prepared:
    """A resolved run with its checked data: what `reproduce` and `sweep` both start from."""

    catalog: Catalog
    bench: Benchmark
    res: Resolved
    device: Any
    data: dict[str, TaskData] | None


def prepare(opts: Options) -> Prepared:
    """Resolve the recipe, pick the device, make the smoke data and check the data folder (all before training)."""
    catalog = valid_catalog(opts.catalog)
    bench = _benchmark(catalog, opts.benchmark)
    res = resolve_run(opts, catalog, bench)
    device = dev.pick(opts.device)
    if not distributed.is_main():
        distributed.barrier()  # torchrun: rank 0 makes the smoke data and checks the folder first
    if opts.smoke:
        import torch

        torch.set_num_threads(1)  # tiny tensors: threads only add overhead (and spin on a busy machine)
        opts.data_root = smoke.make_data(opts.data_root or opts.out / "smoke-data", bench)
        opts.weights = opts.weights or smoke.pretrain_backbone(opts.data_root / smoke.BACKBONE_FILE)
    ready = Prepared(catalog, bench, res, device, _prepare_data(opts, bench, res))
    if distributed.is_main():
        distributed.barrier()
    return ready


def run(opts: Options) -> int:
    """One run; under `torchrun --nproc_per_node N` the same run split over N processes (distributed.py)."""
    opts.device = distributed.setup(opts.device)
    opts.progress = opts.progress and distributed.is_main()
    try:
        return _run(opts)
    finally:
        distributed.teardown()


def _run(opts: Options) -> int:
    ready = prepare(opts)
    catalog, bench, res, device, data = ready.catalog, ready.bench, ready.res, ready.device, ready.data
    notes = [d.note for d in (data or {}).values() if d.note]
    first = next(iter(res.tasks))
    if opts.dry_run:
        cmp = compare(catalog, bench, {t: 0.0 for t in res.tasks}, res.compare_with, res.reference,
                      res.reference_row)
        classes = next(t.classes or 2 for t in bench.tasks if t.id == first)
        factory = _model_factory(res, first, opts, classes, hub=False)
        ips = measure_images_per_s(factory, res.tasks[first], device)
        eval_ips = measure_eval_images_per_s(factory, res.tasks[first], device)
        print("\n".join([*plan_lines(res, bench, cmp, data, ips, device, eval_ips), *[f"data: {n}" for n in notes],
                         f"seeds: {', '.join(map(str, seed_list(opts)))}", *chosen_lines(opts, res)]))
        return 0
    if notes:
        print("\n".join(f"data: {n}" for n in notes))
    return train_and_report(opts, ready)


def chosen_lines(opts: Options, res: Resolved) -> list[str]:
    """The grid points already chosen in --out (a resumed or finished run), per task and seed."""
    lines = []
    for seed in seed_list(opts):
        for task in res.tasks:
            done = task_folder(seed_folder(opts, seed), task) / "result.json"
            chosen = read_result(done).get("selected") or {} if done.is_file() else {}
            if "lr" in chosen:
                lines.append(f"chosen on val200: {task} seed {seed}: lr {chosen['lr']:g}, weight decay "
                             f"{chosen['weight_decay']:g} (val200 {chosen['val200_accuracy']:.2f})")
    return lines


def train_and_report(opts: Options, ready: Prepared) -> int:
    """Train what is not finished yet (nothing, after a complete sweep), compare and write the record(s)."""
    catalog, bench, res, device, data = ready.catalog, ready.bench, ready.res, ready.device, ready.data
    assert data is not None
    if opts.seeds and len(opts.seeds) > 1:
        return _many_seeds(opts, catalog, bench, res, data, device)
    code, _, lines, _ = _train_seed(opts, catalog, bench, res, data, device, seed_list(opts)[0], opts.out)
    print("\n".join(lines))
    sys.stdout.flush()
    return code
