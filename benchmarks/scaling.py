"""Parallel scaling, measured honestly: wall time and per-task time by worker count, the
serial part of a batch taken apart, and a prediction for machines with more cores.

Runs the same batch (the shipped scenarios x ``--replications`` x ``--years``, without
the shared prefix so that each task is one replication) with 1, 2, 4 ... workers and
prints, per worker count: wall time, efficiency against one worker (T1 / (n x Tn)), the
median time of one replication as the workers ran it (from the manifest), how much
slower a task ran than with one worker, and the serial remainder (wall minus task time
/ workers). Lost efficiency then splits into tasks slowing down as more run at once
(memory traffic, shared caches, hyperthreads) and serial work around them.

The prediction for n workers replays the measured task times on n workers (longest
first is not assumed: tasks are taken in submission order by whichever worker is free,
as loky does), each task slowed by a stated factor, and adds the measured serial parts.
It is checked against the largest worker count measured here.

    python -m benchmarks.scaling --jobs 1,2,4,8,16 --replications 16 --years 5
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joblib import cpu_count

import sim.batch as batch_module
from sim.batch import BatchOptions, run_batch
from sim.cli import usable_cores
from sim.loading import default_scenario_paths, resolve
from sim.store import ResultsFolder

# Measured on a 16-core machine (H100 host, 2026-11-27, benchmarks/scaling-h100-16core-
# 2026-11-27.json): at 16 workers a task ran 1.26x slower than alone. This machine cannot
# measure it, so predictions are given without it and with it.
SLOWDOWN_AT_16 = 1.26


def worker_counts(usable: int) -> list[int]:
    """1, 2, 4 ... up to the usable cores, and the usable cores themselves."""
    counts, n = [], 1
    while n < usable:
        counts.append(n)
        n *= 2
    return [*counts, usable]


@dataclass
class Phases:
    """Where one batch's wall time went, in the main process."""

    simulating: float = 0.0  # from submitting the tasks to the last result handled
    saving: float = 0.0  # writing each replication and the manifest (inside simulating)
    finalising: float = 0.0  # tables, targets, finance, workbook


