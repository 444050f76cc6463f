"""Scenario batches: scenarios x replications, saved as they finish, resumable, summarised.

``run_batch`` starts a new results folder; ``resume_batch`` finishes an
interrupted one from what is on disk. Both end in ``finalise``, which builds
kpis.parquet, summary.csv, differences.csv and targets.csv from the saved
replications, so an interrupted-and-resumed batch ends identical to an
uninterrupted one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pandas as pd

from sim.area_inputs import TARGETS_FILE, check_area_inputs
from sim.config import MAX_SEED, ModelConfig
from sim.cost_file import COSTS_FILE, costs_file
from sim.demonstrator import DEMONSTRATOR_FILE, evaluate_demonstrators
from sim.errors import InputError, InputProblem
from sim.estimate import Estimate, FirstWave
from sim.executors import Backend, Task, in_background, run_unordered
from sim.loading import OPTION, area_dir, config_sha256
from sim.plan import DISCREPANCY_COLUMNS, TARGETS, target_discrepancies
from sim.precision import KEY_METRICS, ReplicationRule, relative_precision
from sim.prefix import can_fork, prefix_groups
from sim.pricing import (
    DEFAULT_PRICING,
    FINANCE_FILES,
    PROVIDERS_FILE,
    TARIFFS_FILE,
    WORKBOOK,
    FinanceTables,
    compute_finance,
    load_pricing_inputs,
    pricing_sensitivity,
    write_pricing,
)
from sim.store import (
    KPI_COLUMNS,
    ResultsFolder,
    command_line,
    git_commit,
    make_private_dir_public,
    now_iso,
    tool_version,
    write_csv,
    write_parquet,
    write_text,
)
from sim.summary import paired_differences, summarise
from sim.target_file import load_targets
from sim.targets import Growth, evaluate_targets
from sim.workbook import write_workbook

REFERENCE_SCENARIO = "do-nothing"
# A default 5-year replication takes about 5 s on one core: 10,000 per scenario is days of
# work, so anything above is a typo, not a plan.
MAX_REPLICATIONS = 10_000
AREA_INPUTS = (TARGETS_FILE, PROVIDERS_FILE, TARIFFS_FILE, "fit_report.csv")
Progress = Callable[[int, int, str], None]
EstimateCallback = Callable[[Estimate], None]


@dataclass(frozen=True)
class BatchOptions:
    replications: int | None = None  # None: choose by precision (Hoad et al.)
    seed: int | None = None
    jobs: int = 1
    backend: Backend = "sequential"
    scheduler: str | None = None
    precision: float = 0.05
    max_replications: int = 50
    min_replications: int = 3
    report: bool = False  # the caller writes a report after the batch (see manifest "report")
    # Scenarios identical until their first lever share that prefix, simulated once per
    # replication (sim.prefix; same results). Not on Dask, whose workers cannot fork.
    share_prefix: bool = True


@dataclass(frozen=True)
class BatchOutcome:
    folder: ResultsFolder
    kpis: pd.DataFrame
    summary: pd.DataFrame
    differences: pd.DataFrame
    targets: pd.DataFrame
    manifest: dict[str, Any]


def model_growth(config: ModelConfig) -> Growth:
    """The list growth and per-capita trend targets back-cast with."""
    return Growth(config.population.growth_per_year, config.demand.rate_trend_per_year)


def reference_scenario(names: Sequence[str]) -> str:
    return REFERENCE_SCENARIO if REFERENCE_SCENARIO in names else names[0]


def run_batch(
    configs: Sequence[ModelConfig],
    out: Path,
    options: BatchOptions,
    on_progress: Progress | None = None,
    on_estimate: EstimateCallback | None = None,
) -> BatchOutcome:
    """Run every scenario for the same replications into a new results folder.

    ``on_estimate`` receives, once, the planned replications and the time the rest should
    take, when every worker has finished its first task.
    """
    check_options(options)
    _check_batch(configs)
    check_area_inputs(area_dir(configs[0].area.name))  # before anything runs, not after
    folder = ResultsFolder(out)
    if folder.exists():
        raise InputError.single(
            str(out), "--out", str(out), "already holds a run; use --resume to finish it"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        # Nothing a user made is overwritten: only a new or empty folder takes a run.
        raise InputError.single(
            OPTION,
            "--out",
            str(out),
            "is a file or a folder with other files in it: choose a new folder",
        )
    first = configs[0]
    seed = first.run.seed if options.seed is None else options.seed
    names = [c.scenario.name for c in configs]
    # Prepared in a hidden folder beside --out and renamed into place with its manifest:
    # a kill before that leaves --out as it was (absent or empty), never half a run that
    # can neither be resumed nor reused.
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for stale in out.parent.glob(f".{out.name}.preparing-*"):  # left by a killed start
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.preparing-", dir=out.parent))
    except OSError as exc:
        raise InputError.single(
            OPTION, "--out", str(out), f"cannot be written: {exc.strerror}"
        ) from None
    make_private_dir_public(staging)
    staged = ResultsFolder(staging)
    for config in configs:
        staged.write_config(config)
    for name in AREA_INPUTS:  # copied so the run can be re-read or re-priced later
        source = area_dir(first.area.name) / name
        if source.exists():
            write_text(staging / name, source.read_text(encoding="utf-8"))
    costs = costs_file(area_dir(first.area.name))
    if costs.exists() and (area_dir(first.area.name) / TARIFFS_FILE).exists():
        write_text(staging / COSTS_FILE, costs.read_text(encoding="utf-8"))
    manifest: dict[str, Any] = {
        "tool": "ucsim",
        "version": tool_version(),
        "git_commit": git_commit(),
        "created": now_iso(),
        "command": command_line(),
        "area": first.area.name,
        "area_name": first.area.display_name,
        "baseline_year": first.area.baseline_year,
        "years": first.run.years,
        "warmup_days": first.run.warmup_days,
        "seed": seed,
        "replications": {
            "mode": "fixed" if options.replications is not None else "auto",
            "requested": options.replications if options.replications is not None else "auto",
            "precision": options.precision,
            "minimum": options.min_replications,
            "cap": options.max_replications,
            "key_metrics": list(KEY_METRICS),
            "used": 0,
            "reason": "",
        },
        "backend": options.backend,
        "jobs": options.jobs,
        "reference_scenario": reference_scenario(names),
        "scenarios": {
            c.scenario.name: {
                "config_sha256": config_sha256(c),
                "file": f"scenarios/{c.scenario.name}.toml",
                "description": c.scenario.description,
            }
            for c in configs
        },
        "runs": {},
        "status": "running",
        # "pending" until the caller has written the report: a run killed between the
        # batch and its report is finished by --resume, never left "complete" without it.
        "report": "pending" if options.report else "not requested",
    }
    staged.write_manifest(manifest)
    os.replace(staging, out)  # atomic; an empty --out folder is replaced
    return _execute(folder, manifest, list(configs), options, on_progress, on_estimate)


def checked_configs(folder: ResultsFolder, manifest: dict[str, Any]) -> list[ModelConfig]:
    """The folder's resolved configs, refused if any was edited after the run."""
    configs = [folder.read_config(name) for name in manifest["scenarios"]]
    for config in configs:
        recorded = manifest["scenarios"][config.scenario.name]["config_sha256"]
        if config_sha256(config) != recorded:
            raise InputError.single(
                str(folder.scenario_path(config.scenario.name)),
                "",
                "",
                "resolved config no longer matches the manifest's sha256 (edited after the run?)",
            )
    return configs


