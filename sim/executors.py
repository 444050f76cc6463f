"""Where replications run: in this process, in local joblib (loky) workers, or on Dask.

Every backend runs the same pure task, ``(config, replication, seed) ->
result``, so results are identical whatever the backend or number of jobs;
results come back as they finish so the caller can save each at once. Every
study (batches, calibration, warm-up, sweeps, sensitivity, decomposition, goal
seeking) runs its replications through :func:`run_unordered`, so ``--backend
dask --scheduler ...`` reaches all of them. A study that needs something other
than the annual metrics gives the task a ``measure``: a module-level function
``(config, replication, seed) -> DataFrame`` (so workers can import it).
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import pandas as pd

from sim.config import ModelConfig
from sim.prefix import run_sharing_prefix
from sim.replication import run_replication

Backend = Literal["sequential", "loky", "dask"]
T = TypeVar("T")


Measure = Callable[[ModelConfig, int, int], pd.DataFrame]


@dataclass(frozen=True)
class Task:
    config: ModelConfig
    replication: int
    seed: int
    measure: Measure | None = None  # None: the annual metrics as long rows
    # Further scenarios run with this one from their shared prefix (sim.prefix): the
    # task then yields a result for each, the same results as running them apart.
    sharing: tuple[ModelConfig, ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        return (self.config.scenario.name, self.replication)


@dataclass(frozen=True)
class TaskResult:
    scenario: str
    replication: int
    seed: int
    rows: pd.DataFrame  # long KPI rows
    seconds: float
    episodes: int
    place_rows: pd.DataFrame | None = None  # long KPI rows per locality (with ``locality``)


def run_task(task: Task) -> TaskResult:
    """One replication, returned as long KPI rows, or as its ``measure`` (runs in a worker)."""
    if task.measure is not None:
        started = time.perf_counter()
        rows = task.measure(task.config, task.replication, task.seed)
        return TaskResult(
            scenario=task.config.scenario.name,
            replication=task.replication,
            seed=task.seed,
            rows=rows,
            seconds=time.perf_counter() - started,
            episodes=0,
        )
    return run_tasks(task)[0]


def run_tasks(task: Task) -> list[TaskResult]:
    """Every result of a task: one, or one per scenario sharing its prefix."""
    if task.measure is not None:
        return [run_task(task)]
    configs = [task.config, *task.sharing]
    if task.sharing:
        results = run_sharing_prefix(configs, task.replication, task.seed)
    else:
        results = [run_replication(task.config, task.replication, task.seed)]
    done = [
        TaskResult(
            scenario=result.scenario,
            replication=result.replication,
            seed=result.seed,
            rows=result.long(),
            seconds=result.runtime_seconds,
            episodes=result.episodes,
            place_rows=result.long_places(),
        )
        for result in results
    ]
    # A finished replication leaves its services, engine and records in reference cycles
    # (a service knows the system that knows it) that the collector seldom reaches: a
    # worker grew by about 60 MB a task (238 to 415 MiB over 4 two-year Dudley tasks).
    # Collecting here keeps it flat (241 MiB) for about 45 ms a task.
    del results
    gc.collect()
    return done


def run_unordered(
    tasks: Sequence[Task],
    backend: Backend = "sequential",
    jobs: int = 1,
    scheduler: str | None = None,
) -> Iterator[TaskResult]:
    """Yield each task's result as soon as it is finished."""
    if not tasks:
        return
    jobs = max(1, min(jobs, len(tasks)))  # never more workers than tasks
    if backend == "sequential" or (backend == "loky" and jobs == 1):  # no pool to start
        for task in tasks:
            yield from run_tasks(task)
    elif backend == "loky":
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
        for results in parallel(delayed(run_tasks)(task) for task in tasks):
            yield from results
    elif backend == "dask":
        yield from _run_dask(tasks, jobs, scheduler)
    else:  # pragma: no cover - guarded by the CLI's choices
        raise ValueError(f"unknown backend {backend!r}")


def in_background(function: Callable[..., T], *args: Any, workers: int = 1) -> Callable[[], T]:
    """Start ``function(*args)`` on a worker of the batch's loky pool while this process
    goes on; the returned callable waits for the result. With fewer than two workers (no
    pool was started: starting one would cost more than it saves) it runs here and now.

    At the end of a batch the workers are idle and already started: writing the finance
    workbook or repricing there takes it off the critical path (issue 21).
    """
    if workers < 2:
        value = function(*args)
        return lambda: value
    from joblib import Parallel, delayed

    pending = Parallel(n_jobs=workers, backend="loky", return_as="generator")(
        [delayed(function)(*args)]
    )

    def wait() -> T:
        (value,) = pending  # the one task's result (the generator is then finished)
        return value

    return wait


# A Dask task costs a round trip to the scheduler (milliseconds, more on a real cluster):
# tasks shorter than this are sent in batches, sized from the first wave's own timings.
SHORT_TASK_SECONDS = 2.0


def batch_size(seconds_per_task: float, remaining: int, workers: int) -> int:
    """Tasks per Dask submission: enough to last ``SHORT_TASK_SECONDS``, but never so many
    that a worker would go without (at least two batches per worker remain)."""
    if seconds_per_task >= SHORT_TASK_SECONDS or remaining <= 2 * workers:
        return 1
    wanted = math.ceil(SHORT_TASK_SECONDS / max(seconds_per_task, 1e-3))
    return max(1, min(wanted, remaining // (2 * workers)))


def run_task_batch(tasks: Sequence[Task]) -> list[TaskResult]:
    """Several tasks in one worker call, in order (runs in a Dask worker)."""
    return [result for task in tasks for result in run_tasks(task)]


def _run_dask(tasks: Sequence[Task], jobs: int, scheduler: str | None) -> Iterator[TaskResult]:
    """Each task on a Dask worker; a lost worker's tasks are re-run elsewhere by Dask, with
    the same results (a task is a pure function of its config, replication and seed)."""
    if any(task.sharing for task in tasks):  # forking in a threaded Dask worker is unsafe
        raise ValueError("tasks sharing a prefix run on the sequential or loky backends")
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        workers = jobs if cluster is not None else max(1, sum(client.nthreads().values()))
        queue = list(tasks)

        def submit(batch: Sequence[Task]) -> Any:
            first = batch[0]
            key = f"ucsim-{first.key[0]}-{first.key[1]}-{first.seed}-{len(batch)}"
            return client.submit(run_task_batch, list(batch), key=key, pure=False)

        # The first wave one task each: its timings size the batches of the rest.
        wave, queue = queue[:workers], queue[workers:]
        futures = as_completed([submit([task]) for task in wave])
        for future in futures:
            results = future.result()
            yield from results
            if queue:
                size = batch_size(results[0].seconds, len(queue), workers)
                for start in range(0, len(queue), size):
                    futures.add(submit(queue[start : start + size]))
                queue = []
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
