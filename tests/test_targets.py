"""Targets scored on their own indicator: stated baselines, back-casts, the gap, and the
statuses that replace a colour when a colour would mislead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.loading import area_dir
from sim.plan import target_discrepancies
from sim.report import share_of_requirement, signed_range
from sim.target_file import MET_WITHOUT_PLAN, StatedBaseline, Target, TargetSet, load_targets
from sim.targets import Growth, evaluate_targets
from tests.conftest import long_kpis as frame


def target(kind: str, value: float | None, years: list[str], **extra: object) -> Target:
    return Target.model_validate(
        {
            "id": extra.pop("id", "t"),
            "description": "d",
            "metric": "m_per_100k",
            "kind": kind,
            "value": value,
            "years": years,
            "source": "s",
            "confidence": "S",
            **extra,
        }
    )


@pytest.fixture
def run() -> pd.DataFrame:
    """Four replications; year 0 = 1,000 in both; year 1: do nothing 1,000, plan 900-960."""
    values: dict[tuple[str, int, int], float] = {}
    for r, plan in enumerate([900.0, 920.0, 940.0, 960.0]):
        values |= {("do-nothing", r, 0): 1000.0, ("plan", r, 0): 1000.0}
        values |= {("do-nothing", r, 1): 1000.0, ("plan", r, 1): plan}
    return frame(values, "m_per_100k")


def rows(run: pd.DataFrame, *targets: Target, **kwargs: object) -> pd.DataFrame:
    table = evaluate_targets(run, TargetSet(target=list(targets)), "do-nothing", **kwargs)
    return table.set_index(["scenario", "target_id"])


def test_level_target_on_a_missed_baseline_gets_no_colour(run: pd.DataFrame) -> None:
    missed = target("absolute", 950, ["2015/16"], baseline={"year": "2014/15", "value": 1500})
    table = rows(run, missed)
    assert table.loc[("plan", "t"), "status"] == "baseline mismatch"
    assert table.loc[("plan", "t"), "baseline_ratio"] == pytest.approx(1000 / 1500)
    assert "1,500" in table.loc[("plan", "t"), "note"]
    close = target("absolute", 950, ["2015/16"], baseline={"year": "2014/15", "value": 1050})
    assert rows(run, close).loc[("plan", "t"), "status"] == "amber"  # 900, 920, 940 of 4


def test_back_cast_baseline_uses_the_model_growth(run: pd.DataFrame) -> None:
    """A rate stated for 2012/13 is compared with year 0 / (1 + trend)^2."""
    stated = target("absolute", 950, ["2015/16"], baseline={"year": "2012/13", "value": 1000})
    table = rows(run, stated, growth=Growth(list_growth=0.5, per_capita_trend=0.05))
    assert table.loc[("plan", "t"), "model_baseline"] == pytest.approx(1000 / 1.05**2)
    # Relative reading: the stated -5% applied to the back-cast baseline (913.1 at 2%).
    relative = target(
        "relative_to_stated_baseline", 950, ["2015/16"], baseline={"year": "2012/13", "value": 1000}
    )
    table = rows(run, relative, growth=Growth(0.0, 0.02))
    assert table.loc[("plan", "t"), "target"] == pytest.approx(0.95 * 1000 / 1.02**2)
    assert table.loc[("plan", "t"), "p_met"] == 0.25  # only 900 <= 913.1


def test_relative_difference_from_do_nothing_and_the_gap(run: pd.DataFrame) -> None:
    fifteen = target("relative_difference_from_reference", -0.07, ["2015/16"])
    row = rows(run, fifteen).loc[("plan", "t")]
    assert row["required_vs_reference"] == pytest.approx(-70)
    assert row["delivered"] == pytest.approx(-70)  # mean of -100, -80, -60, -40
    assert row["delivered_share"] == pytest.approx(1.0)
    assert row["p_met"] == 0.5  # 900 and 920 are at most 930
    assert row["delivered_ci_low"] < -70 < row["delivered_ci_high"]


def test_target_do_nothing_meets_is_not_credited_to_the_scenario(run: pd.DataFrame) -> None:
    easy = target("absolute", 1100, ["2015/16"])
    table = rows(run, easy)
    assert table.loc[("plan", "t"), "status"] == "green"
    assert table.loc[("plan", "t"), "attribution"] == MET_WITHOUT_PLAN
    assert table.loc[("do-nothing", "t"), "attribution"] == MET_WITHOUT_PLAN
    assert np.isnan(table.loc[("plan", "t"), "delivered_share"])  # nothing required
    hard = target("absolute", 990, ["2015/16"], id="h")
    assert rows(run, hard).loc[("plan", "h"), "attribution"] == "met because of the scenario"


def test_nothing_is_dropped(run: pd.DataFrame) -> None:
    unmodelled = Target(
        id="u",
        description="people at home 91 days after discharge",
        kind="not_modelled",
        years=["2018/19"],
        reason="not represented",
        source="s",
        confidence="S",
    )
    later = target("absolute", 900, ["2018/19"], id="later")
    unknown = target("absolute", 900, ["2015/16"], id="unknown", metric="no_such_metric")
    table = rows(run, unmodelled, later, unknown)
    assert table.loc[("plan", "u"), "status"] == "not modelled"
    assert table.loc[("plan", "u"), "note"] == "not represented"
    assert table.loc[("plan", "later"), "status"] == "beyond the run"
    assert table.loc[("plan", "unknown"), "status"] == "not modelled"


def test_targets_against_do_nothing_are_not_scored_without_it(run: pd.DataFrame) -> None:
    versus = target("difference_from_reference", -50, ["2015/16"])
    table = rows(run, versus, reference_is_do_nothing=False)
    assert table.loc[("plan", "t"), "status"] == "not evaluated"


def test_target_kinds_need_what_they_use() -> None:
    with pytest.raises(ValueError, match="baseline"):
        target("change_from_stated_baseline", -0.03, ["2014/15"])
    with pytest.raises(ValueError, match="reason"):
        Target(
            id="x",
            description="d",
            kind="not_modelled",
            years=["2018/19"],
            source="s",
            confidence="S",
        )
    assert StatedBaseline(year="2013/14").value is None


@pytest.mark.parametrize("area", ["dudley", "bury"])
def test_shipped_targets_name_metrics_the_model_produces(
    area: str, small_annual: pd.DataFrame
) -> None:
    targets = load_targets(area_dir(area) / "targets.toml")
    modelled = [t for t in targets.target if t.kind != "not_modelled"]
    assert modelled and all(t.metric in small_annual.columns for t in modelled)
    assert all(t.reason for t in targets.target if t.kind == "not_modelled")
    composite = [t for t in modelled if t.metric.startswith("composite_")]
    assert composite and all(t.baseline and t.baseline.value for t in composite)


@pytest.fixture(scope="module")
def small_annual(small) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    from sim.replication import run_replication

    return run_replication(small, 0).annual


def test_signed_interval_wording_crosses_zero() -> None:
    assert signed_range(-1178, 646) == "1,178 fewer to 646 more"
    assert signed_range(-1178, -646) == "646 to 1,178 fewer"
    assert signed_range(12, 40) == "12 to 40 more"
    assert "2 or more" in signed_range(float("nan"), float("nan"))


def test_contradicting_targets_are_stated_with_their_arithmetic(run: pd.DataFrame) -> None:
    """Against do nothing's 1,000: -7% asks for 930, -20 for 980 (3.5 times less)."""
    seven = target("relative_difference_from_reference", -0.07, ["2015/16"], id="seven")
    twenty = target("difference_from_reference", -20, ["2015/16"], id="twenty")
    pair = {
        "id": "p",
        "description": "d",
        "targets": ["seven", "twenty"],
        "year": "2015/16",
        "source": "s",
    }
    targets = TargetSet(target=[seven, twenty], discrepancy=[pair])
    found = target_discrepancies(run, targets, "do-nothing").iloc[0]
    assert (found["first_value"], found["second_value"]) == pytest.approx((930, 980))
    assert found["difference"] == pytest.approx(50)
    assert "3.5 times the change" in found["arithmetic"]
    assert target_discrepancies(run, targets, "no-such-reference").empty
    with pytest.raises(ValueError, match="'seven' is not scored in 2018/19"):
        TargetSet(target=[seven, twenty], discrepancy=[{**pair, "year": "2018/19"}])
    with pytest.raises(ValueError, match="names target 'missing'"):
        TargetSet(target=[seven], discrepancy=[{**pair, "targets": ["seven", "missing"]}])
    other = target("absolute", 900, ["2015/16"], id="other", metric="another_metric")
    with pytest.raises(ValueError, match="only targets on one metric"):
        TargetSet(
            target=[seven, other],
            discrepancy=[{**pair, "targets": ["seven", "other"]}],
        )


def test_the_value_at_risk_grand_total_is_one_cell_short() -> None:
    """The plan's grand total is the sum of its columns less the ambulance trust's NEL cell."""
    from sim.plan import plan_discrepancies
    from sim.tariffs import load_finance_inputs

    dudley = area_dir("dudley")
    inputs = load_finance_inputs(dudley / "providers.toml", dudley / "tariffs.toml")
    found = plan_discrepancies(inputs.book).set_index("item")
    grand = found.loc["All providers: grand total value at risk"]
    assert grand["difference"] == pytest.approx(604_000, abs=0.1)
    assert "West Midlands Ambulance" in grand["arithmetic"] and "604,001" in grand["arithmetic"]


def test_share_of_requirement_wording() -> None:
    assert share_of_requirement(-15.57) == "none: moves the wrong way"
    assert share_of_requirement(11.54) == "over 200%"
    assert share_of_requirement(0.3) == "30%"
    assert share_of_requirement(float("nan")) == ""