def resume_batch(
    out: Path,
    jobs: int | None = None,
    backend: Backend | None = None,
    scheduler: str | None = None,
    on_progress: Progress | None = None,
    on_estimate: EstimateCallback | None = None,
) -> BatchOutcome:
    """Finish an interrupted batch: only the missing replications are run."""
    folder = ResultsFolder(out)
    manifest = folder.read_manifest()
    for stale in folder.root.rglob(".*.tmp"):  # a write a kill interrupted (atomic_write)
        stale.unlink()
    configs = checked_configs(folder, manifest)
    reps = manifest["replications"]
    options = BatchOptions(
        replications=reps["requested"] if reps["mode"] == "fixed" else None,
        seed=manifest["seed"],
        jobs=jobs or manifest["jobs"],
        backend=backend or manifest["backend"],
        scheduler=scheduler,
        precision=reps["precision"],
        max_replications=reps["cap"],
        min_replications=reps["minimum"],
    )
    manifest["status"] = "running"
    manifest.setdefault("resumed", []).append({"at": now_iso(), "command": command_line()})
    folder.write_manifest(manifest)
    return _execute(folder, manifest, configs, options, on_progress, on_estimate)


def check_options(options: BatchOptions) -> None:
    """The batch options, each under its CLI name, checked before anything starts (the
    Python API passes them unchecked by Typer)."""
    problems = []

    def refuse(option: str, value: object, rule: str) -> None:
        problems.append(InputProblem(OPTION, option, value, rule))

    if options.replications is not None and not 1 <= options.replications <= MAX_REPLICATIONS:
        refuse("--replications", options.replications, f"1 to {MAX_REPLICATIONS:,}, or auto")
    if options.seed is not None and not 0 <= options.seed <= MAX_SEED:
        refuse("--seed", options.seed, f"a whole number from 0 to {MAX_SEED}")
    if options.jobs < 1:
        refuse("--jobs", options.jobs, "at least 1 worker")
    if options.backend not in get_args(Backend):
        refuse("--backend", options.backend, f"one of {', '.join(get_args(Backend))}")
    if options.scheduler is not None and options.backend != "dask":
        refuse("--scheduler", options.scheduler, "only used with --backend dask")
    if not 0.001 <= options.precision <= 0.5:
        refuse("--precision", options.precision, "a half-width / mean from 0.001 to 0.5")
    if not options.min_replications <= options.max_replications <= MAX_REPLICATIONS:
        refuse(
            "--max-replications",
            options.max_replications,
            f"from {options.min_replications} (the minimum) to {MAX_REPLICATIONS:,}",
        )
    if problems:
        raise InputError(problems)


