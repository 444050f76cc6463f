"""The names of the metrics a replication reports (the vocabulary every output shares).

Each service computes its own (``report`` in :mod:`sim.care`), the system the
rest (:meth:`sim.care.system.CareSystem.annual_metrics`). Events count in the
report year in which they happen (an A&E attendance in the year of arrival, an
admission in the year of admission); bed days are the part of each stay that
falls inside the year. The warm-up is excluded. Metric names follow the design
(stable; new ones may be added).

:data:`METRICS` is the one registry of what each metric is called, its unit, how
it is formatted, whether it heads the terminal's table and whether the
replication count follows its precision: tables, charts, the report, the
calibration and targets all take labels and formats from here. A test checks it
against the services' own lists (``metrics`` on each service) and a real run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from sim.config import AGE_BANDS
from sim.indicators import COMPOSITE_COMPONENTS

# Candidate trim points: bed days beyond each are recorded for every age band (the
# admission group the tariff's trim point is set for), so finance can change them
# without re-simulating.
TRIM_POINTS_DAYS: tuple[int, ...] = (5, 7, 10, 14, 21, 28, 35)
SHORT_STAY_DAYS = 2  # spells under two days take the short-stay tariff
# The high-risk cohort followed for regression to the mean: the 2% of the national
# Avoiding Unplanned Admissions enhanced service (2014/15).
HIGH_RISK_PERCENT = 2.0

# Counts also reported per 100,000 registered (crude rates on the registered list).
PER_100K_METRICS: tuple[str, ...] = (
    "emergency_admissions",
    "acs_admissions",
    "composite_emergency_admissions",
    *(c.metric for c in COMPOSITE_COMPONENTS),
)

# The design's own vocabulary (docs/model.md); every one is in the registry below.
DESIGN_METRICS: tuple[str, ...] = (
    "population",
    "ltc_population",
    "gp_urgent_appointments",
    "gp_access_failures",
    "nhs111_calls",
    "ambulance_incidents",
    "ambulance_conveyances",
    "ambulance_see_and_treat",
    "rrt_referrals",
    "rrt_managed_at_home",
    "rrt_utilisation",
    "rrt_mean_response_hours",
    "ucc_attendances",
    "ucc_transfers_to_ae",
    "ae_attendances",
    "ae_4h_performance",
    "ae_mean_time_hours",
    "ae_conversion_rate",
    "emergency_admissions",
    "acs_admissions",
    "emergency_admissions_per_100k",
    "acs_admissions_per_100k",
    "bed_days",
    "bed_occupancy",
    "mean_length_of_stay",
    "delayed_discharge_days",
    "readmissions_30d",
)


def excess_bed_days_metric(trim_days: int, age_band: str) -> str:
    """Name of the metric: bed days beyond ``trim_days`` of spells in ``age_band``."""
    return f"excess_bed_days_over_{trim_days}d_{age_band}"


MetricKind = Literal["count", "share", "rate", "mean"]


@dataclass(frozen=True)
class Metric:
    """One metric as every output shows it: tables, charts, report, workbook, calibration."""

    name: str
    label: str  # board-readable
    unit: str  # what one unit is, for axes and notes
    kind: MetricKind = "count"  # share: shown as a percentage; mean: two decimals
    headline: bool = False  # in the terminal's per-year table
    key: bool = False  # the replication count is chosen by this metric's precision

    @property
    def decimals(self) -> int:
        return {"share": 1, "mean": 2}.get(self.kind, 0)

    def format(self, value: float | None) -> str:
        """The value as tables show it: a share as a percentage, a mean to 2 decimals."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if self.kind == "share":
            return f"{100 * value:.1f}%"
        return f"{value:,.{self.decimals}f}"


def _m(
    name: str,
    label: str,
    unit: str,
    kind: MetricKind = "count",
    headline: bool = False,
    key: bool = False,
) -> Metric:
    return Metric(name, label, unit, kind, headline, key)


