"""The wards: a decision to admit, a bed, the stay, onward care, discharge, readmission.

Beds and onward-care places are held until another event (the end of a stay, a
place found), so they are :class:`~sim.resources.AgendaPool` units granted first
come, first served, by agenda callbacks:

1. decided for admission (in A&E, a GP's direct admission, or another route such as
   an outpatient clinic): the admission
   counts now, and the patient waits for a bed (core beds, then escalation beds);
2. the stay starts when a bed is granted and lasts the episode's length of stay
   (scaled by the discharge lever's multiplier on the day of admission);
3. medically fit: most leave; those who need onward care keep the bed until a
   place is free, or until they have waited the longest anyone waits;
4. discharged; a share come back as readmissions through A&E.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtri

from sim.annual import count_by_year, ratio, sum_by_year
from sim.care.base import CareContext, CareService, EpisodeBlock, Process, Report
from sim.config import AGE_BANDS
from sim.demand import exponential
from sim.indicators import ACS_GROUPS, COMPOSITE_COMPONENTS, COMPOSITE_GROUPS
from sim.metrics import SHORT_STAY_DAYS, TRIM_POINTS_DAYS, excess_bed_days_metric
from sim.recorder import (
    DIRECT,
    OTHER_ROUTE_ADMISSION,
    OUTCOME_CODE,
    READMISSION,
    flags,
    floats,
    ints,
)
from sim.resources import AgendaPool, Waiting
from sim.timeline import DAYS_PER_YEAR, HOURS_PER_DAY, Timeline

ADMITTED = OUTCOME_CODE["admitted"]
SAME_DAY_STAY_HOURS = (4.0, 20.0)  # a same-day stay lasts 4 to 24 hours
READMISSION_WINDOW_DAYS = 30.0


@dataclass
class WardRecords:
    # An admission counts at the decision to admit (``admission_time``); its stay
    # starts when a bed is granted (``bed_start``, nan while the patient still waits).
    admission_time: array[float] = field(default_factory=floats)
    bed_start: array[float] = field(default_factory=floats)
    admission_group: array[int] = field(default_factory=flags)  # diagnosis group (indicators)
    admission_age_band: array[int] = field(default_factory=flags)  # index in AGE_BANDS
    admission_readmission: array[int] = field(default_factory=flags)
    admission_source: array[int] = field(default_factory=ints)
    admission_episode: array[int] = field(default_factory=ints)
    discharge_episode: array[int] = field(default_factory=ints)
    discharge_time: array[float] = field(default_factory=floats)
    discharge_delay_hours: array[float] = field(default_factory=floats)
    # Discharged without the onward-care place they waited for (gave up waiting).
    onward_care_not_found: array[float] = field(default_factory=floats)

    def decide_to_admit(
        self, now: float, group: int, age_band: int, readmission: bool, source: int, episode: int
    ) -> int:
        """Count an admission at the decision to admit; returns its row."""
        self.admission_time.append(now)
        self.bed_start.append(float("nan"))
        self.admission_group.append(group)
        self.admission_age_band.append(age_band)
        self.admission_readmission.append(readmission)
        self.admission_source.append(source)
        self.admission_episode.append(episode)
        return len(self.admission_time) - 1


class Wards(CareService):
    name = "wards"
    stream = "ward"
    uniforms = ("u_same_day", "u_los", "u_onward", "u_onward_days", "u_readmit", "u_readmit_delay")
    decisions = ("u_onward", "u_readmit")
    variate_inputs = ("u_same_day", "u_los", "u_onward_days", "u_readmit_delay")
    metrics = (
        "emergency_admissions",
        "direct_admissions",
        "other_route_admissions",
        "readmissions_30d",
        *(c.metric for c in COMPOSITE_COMPONENTS),
        "composite_emergency_admissions",
        "acs_admissions",
        "short_stay_discharges",
        *(excess_bed_days_metric(t, b) for b in AGE_BANDS for t in TRIM_POINTS_DAYS),
        "bed_days",
        "bed_occupancy",
        "escalation_bed_days",
        "trolley_wait_mean_hours",
        "trolley_waits_over_12h",
        "waiting_for_bed_at_year_end",
        "discharges",
        "mean_length_of_stay",
        "delayed_discharge_days",
        "delayed_discharge_share",
        "onward_care_not_found",
    )
    Records = WardRecords

    def __init__(self, ctx: CareContext, system: Any):
        super().__init__(ctx, system)
        ward = ctx.config.services.wards
        self.core_beds = ward.beds
        self.beds = AgendaPool(ctx.env, ward.beds + ward.escalation_beds)
        self.onward_care = AgendaPool(ctx.env, ctx.schedule.onward_care_places[0])
        self.onward_max_wait = ward.onward_care_max_wait_days * 24.0
        self.los_multiplier = ctx.schedule.los_multiplier
        self.stay_mean = (
            np.array(ward.los_days_mean.as_tuple())[None, :]
            * np.array(ward.los_acuity_multiplier.as_tuple())[:, None]
            * HOURS_PER_DAY
        )  # acuity x age band
        self.los_sigma = ward.los_sigma
        self.same_day_share = ward.same_day_discharge_share
        self.onward_share = np.array(ward.onward_care_share.as_tuple())
        self.onward_mean = ward.onward_care_days_mean * HOURS_PER_DAY
        self.readmit_probability = np.array(ward.readmission_probability.as_tuple())
        self.readmit_ltc = ward.readmission_ltc_multiplier
        self.readmit_mean = ward.readmission_days_mean * HOURS_PER_DAY
        self.readmit_cdf_at_window = -np.expm1(
            -READMISSION_WINDOW_DAYS * HOURS_PER_DAY / self.readmit_mean
        )
        self.rec: WardRecords = self.records

    def connect(self) -> None:
        self.to_ae = self.hand_to("ae")

    def processes(self) -> list[Process]:
        # Daily: the onward-care places the schedule (and the discharge lever) provides.
        return [self.daily(self.ctx.schedule.onward_care_places, self.onward_care.set_capacity)]

    def variates(
        self,
        u: Mapping[str, np.ndarray],
        acuity: np.ndarray,
        age_band: np.ndarray,
        ltc: np.ndarray,
    ) -> dict[str, np.ndarray]:
        sigma = self.los_sigma
        long_stay = self.stay_mean[acuity, age_band] * np.exp(
            sigma * ndtri(u["u_los"]) - 0.5 * sigma * sigma
        )
        low, span = SAME_DAY_STAY_HOURS
        los = np.where(u["u_same_day"] < self.same_day_share, low + span * u["u_los"], long_stay)
        readmit_delay = -self.readmit_mean * np.log1p(
            -u["u_readmit_delay"] * self.readmit_cdf_at_window
        )
        return {
            "los_h": los,
            "p_onward": self.onward_share[age_band],
            "onward_h": exponential(self.onward_mean, u["u_onward_days"]),
            "p_readmit": np.minimum(
                1.0, self.readmit_probability[age_band] * np.where(ltc, self.readmit_ltc, 1.0)
            ),
            "readmit_h": readmit_delay,
        }

    # Steps: a ward stay is a chain of agenda callbacks.
    def receive(self, b: EpisodeBlock, j: int, episode: int, source: int) -> int:
        """Decided for admission now (``source``: how the patient came; DIRECT from a GP,
        OTHER_ROUTE_ADMISSION from outside the modelled front doors);
        the admission counts from this moment. Returns the admission's row."""
        decided = self.env.now
        row = self.rec.decide_to_admit(
            decided, b.acs_group[j], b.age_band[j], source == READMISSION, source, episode
        )
        self.finish(episode, ADMITTED, decided)
        self.beds.request(self.admitted, b, j, episode, row)
        if episode in self.traced:
            self.tracer.add(decided, episode, self.name, "decision to admit", "bed")
        return row

    def admitted(self, b: EpisodeBlock, j: int, episode: int, row: int) -> None:
        """A bed is granted: the stay starts (and an A&E patient leaves A&E)."""
        admitted = self.env.now
        self.rec.bed_start[row] = admitted
        stay = b.los_h[j] * self.los_multiplier[int(admitted // 24.0)]
        self.env.call_in(stay, self.medically_fit, b, j, episode)
        if episode in self.traced:
            wait = admitted - self.rec.admission_time[row]
            note = f"in a bed until medically fit at {self.when(admitted + stay)}"
            self.tracer.add(admitted, episode, self.name, "bed granted", "bed", wait, note)

    def medically_fit(self, b: EpisodeBlock, j: int, episode: int) -> None:
        """Ready to leave; those who need onward care keep the bed until a place is free,
        or until they have waited the longest a patient waits and leave another way."""
        ready = self.env.now
        if episode in self.traced:
            needs = "needs onward care" if b.u_onward[j] < b.p_onward[j] else "goes home"
            self.tracer.add(ready, episode, self.name, "medically fit", note=needs)
        if b.u_onward[j] < b.p_onward[j]:
            ticket = self.onward_care.request(self.discharged, b, j, episode, ready, True)
            if ticket is not None:
                wait = self.onward_max_wait
                self.env.call_in(wait, self.onward_wait_over, ticket, b, j, episode, ready)
        else:
            self.discharged(b, j, episode, ready, False)

    def onward_wait_over(
        self, ticket: Waiting, b: EpisodeBlock, j: int, episode: int, ready: float
    ) -> None:
        if self.onward_care.withdraw(ticket):
            self.rec.onward_care_not_found.append(self.env.now)
            self.discharged(b, j, episode, ready, False)

    def discharged(self, b: EpisodeBlock, j: int, episode: int, ready: float, onward: bool) -> None:
        env, rec = self.env, self.rec
        self.beds.release()
        rec.discharge_episode.append(episode)
        rec.discharge_time.append(env.now)
        rec.discharge_delay_hours.append(env.now - ready)
        if episode in self.traced:
            note = "with an onward-care place" if onward else "without onward care"
            self.tracer.add(
                env.now, episode, self.name, "discharged", "onward care", env.now - ready, note
            )
        if b.u_readmit[j] < b.p_readmit[j]:
            env.call_in(b.readmit_h[j], self.readmit, b, j, episode)
        if onward:
            env.call_in(b.onward_h[j], self.onward_care.release)

    def readmit(self, b: EpisodeBlock, j: int, first: int) -> None:
        """Back through A&E as a new episode (with fresh variates) after episode ``first``."""
        block, row, episode = self.system.new_readmission(b, j, self.env.now, first)
        if first in self.traced:
            self.traced.add(episode)
            note = f"readmitted as episode {episode}"
            self.tracer.add(self.env.now, first, self.name, "readmission", note=note)
        self.to_ae(block, row, episode, READMISSION)

    # ------------------------------------------------------------------ metrics
    def report(self, records: Mapping[str, Any], ctx: CareContext) -> Report:
        rec: WardRecords = records[self.name]
        tl = ctx.timeline
        admitted_at = np.asarray(rec.admission_time, dtype=float)
        group = np.asarray(rec.admission_group, dtype=np.int64)
        source = np.asarray(rec.admission_source, dtype=np.int64)
        m = {
            "emergency_admissions": count_by_year(admitted_at, tl),
            "direct_admissions": count_by_year(admitted_at, tl, source == DIRECT),
            "other_route_admissions": count_by_year(
                admitted_at, tl, source == OTHER_ROUTE_ADMISSION
            ),
            "readmissions_30d": count_by_year(
                admitted_at, tl, np.asarray(rec.admission_readmission, dtype=bool)
            ),
        }
        # Admissions by the indicator their diagnosis group counts in (sim.indicators).
        for c in COMPOSITE_COMPONENTS:
            m[c.metric] = count_by_year(admitted_at, tl, group == c.group)
        m["composite_emergency_admissions"] = count_by_year(
            admitted_at, tl, np.isin(group, COMPOSITE_GROUPS)
        )
        m["acs_admissions"] = count_by_year(admitted_at, tl, np.isin(group, ACS_GROUPS))
        return m | self._bed_metrics(rec, len(ctx.recorder.outcome), tl)

    def _bed_metrics(self, rec: WardRecords, episodes: int, tl: Timeline) -> Report:
        """Bed days, occupancy of the core beds, escalation, trolley waits, stays and delays.

        A stay runs from the bed granted (``bed_start``) to discharge, or to the end
        of the run; a patient still waiting for a bed holds none.
        """
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
        discharges = count_by_year(discharge_time, tl)
        # For tariffs: short-stay spells and bed days beyond each candidate trim point,
        # counted at discharge, so finance can change the trim point without re-simulating.
        finance = {
            "short_stay_discharges": count_by_year(discharge_time, tl, los_days < SHORT_STAY_DAYS)
        }
        band = np.zeros(episodes, dtype=np.int64)
        band[admission_episode] = np.asarray(rec.admission_age_band, dtype=np.int64)
        discharged_band = band[discharged]
        for b, band_name in enumerate(AGE_BANDS):
            in_band = discharged_band == b
            for trim in TRIM_POINTS_DAYS:
                finance[excess_bed_days_metric(trim, band_name)] = sum_by_year(
                    discharge_time[in_band], np.clip(los_days[in_band] - trim, 0, None), tl
                )
        core_days, escalation_days = occupied_bed_days(
            start[granted], end[granted], self.core_beds, tl
        )
        # Decision to admit to a bed ("trolley wait"), for patients admitted through A&E;
        # one still waiting when the run ends has waited until then.
        from_ae = ~np.isin(
            np.asarray(rec.admission_source, dtype=np.int64), (DIRECT, OTHER_ROUTE_ADMISSION)
        )
        wait_hours = np.where(granted, start, tl.horizon_hours) - decided
        return finance | {
            "bed_days": core_days + escalation_days,
            "bed_occupancy": core_days / (self.core_beds * DAYS_PER_YEAR),
            "escalation_bed_days": escalation_days,
            "trolley_wait_mean_hours": ratio(
                sum_by_year(decided[from_ae], wait_hours[from_ae], tl),
                count_by_year(decided, tl, from_ae),
            ),
            "trolley_waits_over_12h": count_by_year(decided, tl, from_ae & (wait_hours > 12.0)),
            "waiting_for_bed_at_year_end": waiting_at_year_ends(decided, start, tl),
            "discharges": discharges,
            "mean_length_of_stay": ratio(sum_by_year(discharge_time, los_days, tl), discharges),
            "delayed_discharge_days": sum_by_year(discharge_time, delay_days, tl),
            "delayed_discharge_share": ratio(
                sum_by_year(discharge_time, delay_days, tl), core_days + escalation_days
            ),
            "onward_care_not_found": count_by_year(rec.onward_care_not_found, tl),
        }


def occupied_bed_days(
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
    return sum_by_year(times[:-1], core, tl), sum_by_year(times[:-1], above, tl)


def waiting_at_year_ends(decided: np.ndarray, start: np.ndarray, tl: Timeline) -> np.ndarray:
    """Patients decided for admission and not yet in a bed at the end of each year."""
    waiting = np.zeros(tl.years)
    for year in range(tl.years):
        end = tl.year_start_hours(year + 1)
        waiting[year] = np.count_nonzero((decided < end) & ~(start < end))
    return waiting
