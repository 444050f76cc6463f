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

from collections.abc import Mapping, Sequence
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
from sim.executors import Backend
from sim.loading import resolve, with_overrides
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
    config: ModelConfig, replication: int = 0, seed: int | None = None, event_log: bool = False
) -> ReplicationResult:
    """One replication: ``.annual`` (a row per year), ``.long()``, optional ``.event_log``."""
    return run_replication(config, replication, seed, event_log)


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