_PER_YEAR = "per year"
_SHARE: MetricKind = "share"
# Every metric a replication reports, in report order (headline: the design's own).
_LISTED: tuple[Metric, ...] = (
    _m("population", "Registered population", "people", headline=True),
    _m("ltc_population", "People with long-term conditions", "people", headline=True),
    _m("urgent_episodes", "Urgent episodes", "episodes per year", headline=True),
    _m("episodes_prevented", "Urgent episodes prevented", "episodes per year", headline=True),
    _m("gp_urgent_appointments", "GP urgent appointments", "appointments per year", headline=True),
    _m("gp_access_failures", "GP access failures", "requests per year", headline=True),
    _m("gp_access_failures_closed", "GP access failures: practice closed", "requests per year"),
    _m("gp_routine_sameday_served", "Routine same-day GP requests served", "requests per year"),
    _m("gp_sameday_slots", "GP same-day slots", "slots per year"),
    _m("nhs111_calls", "NHS 111 calls", "calls per year", headline=True),
    _m("out_of_hours_gp_contacts", "Out-of-hours GP contacts", "contacts per year"),
    _m("ambulance_incidents", "Ambulance incidents", "incidents per year", headline=True),
    _m("ambulance_hear_and_treat", "Ambulance hear and treat", "incidents per year"),
    _m("ambulance_see_and_treat", "Ambulance see and treat", "incidents per year", headline=True),
    _m("ambulance_conveyances", "Ambulance conveyances", "conveyances per year", headline=True),
    _m("ambulance_pathfinder_referrals", "Ambulance pathfinder referrals", "referrals per year"),
    _m("ambulance_mean_wait_minutes", "Ambulance wait for a vehicle", "minutes", "mean"),
    _m(
        "ambulance_response_minutes",
        "Ambulance response time",
        "minutes from call to arrival (wait + travel)",
        "mean",
    ),
    _m("rrt_referrals", "Rapid response referrals", "referrals per year", headline=True),
    _m("rrt_declined", "Rapid response referrals declined", "referrals per year"),
    _m(
        "rrt_managed_at_home",
        "Managed at home by rapid response",
        "patients per year",
        headline=True,
    ),
    _m("rrt_escalated_unseen", "Rapid response escalated unseen", "referrals per year"),
    _m(
        "rrt_mean_response_hours",
        "Rapid response time",
        "hours from referral to arrival (wait + travel)",
        "mean",
        headline=True,
    ),
    _m(
        "rrt_utilisation", "Rapid response utilisation", "share of staffed hours busy", _SHARE, True
    ),
    _m("ucc_attendances", "UCC attendances", "attendances per year", headline=True),
    _m("ucc_transfers_to_ae", "UCC transfers to A&E", "patients per year", headline=True),
    _m("ucc_streamed_from_ae", "Streamed from A&E to the UCC", "patients per year"),
    _m(
        "ae_attendances", "A&E attendances, type 1", "attendances per year", headline=True, key=True
    ),
    _m(
        "ae_4h_performance",
        "A&E 4-hour performance",
        "share seen within 4 hours",
        _SHARE,
        headline=True,
    ),
    _m(
        "ae_4h_performance_minors",
        "A&E 4-hour performance, minors stream",
        "share of attendances seen in the minors stream within 4 hours",
        _SHARE,
    ),
    _m(
        "ae_4h_performance_majors",
        "A&E 4-hour performance, majors",
        "share of attendances seen by majors clinicians within 4 hours",
        _SHARE,
    ),
    _m("ae_mean_time_hours", "Mean hours in A&E", "hours, arrival to departure", "mean", True),
    _m("ae_conversion_rate", "A&E conversion rate", "share of attendances admitted", _SHARE, True),
    _m("ae_clinician_utilisation", "A&E clinician utilisation", "share of rota hours busy", _SHARE),
    _m("ae_ambulance_arrival_share", "A&E arrivals by ambulance", "share of attendances", _SHARE),
    _m(
        "emergency_admissions",
        "Emergency admissions",
        "admissions per year",
        headline=True,
        key=True,
    ),
    _m("direct_admissions", "GP direct admissions (not through A&E)", "admissions per year"),
    _m(
        "other_route_admissions",
        "Admissions by other routes (clinic, transfer, bed bureau)",
        "admissions per year",
    ),
    _m("readmissions_30d", "30-day readmissions", "admissions per year", headline=True),
    *(_m(c.metric, c.label, "admissions per year") for c in COMPOSITE_COMPONENTS),
    _m(
        "composite_emergency_admissions",
        "Emergency admissions composite",
        "admissions per year",
    ),
    _m(
        "acs_admissions", "ACS admissions (chronic and acute)", "admissions per year", headline=True
    ),
    _m("ae_attendances_all_types", "A&E attendances, all types", "attendances per year"),
    _m(
        "emergency_admissions_per_100k",
        "Emergency admissions per 100,000",
        "per 100,000 registered (crude)",
        "rate",
        headline=True,
    ),
    _m(
        "acs_admissions_per_100k",
        "ACS admissions per 100,000",
        "per 100,000 registered (crude)",
        "rate",
        headline=True,
    ),
    _m(
        "composite_emergency_admissions_per_100k",
        "Emergency admissions composite per 100,000",
        "per 100,000 registered (crude)",
        "rate",
    ),
    *(
        _m(f"{c.metric}_per_100k", f"{c.label}, per 100,000", "per 100,000 registered", "rate")
        for c in COMPOSITE_COMPONENTS
    ),
    _m("short_stay_discharges", "Short-stay discharges (under 2 days)", "discharges per year"),
    *(
        _m(
            excess_bed_days_metric(t, b),
            f"Bed days beyond {t} days, ages {b.removeprefix('age_').replace('_', '-')}",
            "bed days per year",
        )
        for b in AGE_BANDS
        for t in TRIM_POINTS_DAYS
    ),
    _m("bed_days", "Bed days", "occupied bed days per year", headline=True),
    _m(
        "bed_occupancy",
        "Bed occupancy (core beds)",
        "mean share of core beds occupied",
        _SHARE,
        True,
    ),
    _m("escalation_bed_days", "Escalation bed days", "bed days per year above the core beds"),
    _m(
        "trolley_wait_mean_hours",
        "Wait for a bed after the decision to admit",
        "hours, decision to admit to a bed",
        "mean",
    ),
    _m("trolley_waits_over_12h", "12-hour trolley waits", "patients per year"),
    _m("waiting_for_bed_at_year_end", "Waiting for a bed at the year's end", "patients"),
    _m("discharges", "Discharges", "discharges per year"),
    _m("mean_length_of_stay", "Mean length of stay", "days", "mean", headline=True),
    _m(
        "delayed_discharge_days",
        "Delayed discharge days",
        "bed days per year, medically fit",
        headline=True,
    ),
    _m("delayed_discharge_share", "Delayed discharge share", "share of bed days", _SHARE),
    _m("onward_care_not_found", "Onward care not found", "patients per year"),
    _m("high_risk_cohort_episodes", "High-risk cohort: urgent episodes", "episodes per year"),
    _m("high_risk_cohort_admissions", "High-risk cohort: admissions", "admissions per year"),
)
METRICS: dict[str, Metric] = {m.name: m for m in _LISTED}

