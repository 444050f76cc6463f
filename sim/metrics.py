"""The names of the metrics a replication reports (the vocabulary every output shares).

Each service computes its own (``report`` in :mod:`sim.care`), the system the
rest (:meth:`sim.care.system.CareSystem.annual_metrics`). Events count in the
report year in which they happen (an A&E attendance in the year of arrival, an
admission in the year of admission); bed days are the part of each stay that
falls inside the year. The warm-up is excluded. Metric names follow the design
(stable; new ones may be added); a test checks this registry against the
services' own lists and a real run.
"""

from __future__ import annotations

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


# Metrics reported beside the design vocabulary (see docs/architecture.md), in report order.
EXTRA_METRICS: tuple[str, ...] = (
    "urgent_episodes",
    "episodes_prevented",
    "gp_access_failures_closed",
    "gp_routine_sameday_served",
    "gp_sameday_slots",
    "out_of_hours_gp_contacts",
    "ambulance_hear_and_treat",
    "ambulance_pathfinder_referrals",
    "ambulance_mean_wait_minutes",
    "ambulance_response_minutes",
    "rrt_declined",
    "rrt_escalated_unseen",
    "ucc_streamed_from_ae",
    "ae_clinician_utilisation",
    "ae_ambulance_arrival_share",
    "direct_admissions",
    "composite_emergency_admissions",
    "ae_attendances_all_types",
    "short_stay_discharges",
    "escalation_bed_days",
    "trolley_wait_mean_hours",
    "trolley_waits_over_12h",
    "waiting_for_bed_at_year_end",
    "discharges",
    "delayed_discharge_share",
    "onward_care_not_found",
    "high_risk_cohort_episodes",
    "high_risk_cohort_admissions",
)


def metric_names() -> frozenset[str]:
    """Every metric a replication reports: the registry a target or baseline figure is
    checked against before anything runs (a test compares it with a real run)."""
    names = {*DESIGN_METRICS, *EXTRA_METRICS, *(c.metric for c in COMPOSITE_COMPONENTS)}
    names |= {f"{m}_per_100k" for m in PER_100K_METRICS}
    names |= {excess_bed_days_metric(t, b) for t in TRIM_POINTS_DAYS for b in AGE_BANDS}
    return frozenset(names)
