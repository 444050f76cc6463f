"""Parallel scaling, measured honestly: wall time and per-task time by worker count.

Runs the same batch (the shipped scenarios x ``--replications`` x ``--years``)
with 1, 2, 4 ... workers and prints, per worker count: wall time, efficiency
against one worker (T1 / (n x Tn)), the median and mean time of one replication
as the workers ran it (from the manifest), how much slower a task ran than with
one worker, and the serial remainder (wall minus task time / workers). Lost
efficiency then splits into tasks slowing down as more run at once (memory
traffic, shared caches, hyperthreads) and serial work around them.

    python -m benchmarks.scaling --jobs 1,2,4,8,16 --replications 16 --years 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sim.batch import BatchOptions, run_batch
from sim.loading import default_scenario_paths, resolve


def physical_cores() -> int | None:
    """Distinct (package, core) pairs in /proc/cpuinfo; None where it cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    pairs, package = set(), "0"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "physical id":
            package = value.strip()
        elif key.strip() == "core id":
            pairs.add((package, value.strip()))
    return len(pairs) or None


def measure(jobs: int, replications: int, years: int, seed: int) -> dict[str, float]:
    configs = [
        resolve(p, overrides=[f"run.years={years}"]).config for p in default_scenario_paths()
    ]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        started = time.perf_counter()
        outcome = run_batch(
            configs,
            out,
            BatchOptions(replications=replications, seed=seed, jobs=jobs, backend="loky"),
        )
        wall = time.perf_counter() - started
        tasks = [r["seconds"] for r in outcome.manifest["runs"].values() if "seconds" in r]
    return {
        "jobs": jobs,
        "tasks": len(tasks),
        "wall_s": wall,
        "task_median_s": statistics.median(tasks),
        "task_mean_s": statistics.fmean(tasks),
        "task_sum_s": sum(tasks),
        "serial_s": wall - sum(tasks) / jobs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1,2,4,8,16")
    parser.add_argument("--replications", type=int, default=16)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    counts = [int(j) for j in args.jobs.split(",") if int(j) <= (usable or 1)]
    header = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "physical_cores": physical_cores(),
        "batch": f"3 scenarios x {args.replications} replications x {args.years} years",
    }
    print(json.dumps(header), flush=True)
    rows = []
    for jobs in counts:
        row = measure(jobs, args.replications, args.years, args.seed)
        rows.append(row)
        base = rows[0]
        row["efficiency"] = base["wall_s"] / (jobs * row["wall_s"])
        row["task_slowdown"] = row["task_median_s"] / base["task_median_s"]
        print(
            f"jobs {jobs:>2}: wall {row['wall_s']:7.1f} s  efficiency {row['efficiency']:5.0%}  "
            f"task median {row['task_median_s']:5.2f} s (x{row['task_slowdown']:.2f})  "
            f"serial {row['serial_s']:5.1f} s",
            flush=True,
        )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"header": header, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
