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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.batch import (
    BatchOptions,
    BatchOutcome,
    resume_batch,
    run_batch,
    saved_target_contradictions,
)
from sim.config import ModelConfig
from sim.costs import investment, load_cost_inputs
from sim.errors import InputError
from sim.executors import Backend
from sim.goal import GoalOutcome, GoalSettings
from sim.loading import OPTION, resolve, with_overrides
from sim.pricing import FinanceTables, compute_finance, load_pricing_inputs
from sim.replication import ReplicationResult, run_replication
from sim.store import ResultsFolder
from sim.tariffs import load_finance_inputs


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


def run_many(
    configs: Sequence[ModelConfig],
    out: str | Path,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    backend: Backend = "sequential",
) -> BatchOutcome:
    """A batch into a new results folder; ``replications=None`` chooses the count by precision."""
    options = BatchOptions(replications=replications, seed=seed, jobs=jobs, backend=backend)
    return run_batch(list(configs), Path(out), options)


def resume(out: str | Path, jobs: int | None = None) -> BatchOutcome:
    """Finish an interrupted batch from its results folder."""
    return resume_batch(Path(out), jobs)


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
    from sim.targets import load_targets

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
        "settings": {k: v for k, v in settings.__dict__.items() if k not in ("jobs", "backend")},
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
