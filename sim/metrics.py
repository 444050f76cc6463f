"""Annual metrics of one replication, computed from the recorder's event lists.

Events count in the report year in which they happen (an A&E attendance in
the year of arrival, an admission in the year of admission); bed days are the
part of each stay that falls inside the year. The warm-up is excluded.
Metric names follow docs/design (stable; new ones may be added).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from sim.config import AGE_BANDS, ModelConfig
from sim.indicators import ACS_GROUPS, COMPOSITE_COMPONENTS, COMPOSITE_GROUPS
from sim.interventions import DailySchedule
from sim.population import Population
from sim.recorder import (
    BY_AMBULANCE,
    CONVEYED,
    DIRECT,
    HEAR_AND_TREAT,
    PATHFINDER,
    SEE_AND_TREAT,
    Recorder,
)
from sim.services import GPSameDayBook
from sim.timeline import DAYS_PER_YEAR, HOURS_PER_DAY, Timeline

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


@dataclass(frozen=True)
class MetricContext:
    """What the metrics need besides the recorder."""

    config: ModelConfig
    timeline: Timeline
    population: Population
    schedule: DailySchedule
    gp_book: GPSameDayBook
    growth_by_year: np.ndarray


def excess_bed_days_metric(trim_days: int, age_band: str) -> str:
    """Name of the metric: bed days beyond ``trim_days`` of spells in ``age_band``."""
    return f"excess_bed_days_over_{trim_days}d_{age_band}"


def _count_by_year(
    times: npt.ArrayLike, tl: Timeline, mask: np.ndarray | None = None
) -> np.ndarray:
    years = tl.year_of_hours(np.asarray(times, dtype=float))
    keep = (years >= 0) & (years < tl.years)
    if mask is not None:
        keep &= mask
    return np.bincount(years[keep], minlength=tl.years).astype(float)


def _sum_by_year(times: np.ndarray, values: np.ndarray, tl: Timeline) -> np.ndarray:
    years = tl.year_of_hours(times)
    keep = (years >= 0) & (years < tl.years)
    return np.bincount(years[keep], weights=values[keep], minlength=tl.years)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )


def annual_metrics(rec: Recorder, ctx: MetricContext) -> pd.DataFrame:
    """One row per report year, one column per metric."""
    tl, cfg = ctx.timeline, ctx.config
    n_years = tl.years
    m: dict[str, np.ndarray] = {}
    growth = ctx.growth_by_year
    m["population"] = ctx.population.total * growth
    m["ltc_population"] = ctx.population.cohort.size * growth

    arrivals = (
        np.frombuffer(rec.arrival_time, dtype=float) if len(rec.arrival_time) else np.zeros(0)
    )
    readmission = np.frombuffer(rec.is_readmission, dtype=np.int8).astype(bool)
    m["urgent_episodes"] = _count_by_year(arrivals, tl, ~readmission)
    m["episodes_prevented"] = _count_by_year(rec.prevented_time, tl)

    m["gp_urgent_appointments"] = _count_by_year(rec.gp_seen, tl)
    m["gp_access_failures"] = _count_by_year(rec.gp_failed, tl)
    m["gp_access_failures_closed"] = _count_by_year(rec.gp_failed_closed, tl)
    day_year = tl.year_of_hours(np.arange(tl.total_days) * HOURS_PER_DAY)
    routine = ctx.gp_book.routine_served().sum(axis=0)
    in_report = (day_year >= 0) & (day_year < n_years)
    m["gp_routine_sameday_served"] = np.bincount(
        day_year[in_report], weights=routine[in_report], minlength=n_years
    )
    m["gp_sameday_slots"] = np.bincount(
        day_year[in_report], weights=ctx.gp_book.slots.sum(axis=0)[in_report], minlength=n_years
    )
    m["nhs111_calls"] = _count_by_year(rec.nhs111_calls, tl)
    m["out_of_hours_gp_contacts"] = _count_by_year(rec.out_of_hours_gp, tl)

    kind = np.asarray(rec.ambulance_kind, dtype=np.int64)
    m["ambulance_incidents"] = _count_by_year(rec.ambulance_time, tl)
    m["ambulance_hear_and_treat"] = _count_by_year(rec.ambulance_time, tl, kind == HEAR_AND_TREAT)
    m["ambulance_see_and_treat"] = _count_by_year(rec.ambulance_time, tl, kind == SEE_AND_TREAT)
    m["ambulance_conveyances"] = _count_by_year(rec.ambulance_time, tl, kind == CONVEYED)
    m["ambulance_pathfinder_referrals"] = _count_by_year(rec.ambulance_time, tl, kind == PATHFINDER)
    waits = np.asarray(rec.ambulance_wait, dtype=float)
    dispatched = np.asarray(rec.ambulance_dispatch_time, dtype=float)
    m["ambulance_mean_wait_minutes"] = 60 * _ratio(
        _sum_by_year(dispatched, waits, tl), _count_by_year(dispatched, tl)
    )
    # Call to arrival on scene: the wait for a vehicle plus the mean travel to the scene.
    m["ambulance_response_minutes"] = (
        m["ambulance_mean_wait_minutes"] + 60 * cfg.services.ambulance.travel_to_scene_hours_mean
    )

    rrt_time = np.asarray(rec.rrt_time, dtype=float)
    response = np.asarray(rec.rrt_response, dtype=float)
    responded = ~np.isnan(response)
    m["rrt_referrals"] = _count_by_year(rrt_time, tl)
    m["rrt_declined"] = _count_by_year(rec.rrt_declined, tl)
    m["rrt_managed_at_home"] = _count_by_year(rrt_time, tl, np.asarray(rec.rrt_managed, dtype=bool))
    m["rrt_escalated_unseen"] = _count_by_year(rrt_time, tl, ~responded)
    m["rrt_mean_response_hours"] = _ratio(
        _sum_by_year(rrt_time[responded], response[responded], tl),
        _count_by_year(rrt_time[responded], tl),
    )
    rrt = cfg.services.rapid_response
    staff = np.asarray(ctx.schedule.rrt_staff, dtype=float)
    open_hours = np.clip(np.asarray(ctx.schedule.rrt_close_hour) - rrt.open_hour, 0, None)
    available = np.bincount(
        day_year[in_report], weights=(staff * open_hours)[in_report], minlength=n_years
    )
    busy = _sum_by_year(
        np.asarray(rec.rrt_busy_start, dtype=float), np.asarray(rec.rrt_busy_hours, dtype=float), tl
    )
    m["rrt_utilisation"] = _ratio(busy, available)

    m["ucc_attendances"] = _count_by_year(rec.ucc_time, tl)
    m["ucc_transfers_to_ae"] = _count_by_year(
        rec.ucc_time, tl, np.asarray(rec.ucc_transfer, dtype=bool)
    )
    m["ucc_streamed_from_ae"] = _count_by_year(
        rec.ucc_time, tl, np.asarray(rec.ucc_streamed, dtype=bool)
    )

    ae = rec.ae_rows()
    ae_arrival = ae["arrival"]
    # A patient still waiting for a bed when the run ends has been in A&E until then.
    ae_time = np.where(np.isnan(ae["departure"]), tl.horizon_hours, ae["departure"]) - ae_arrival
    ae_admitted = ae["admitted"]
    attendances = _count_by_year(ae_arrival, tl)
    m["ae_attendances"] = attendances
    m["ae_4h_performance"] = _ratio(
        _count_by_year(ae_arrival, tl, ae_time <= cfg.services.ae.standard_hours), attendances
    )
    m["ae_mean_time_hours"] = _ratio(_sum_by_year(ae_arrival, ae_time, tl), attendances)
    m["ae_conversion_rate"] = _ratio(_count_by_year(ae_arrival, tl, ae_admitted), attendances)
    rota_hours = np.tile(
        np.asarray(cfg.services.ae.clinicians_by_hour, dtype=float).sum(), tl.total_days
    )
    m["ae_clinician_utilisation"] = _ratio(
        _sum_by_year(
            np.asarray(rec.ae_treat_start, dtype=float),
            np.asarray(rec.ae_treat_hours, dtype=float),
            tl,
        ),
        np.bincount(day_year[in_report], weights=rota_hours[in_report], minlength=n_years),
    )
    m["ae_ambulance_arrival_share"] = _ratio(
        _count_by_year(ae_arrival, tl, ae["mode"] == BY_AMBULANCE), attendances
    )

    admitted_at = np.asarray(rec.admission_time, dtype=float)
    m["emergency_admissions"] = _count_by_year(admitted_at, tl)
    m["direct_admissions"] = _count_by_year(
        admitted_at, tl, np.asarray(rec.admission_source, dtype=np.int64) == DIRECT
    )
    m["readmissions_30d"] = _count_by_year(
        admitted_at, tl, np.asarray(rec.admission_readmission, dtype=bool)
    )
    m.update(_indicator_metrics(admitted_at, np.asarray(rec.admission_group, dtype=np.int64), tl))
    m["ae_attendances_all_types"] = m["ae_attendances"] + m["ucc_attendances"]
    for name in PER_100K_METRICS:
        m[f"{name}_per_100k"] = m[name] / m["population"] * 1e5

    m.update(_bed_metrics(rec, ctx))
    m.update(_high_risk_cohort(rec, ctx, arrivals, readmission))
    frame = pd.DataFrame(m)
    frame.insert(0, "financial_year", [tl.financial_year(y) for y in range(n_years)])
    frame.insert(0, "year", np.arange(n_years))
    return frame


def _indicator_metrics(
    admitted_at: np.ndarray, group: np.ndarray, tl: Timeline
) -> dict[str, np.ndarray]:
    """Admissions by the indicator their diagnosis group counts in (sim.indicators)."""
    m = {c.metric: _count_by_year(admitted_at, tl, group == c.group) for c in COMPOSITE_COMPONENTS}
    m["composite_emergency_admissions"] = _count_by_year(
        admitted_at, tl, np.isin(group, COMPOSITE_GROUPS)
    )
    m["acs_admissions"] = _count_by_year(admitted_at, tl, np.isin(group, ACS_GROUPS))
    return m


def _high_risk_cohort(
    rec: Recorder, ctx: MetricContext, arrivals: np.ndarray, readmission: np.ndarray
) -> dict[str, np.ndarray]:
    """The cohort a before/after evaluation of case management would follow: the top 2% of
    the LTC cohort by urgent episodes in year 0 (ties by list order; the same people in
    every scenario, so scenarios compare paired), and its urgent episodes and their
    admissions in every year. Under do nothing its fall from year 0 is regression to the
    mean, which a before/after evaluation would credit to the intervention."""
    tl = ctx.timeline
    size = ctx.population.cohort.size
    person = np.frombuffer(rec.episode_person, dtype=np.int64)
    first = ~readmission & (person >= 0)
    in_year0 = first & (tl.year_of_hours(arrivals) == 0)
    counts = np.bincount(person[in_year0], minlength=size)
    top = round(HIGH_RISK_PERCENT / 100.0 * size)
    tracked = np.zeros(size, dtype=bool)
    tracked[np.lexsort((np.arange(size), -counts))[:top]] = True
    followed = first & tracked[np.maximum(person, 0)]
    admitted = np.asarray(rec.admission_episode, dtype=np.int64)
    return {
        "high_risk_cohort_episodes": _count_by_year(arrivals, tl, followed),
        "high_risk_cohort_admissions": _count_by_year(
            np.asarray(rec.admission_time, dtype=float), tl, followed[admitted]
        ),
    }


def _bed_metrics(rec: Recorder, ctx: MetricContext) -> dict[str, np.ndarray]:
    """Bed days, occupancy of the core beds, escalation, trolley waits, stays and delays.

    A stay runs from the bed granted (``bed_start``) to discharge, or to the end
    of the run; a patient still waiting for a bed holds none.
    """
    tl = ctx.timeline
    episodes = len(rec.outcome)
    stay_end = np.full(episodes, tl.horizon_hours)
    discharged = np.asarray(rec.discharge_episode, dtype=np.int64)
    discharge_time = np.asarray(rec.discharge_time, dtype=float)
    stay_end[discharged] = discharge_time
    admission_episode = np.asarray(rec.admission_episode, dtype=np.int64)
    decided = np.asarray(rec.admission_time, dtype=float)
    start = np.asarray(rec.bed_start, dtype=float)
    granted = ~np.isnan(start)
    end = stay_end[admission_episode]
    admitted_at = np.full(episodes, np.nan)
    admitted_at[admission_episode] = start
    los_days = (discharge_time - admitted_at[discharged]) / HOURS_PER_DAY
    delay_days = np.asarray(rec.discharge_delay_hours, dtype=float) / HOURS_PER_DAY
    discharges = _count_by_year(discharge_time, tl)
    # For tariffs: short-stay spells and bed days beyond each candidate trim point,
    # counted at discharge, so finance can change the trim point without re-simulating.
    finance = {
        "short_stay_discharges": _count_by_year(discharge_time, tl, los_days < SHORT_STAY_DAYS)
    }
    band = np.zeros(episodes, dtype=np.int64)
    band[admission_episode] = np.asarray(rec.admission_age_band, dtype=np.int64)
    discharged_band = band[discharged]
    for b, band_name in enumerate(AGE_BANDS):
        in_band = discharged_band == b
        for trim in TRIM_POINTS_DAYS:
            finance[excess_bed_days_metric(trim, band_name)] = _sum_by_year(
                discharge_time[in_band], np.clip(los_days[in_band] - trim, 0, None), tl
            )
    wards = ctx.config.services.wards
    core_days, escalation_days = _occupied_bed_days(start[granted], end[granted], wards.beds, tl)
    # Decision to admit to a bed ("trolley wait"), for patients admitted through A&E;
    # one still waiting when the run ends has waited until then.
    from_ae = np.asarray(rec.admission_source, dtype=np.int64) != DIRECT
    wait_hours = np.where(granted, start, tl.horizon_hours) - decided
    return finance | {
        "bed_days": core_days + escalation_days,
        "bed_occupancy": core_days / (wards.beds * DAYS_PER_YEAR),
        "escalation_bed_days": escalation_days,
        "trolley_wait_mean_hours": _ratio(
            _sum_by_year(decided[from_ae], wait_hours[from_ae], tl),
            _count_by_year(decided, tl, from_ae),
        ),
        "trolley_waits_over_12h": _count_by_year(decided, tl, from_ae & (wait_hours > 12.0)),
        "waiting_for_bed_at_year_end": _waiting_at_year_ends(decided, start, tl),
        "discharges": discharges,
        "mean_length_of_stay": _ratio(_sum_by_year(discharge_time, los_days, tl), discharges),
        "delayed_discharge_days": _sum_by_year(discharge_time, delay_days, tl),
        "delayed_discharge_share": _ratio(
            _sum_by_year(discharge_time, delay_days, tl), core_days + escalation_days
        ),
        "onward_care_not_found": _count_by_year(rec.onward_care_not_found, tl),
    }


def _occupied_bed_days(
    start: np.ndarray, end: np.ndarray, core_beds: int, tl: Timeline
) -> tuple[np.ndarray, np.ndarray]:
    """Bed days per report year in core beds and in escalation beds (above ``core_beds``).

    A sweep over the stays' starts and ends gives the number of beds occupied
    between consecutive events; year boundaries are events too, so no interval
    crosses one.
    """
    bounds = np.array([tl.year_start_hours(y) for y in range(tl.years + 1)])
    times = np.concatenate([start, end, bounds])
    steps = np.concatenate([np.ones(start.size), -np.ones(end.size), np.zeros(bounds.size)])
    order = np.argsort(times, kind="stable")
    times, occupied = times[order], np.cumsum(steps[order])
    hours = np.diff(times)
    occupied = occupied[:-1]
    core = np.minimum(occupied, core_beds) * hours / HOURS_PER_DAY
    above = np.maximum(occupied - core_beds, 0) * hours / HOURS_PER_DAY
    return _sum_by_year(times[:-1], core, tl), _sum_by_year(times[:-1], above, tl)


def _waiting_at_year_ends(decided: np.ndarray, start: np.ndarray, tl: Timeline) -> np.ndarray:
    """Patients decided for admission and not yet in a bed at the end of each year."""
    waiting = np.zeros(tl.years)
    for year in range(tl.years):
        end = tl.year_start_hours(year + 1)
        waiting[year] = np.count_nonzero((decided < end) & ~(start < end))
    return waiting


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
