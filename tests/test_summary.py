"""Summaries, paired differences, replication rule and targets on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.precision import PrecisionCheck, ReplicationRule, relative_precision
from sim.summary import paired_differences, summarise, t_interval
from sim.target_file import RAGRule, Target, TargetSet
from sim.targets import evaluate_targets
from tests.conftest import long_kpis as kpis


def test_t_interval_matches_hand_calculation() -> None:
    values = np.array([10.0, 12.0, 14.0])
    mean, sd, low, high = t_interval(values)
    half = stats.t.ppf(0.975, 2) * 2.0 / np.sqrt(3)
    assert (mean, sd) == (12.0, 2.0)
    assert (low, high) == pytest.approx((12 - half, 12 + half))
    assert np.isnan(t_interval(np.array([3.0]))[2])


def test_summary_columns_and_n() -> None:
    frame = kpis({("a", r, 0): v for r, v in enumerate([1.0, 2.0, 3.0])})
    summary = summarise(frame)
    assert list(summary.columns) == [
        "scenario",
        "year",
        "financial_year",
        "metric",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "n",
    ]
    assert summary.loc[0, "n"] == 3 and summary.loc[0, "mean"] == 2.0


def test_paired_interval_is_narrower_when_scenarios_share_noise() -> None:
    rng = np.random.default_rng(0)
    shared = rng.normal(1000, 50, 20)
    frame = kpis(
        {("do-nothing", r, 0): shared[r] for r in range(20)}
        | {("b", r, 0): shared[r] - 30 + rng.normal(0, 5) for r in range(20)}
    )
    diff = paired_differences(frame, "do-nothing").iloc[0]
    assert diff["mean_difference"] == pytest.approx(-30, abs=5)
    paired = diff["ci_high"] - diff["ci_low"]
    unpaired = diff["unpaired_ci_high"] - diff["unpaired_ci_low"]
    assert paired < unpaired / 5
    assert diff["ci_low"] < -30 < diff["ci_high"]


def test_replication_rule_needs_precision_to_hold_for_the_look_ahead() -> None:
    rule = ReplicationRule(precision=0.05, minimum=3, cap=20, look_ahead=2)
    assert rule.next_count(PrecisionCheck(3, 0.10, "x")) == 4
    assert (
        rule.next_count(PrecisionCheck(4, 0.04, "x")) == 6
    )  # met at 4: no stop before 4 + 2, so ask for both
    assert rule.next_count(PrecisionCheck(5, 0.06, "x")) == 6  # fell out: start again
    assert rule.next_count(PrecisionCheck(6, 0.04, "x")) == 8
    assert rule.next_count(PrecisionCheck(7, 0.04, "x")) == 8
    assert rule.next_count(PrecisionCheck(8, 0.03, "x")) is None
    assert "from 6 replications" in rule.reason()
    capped = ReplicationRule(precision=0.01, cap=4)
    assert capped.next_count(PrecisionCheck(4, 0.5, "x")) is None
    assert "cap of 4" in capped.reason()


def test_relative_precision_uses_only_the_first_n_replications() -> None:
    frame = kpis(
        {("a", r, 0): v for r, v in enumerate([100.0, 100.0, 100.0, 500.0])}, "emergency_admissions"
    )
    assert relative_precision(frame, 3).worst_relative_half_width == 0.0
    assert relative_precision(frame, 4).worst_relative_half_width > 0.5


def _target(kind: str, value: float, years: list[str]) -> Target:
    return Target(
        id="t",
        description="d",
        metric="m",
        kind=kind,
        value=value,
        years=years,
        source="s",
        confidence="S",
    )


def test_target_kinds_and_p_met_on_hand_computed_case() -> None:
    # four replications; baseline 100 each; do-nothing year 1 = 100, scenario b year 1 = 80, 84, 86, 90
    values = {}
    for r, b in enumerate([80.0, 84.0, 86.0, 90.0]):
        values[("do-nothing", r, 0)] = 100.0
        values[("b", r, 0)] = 100.0
        values[("do-nothing", r, 1)] = 100.0
        values[("b", r, 1)] = b
    frame = kpis(values)
    targets = TargetSet(
        target=[
            _target("absolute", 85.0, ["2015/16"]).model_copy(update={"id": "abs"}),
            _target("change_from_baseline", -0.15, ["2015/16"]).model_copy(update={"id": "rel"}),
            _target("difference_from_reference", -12.0, ["2015/16"]).model_copy(
                update={"id": "diff"}
            ),
        ]
    )
    table = evaluate_targets(frame, targets, "do-nothing").set_index(["scenario", "target_id"])
    assert table.loc[("b", "abs"), "p_met"] == 0.5  # 80, 84 <= 85
    assert table.loc[("b", "rel"), "p_met"] == 0.5  # <= 85 too
    assert table.loc[("b", "diff"), "p_met"] == 0.75  # -20, -16, -14 <= -12; -10 is not
    assert table.loc[("do-nothing", "abs"), "status"] == "red"
    assert ("do-nothing", "diff") not in table.index  # no difference from itself


def test_rag_thresholds() -> None:
    rule = RAGRule()
    assert [rule.status(p) for p in (0.9, 0.8, 0.79, 0.5, 0.49)] == [
        "green",
        "green",
        "amber",
        "amber",
        "red",
    ]


def test_intervals_never_leave_what_a_metric_can_be() -> None:
    """A rare count (12-hour trolley waits in one replication of three) cannot have a
    negative lower bound; a share cannot pass 1."""
    rare = summarise(kpis({("do-nothing", r, 0): v for r, v in enumerate([0.0, 0.0, 300.0])}))
    assert t_interval(np.array([0.0, 0.0, 300.0]))[2] < 0  # the raw interval would
    assert rare["ci_low"].iloc[0] == 0.0 and rare["ci_high"].iloc[0] > 300
    share = kpis({("do-nothing", r, 0): v for r, v in enumerate([0.99, 1.0, 0.9])}, "bed_occupancy")
    assert summarise(share)["ci_high"].iloc[0] == 1.0
