"""Domain behaviour the plan's questions depend on."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import ModelConfig
from sim.replication import run_replication
from tests.conftest import scaled


@pytest.fixture(scope="module")
def logged_do_nothing(small: ModelConfig):
    return run_replication(small, 0, event_log=True)


def test_high_risk_cohort_regresses_to_the_mean_without_intervention(logged_do_nothing) -> None:
    log = logged_do_nothing.event_log
    ltc = log[(log["person"] >= 0) & (log["report_year"] >= 0)]
    counts = ltc.groupby(["person", "report_year"]).size().unstack(fill_value=0)
    top = counts[0].sort_values(ascending=False).index[: max(1, len(counts) // 50)]
    year0, year1 = counts.loc[top, 0].sum(), counts.loc[top, 1].sum()
    assert year1 < 0.6 * year0  # the top 2% fall back on their own
    assert counts.loc[top, 1].mean() > counts[1].mean()  # but stay above average (frailty)


def test_acs_admissions_arise_from_medium_acuity_ltc_episodes(logged_do_nothing) -> None:
    log = logged_do_nothing.event_log
    acs = log[log["acs"]]
    assert len(acs) > 0
    assert acs["ltc"].all() and (acs["acuity"] == 1).all()
    groups = set(log["outcome_group"].dropna())
    assert groups <= {
        "in_progress",
        "resolved",
        "managed_at_home",
        "discharged_from_ae",
        "admitted",
    }
    assert {"resolved", "admitted", "discharged_from_ae"} <= groups
    annual = logged_do_nothing.annual
    assert (annual["acs_admissions"] < annual["emergency_admissions"]).all()
    admitted_acs = (log["acs"] & (log["outcome"] == "admitted")).sum()
    assert admitted_acs > 0


def test_interventions_only_remove_episodes_do_nothing_has(
    do_nothing: ModelConfig, best_case: ModelConfig
) -> None:
    """Common random numbers: candidates identical, so kept + prevented = do-nothing, exactly."""
    settings = {"run__years": 3, "run__warmup_days": 60}
    dn = run_replication(scaled(do_nothing, 0.2, **settings), 2).annual
    best = run_replication(scaled(best_case, 0.2, **settings), 2).annual
    np.testing.assert_array_equal(
        dn["urgent_episodes"], best["urgent_episodes"] + best["episodes_prevented"]
    )
    assert (dn["episodes_prevented"] == 0).all()
    assert best["episodes_prevented"].iloc[0] == 0  # levers start in year 1
    assert best["episodes_prevented"].iloc[2] > 0
    assert best["emergency_admissions"].iloc[2] < dn["emergency_admissions"].iloc[2]


def test_default_area_year0_is_plausible_against_national_rates(do_nothing: ModelConfig) -> None:
    """Emergency admissions near 100 per 1,000, type 1 A&E near 270 per 1,000 (domain.md)."""
    from sim.loading import with_overrides

    year0 = run_replication(with_overrides(do_nothing, {"run.years": 1}), 0).annual.iloc[0]
    per_1000 = 1000 / year0["population"]
    assert 70 <= year0["emergency_admissions"] * per_1000 <= 130
    assert 200 <= year0["ae_attendances"] * per_1000 <= 380
    assert 0.6 <= year0["ambulance_conveyances"] / year0["ambulance_incidents"] <= 0.85
    assert 0.2 <= year0["ae_conversion_rate"] <= 0.35
    assert 4.5 <= year0["mean_length_of_stay"] <= 8.0
