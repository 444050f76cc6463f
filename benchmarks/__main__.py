"""ucsim benchmarks: ``python -m benchmarks`` (or ``make bench``). Not part of the tests.

Measures, in one process and one run:
  (a) one replication of the default area's do-nothing scenario: seconds,
      microseconds per urgent episode and per resource use;
  (b) the floor reference (benchmarks/floor.py) on the same number of
      resource uses, and the ratio per resource use;
  (c) a batch (the shipped scenarios x ``--batch-replications`` x
      ``--batch-years``) at 1, 2, 4 ... usable workers: wall time, efficiency,
      the median task time and its slowdown, the serial remainder;
  (d) the serial part taken apart (worker start-up, saving results, tables and
      finance, the rest) and the efficiency it predicts at 8 and 16 workers,
      checked against the largest worker count measured here;
  (e) a whole `ucsim run` process of one replication against that replication
      in-process (start-up, import, command, teardown), and `ucsim --help` and
      `ucsim validate` as new processes;
  (f) the shared prefix: the shipped scenarios as one sequential batch with and
      without simulating their shared warm-up and baseline year once;
  (g) growth: one replication at 0.5, 1, 2 and 4 times the list size for 1, 5
      and 10 years, each in a fresh process: microseconds per episode and peak
      memory, with memory fitted as fixed + bytes per episode.
Timings are the best of ``--repeats`` (default 2) runs, model and floor
interleaved: this machine's speed drifts by 10-35% over minutes. ``--full`` runs
the issue's batch (48 five-year replications) in (c). Appends one JSON line to
results/benchmarks.jsonl (untracked); ``--record`` appends it to the tracked
benchmarks/results.jsonl instead, for a measurement meant to be committed.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from pathlib import Path

import simpy

from benchmarks.floor import run_floor
from benchmarks.growth import growth_table
from benchmarks.scaling import (
    decompose,
    header,
    predictions,
    scaling_table,
    usable_cores,
    worker_counts,
    worker_start_seconds,
)
from benchmarks.startup import one_run, quick_commands
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
            f"(f) {len(configs)} scenarios x {replications} x {length}-year replications, "
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
    parser.add_argument(
        "--full", action="store_true", help="(c) on 48 five-year replications (3 x 16)"
    )
    parser.add_argument("--skip-growth", action="store_true")
    parser.add_argument("--growth-factors", default="0.5,1,2,4", help="list size multiples")
    parser.add_argument("--growth-years", default="1,5,10", help="run lengths")
    parser.add_argument("--skip-prefix", action="store_true")
    parser.add_argument("--prefix-replications", type=int, default=2)
    parser.add_argument("--prefix-years", default="2,5", help="run lengths, comma-separated")
    parser.add_argument("--repeats", type=int, default=2, help="timings are the best of these")
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
        reps, length = (16, 5) if args.full else (args.batch_replications, args.batch_years)
        counts = worker_counts(usable_cores())
        report["scaling_header"] = header(reps, length)
        print(
            f"(c) {report['scaling_header']['batch']}, shared prefix off (one task = one "
            f"replication); {report['scaling_header']['usable_cores']} usable cores, "
            f"{report['scaling_header']['physical_cores']} physical"
        )
        rows = scaling_table(counts, reps, length, args.seed)
        report["scaling"] = [
            {
                k: (round(v, 3) if isinstance(v, float) else v)
                for k, v in r.items()
                if k != "task_seconds"
            }
            for r in rows
        ]
        start = worker_start_seconds(max(counts))
        parts = decompose(rows, start)
        predicted = predictions(rows, parts, sorted({*counts, 8, 16}))
        report["serial_decomposition"] = {
            "worker_start_s": round(parts.worker_start, 3),
            "per_task_overhead_s": round(parts.per_task_overhead, 3),
            "saving_per_result_s": round(parts.saving_per_result, 4),
            "finalising_s": round(parts.finalising, 3),
            "other_s": round(parts.other, 3),
        }
        report["predicted"] = predicted
        print(
            f"(d) each task's work beyond its replication {parts.per_task_overhead:.2f} s (in "
            f"the workers); serial: starting {max(counts)} workers {parts.worker_start:.2f} s, "
            f"saving {parts.saving_per_result * 1000:.0f} ms a result (overlapping the "
            f"workers but for the last), tables and finance {parts.finalising:.2f} s, the "
            f"rest {parts.other:.2f} s"
        )
        check = predicted["check"]
        print(
            f"    the method at {check['workers']} workers: predicted "
            f"{check['predicted_wall_s']:.1f} s, measured {check['measured_wall_s']:.1f} s"
        )
        for row in predicted["rows"]:
            if row["workers"] in (8, 16):
                print(
                    f"    predicted at {row['workers']:>2} workers, "
                    f"tasks x{row['task_slowdown']:.2f}: "
                    f"wall {row['wall_s']:.1f} s, efficiency {row['efficiency']:.0%}"
                )

    whole = one_run(args.years, args.seed, max(3, args.repeats))
    quick = quick_commands()
    inside = whole["in_process_s"]
    ratio = whole["wall_s"] / inside
    report["whole_process"] = {
        **{k: round(v, 3) for k, v in whole.items()},
        "ratio": round(ratio, 3),
        "quick_commands_s": quick,
    }
    print(
        f"(e) whole `ucsim run` of one {args.years}-year replication: {whole['wall_s']:.2f} s "
        f"(start-up {whole['interpreter_start_s']:.2f}, import {whole['import_s']:.2f}, "
        f"command {whole['command_s']:.2f}, teardown {whole['teardown_s']:.2f}) against "
        f"{inside:.2f} s in-process (interleaved): {ratio:.2f}x; `ucsim --help` "
        f"{quick['help']:.2f} s, "
        f"`ucsim validate` {quick['validate']:.2f} s"
    )

    if not args.skip_prefix:
        report["shared_prefix"] = shared_prefix_saving(
            [int(y) for y in args.prefix_years.split(",")], args.prefix_replications, args.seed
        )

    if not args.skip_growth:
        factors = [float(f) for f in args.growth_factors.split(",")]
        lengths = [int(y) for y in args.growth_years.split(",")]
        print(f"(g) growth: one replication at {factors} x the list, {lengths} years")
        growth = growth_table(factors, lengths, args.seed)
        report["growth"] = growth
        low, high = growth["us_per_episode_range"]
        print(
            f"    {low:.2f} to {high:.2f} us per episode; memory {growth['memory_fixed_mib']:.0f} "
            f"MiB + {growth['memory_bytes_per_episode']:.0f} bytes per episode (worst cell "
            f"{growth['memory_fit_worst_relative_error']:.0%} off the line)"
        )
        same = [r for r in growth["rows"] if r["factor"] == 1.0 and r["years"] == args.years]
        if same:
            report["peak_memory_mib"] = round(same[0]["peak_mib"], 1)

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report["benchmark_process_peak_mib"] = round(own, 1)
    target = RECORD if args.record else LOCAL
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(report) + "\n")
    print(f"appended to {target}")


if __name__ == "__main__":
    main()