# Quantities a baseline is fitted to that are ratios of metrics, not metrics themselves.
BASELINE_QUANTITIES: dict[str, Metric] = {
    m.name: m
    for m in (
        _m(
            "acs_share_of_admissions",
            "ACS admissions as a share of emergency admissions",
            "",
            _SHARE,
        ),
        _m("readmissions_per_admission", "30-day readmissions per admission", "", _SHARE),
        _m("ucc_transfer_share", "UCC attendances sent to A&E", "", _SHARE),
        _m("gp_sameday_consultations", "Same-day GP consultations", "consultations per year"),
        _m(
            "direct_admission_share",
            "GP direct admissions as a share of emergency admissions",
            "",
            _SHARE,
        ),
        _m(
            "not_through_ae_share",
            "Emergency admissions not through A&E (GP, clinic, transfer)",
            "",
            _SHARE,
        ),
    )
}

SHARE_METRICS: frozenset[str] = frozenset(
    name for name, m in (METRICS | BASELINE_QUANTITIES).items() if m.kind == "share"
)
HEADLINE_METRICS: tuple[str, ...] = tuple(m.name for m in _LISTED if m.headline)
KEY_METRICS: tuple[str, ...] = tuple(m.name for m in _LISTED if m.key)


def metric(name: str) -> Metric:
    """The registry's entry for ``name`` (a plain entry for a name it does not list)."""
    found = METRICS.get(name) or BASELINE_QUANTITIES.get(name)
    if found is not None:
        return found
    kind: MetricKind = "share" if "share" in name else "count"
    return Metric(name, name.replace("_", " ").capitalize(), "", kind)


def format_value(name: str, value: float | None) -> str:
    return metric(name).format(value)


def metric_names() -> frozenset[str]:
    """Every metric a replication reports: the registry a target or baseline figure is
    checked against before anything runs (tests compare it with the services' own lists
    and with a real run)."""
    return frozenset(METRICS)


PER_100K = "_per_100k"
RollKind = Literal["count", "rate", "other"]


def roll_kind(name: str) -> RollKind:
    """How a figure scales with the list: counts grow with list and per-capita trend,
    rates per 100,000 with the per-capita trend only; shares and means are not rolled."""
    if name.endswith(PER_100K):
        return "rate"
    if "share" in name or name in SHARE_METRICS:
        return "other"
    counts = ("_admissions", "_attendances", "attendances_all_types", "_conveyances", "_incidents")
    return "count" if name.endswith(counts) else "other"


def years_between(earlier: str, later: str) -> int:
    """Whole years from one financial year label ('2012/13') to another."""
    return int(later[:4]) - int(earlier[:4])


def roll_factor(name: str, years: int, list_growth: float, per_capita_trend: float) -> float:
    """Multiplier taking a figure's value ``years`` forward at the model's own growth.

    Negative ``years`` back-casts. The model simulates nothing before its baseline
    year, so a back-cast is this extrapolation, labelled as such wherever shown.
    """
    kind = roll_kind(name)
    if kind == "count":
        return float(((1 + list_growth) * (1 + per_capita_trend)) ** years)
    if kind == "rate":
        return float((1 + per_capita_trend) ** years)
    return 1.0
