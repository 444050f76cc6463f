"""Each lever's contribution: every scenario re-run with one lever off at a time.

The re-runs use the batch's seed and replication numbers, so each is paired
with the scenario's own replication (common random numbers): a lever's
contribution is the scenario minus the scenario without that lever, per
replication, with a t-interval over replications. Levers interact (two
levers can divert the same patient), so the contributions need not add up
to the scenario's whole difference from the reference; the remainder is
reported as its own row, ``interactions``, never spread over the levers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from sim.config import Interventions, ModelConfig
from sim.executors import Backend, Task, run_unordered
from sim.loading import with_overrides
from sim.store import ResultsFolder, whole_area, write_csv
from sim.summary import t_interval

DECOMPOSITION_FILE = "decomposition.csv"

# Simulated income of all providers' priced lines (£), added where the folder has a
# pricing: a lever's contribution to it is minus its contribution to income at risk.
INCOME_METRIC = "provider_income_simulated"
DECOMPOSED_METRICS: tuple[str, ...] = (
    "emergency_admissions",
    "ae_attendances",
    "ae_attendances_all_types",
    "bed_days",
    INCOME_METRIC,
)
IncomePricer = Callable[[pd.DataFrame], pd.DataFrame]
LEVERS: tuple[str, ...] = tuple(Interventions.model_fields)
WHOLE = "all levers together"
INTERACTIONS = "interactions"
COLUMNS = [
    "scenario",
    "lever",
    "year",
    "financial_year",
    "metric",
    "contribution",
    "ci_low",
    "ci_high",
    "n",
]
SEPARATOR = "~without~"  # in the re-run's scenario name; never in a user's (see ScenarioInfo)


def levers_on(config: ModelConfig) -> list[str]:
    """The levers a scenario switches on, in the order the config declares them."""
    return [name for name in LEVERS if getattr(config.interventions, name).enabled]


def without(config: ModelConfig, lever: str) -> ModelConfig:
    """The scenario with one lever off, named so its rows can be told apart."""
    name = f"{config.scenario.name}{SEPARATOR}{lever}"
    changed = with_overrides(config, {f"interventions.{lever}.enabled": False})
    return changed.model_copy(
        update={"scenario": changed.scenario.model_copy(update={"name": name})}
    )


def decomposition_tasks(
    configs: Sequence[ModelConfig], reference: str, replications: int, seed: int
) -> list[Task]:
    """One task per scenario, lever switched on and replication (the reference has none)."""
    return [
        Task(without(config, lever), r, seed)
        for config in configs
        if config.scenario.name != reference
        for lever in levers_on(config)
        for r in range(replications)
    ]


def run_decomposition(
    configs: Sequence[ModelConfig],
    kpis: pd.DataFrame,
    reference: str,
    replications: int,
    seed: int,
    backend: Backend = "sequential",
    jobs: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
    income: IncomePricer | None = None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Re-run every scenario without each of its levers and return the contributions.

    With ``income`` (KPI rows -> income rows under metric INCOME_METRIC), each
    lever's contribution to the providers' simulated income is decomposed too.
    """
    kpis = whole_area(kpis)  # a results folder's table also holds each locality's rows
    tasks = decomposition_tasks(configs, reference, replications, seed)
    parts = []
    for done, result in enumerate(run_unordered(tasks, backend, jobs, scheduler), start=1):
        parts.append(result.rows if income is not None else _decomposed(result.rows))
        if on_progress is not None:
            on_progress(done, len(tasks))
    reruns = pd.concat(parts, ignore_index=True) if parts else kpis.iloc[0:0]
    if income is not None:
        # Priced together, so every variant shares the reference's marginal-rate threshold.
        priced = income(pd.concat([kpis, reruns], ignore_index=True))
        rerun_names = set(reruns["scenario"])
        kpis = pd.concat([_decomposed(kpis), priced[~priced["scenario"].isin(rerun_names)]])
        reruns = pd.concat([_decomposed(reruns), priced[priced["scenario"].isin(rerun_names)]])
    return contributions(kpis, reruns, reference)


def _decomposed(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["metric"].isin(DECOMPOSED_METRICS)]


def decompose_results(
    folder: ResultsFolder,
    backend: Backend = "sequential",
    jobs: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
    income: IncomePricer | None = None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Decompose a finished run in its results folder; writes ``decomposition.csv``."""
    manifest = folder.read_manifest()
    configs = [folder.read_config(name) for name in manifest["scenarios"]]
    kpis = folder.read_kpis()
    table = run_decomposition(
        configs,
        kpis,
        manifest["reference_scenario"],
        int(manifest["replications"]["used"]),
        int(manifest["seed"]),
        backend,
        jobs,
        on_progress,
        income,
        scheduler,
    )
    write_csv(folder.root / DECOMPOSITION_FILE, table)
    return table


def contributions(kpis: pd.DataFrame, reruns: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per scenario, lever, year and metric: scenario minus scenario-without-lever, paired by
    replication; then the whole difference from the reference and the interactions."""
    keep = kpis[kpis["metric"].isin(DECOMPOSED_METRICS)]
    wide = keep.pivot_table(
        index=["scenario", "year", "financial_year", "metric"],
        columns="replication",
        values="value",
        aggfunc="first",
    )
    rerun_wide = (
        reruns.pivot_table(
            index=["scenario", "year", "financial_year", "metric"],
            columns="replication",
            values="value",
            aggfunc="first",
        )
        if len(reruns)
        else None
    )
    rows: list[tuple[object, ...]] = []
    scenarios = [s for s in dict.fromkeys(keep["scenario"]) if s != reference]
    for scenario in scenarios:
        levers = sorted(
            {
                str(name).split(SEPARATOR, 1)[1]
                for name in (reruns["scenario"].unique() if len(reruns) else [])
                if str(name).startswith(f"{scenario}{SEPARATOR}")
            },
            key=LEVERS.index,
        )
        for (year, label, metric), full in wide.loc[scenario].iterrows():
            full_values = full.to_numpy(dtype=float)
            base = wide.loc[(reference, year, label, metric)].to_numpy(dtype=float)
            whole = full_values - base
            rows.append(_row(scenario, WHOLE, year, label, metric, whole))
            summed = np.zeros_like(whole)
            for lever in levers:
                assert rerun_wide is not None
                off = rerun_wide.loc[(f"{scenario}{SEPARATOR}{lever}", year, label, metric)]
                change = full_values - off.to_numpy(dtype=float)
                summed += change
                rows.append(_row(scenario, lever, year, label, metric, change))
            if levers:
                rows.append(_row(scenario, INTERACTIONS, year, label, metric, whole - summed))
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(
    scenario: str, lever: str, year: int, label: str, metric: str, values: np.ndarray
) -> tuple[object, ...]:
    mean, _, low, high = t_interval(values)
    return (scenario, lever, int(year), label, metric, mean, low, high, int(values.size))


__all__ = [
    "DECOMPOSED_METRICS",
    "DECOMPOSITION_FILE",
    "INCOME_METRIC",
    "INTERACTIONS",
    "LEVERS",
    "WHOLE",
    "contributions",
    "decompose_results",
    "decomposition_tasks",
    "levers_on",
    "run_decomposition",
    "without",
]
