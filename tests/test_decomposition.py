"""Each lever's contribution: paired re-runs with one lever off, and the interactions row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.config import ModelConfig
from sim.decomposition import (
    INTERACTIONS,
    WHOLE,
    contributions,
    levers_on,
    run_decomposition,
    without,
)
from sim.replication import run_replication
from tests.conftest import long_kpis, scaled

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not


def test_contributions_are_paired_and_interactions_close_the_sum() -> None:
    """Plan = do nothing - 100 - 50 - 20 (both levers together save 20 more than apart)."""
    metric = "emergency_admissions"
    kpis = long_kpis(
        {("do-nothing", r, 0): 1000.0 + r for r in range(3)}
        | {("plan", r, 0): 830.0 + r for r in range(3)},
        metric,
    )
    reruns = long_kpis(
        {("plan~without~case_management", r, 0): 930.0 + r for r in range(3)}
        | {("plan~without~extended_gp_access", r, 0): 880.0 + r for r in range(3)},
        metric,
    )
    table = contributions(kpis, reruns, "do-nothing").set_index("lever")["contribution"]
    assert table[WHOLE] == pytest.approx(-170)
    assert table["case_management"] == pytest.approx(-100)
    assert table["extended_gp_access"] == pytest.approx(-50)
    assert table[INTERACTIONS] == pytest.approx(-20)


def test_a_lever_not_yet_started_contributes_exactly_nothing(best_case: ModelConfig) -> None:
    """Common random numbers: in year 0, before any lever starts, the scenario without a
    lever is the same run, so every contribution is exactly zero; in year 1 it is not."""
    config = scaled(best_case, 0.1, run__years=2, run__warmup_days=30)
    levers = levers_on(config)
    assert "extended_gp_access" in levers and without(config, levers[0]).scenario.name != (
        config.scenario.name
    )
    reference = config.model_copy(
        update={"scenario": config.scenario.model_copy(update={"name": "reference"})}
    )
    kpis = pd.concat(
        [run_replication(c, r, 7).long() for c in (reference, config) for r in range(2)],
        ignore_index=True,
    )
    table = run_decomposition([reference, config], kpis, "reference", 2, 7)
    levers_only = table[~table["lever"].isin([WHOLE, INTERACTIONS])]
    assert set(levers_only["lever"]) == set(levers)
    year0 = levers_only[levers_only["year"] == 0]
    assert (year0["contribution"] == 0).all()
    access = levers_only[
        (levers_only["year"] == 1)
        & (levers_only["lever"] == "extended_gp_access")
        & (levers_only["metric"] == "ae_attendances_all_types")
    ]
    assert float(access["contribution"].iloc[0]) < 0
    assert np.isfinite(table["ci_low"]).all()
