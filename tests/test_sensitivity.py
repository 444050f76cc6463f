"""Sensitivity: the tornado ranks a constructed dominant parameter first; Morris runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.batch import BatchOptions
from sim.config import ModelConfig
from sim.sensitivity import ParameterRange, default_ranges, morris, one_way, plot_tornado
from tests.conftest import scaled

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not


def tiny(config: ModelConfig) -> ModelConfig:
    return scaled(config, 0.1, run__years=2, run__warmup_days=30)


RANGES = [
    ParameterRange("services.rapid_response.visit_hours_mean", 1.9, 2.1),
    ParameterRange("services.ae.admit_probability.medium", 0.05, 0.5),  # dominant by construction
    ParameterRange("interventions.care_home_gp_cover.episode_rate_multiplier", 0.8, 0.9),
]


def test_tornado_ranks_the_dominant_parameter_first(
    do_nothing: ModelConfig, best_case: ModelConfig, tmp_path: Path
) -> None:
    result = one_way(
        tiny(best_case),
        tiny(do_nothing),
        RANGES,
        tmp_path / "ow",
        BatchOptions(replications=2, seed=3),
    )
    admissions = result.table[result.table["output"] == "emergency_admissions"]
    assert admissions.iloc[0]["parameter"] == "services.ae.admit_probability.medium"
    top = admissions.iloc[0]
    assert top["effect_at_low"] < 0 < top["effect_at_high"]  # more admitted at a higher probability
    assert set(result.table["output"]) == {"emergency_admissions", "income_at_risk"}
    assert (tmp_path / "ow" / "tornado.csv").exists()
    plot_tornado(result.table, tmp_path / "ow" / "tornado.png", "test")
    assert (tmp_path / "ow" / "tornado.png").stat().st_size > 10_000


def test_morris_screening_runs_and_ranks(
    do_nothing: ModelConfig, best_case: ModelConfig, tmp_path: Path
) -> None:
    table = morris(
        tiny(best_case),
        tiny(do_nothing),
        RANGES[:2],
        tmp_path / "mo",
        BatchOptions(replications=1, seed=3),
        trajectories=3,
    )
    admissions = table[table["output"] == "emergency_admissions"]
    assert admissions.iloc[0]["parameter"] == "services.ae.admit_probability.medium"
    assert pd.read_csv(tmp_path / "mo" / "morris.csv").shape[0] == 4


def test_default_ranges_bracket_the_scenario_values(best_case: ModelConfig) -> None:
    ranges = default_ranges(best_case)
    assert len(ranges) == 12
    for r in ranges:
        assert r.low <= r.high
    probability = next(r for r in ranges if r.path.endswith("admit_probability.medium"))
    assert probability.high <= 1.0
