"""`vpeft sweep`: the jobs of a reproduction (task x grid point x seed, then each task's retrain) as Ray tasks.

Every job writes exactly what the single-process run writes (the same phase folders, `result.json`, and at the end
the same `record.json` through `runner.train_and_report`), so a sweep resumes where it stopped, a single run can
finish it, and `vpeft results add` takes its records. Ray is imported here only, when a sweep starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from ..errors import UserError
from .runner import Options, Prepared, claim_seed, finish_task, seed_list, task_context, task_folder
from .selection import grid_phase_name, grid_points, grid_trial


@dataclass(frozen=True)
class Job:
    """One unit of work: a grid point (`grid`), a task's retrain after its grid (`retrain`) or a whole task."""

    seed: int
    task: str
    kind: str  # grid | retrain | task
    lr: float | None = None
    weight_decay: float | None = None

    @property
    def name(self) -> str:
        what = f"grid lr={self.lr:g} wd={self.weight_decay:g}" if self.kind == "grid" else self.kind
        return f"{self.task} seed {self.seed} {what}"


@dataclass
class SweepOptions:
    address: str | None = None  # None: a local Ray instance; "auto" or ray://host:port: join a cluster
    gpus_per_run: float | None = None  # None: 1 when the driver sees CUDA, else 0
    cpus_per_run: float = 1.0
    max_retries: int = 2
    cpus: int | None = None  # CPUs of a local instance (None: all)


@dataclass
class Outcome:
    done: dict[Job, dict[str, Any]] = field(default_factory=dict)
    failed: dict[Job, str] = field(default_factory=dict)
    skipped: dict[Job, str] = field(default_factory=dict)  # never ran (a job it needs failed)


def jobs_of(opts: Options, ready: Prepared) -> dict[tuple[int, str], list[Job]]:
    """(seed, task) -> its jobs: the grid points then the retrain, or one job for a rule without a grid."""
    out: dict[tuple[int, str], list[Job]] = {}
    for seed in seed_list(opts):
        for task, s in ready.res.tasks.items():
            if s.model_selection == "val200-grid-then-retrain":
                grid = [Job(seed, task, "grid", lr, wd) for lr, wd in grid_points(s)]
                out[seed, task] = [*grid, Job(seed, task, "retrain")]
            else:
                out[seed, task] = [Job(seed, task, "task")]
    return out


def is_done(opts: Options, job: Job) -> bool:
    """Whether a job's output is already in the run folder (from an earlier sweep or single run)."""
    from .runner import seed_folder

    folder = task_folder(seed_folder(opts, job.seed), job.task)
    if (folder / "result.json").is_file():
        return True
    if job.kind == "grid":
        assert job.lr is not None and job.weight_decay is not None
        return (folder / grid_phase_name(job.lr, job.weight_decay) / "done.json").is_file()
    return False


def execute(opts: Options, ready: Prepared, job: Job, device: str, threads: int) -> dict[str, Any]:
    """Run one job (inside a Ray worker): the same code as the single-process run, on this worker's device."""
    import torch

    from . import device as dev
    from .runner import seed_folder

    torch.set_num_threads(max(1, threads))
    assert ready.data is not None
    ctx = task_context(opts, ready.res, ready.bench, ready.data, dev.pick(device), job.seed, job.task,
                       progress=False)
    folder = task_folder(seed_folder(opts, job.seed), job.task)
    if job.kind == "grid":
        assert job.lr is not None and job.weight_decay is not None
        trial = grid_trial(ctx, ready.data[job.task], folder, job.lr, job.weight_decay)
        return {"val200_accuracy": trial["val200_accuracy"], "images_per_s": trial["summary"]["images_per_s"]}
    result = finish_task(ctx, ready.data[job.task], folder)
    return {"accuracy": result["accuracy"], "selected": result.get("selected")}


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("vpeft sweep: Ray is not installed (pip install 'ray>=2.9', or pip install -e '.[test]')") \
            from None
    return ray


def check_address(address: str | None, timeout: float = 5.0) -> None:
    """A HOST:PORT (or ray://HOST:PORT) address must answer, else one line: Ray itself waits minutes in silence."""
    if address is None or address == "auto":
        return
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not (sep and host and port.isdigit()):
        raise UserError(f"--address {address}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise UserError(f"--address {address}: no Ray head answers there ({exc.strerror or exc}); start one with "
                        f"`ray start --head` or check the host and port") from None


def start_ray(sweep: SweepOptions) -> Any:
    """Join the cluster at --address, or start a local instance; one clear line when that fails."""
    import logging

    ray = _import_ray()
    check_address(sweep.address)
    common: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False, "include_dashboard": False}
    try:
        if sweep.address is None:
            ray.init(num_cpus=sweep.cpus, **common)
        else:
            ray.init(address=sweep.address, **common)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"--address {sweep.address or '(local)'}: cannot start or join Ray ({first})") from None
    return ray


def _device(opts: Options, gpus: float) -> str:
    return opts.device or ("cuda" if gpus > 0 else "cpu")


