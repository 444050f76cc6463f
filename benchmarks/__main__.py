"""ucsim benchmarks: ``python -m benchmarks`` (or ``make bench``). Not part of the tests.

Measures, in one process and one run:
  (a) one replication of the default area's do-nothing scenario: seconds,
      microseconds per urgent episode and per resource use;
  (b) the floor reference (benchmarks/floor.py) on the same number of
      resource uses, and the ratio per resource use;
  (c) a batch with --jobs 1 and --jobs 2 and the parallel efficiency;
  (d) peak memory of one replication in a fresh process;
  (e) the shared prefix: the shipped scenarios as one sequential batch with and
      without simulating their shared warm-up and baseline year once.
Timings are the best of ``--repeats`` (default 2) runs, model and floor
interleaved, and of ``--batch-repeats`` (default 3) batch runs alternating 1
and 2 jobs: this machine's speed drifts by 10-35% over minutes. The first
2-job batch also starts the worker processes (about 0.8 s here); its
efficiency is printed too. Appends one JSON line to results/benchmarks.jsonl
(untracked); ``--record`` appends it to the tracked benchmarks/results.jsonl
instead, for a measurement meant to be committed.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import simpy

from benchmarks.floor import run_floor
from sim.batch import BatchOptions, run_batch
from sim.loading import default_scenario_paths, resolve, with_overrides
from sim.replication import run_replication
from sim.resources import AgendaPool, BookedRota, BookedServers
from sim.store import git_commit, now_iso

RECORD = Path(__file__).resolve().parent / "results.jsonl"  # tracked: with --record
LOCAL = Path(__file__).resolve().parent.parent / "results" / "benchmarks.jsonl"


def count_resource_uses(config, seed: int) -> int:
    """Resource uses in one replication (a separate, instrumented run).

    A use is a granted SimPy request (rapid response, virtual ward), a unit granted
    by an agenda pool (beds, onward care) or a job booked on first-come-first-served
    servers (triage, A&E and UCC clinicians, ambulances): the same count whichever
    way a service is implemented.
    """
    counted = {"uses": 0}
    pools: list[AgendaPool] = []
    originals = {
        (simpy.Resource, "_do_put"): simpy.Resource._do_put,
        (BookedServers, "hold"): BookedServers.hold,
        (BookedServers, "book"): BookedServers.book,
        (BookedRota, "book"): BookedRota.book,
        (AgendaPool, "__init__"): AgendaPool.__init__,
    }

    def registering_init(self, env, capacity):
        originals[(AgendaPool, "__init__")](self, env, capacity)
        pools.append(self)

    def counting_put(self, event):
        result = originals[(simpy.Resource, "_do_put")](self, event)
        counted["uses"] += bool(event.triggered)
        return result

    def counting_hold(self, start, free_at):
        counted["uses"] += 1
        return originals[(BookedServers, "hold")](self, start, free_at)

    def counting_book(self, now, hold):
        counted["uses"] += 1
        return originals[(BookedRota, "book")](self, now, hold)

    def counting_server_book(self, now, duration):
        counted["uses"] += 1
        return originals[(BookedServers, "book")](self, now, duration)

    simpy.Resource._do_put = counting_put
    BookedServers.hold = counting_hold
    BookedRota.book = counting_book
    BookedServers.book = counting_server_book
    AgendaPool.__init__ = registering_init
    try:
        run_replication(config, 0, seed)
    finally:
        for (owner, name), method in originals.items():
            setattr(owner, name, method)
    return counted["uses"] + sum(pool.granted for pool in pools)


def peak_memory_mib(years: int, seed: int) -> float:
    """Peak resident memory of one replication, in a fresh process.

    Read from the process's own high-water mark (``VmHWM``, Linux): ``ru_maxrss``
    in a child also counts the parent's pages it was forked with, which made
    this figure include the benchmark process itself (640 MiB reported when a
    replication alone peaked at ~450 MiB).
    """
    code = (
        "import resource; from pathlib import Path;"
        "from sim.loading import resolve, default_scenario_paths, with_overrides;"
        "from sim.replication import run_replication;"
        "c = resolve(default_scenario_paths()[0]).config;"
        f"c = with_overrides(c, {{'run.years': {years}}});"
        f"run_replication(c, 0, {seed});"
        "status = Path('/proc/self/status');"
        "hwm = [l for l in status.read_text().splitlines() if l.startswith('VmHWM')]"
        " if status.exists() else [];"
        "print(hwm[0].split()[1] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def shared_prefix_saving(
    years: list[int], replications: int, seed: int
) -> dict[str, dict[str, float]]:
    """Wall time of the shipped scenarios as one sequential batch, with and without the
    shared prefix (warm-up and the years before the first lever simulated once)."""
    out: dict[str, dict[str, float]] = {}
    for length in years:
        configs = [
            with_overrides(resolve(p).config, {"run.years": length})
            for p in default_scenario_paths()
        ]
        walls = {}
        for share in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                run_batch(
                    configs,
                    Path(tmp) / "run",
                    BatchOptions(replications=replications, seed=seed, share_prefix=share),
                )
                walls[share] = time.perf_counter() - started
        saving = 1 - walls[True] / walls[False]
        out[f"{length}_years"] = {
            "wall_from_start": round(walls[False], 2),
            "wall_shared_prefix": round(walls[True], 2),
            "saving": round(saving, 3),
        }
        print(
            f"(e) {len(configs)} scenarios x {replications} x {length}-year replications, "
            f"one worker: from the start {walls[False]:.1f} s, sharing the prefix "
            f"{walls[True]:.1f} s: {saving:.0%} saved"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--record", action="store_true", help="append to the tracked benchmarks/results.jsonl"
    )
    # Eight: what the default run gives each scenario. With two workers the batch
    # ends when the slower one does; with four replications that tail (one
    # replication's noise, 10-20% here) weighed twice as much as in real batches.
    parser.add_argument("--batch-replications", type=int, default=8)
    parser.add_argument("--batch-years", type=int, default=2)
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--skip-prefix", action="store_true")
    parser.add_argument("--prefix-replications", type=int, default=2)
    parser.add_argument("--prefix-years", default="2,5", help="run lengths, comma-separated")
    parser.add_argument("--repeats", type=int, default=2, help="timings are the best of these")
    parser.add_argument(
        "--batch-repeats", type=int, default=3, help="batch timings are the best of these"
    )
    args = parser.parse_args()

    base = resolve(default_scenario_paths()[0]).config
    config = with_overrides(base, {"run.years": args.years})
    report: dict[str, object] = {
        "when": now_iso(),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "years": args.years,
    }

    # This machine's speed drifts by 10-35% over minutes, so each timing is the
    # best of ``--repeats`` runs, model and floor interleaved (as timeit does).
    model_runs: list[float] = []
    floors: list[dict[str, float]] = []
    uses = count_resource_uses(config, args.seed)
    for _ in range(args.repeats):
        started = time.perf_counter()
        result = run_replication(config, 0, args.seed)
        model_runs.append(time.perf_counter() - started)
        floors.append(
            run_floor(
                episodes=uses // 3,
                years=args.years + config.run.warmup_days / 365,
                seed=args.seed,
            )
        )
    model_seconds = min(model_runs)
    floor = min(floors, key=lambda f: f["seconds"])
    episodes = result.episodes
    report["model"] = {
        "seconds": round(model_seconds, 3),
        "all_seconds": [round(t, 3) for t in model_runs],
        "episodes": episodes,
        "resource_uses": uses,
        "us_per_episode": round(model_seconds / episodes * 1e6, 3),
        "us_per_resource_use": round(model_seconds / uses * 1e6, 3),
    }
    report["floor"] = {k: round(v, 3) for k, v in floor.items()}
    ratio = report["model"]["us_per_resource_use"] / floor["us_per_resource_use"]
    report["ratio_per_resource_use"] = round(ratio, 3)
    print(
        f"(a) one {args.years}-year replication (best of {args.repeats}): {model_seconds:.2f} s, "
        f"{episodes:,} episodes, "
        f"{uses:,} resource uses; {report['model']['us_per_episode']:.2f} us/episode, "
        f"{report['model']['us_per_resource_use']:.2f} us/resource use"
    )
    print(
        f"(b) floor on {floor['resource_uses']:,} resource uses: {floor['seconds']:.2f} s, "
        f"{floor['us_per_resource_use']:.2f} us/resource use; ratio {ratio:.2f}x"
    )

    if not args.skip_batch:
        batch_config = with_overrides(base, {"run.years": args.batch_years})
        runs: dict[int, list[float]] = {1: [], 2: []}
        for jobs in (1, 2) * args.batch_repeats:
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                run_batch(
                    [batch_config],
                    Path(tmp) / "run",
                    BatchOptions(
                        replications=args.batch_replications,
                        seed=args.seed,
                        jobs=jobs,
                        backend="loky",
                    ),
                )
                runs[jobs].append(time.perf_counter() - started)
        walls = {jobs: min(times) for jobs, times in runs.items()}
        efficiency = walls[1] / (2 * walls[2])
        # The first 2-job run also starts the workers (loky reuses them after), as
        # every new `ucsim run` does once: reported beside the best, not hidden in it.
        cold = walls[1] / (2 * runs[2][0])
        report["batch"] = {
            "replications": args.batch_replications,
            "years": args.batch_years,
            "wall_jobs_1": round(walls[1], 2),
            "wall_jobs_2": round(walls[2], 2),
            "parallel_efficiency": round(efficiency, 3),
            "parallel_efficiency_starting_workers": round(cold, 3),
            "all_walls": {str(jobs): [round(t, 2) for t in times] for jobs, times in runs.items()},
        }
        print(
            f"(c) batch of {args.batch_replications} x {args.batch_years}-year replications: "
            f"jobs 1 {walls[1]:.1f} s, jobs 2 {walls[2]:.1f} s, "
            f"parallel efficiency {efficiency:.0%} "
            f"({cold:.0%} for the first 2-job run, which also starts the workers)"
        )

    if not args.skip_prefix:
        report["shared_prefix"] = shared_prefix_saving(
            [int(y) for y in args.prefix_years.split(",")], args.prefix_replications, args.seed
        )

    memory = peak_memory_mib(args.years, args.seed)
    report["peak_memory_mib"] = round(memory, 1)
    print(f"(d) peak memory of one {args.years}-year replication: {memory:.0f} MiB")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report["benchmark_process_peak_mib"] = round(own, 1)
    target = RECORD if args.record else LOCAL
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(report) + "\n")
    print(f"appended to {target}")


if __name__ == "__main__":
    main()