def _check_batch(configs: Sequence[ModelConfig]) -> None:
    if not configs:
        raise InputError.single("", "scenarios", [], "at least one scenario is needed")
    names = [c.scenario.name for c in configs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError.single("", "scenario.name", duplicates, "scenario names must be unique")
    first = configs[0]
    for config in configs[1:]:
        for field in ("area.name", "run.years", "run.warmup_days"):
            section, key = field.split(".")
            mine = getattr(getattr(config, section), key)
            theirs = getattr(getattr(first, section), key)
            if mine != theirs:
                raise InputError.single(
                    config.scenario.name,
                    field,
                    mine,
                    f"all scenarios in a batch must share {field} (first has {theirs})",
                )


def _execute(
    folder: ResultsFolder,
    manifest: dict[str, Any],
    configs: list[ModelConfig],
    options: BatchOptions,
    on_progress: Progress | None,
    on_estimate: EstimateCallback | None = None,
) -> BatchOutcome:
    seed = int(manifest["seed"])
    rule = None
    if options.replications is not None:
        wanted = options.replications
    else:
        rule = ReplicationRule(
            precision=options.precision,
            minimum=options.min_replications,
            cap=options.max_replications,
        )
        # The rule cannot stop before the minimum plus its look-ahead: run those at once.
        wanted = min(options.min_replications + rule.look_ahead, options.max_replications)
    checked = options.min_replications - 1  # the rule sees every count from the minimum on
    pool = False  # whether a worker pool was started (it is then warm for the tables)
    try:
        while True:
            ran = _run_missing(
                folder, manifest, configs, wanted, seed, options, on_progress, on_estimate
            )
            on_estimate = None  # said once, from the first round
            pool = pool or (options.backend == "loky" and min(ran, options.jobs) > 1)
            if rule is None:
                reason = f"fixed by the user (--replications {wanted})"
                break
            kpis = _collect(folder, configs, wanted)
            step: int | None = None
            while checked < wanted:
                checked += 1
                step = rule.next_count(relative_precision(kpis, checked))
                if step is None:
                    break
            if step is None:
                wanted = checked
                reason = rule.reason()
                break
            # The count never depends on --jobs, so results do not either.
            wanted = step
    except BaseException:
        manifest["status"] = "interrupted"
        folder.write_manifest(manifest)
        raise
    manifest["replications"]["used"] = wanted
    manifest["replications"]["reason"] = reason
    return finalise(folder, manifest, configs, wanted, options.jobs if pool else 1)


def _run_missing(
    folder: ResultsFolder,
    manifest: dict[str, Any],
    configs: list[ModelConfig],
    wanted: int,
    seed: int,
    options: BatchOptions,
    on_progress: Progress | None,
    on_estimate: EstimateCallback | None = None,
) -> int:
    """Run the replications not yet saved; returns how many tasks ran."""
    # Sharing makes fewer, longer tasks: only where every worker still has one.
    share = (
        options.share_prefix
        and options.backend != "dask"
        and can_fork()
        and wanted * len(prefix_groups(configs)) >= options.jobs
    )
    tasks: list[Task] = []
    for r in range(wanted):
        missing = [c for c in configs if not _is_done(folder, manifest, c.scenario.name, r)]
        groups = prefix_groups(missing) if share else [[i] for i in range(len(missing))]
        for group in groups:
            first, *rest = (missing[i] for i in group)
            tasks.append(Task(first, r, seed, sharing=tuple(rest)))
    total = wanted * len(configs)
    pending = [(c.scenario.name, t.replication) for t in tasks for c in (t.config, *t.sharing)]
    done = total - len(pending)
    if on_progress:
        on_progress(done, total, "replications")
    for scenario, r in pending:
        manifest["runs"][f"{scenario}/{r}"] = {"status": "pending"}
    wave = _first_wave(options, len(configs), pending, tasks, done)
    left_in_task = {
        (c.scenario.name, t.replication): t for t in tasks for c in (t.config, *t.sharing)
    }
    unfinished = {id(t): 1 + len(t.sharing) for t in tasks}
    started = time.perf_counter()
    for result in run_unordered(tasks, options.backend, options.jobs, options.scheduler):
        sha = manifest["scenarios"][result.scenario]["config_sha256"]
        # The whole area's rows have no locality: typed as parquet reads it back (str).
        parts = [result.rows.assign(locality=pd.array([None] * len(result.rows), dtype="str"))]
        if result.place_rows is not None and len(result.place_rows):
            parts.append(result.place_rows)
        rows = pd.concat(parts, ignore_index=True).assign(config_sha256=sha)[list(KPI_COLUMNS)]
        folder.write_replication(result.scenario, result.replication, rows)
        manifest["runs"][f"{result.scenario}/{result.replication}"] = {
            "status": "done",
            "seconds": round(result.seconds, 3),
            "episodes": result.episodes,
            "finished": now_iso(),
        }
        folder.write_manifest(manifest)
        done += 1
        if on_progress:
            on_progress(done, total, "replications")
        if on_estimate is not None:
            task = left_in_task[(result.scenario, result.replication)]
            unfinished[id(task)] -= 1
            estimate = wave.finished(1, task_complete=unfinished[id(task)] == 0)
            if estimate is not None:
                on_estimate(estimate)
    manifest["wall_seconds"] = round(
        manifest.get("wall_seconds", 0.0) + time.perf_counter() - started, 3
    )
    return len(tasks)


def _first_wave(
    options: BatchOptions,
    scenarios: int,
    pending: list[tuple[str, int]],
    tasks: list[Task],
    done_before: int,
) -> FirstWave:
    """The first wave of a round; automatic replications may run up to their cap."""
    cap = None if options.replications is not None else options.max_replications * scenarios
    return FirstWave(
        unit="replications",
        planned=len(pending),
        tasks=len(tasks),
        workers=options.jobs if options.backend != "sequential" else 1,
        ceiling=None if cap is None else cap - done_before,
        ceiling_reason="the precision rule needs all",
    )


def _is_done(folder: ResultsFolder, manifest: dict[str, Any], scenario: str, r: int) -> bool:
    status = manifest["runs"].get(f"{scenario}/{r}", {}).get("status")
    return status == "done" and folder.has_replication(scenario, r)


def _collect(
    folder: ResultsFolder, configs: list[ModelConfig], replications: int, places: bool = False
) -> pd.DataFrame:
    """The saved replications' rows: the whole area's, or (``places``) the localities'."""
    return pd.concat(
        [folder.read_replications(c.scenario.name, range(replications), places) for c in configs],
        ignore_index=True,
    )


def by_locality(
    places: pd.DataFrame, table: Callable[[pd.DataFrame], pd.DataFrame]
) -> pd.DataFrame:
    """``table`` (a summary or paired differences) of each locality's rows, with its name."""
    parts = [
        table(rows.drop(columns="locality")).assign(locality=name)
        for name, rows in places.groupby("locality", sort=True)
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def finalise(
    folder: ResultsFolder,
    manifest: dict[str, Any],
    configs: list[ModelConfig],
    replications: int,
    workers: int = 1,
) -> BatchOutcome:
    """Build the batch's tables from the saved replications (deterministic order).

    With ``workers`` (the batch's loky pool, already started), the finance workbook is
    written on one of them while this process builds the other tables.
    """
    kpis = _collect(folder, configs, replications)
    names = [c.scenario.name for c in configs]
    order = {name: i for i, name in enumerate(names)}
    kpis = kpis.sort_values(
        ["scenario", "replication", "year", "metric"],
        key=lambda col: col.map(order) if col.name == "scenario" else col,
        kind="stable",
    ).reset_index(drop=True)
    reference = manifest["reference_scenario"]
    target_set = load_targets(folder.root / TARGETS_FILE)
    growth = model_growth(configs[names.index(reference)] if reference in names else configs[0])
    contradictions = (
        target_discrepancies(kpis, target_set, reference, growth)
        if reference == REFERENCE_SCENARIO
        else pd.DataFrame(columns=DISCREPANCY_COLUMNS)
    )
    # Finance first: its workbook is then written on an idle worker while the rest is built.
    priced = (folder.root / PROVIDERS_FILE).exists() and (folder.root / TARIFFS_FILE).exists()
    workbook_written: Callable[[], None] = lambda: None  # noqa: E731
    if priced:
        _, workbook_written = start_finance_outputs(folder, kpis, manifest, contradictions, workers)
    else:
        write_csv(folder.root / DISCREPANCIES, contradictions)
    summary = summarise(kpis)
    differences = paired_differences(kpis, reference)
    targets = evaluate_targets(
        kpis,
        target_set,
        reference,
        growth=growth,
        reference_is_do_nothing=reference == REFERENCE_SCENARIO,
    )
    # Each locality's rows follow the whole area's (locality empty), in the same tables.
    places = _collect(folder, configs, replications, places=True)
    places = places.sort_values(
        ["scenario", "replication", "year", "locality", "metric"],
        key=lambda col: col.map(order) if col.name == "scenario" else col,
        kind="stable",
    )
    write_parquet(
        folder.root / "kpis.parquet",
        pd.concat([kpis.assign(locality=None), places], ignore_index=True),
    )
    write_csv(
        folder.root / "summary.csv",
        pd.concat([summary.assign(locality=None), by_locality(places, summarise)]),
    )
    write_csv(
        folder.root / "differences.csv",
        pd.concat(
            [
                differences.assign(locality=None),
                by_locality(places, lambda rows: paired_differences(rows, reference)),
            ]
        ),
    )
    write_csv(folder.root / "targets.csv", targets)
    outputs = ["kpis.parquet", "summary.csv", "differences.csv", "targets.csv", DISCREPANCIES]
    demonstrators = evaluate_demonstrators(places, configs, reference)
    if len(demonstrators):
        write_csv(folder.root / DEMONSTRATOR_FILE, demonstrators)
        outputs.append(DEMONSTRATOR_FILE)
    if priced:
        outputs += [*FINANCE_FILES, DISCREPANCIES]
    workbook_written()
    manifest["status"] = "complete"
    manifest["completed"] = now_iso()
    manifest["outputs"] = outputs
    folder.write_manifest(manifest)
    return BatchOutcome(folder, kpis, summary, differences, targets, manifest)


DISCREPANCIES = "plan_discrepancies.csv"


def saved_target_contradictions(folder: ResultsFolder) -> pd.DataFrame:
    """The targets' contradictions a finished run wrote, kept when finance is recomputed."""
    path = folder.root / DISCREPANCIES
    saved = pd.read_csv(path) if path.exists() else pd.DataFrame()
    if "kind" not in saved.columns:
        return pd.DataFrame(columns=DISCREPANCY_COLUMNS)
    return saved[saved["kind"] == TARGETS].reset_index(drop=True)


def write_finance_outputs(
    folder: ResultsFolder,
    kpis: pd.DataFrame,
    manifest: dict[str, Any],
    target_contradictions: pd.DataFrame,
) -> FinanceTables:
    """The run's own pricing at the folder's root: finance CSVs, the workbook and
    plan_discrepancies.csv (the targets' contradictions, then the value-at-risk table's)."""
    tables, workbook_written = start_finance_outputs(folder, kpis, manifest, target_contradictions)
    workbook_written()
    return tables


def start_finance_outputs(
    folder: ResultsFolder,
    kpis: pd.DataFrame,
    manifest: dict[str, Any],
    target_contradictions: pd.DataFrame,
    workers: int = 1,
) -> tuple[FinanceTables, Callable[[], None]]:
    """As :func:`write_finance_outputs`, with the two slowest parts (the pricing
    sensitivity's repricings and the workbook, about 1.3 s each for 48 five-year
    replications) on idle workers of the batch's pool when it has two or more; returns
    the tables and a wait for the workbook."""
    inputs, costs = load_pricing_inputs(folder.root)
    configs = {name: folder.read_config(name) for name in manifest["scenarios"]}
    reference = manifest["reference_scenario"]
    sensitivity = in_background(pricing_sensitivity, kpis, inputs, reference, workers=workers)
    tables = compute_finance(
        kpis, inputs, costs, configs, reference, target_contradictions, sensitivity
    )
    write_pricing(folder.root, tables, inputs, costs, manifest, DEFAULT_PRICING, workbook=False)
    write_csv(folder.root / DISCREPANCIES, tables.discrepancies)
    workbook = in_background(
        write_workbook,
        folder.root / WORKBOOK,
        tables,
        inputs,
        costs,
        manifest,
        DEFAULT_PRICING,
        workers=workers,
    )
    return tables, workbook
