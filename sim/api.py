"""The stable Python API: load, modify, run, get DataFrames back.

Everything here is re-exported from :mod:`sim`; names and signatures are kept
stable across releases (see CHANGELOG.md). A typical study::

    import sim

    base = sim.load_scenario("scenarios/base-case.toml")          # area: dudley
    bigger = sim.modify(base, {"services.rapid_response.staff": 8})
    one = sim.run_one(bigger, replication=0)                       # annual metrics
    batch = sim.run_many([base, sim.rename(bigger, "bigger-rrt")], "results/study", replications=10)
    batch.summary, batch.differences, batch.targets                # DataFrames

Configs are immutable: ``modify`` returns a new validated config and never
changes the one it was given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.batch import (
    BatchOptions,
    BatchOutcome,
    EstimateCallback,
    resume_batch,
    run_batch,
    saved_target_contradictions,
    write_finance_outputs,
)
from sim.config import ModelConfig
from sim.cost_file import load_cost_inputs
from sim.costs import investment
from sim.errors import InputError
from sim.executors import Backend
from sim.goal import GoalOutcome, GoalSettings
from sim.loading import (
    OPTION,
    ResolvedConfig,
    area_dir,
    config_differences,
    default_scenario_paths,
    list_area_dirs,
    parse_override,
    resolve,
    with_overrides,
)
from sim.pricing import (
    DEFAULT_PRICING,
    PRICINGS_DIR,
    PROVIDERS_FILE,
    WORKBOOK,
    FinanceTables,
    compute_finance,
    income_pricer,
    load_pricing_inputs,
    write_pricing,
    write_pricing_record,
)
from sim.replication import ReplicationResult, run_replication
from sim.store import ResultsFolder, command_line, now_iso, write_csv
from sim.tariffs import load_finance_inputs
from sim.timeline import timeline_for

if TYPE_CHECKING:
    from sim.calibration import Fit, FitIteration
    from sim.warmup import WarmupAnalysis


def load_scenario(
    path: str | Path, area: str | None = None, overrides: Sequence[str] = ()
) -> ModelConfig:
    """Resolve a scenario file against an area (default: the scenario's, else dudley)."""
    return resolve(Path(path), area=area, overrides=overrides).config


def modify(config: ModelConfig, changes: Mapping[str, Any]) -> ModelConfig:
    """A new config with dotted-path values replaced and validated like ``--set``."""
    return with_overrides(config, changes)


def rename(config: ModelConfig, name: str) -> ModelConfig:
    """The same config under another scenario name (names must be unique in a batch)."""
    return config.renamed(name)


def run_one(
    config: ModelConfig,
    replication: int = 0,
    seed: int | None = None,
    event_log: bool = False,
    trace: int | Sequence[int] | None = None,
) -> ReplicationResult:
    """One replication: ``.annual`` (a row per year), ``.long()``, optional ``.event_log``.

    ``trace=N`` follows the first N episodes after the warm-up that reach a service
    (or ``trace=[ids]`` those episodes) step by step: ``.trace`` has one row per step
    (time, episode, service, step, resource, wait in hours, what happened).
    """
    return run_replication(config, replication, seed, event_log, trace)


def follow(
    configs: Sequence[ModelConfig], episodes: int = 10, seed: int | None = None
) -> pd.DataFrame:
    """Replication 0 of each scenario with its first ``episodes`` patients after the
    warm-up followed step by step (the same patients in every scenario: common random
    numbers). One row per step, with a ``scenario`` column."""
    frames = []
    for config in configs:
        trace = run_replication(config, 0, seed, trace=episodes).trace
        assert trace is not None
        frames.append(trace.assign(scenario=config.scenario.name))
    frame = pd.concat(frames, ignore_index=True)
    return frame[["scenario", *(c for c in frame.columns if c != "scenario")]]


TRACE_FILE = "trace.csv"  # the followed patients' steps (``trace=``)
ProgressCallback = Callable[..., None]


def run_many(
    configs: Sequence[ModelConfig],
    out: str | Path,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    backend: Backend = "sequential",
    *,
    scheduler: str | None = None,
    precision: float = 0.05,
    max_replications: int = 50,
    report: bool = False,
    trace: int | None = None,
    on_progress: ProgressCallback | None = None,
    on_batch_done: Callable[[BatchOutcome], None] | None = None,
    on_estimate: EstimateCallback | None = None,
) -> BatchOutcome:
    """A batch into a new results folder; ``replications=None`` chooses the count by
    precision. ``report=True`` also writes report.html and board_paper.docx (as ``ucsim
    run`` does); ``trace=N`` follows N patients in every scenario into trace.csv.
    ``on_batch_done`` sees the results before the (slower) report is written;
    ``on_estimate`` the planned replications and their expected time, after the first
    wave."""
    options = BatchOptions(
        replications=replications,
        seed=seed,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        precision=precision,
        max_replications=max_replications,
        report=report,
    )
    outcome = run_batch(list(configs), Path(out), options, on_progress, on_estimate)
    if on_batch_done is not None:
        on_batch_done(outcome)
    finish_report(outcome.folder)
    if trace is not None:
        write_csv(outcome.folder.root / TRACE_FILE, follow(configs, trace, seed))
    return outcome


def resume(
    out: str | Path,
    jobs: int | None = None,
    backend: Backend | None = None,
    scheduler: str | None = None,
    on_progress: ProgressCallback | None = None,
    on_batch_done: Callable[[BatchOutcome], None] | None = None,
    on_estimate: EstimateCallback | None = None,
) -> BatchOutcome:
    """Finish an interrupted batch from its results folder, and its report if it had one
    coming (a run stopped while writing its report is finished too)."""
    outcome = resume_batch(Path(out), jobs, backend, scheduler, on_progress, on_estimate)
    if on_batch_done is not None:
        on_batch_done(outcome)
    finish_report(outcome.folder)
    return outcome


def finish_report(folder: ResultsFolder) -> bool:
    """Write the report of a finished batch whose manifest says it is still pending; the
    manifest says "pending" until every file is written, so a kill in this phase leaves a
    run that ``resume`` completes. Returns whether a report was written."""
    manifest = folder.read_manifest()
    if manifest.get("report") != "pending":
        return False  # without loading the report's libraries (about 1 s)
    from sim.documents import write_report

    write_report(folder.root)
    manifest["report"] = "written"
    folder.write_manifest(manifest)
    return True


def results(out: str | Path) -> dict[str, pd.DataFrame]:
    """The tables of a finished run, by file stem (kpis, summary, differences, targets, ...)."""
    folder = Path(out)
    tables = {"kpis": pd.read_parquet(folder / "kpis.parquet")}
    names = (
        "summary",
        "differences",
        "targets",
        "finance",
        "finance_decomposition",
        "reconciliation",
        "investment",
        "net_position",
        "finance_sensitivity",
        "priced_activity",
        "plan_comparison",
        "plan_discrepancies",
    )
    for name in names:
        path = folder / f"{name}.csv"
        if path.exists():
            tables[name] = pd.read_csv(path)
    return tables


def reprice(out: str | Path, tariff_changes: Mapping[str, Any] | None = None) -> FinanceTables:
    """Reprice a finished run in memory (nothing is written): income at risk, its
    decomposition, reconciliation, investment and net position, with ``tariff_changes``
    (dotted tariffs.toml paths) applied to the run's own finance inputs."""
    folder = ResultsFolder(Path(out))
    manifest = folder.read_manifest()
    inputs, costs = load_pricing_inputs(folder.root, overrides=dict(tariff_changes or {}))
    configs = {name: folder.read_config(name) for name in manifest["scenarios"]}
    return compute_finance(
        folder.read_kpis(),
        inputs,
        costs,
        configs,
        manifest["reference_scenario"],
        saved_target_contradictions(folder),
    )


def intervention_costs(
    configs: Mapping[str, ModelConfig],
    kpis: pd.DataFrame,
    reference: str,
    costs_path: str | Path,
    tariffs_path: str | Path,
) -> pd.DataFrame:
    """What each scenario's levers cost over ``reference``, per year and item (£ in the
    tariffs' price base): the quantity the goal-seeking search trades against savings."""
    tariffs = load_finance_inputs(
        Path(tariffs_path).with_name("providers.toml"), Path(tariffs_path)
    ).tariffs
    base = tariffs.price_base
    inputs = load_cost_inputs(Path(costs_path), base.financial_year, base.cost_uplift)
    return investment(configs, kpis, inputs, reference)


def goal(
    reference_file: str | Path,
    ambition_file: str | Path,
    out: str | Path,
    area: str | None = None,
    overrides: Sequence[str] = (),
    settings: GoalSettings | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> GoalOutcome:
    """The cheapest mix of the levers between two scenarios that meets the area's targets
    with the required probability (``ucsim goal``); writes the chosen scenario file, the
    frontier chart and goal.html into ``out``. ``out`` must be new or empty, or a goal
    folder of the same request (its stored replications are reused: a resume)."""
    from sim.area_inputs import TARGETS_FILE, check_area_inputs
    from sim.batch import model_growth
    from sim.goal import choose_targets, default_space, run_goal
    from sim.goal_report import write_goal_outputs
    from sim.loading import area_dir, config_sha256
    from sim.store import write_json
    from sim.target_file import load_targets

    settings = settings or GoalSettings()
    reference = resolve(Path(reference_file), area=area, overrides=overrides).config
    ambition = resolve(Path(ambition_file), area=area, overrides=overrides).config
    folder = area_dir(reference.area.name)
    check_area_inputs(folder)
    targets = load_targets(folder / TARGETS_FILE)
    choose_targets(targets, settings.targets)  # unknown targets or levers: before any file
    default_space(reference, ambition, settings.fractions, only=settings.levers)
    request = {
        "reference_file": str(Path(reference_file).resolve()),
        "ambition_file": str(Path(ambition_file).resolve()),
        "area": reference.area.name,
        "overrides": list(overrides),
        "settings": {  # where it runs is not what it computes
            k: v for k, v in settings.__dict__.items() if k not in ("jobs", "backend", "scheduler")
        },
        "config_sha256": [config_sha256(reference), config_sha256(ambition)],
    }
    request = json.loads(json.dumps(request))  # as goal.json will hold it (lists, not tuples)
    root = Path(out)
    _claim_goal_folder(root, request)
    write_json(root / "goal.json", {"tool": "ucsim goal", "status": "running", "request": request})
    outcome = run_goal(
        reference,
        ambition,
        targets,
        model_growth(reference),
        root,
        settings,
        on_progress,
    )
    write_goal_outputs(outcome, Path(reference_file))
    final = json.loads((root / "goal.json").read_text(encoding="utf-8"))
    write_json(root / "goal.json", {**final, "request": request})
    return outcome


def goal_request(folder: str | Path) -> dict[str, Any]:
    """The request a goal folder was made with (to resume it)."""
    path = Path(folder) / "goal.json"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8"))["request"])
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError.single(
            str(path),
            "request",
            str(folder),
            "not a ucsim goal folder (goal.json missing or damaged)",
        ) from None


def _claim_goal_folder(root: Path, request: dict[str, Any]) -> None:
    """A new or empty folder, or one holding the same request (resumed); never a folder
    with anything else in it."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        if not (root / "goal.json").exists():
            raise InputError.single(
                OPTION,
                "--out",
                str(root),
                "is a file or a folder with other files in it: choose a new folder",
            )
        before = goal_request(root)
        if before != request:
            changed = sorted(k for k in request if before.get(k) != request[k])
            raise InputError.single(
                OPTION,
                "--out",
                str(root),
                f"holds a goal search with other inputs ({', '.join(changed)} differ): "
                "choose a new folder",
            )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError.single(
            OPTION, "--out", str(root), f"cannot be written: {exc.strerror}"
        ) from None


# --------------------------------------------------------------- studies and outputs
# One function per CLI command that is not above: the CLI parses, calls these and
# renders. Heavy modules (SALib, matplotlib, python-docx) are imported on first use.


@dataclass(frozen=True)
class Calibration:
    """What ``calibrate`` did: the fit, its report on a fresh seed, the identifiability
    check (None if skipped) and the files written (empty: the fit was unchanged)."""

    fit: Fit
    report: pd.DataFrame
    identifiability: pd.DataFrame | None
    written: list[Path]
    folder: Path


def calibrate(
    area: str = "dudley",
    replications: int = 4,
    seed: int = 1,
    jobs: int = 1,
    backend: Backend = "loky",
    scheduler: str | None = None,
    identifiability: bool = True,
    on_iteration: Callable[[str, FitIteration], None] | None = None,
) -> Calibration:
    """Fit the area's baseline year to ``calibration/AREA/baseline.toml``; write
    ``fitted.toml``, ``fit_report.csv`` and the history (only if the fit changed)."""
    from sim.baseline_file import load_baseline
    from sim.calibration import fit, fit_report, fit_targets, write_outputs
    from sim.calibration import identifiability as refit_from_elsewhere

    folder = area_dir(area)
    baseline = load_baseline(folder / "baseline.toml")
    base = resolve(default_scenario_paths()[0], area=area, include_fitted=False).config
    targets = fit_targets(baseline, base)

    def shown(label: str) -> Callable[[FitIteration], None] | None:
        if on_iteration is None:
            return None
        return lambda step: on_iteration(label, step)

    result = fit(
        base,
        targets,
        replications,
        seed,
        jobs,
        on_iteration=shown("fit"),
        backend=backend,
        scheduler=scheduler,
    )
    checks = max(replications, 5)
    report = fit_report(result.config, baseline, checks, seed + 1, jobs, backend, scheduler)
    ident = (
        refit_from_elsewhere(
            base,
            targets,
            result,
            replications,
            seed,
            jobs,
            on_iteration=shown("refit from 0.7"),
            backend=backend,
            scheduler=scheduler,
        )
        if identifiability
        else None
    )
    written = write_outputs(folder, result, report, ident, area)
    return Calibration(result, report, ident, written, folder)


def sweep(
    config: ModelConfig,
    vary: Sequence[str],
    out: str | Path,
    replications: int = 5,
    seed: int | None = None,
    jobs: int = 1,
    backend: Backend = "loky",
    on_progress: ProgressCallback | None = None,
    *,
    scheduler: str | None = None,
    on_estimate: EstimateCallback | None = None,
) -> tuple[BatchOutcome, pd.DataFrame]:
    """A grid of parameter values (``vary``: ``path=start:stop:step`` or ``path=a,b,c``),
    each with replications; writes sweep.csv and sweep.png into ``out``."""
    from sim.sweep import grid, parse_variation, plot_sweep, run_sweep

    variations = [parse_variation(text) for text in vary]
    grid(config, variations)  # every grid point validated before anything starts
    options = BatchOptions(
        replications=replications, seed=seed, jobs=jobs, backend=backend, scheduler=scheduler
    )
    outcome, table = run_sweep(config, variations, Path(out), options, on_progress, on_estimate)
    plot_sweep(table, variations, Path(out) / "sweep.png")
    return outcome, table


def sensitivity(
    config: ModelConfig,
    reference: ModelConfig,
    out: str | Path,
    method: str = "oneway",
    params: Sequence[str] | None = None,
    replications: int = 2,
    trajectories: int = 6,
    seed: int | None = None,
    jobs: int = 1,
    on_progress: ProgressCallback | None = None,
    *,
    backend: Backend = "loky",
    scheduler: str | None = None,
    on_estimate: EstimateCallback | None = None,
) -> pd.DataFrame:
    """Rank parameters by how much they move emergency admissions and income at risk:
    ``oneway`` (a tornado, tornado.png) or ``morris`` (SALib screening). ``params`` are
    ``path=low:high``; by default the documented set."""
    from sim.sensitivity import default_ranges, morris, one_way, parse_range, plot_tornado

    ranges = [parse_range(t) for t in params] if params else default_ranges(config)
    options = BatchOptions(
        replications=replications, seed=seed, jobs=jobs, backend=backend, scheduler=scheduler
    )
    folder = Path(out)
    if method == "morris":
        return morris(
            config,
            reference,
            ranges,
            folder,
            options,
            trajectories,
            on_progress=on_progress,
            on_estimate=on_estimate,
        )
    table = one_way(config, reference, ranges, folder, options, on_progress, on_estimate).table
    final_year = timeline_for(config).financial_year(config.run.years - 1)
    title = f"{config.area.display_name}: {config.scenario.name}, {final_year}"
    plot_tornado(table, folder / "tornado.png", title)
    return table


def warmup(
    configs: Sequence[ModelConfig],
    out: str | Path,
    days: int = 365,
    replications: int = 5,
    seed: int | None = None,
    jobs: int = 1,
    backend: Backend = "loky",
    scheduler: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> WarmupAnalysis:
    """Run each scenario from empty and suggest a warm-up (MSER-5); writes warmup.png,
    warmup_series.csv and warmup_truncation.csv into ``out``."""
    from sim.warmup import analyse_warmup, plot_warmup

    analysis = analyse_warmup(
        configs, days, replications, seed, backend, jobs, scheduler, on_progress
    )
    folder = Path(out)
    plot_warmup(analysis, folder / "warmup.png", configs[0].area.display_name)
    write_csv(folder / "warmup_series.csv", analysis.daily)
    write_csv(folder / "warmup_truncation.csv", analysis.truncation)
    return analysis


def report(results: str | Path, formats: Sequence[str] = ("html", "docx", "xlsx")) -> list[Path]:
    """Write report.html, board_paper.docx (and the finance workbook, where the run's own
    pricing has none yet) for a finished run; returns the files written."""
    from sim.documents import write_report

    root = Path(results)
    unknown = sorted(set(formats) - {"html", "docx", "xlsx"})
    if unknown:
        raise InputError.single(
            OPTION,
            "--format",
            ",".join(formats),
            f"unknown formats {unknown}; choose from html, docx, xlsx",
        )
    folder = ResultsFolder(root)
    manifest = folder.read_manifest()
    written: list[Path] = []
    if (
        "xlsx" in formats
        and (root / PROVIDERS_FILE).exists()
        and not (root / "finance.csv").exists()
    ):
        write_finance_outputs(
            folder, folder.read_kpis(), manifest, saved_target_contradictions(folder)
        )
        written.append(root / WORKBOOK)
    written += write_report(root, tuple(f for f in formats if f != "xlsx"))
    return written


def decompose(
    results: str | Path,
    jobs: int = 1,
    backend: Backend = "loky",
    on_progress: Callable[[int, int], None] | None = None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Each lever's contribution: every scenario re-run with one lever off at a time (same
    seed and replications); writes decomposition.csv and refreshes the report."""
    from sim.decomposition import decompose_results
    from sim.documents import write_report

    root = Path(results)
    folder = ResultsFolder(root)
    pricer = income_pricer(root, folder.read_manifest()["reference_scenario"])
    table = decompose_results(folder, backend, jobs, on_progress, pricer, scheduler)
    write_report(root, ("html", "docx"))
    return table


def validate(
    paths: Sequence[str | Path], area: str | None = None, overrides: Sequence[str] = ()
) -> list[ResolvedConfig]:
    """Resolve and check scenario files (with their area's inputs); raises InputError."""
    return [resolve(Path(p), area=area, overrides=list(overrides)) for p in paths]


def diff(
    first: str | Path, second: str | Path, area: str | None = None, overrides: Sequence[str] = ()
) -> list[tuple[str, Any, Any]]:
    """The parameters in which two resolved scenarios differ: (path, first, second)."""
    a = resolve(Path(first), area=area, overrides=list(overrides)).config
    b = resolve(Path(second), area=area, overrides=list(overrides)).config
    return config_differences(a, b)


def areas() -> list[str]:
    """The shipped areas (folders under calibration/ with an area.toml)."""
    return [folder.name for folder in list_area_dirs()]


@dataclass(frozen=True)
class Pricing:
    """A new named pricing of a finished run (``finance``): its tables, name, folder, its
    files and the report files refreshed to list it."""

    tables: FinanceTables
    name: str
    folder: Path
    files: list[Path]
    report: list[Path]


def finance(
    results: str | Path,
    overrides: Sequence[str] = (),
    name: str | None = None,
    providers: str | Path | None = None,
    tariffs: str | Path | None = None,
    force: bool = False,
) -> Pricing:
    """Reprice a finished run (no re-simulation) as a new, named pricing in
    ``finance/NAME/``, recorded in the manifest, and refresh the report. The run's own
    pricing at the folder's root is never changed (:func:`reprice` works in memory)."""
    from sim.documents import write_report

    results = Path(results)
    providers = None if providers is None else Path(providers)
    tariffs = None if tariffs is None else Path(tariffs)
    folder = ResultsFolder(results)
    manifest = folder.read_manifest()
    if not (results / "kpis.parquet").exists():
        raise InputError.single(str(results), "kpis.parquet", "", "not a finished ucsim run")
    changes = dict(parse_override(text) for text in overrides)
    inputs, costs = load_pricing_inputs(results, providers, tariffs, changes)
    pricing_name = name or _next_pricing_name(results)
    if pricing_name == DEFAULT_PRICING or not re.fullmatch(
        r"[A-Za-z0-9][A-Za-z0-9_.-]*", pricing_name
    ):
        raise InputError.single(
            OPTION,
            "--name",
            pricing_name,
            f"letters, digits, '.', '_' and '-' only, and not '{DEFAULT_PRICING}'",
        )
    directory = results / PRICINGS_DIR / pricing_name
    if directory.exists() and not force:
        raise InputError.single(
            OPTION,
            "--name",
            pricing_name,
            f"{directory} exists: choose another --name or add --force to replace it",
        )
    kpis = folder.read_kpis()
    configs = {scenario: folder.read_config(scenario) for scenario in manifest["scenarios"]}
    tables = compute_finance(
        kpis,
        inputs,
        costs,
        configs,
        manifest["reference_scenario"],
        saved_target_contradictions(folder),
    )
    files = write_pricing(directory, tables, inputs, costs, manifest, pricing_name)
    for source in inputs.files:
        (directory / Path(source).name).write_text(
            Path(source).read_text(encoding="utf-8"), encoding="utf-8"
        )
    description = "; ".join(overrides) or "other input files"
    write_pricing_record(
        directory,
        {
            "name": pricing_name,
            "description": description,
            "overrides": list(overrides),
            "inputs": list(inputs.files),
            "created": now_iso(),
            "command": command_line(),
        },
    )
    manifest.setdefault("pricings", []).append(
        {"name": pricing_name, "at": now_iso(), "command": command_line()}
    )
    folder.write_manifest(manifest)
    report = write_report(results, ("html", "docx"))
    return Pricing(tables, pricing_name, directory, list(files), report)


def _next_pricing_name(results: Path) -> str:
    existing = {p.name for p in (results / PRICINGS_DIR).glob("*")}
    n = 1
    while f"pricing-{n}" in existing:
        n += 1
    return f"pricing-{n}"