@contextlib.contextmanager
def timed_phases() -> Iterator[Phases]:
    """Time the batch's phases by wrapping its functions (restored afterwards)."""
    phases = Phases()
    originals = {
        (batch_module, "_run_missing"): batch_module._run_missing,
        (batch_module, "finalise"): batch_module.finalise,
        (ResultsFolder, "write_replication"): ResultsFolder.write_replication,
        (ResultsFolder, "write_manifest"): ResultsFolder.write_manifest,
    }
    attribute = {
        "_run_missing": "simulating",
        "finalise": "finalising",
        "write_replication": "saving",
        "write_manifest": "saving",
    }

    def wrap(name: str, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                target = attribute[name]
                # Saving counts every replication and manifest write: nearly all happen
                # while results come in (a handful of manifest writes around them).
                setattr(phases, target, getattr(phases, target) + spent)

        return timed

    for (owner, name), function in originals.items():
        setattr(owner, name, wrap(name, function))
    try:
        yield phases
    finally:
        for (owner, name), function in originals.items():
            setattr(owner, name, function)


def measure(jobs: int, replications: int, years: int, seed: int) -> dict[str, Any]:
    """One batch at ``jobs`` workers: wall time, task times and the main process's phases."""
    configs = [
        resolve(p, overrides=[f"run.years={years}"]).config for p in default_scenario_paths()
    ]
    options = BatchOptions(
        replications=replications, seed=seed, jobs=jobs, backend="loky", share_prefix=False
    )
    with tempfile.TemporaryDirectory() as folder, timed_phases() as phases:
        started = time.perf_counter()
        outcome = run_batch(configs, Path(folder) / "run", options)
        wall = time.perf_counter() - started
    tasks = [r["seconds"] for r in outcome.manifest["runs"].values() if "seconds" in r]
    return {
        "jobs": jobs,
        "tasks": len(tasks),
        "wall_s": wall,
        "task_median_s": statistics.median(tasks),
        "task_mean_s": statistics.fmean(tasks),
        "task_sum_s": sum(tasks),
        "task_seconds": tasks,
        "serial_s": wall - sum(tasks) / jobs,
        "simulating_s": phases.simulating,
        "saving_s": phases.saving,
        "finalising_s": phases.finalising,
        "other_s": wall - phases.simulating - phases.finalising,
    }


def makespan(task_seconds: Sequence[float], workers: int, slowdown: float = 1.0) -> float:
    """The time ``workers`` take to run the tasks in order, each taken by the first free
    worker (list scheduling, as a process pool does), every task ``slowdown`` times longer."""
    free = [0.0] * max(1, workers)
    for seconds in task_seconds:
        start = heapq.heappop(free)
        heapq.heappush(free, start + seconds * slowdown)
    return max(free)


def worker_start_seconds(workers: int) -> float:
    """Starting ``workers`` loky workers that import the model, in a fresh process."""
    code = (
        "import time; from joblib import Parallel, delayed; import importlib;"
        "t = time.perf_counter();"
        f"Parallel(n_jobs={workers}, backend='loky')"
        f"(delayed(importlib.import_module)('sim.replication') for _ in range({workers}));"
        "print(time.perf_counter() - t)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Decomposition:
    """The serial parts of a batch (seconds), measured on this machine."""

    worker_start: float  # starting the pool: the workers import the model in parallel
    # A task's work beyond its replication's own seconds (its rows, collecting its
    # garbage, passing it back): done in the workers, so it scales, but it is not in the
    # manifest's task times.
    per_task_overhead: float
    saving_per_result: float  # the main process saves each replication and the manifest
    finalising: float  # tables, targets, finance and the workbook
    other: float  # checks, the results folder, the pool's shutdown

    @property
    def fixed(self) -> float:
        """Serial whatever the workers: saving overlaps the workers but for the last result."""
        return self.saving_per_result + self.finalising + self.other

    def predict(self, task_seconds: Sequence[float], workers: int, slowdown: float = 1.0) -> float:
        """Predicted wall time on ``workers`` cores (1 worker: no pool is started)."""
        start = self.worker_start if workers > 1 else 0.0
        tasks = [seconds + self.per_task_overhead for seconds in task_seconds]
        return self.fixed + start + makespan(tasks, workers, slowdown)


def decompose(rows: Sequence[dict[str, Any]], worker_start: float) -> Decomposition:
    """The serial parts, from the run at the most workers (where they weigh most); the
    work each task adds to its replication, from the run at one worker (no pool)."""
    one, last = rows[0], rows[-1]
    beyond = one["simulating_s"] - one["saving_s"] - one["task_sum_s"]
    return Decomposition(
        worker_start=worker_start,
        per_task_overhead=max(0.0, beyond / max(1, one["tasks"])),
        saving_per_result=last["saving_s"] / max(1, last["tasks"]),
        finalising=last["finalising_s"],
        other=last["other_s"],
    )


def scaling_table(
    counts: Sequence[int], replications: int, years: int, seed: int, echo: bool = True
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for jobs in counts:
        row = measure(jobs, replications, years, seed)
        rows.append(row)
        base = rows[0]
        row["efficiency"] = base["wall_s"] / (jobs * row["wall_s"])
        row["task_slowdown"] = row["task_median_s"] / base["task_median_s"]
        if echo:
            print(
                f"    {jobs:>2} worker(s): wall {row['wall_s']:7.1f} s, efficiency "
                f"{row['efficiency']:5.0%}, task median {row['task_median_s']:5.2f} s "
                f"(x{row['task_slowdown']:.2f}), serial {row['serial_s']:5.1f} s "
                f"(finalising {row['finalising_s']:.1f}, saving {row['saving_s']:.1f})",
                flush=True,
            )
    return rows


def predictions(
    rows: Sequence[dict[str, Any]], parts: Decomposition, counts: Sequence[int]
) -> dict[str, Any]:
    """Predicted efficiency at each count, from the one-worker run's task times; with the
    check of the method against the largest count measured here."""
    one = rows[0]
    tasks = one["task_seconds"]
    t1 = one["wall_s"]
    measured = rows[-1]
    check = parts.predict(tasks, measured["jobs"], measured["task_slowdown"])
    out: dict[str, Any] = {
        "check": {
            "workers": measured["jobs"],
            "measured_wall_s": round(measured["wall_s"], 2),
            "predicted_wall_s": round(check, 2),
        },
        "rows": [],
    }
    for n in counts:
        for slowdown in (1.0, SLOWDOWN_AT_16):
            wall = parts.predict(tasks, n, slowdown)
            out["rows"].append(
                {
                    "workers": n,
                    "task_slowdown": slowdown,
                    "wall_s": round(wall, 2),
                    "efficiency": round(t1 / (n * wall), 3),
                }
            )
    return out


def header(replications: int, years: int) -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cores(),  # affinity and a container's quota, as --jobs
        "physical_cores": cpu_count(only_physical_cores=True),
        "batch": f"3 scenarios x {replications} replications x {years} years",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default=None, help="worker counts (default 1, 2, 4 ... usable)")
    parser.add_argument("--replications", type=int, default=16)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args()
    usable = usable_cores()
    counts = (
        [int(j) for j in args.jobs.split(",") if int(j) <= usable]
        if args.jobs
        else worker_counts(usable)
    )
    head = header(args.replications, args.years)
    print(json.dumps(head), flush=True)
    rows = scaling_table(counts, args.replications, args.years, args.seed)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"header": head, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
