"""Relations that must hold whatever the parameters: capacity, scale, stationarity."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import ModelConfig
from sim.loading import with_overrides
from sim.replication import run_replication
from tests.conftest import scaled

REPLICATIONS = 3


def paired_means(a: ModelConfig, b: ModelConfig, metric: str) -> tuple[float, float]:
    """Mean over years and replications of ``metric`` for two configs on common random numbers."""
    values_a = [run_replication(a, r).annual[metric].mean() for r in range(REPLICATIONS)]
    values_b = [run_replication(b, r).annual[metric].mean() for r in range(REPLICATIONS)]
    return float(np.mean(values_a)), float(np.mean(values_b))


def test_more_rapid_response_capacity_never_increases_admissions(small: ModelConfig) -> None:
    thin = with_overrides(small, {"services.rapid_response.staff": 1})
    rich = with_overrides(small, {"services.rapid_response.staff": 8})
    thin_adm, rich_adm = paired_means(thin, rich, "emergency_admissions")
    assert rich_adm <= thin_adm
    thin_home, rich_home = paired_means(thin, rich, "rrt_managed_at_home")
    assert rich_home > thin_home


@pytest.mark.parametrize(
    ("path", "more"),
    [
        (
            "services.ae.clinicians_by_hour",
            lambda c: [n + 1 for n in c.services.ae.clinicians_by_hour],
        ),
        ("services.wards.beds", lambda c: c.services.wards.beds + 15),
    ],
)
def test_more_capacity_never_means_more_waiting(small: ModelConfig, path: str, more) -> None:
    bigger = with_overrides(small, {path: more(small)})
    base_time, bigger_time = paired_means(small, bigger, "ae_mean_time_hours")
    assert bigger_time <= base_time


def test_doubling_the_population_about_doubles_activity(do_nothing: ModelConfig) -> None:
    one = scaled(do_nothing, 0.1, run__years=1, run__warmup_days=60)
    two = scaled(do_nothing, 0.2, run__years=1, run__warmup_days=60)
    a = run_replication(one, 0).annual.iloc[0]
    b = run_replication(two, 0).annual.iloc[0]
    for metric in ("urgent_episodes", "nhs111_calls", "ae_attendances", "ambulance_incidents"):
        assert b[metric] / a[metric] == pytest.approx(2.0, rel=0.04), metric
    assert b["emergency_admissions"] / a["emergency_admissions"] == pytest.approx(2.0, rel=0.07)


def test_no_growth_and_no_interventions_gives_flat_years(do_nothing: ModelConfig) -> None:
    flat = scaled(
        do_nothing,
        0.2,
        run__years=3,
        run__warmup_days=60,
        population__growth_per_year=0.0,
        demand__rate_trend_per_year=0.0,
    )
    annual = run_replication(flat, 0).annual
    for metric in ("urgent_episodes", "ae_attendances", "emergency_admissions"):
        values = annual[metric].to_numpy()
        assert values.max() / values.min() - 1 < 0.04, metric