def run_jobs(opts: Options, ready: Prepared, sweep: SweepOptions, gpus: float,
             on_done: Callable[[Job], None] | None = None) -> Outcome:
    """Submit every unfinished job; a task's retrain goes in once its grid is done. One bar over all jobs."""
    ray = start_ray(sweep)
    remote = ray.remote(execute).options(num_cpus=sweep.cpus_per_run, num_gpus=gpus, max_retries=sweep.max_retries,
                                         retry_exceptions=True)
    groups = jobs_of(opts, ready)
    outcome = Outcome()
    total = sum(len(jobs) for jobs in groups.values())
    todo = {key: [j for j in jobs if not is_done(opts, j)] for key, jobs in groups.items()}
    ready_ref = ray.put(ready)  # the resolved run and checked data, shipped once
    device, threads = _device(opts, gpus), max(1, int(sweep.cpus_per_run))
    running: dict[Any, Job] = {}

    def submit(job: Job) -> None:
        running[remote.remote(opts, ready_ref, job, device, threads)] = job

    for jobs in todo.values():
        for job in jobs:
            if job.kind != "retrain" or len(jobs) == 1:  # a retrain waits for its grid
                submit(job)
    bar = tqdm(total=total, initial=total - sum(len(j) for j in todo.values()), desc="sweep jobs", unit="job",
               disable=not opts.progress, smoothing=0.1)
    try:
        while running:
            finished, _ = ray.wait(list(running), num_returns=1)
            job = running.pop(finished[0])
            try:
                outcome.done[job] = ray.get(finished[0])
            except Exception as exc:  # a job out of retries: reported by name, the others go on
                outcome.failed[job] = _reason(exc)
            bar.update(1)
            if on_done is not None:
                on_done(job)
            _next_retrain(job, todo[job.seed, job.task], outcome, submit)
    finally:
        bar.close()
        ray.shutdown()
    return outcome


def _next_retrain(job: Job, jobs: list[Job], outcome: Outcome, submit: Callable[[Job], None]) -> None:
    """After a grid point: submit the task's retrain when its whole grid is done, or mark it skipped on a failure."""
    if job.kind != "grid":
        return
    grid = [j for j in jobs if j.kind == "grid"]
    if any(j not in outcome.done and j not in outcome.failed for j in grid):
        return
    retrain = next(j for j in jobs if j.kind == "retrain")
    failed = [j.name for j in grid if j in outcome.failed]
    if failed:
        outcome.skipped[retrain] = f"its grid point(s) failed: {', '.join(failed)}"
    else:
        submit(retrain)


def _reason(exc: Exception) -> str:
    """The first line of the worker's own error (Ray wraps it in a traceback)."""
    cause = getattr(exc, "cause", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[-1] if text else ''}"


def default_gpus(sweep: SweepOptions, opts: Options) -> float:
    if sweep.gpus_per_run is not None:
        return sweep.gpus_per_run
    if opts.device is not None:
        return 0.0 if opts.device == "cpu" else 1.0
    import torch

    return 1.0 if torch.cuda.is_available() else 0.0


def summary_lines(opts: Options, ready: Prepared, outcome: Outcome, seconds: float) -> list[str]:
    """Per task: jobs finished, the chosen grid point and test accuracy of each seed, failures by name."""
    from .checkpoint import read_result
    from .runner import seed_folder

    groups = jobs_of(opts, ready)
    lines = [f"sweep: {len(outcome.done)} job(s) run in {seconds:.0f}s, {len(outcome.failed)} failed, "
             f"{len(outcome.skipped)} not started", "per task:"]
    for task in ready.res.tasks:
        jobs = [j for seed in seed_list(opts) for j in groups[seed, task]]
        finished = sum(is_done(opts, j) for j in jobs)
        parts = []
        for seed in seed_list(opts):
            result_file = task_folder(seed_folder(opts, seed), task) / "result.json"
            if result_file.is_file():
                result = read_result(result_file)
                chosen = result.get("selected") or {}
                pick = f" lr={chosen['lr']:g} wd={chosen['weight_decay']:g}" if "lr" in chosen else ""
                parts.append(f"seed {seed}: {result['accuracy']:.2f}{pick}")
            else:
                parts.append(f"seed {seed}: not finished")
        lines.append(f"  {task}: {finished}/{len(jobs)} jobs; " + "; ".join(parts))
    lines += [f"FAILED {job.name}: {why}" for job, why in outcome.failed.items()]
    lines += [f"NOT STARTED {job.name}: {why}" for job, why in outcome.skipped.items()]
    return lines


def run(opts: Options, sweep: SweepOptions) -> int:
    from .runner import prepare, train_and_report

    ready = prepare(opts)
    for seed in seed_list(opts):
        claim_seed(opts, ready, seed)
    start = time.perf_counter()
    outcome = run_jobs(opts, ready, sweep, default_gpus(sweep, opts))
    print("\n".join(summary_lines(opts, ready, outcome, time.perf_counter() - start)))
    if outcome.failed or outcome.skipped:
        print("records not written: some jobs failed; fix the cause and run the same command to resume "
              "(finished jobs are kept)")
        return 1
    return train_and_report(opts, ready)


def dry_run_line(opts: Options) -> str:
    """How many jobs the sweep would run, and how many are already done in --out."""
    from ..catalog.service import valid_catalog
    from .runner import _benchmark, resolve_run

    catalog = valid_catalog(opts.catalog)
    bench = _benchmark(catalog, opts.benchmark)
    ready = Prepared(catalog, bench, resolve_run(opts, catalog, bench), None, None)
    jobs = [j for group in jobs_of(opts, ready).values() for j in group]
    kinds = {k: sum(j.kind == k for j in jobs) for k in ("grid", "retrain", "task")}
    shown = ", ".join(f"{n} {k}" for k, n in kinds.items() if n)
    return f"sweep jobs: {len(jobs)} ({shown}); already done in {opts.out}: {sum(is_done(opts, j) for j in jobs)}"
