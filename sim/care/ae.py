"""A&E: arrival, triage, a clinician, results, then home or a bed.

Each step's length is known when the patient reaches it, so triage staff and
clinicians are booked servers (:class:`~sim.resources.BookedServers`, and
:class:`~sim.resources.BookedRota` for clinicians on an hourly rota), first come,
first served within a stream. Departments stream by acuity: while the minors
stream is staffed, minor (low-acuity) patients queue for its clinicians, never
behind majors; at other hours every patient queues for the majors clinicians:

1. arrive (walk-in, ambulance, GP referral, UCC transfer, rapid response,
   readmission: ``source``) and queue for triage;
2. queue for a clinician of the patient's stream; treatment;
3. wait for results; a share of those who would run past the 4-hour standard
   are decided just before it ("managed to the standard");
4. discharged home, or decided for admission and handed to the wards, where the
   patient waits in A&E for a bed (the attendance ends when the bed is granted).
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.annual import count_by_year, ratio, sum_by_year, sum_days_by_year
from sim.care.base import CareContext, CareService, EpisodeBlock, Report
from sim.demand import exponential, lognormal
from sim.recorder import BY_AMBULANCE, OUTCOME_CODE, flags, floats, ints
from sim.resources import BookedRota, BookedServers

AE_DISCHARGED = OUTCOME_CODE["ae_discharged"]
MINOR_ACUITY = 0  # the minors stream sees low-acuity patients
OLDER_BANDS_FROM = 2  # age bands 65-74 and above
ARRIVAL_MODES = (
    "walk-in",
    "ambulance",
    "GP referral",
    "UCC transfer",
    "rapid response",
    "readmission",
    "direct",
    "streaming",
    "other route",
)


@dataclass
class AERecords:
    """One row per attendance, written when its outcome is settled."""

    arrival: array[float] = field(default_factory=floats)
    departure: array[float] = field(default_factory=floats)  # nan if admitted (see bed_row)
    admitted: array[int] = field(default_factory=flags)
    mode: array[int] = field(default_factory=ints)  # how the patient arrived (``source``)
    # An admitted patient's row in the wards' records: the attendance ends when that
    # admission's bed is granted (the wards' bed_start), -1 for a discharge.
    bed_row: array[int] = field(default_factory=ints)
    minors: array[int] = field(default_factory=flags)  # seen in the minors stream
    episode: array[int] = field(default_factory=ints)
    # When the outcome was settled (end of treatment, or the decision to admit): rows are
    # written when the outcome is certain, which for a discharge is at triage, so metrics
    # put them in this order before summing (see rows()).
    settled: array[float] = field(default_factory=floats)
    treat_start: array[float] = field(default_factory=floats)
    treat_hours: array[float] = field(default_factory=floats)

    def attendance(
        self,
        arrived: float,
        departed: float,
        admitted: bool,
        mode: int,
        settled: float,
        minors: bool,
        episode: int,
        bed_row: int = -1,
    ) -> None:
        self.arrival.append(arrived)
        self.episode.append(episode)
        self.minors.append(minors)
        self.departure.append(departed)
        self.admitted.append(admitted)
        self.mode.append(mode)
        self.settled.append(settled)
        self.bed_row.append(bed_row)

    def rows(self, bed_start: np.ndarray) -> dict[str, np.ndarray]:
        """Attendances (arrival, departure, admitted, mode, minors, episode) in the order
        they were settled.

        An admitted patient departs when the bed is granted (``bed_start`` of the
        admission row; nan while still waiting). A fixed order makes floating-point
        sums over them independent of when the model happened to write each row.
        """
        order = np.argsort(np.frombuffer(self.settled, dtype=float), kind="stable")
        departure = np.frombuffer(self.departure, dtype=float).copy()
        bed_row = np.frombuffer(self.bed_row, dtype=np.int64)
        to_bed = bed_row >= 0
        departure[to_bed] = bed_start[bed_row[to_bed]]
        return {
            "arrival": np.frombuffer(self.arrival, dtype=float)[order],
            "departure": departure[order],
            "admitted": np.frombuffer(self.admitted, dtype=np.int8)[order].astype(bool),
            "mode": np.frombuffer(self.mode, dtype=np.int64)[order],
            "minors": np.frombuffer(self.minors, dtype=np.int8)[order].astype(bool),
            "episode": np.frombuffer(self.episode, dtype=np.int64)[order],
        }


class AccidentAndEmergency(CareService):
    name = "ae"
    stream = "ae"
    uniforms = ("u_triage", "u_treat", "u_admit", "u_results", "u_manage")
    decisions = ("u_admit", "u_manage")
    variate_inputs = ("u_triage", "u_treat", "u_results")
    metrics = (
        "ae_attendances",
        "ae_4h_performance",
        "ae_4h_performance_minors",
        "ae_4h_performance_majors",
        "ae_mean_time_hours",
        "ae_conversion_rate",
        "ae_clinician_utilisation",
        "ae_ambulance_arrival_share",
    )
    Records = AERecords

    def __init__(self, ctx: CareContext, system: Any):
        super().__init__(ctx, system)
        ae = ctx.config.services.ae
        self.triage = BookedServers(ae.triage_staff)
        # The minors stream's clinicians come out of the department's rota; the rest see
        # majors (and everyone, at hours when the minors stream is closed).
        self.minors_rota = list(ae.minors_clinicians_by_hour)
        rota = zip(ae.clinicians_by_hour, self.minors_rota, strict=True)
        self.clinicians = BookedRota([total - minors for total, minors in rota])
        self.minors = BookedRota(self.minors_rota) if max(self.minors_rota) > 0 else None
        self.managed_share = ae.managed_to_standard_share
        self.managed_by = ae.standard_hours - ae.managed_margin_hours
        self.standard_hours = ae.standard_hours
        self.admit = np.array(ae.admit_probability.as_tuple())
        self.older_admit = ae.admit_multiplier_65_plus
        self.ltc_admit = ae.admit_multiplier_ltc
        self.triage_mean = ae.triage_hours_mean
        self.treat_mean = np.array(ae.treatment_hours_mean.as_tuple())
        self.treat_cv = ae.treatment_time_cv
        self.treat_exponential = ae.treatment_time_distribution == "exponential"
        self.results_mean = np.array(ae.results_wait_hours_mean.as_tuple())
        self.rota_hours_per_day = float(np.asarray(ae.clinicians_by_hour, dtype=float).sum())
        self.rec: AERecords = self.records

    def connect(self) -> None:
        self.to_wards = self.hand_to("wards")

    def admission_probability(
        self, acuity: np.ndarray, age_band: np.ndarray, ltc: np.ndarray
    ) -> np.ndarray:
        """The episode's chance of needing admission, wherever it is assessed."""
        older = age_band >= OLDER_BANDS_FROM
        return np.minimum(
            1.0,
            self.admit[acuity]
            * np.where(older, self.older_admit, 1.0)
            * np.where(ltc, self.ltc_admit, 1.0),
        )

    def variates(
        self,
        u: Mapping[str, np.ndarray],
        acuity: np.ndarray,
        age_band: np.ndarray,
        ltc: np.ndarray,
    ) -> dict[str, np.ndarray]:
        return {
            "triage_h": exponential(self.triage_mean, u["u_triage"]),
            "treat_h": (
                exponential(self.treat_mean[acuity], u["u_treat"])
                if self.treat_exponential
                else lognormal(self.treat_mean[acuity], self.treat_cv, u["u_treat"])
            ),
            "results_h": exponential(self.results_mean[acuity], u["u_results"]),
            "minor": (acuity == MINOR_ACUITY).astype(np.int64),
            "p_admit": self.admission_probability(acuity, age_band, ltc),
        }

    def waiting(self, now: float) -> int:
        """Patients triaged and waiting for a clinician, both streams (for the monitor)."""
        minors = self.minors.waiting(now) if self.minors is not None else 0
        return self.clinicians.waiting(now) + minors

    # Steps, each run at its due time on the engine's agenda (``env.now`` is that time).
    def receive(self, b: EpisodeBlock, j: int, episode: int, source: int) -> int:
        """Arrive at A&E and queue for triage."""
        arrived = self.env.now
        start = self.triage.book(arrived, b.triage_h[j])
        triaged = start + b.triage_h[j]
        self.env.call_in(triaged - arrived, self.triaged, b, j, episode, source, arrived)
        if episode in self.traced:
            note = f"arrived by {ARRIVAL_MODES[source]}; triaged by {self.when(triaged)}"
            self.tracer.add(arrived, episode, self.name, "arrive", "triage", start - arrived, note)
        return -1

    def triaged(self, b: EpisodeBlock, j: int, episode: int, mode: int, arrived: float) -> None:
        """Book a clinician of the patient's stream; whether the patient will be admitted
        is already known."""
        env, rec = self.env, self.rec
        now, hours = env.now, b.treat_h[j]
        stream, minors = self.clinicians, False
        if self.minors is not None and b.minor[j] and self.minors_rota[int(now) % 24]:
            stream, minors = self.minors, True
        start = stream.book(now, hours)
        rec.treat_start.append(start)
        rec.treat_hours.append(hours)
        treated = now + (start + hours - now)
        decided = treated + b.results_h[j]
        # Managed to the standard: a share of those whose tests and observation would run
        # past the 4 hours are decided (discharged, or referred for a bed) just before it.
        limit = arrived + self.managed_by
        if treated < limit < decided and b.u_manage[j] < self.managed_share:
            decided = limit
        admit = b.u_admit[j] < b.p_admit[j]
        if admit:
            env.call_at(decided, self.decided_to_admit, b, j, episode, mode, arrived, minors)
        else:
            env.record_at(
                treated, self.discharged, episode, mode, arrived, decided, treated, minors
            )
        if episode in self.traced:
            then = "decision to admit" if admit else "discharged home"
            note = (
                f"treated until {self.when(treated)}; results back, {then} at {self.when(decided)}"
            )
            who = "minors clinician" if minors else "majors clinician"
            self.tracer.add(now, episode, self.name, "clinician", who, start - now, note)

    def discharged(
        self,
        episode: int,
        mode: int,
        arrived: float,
        departed: float,
        treated: float,
        minors: bool,
    ) -> None:
        """Discharged once treated and results are back (settled at the end of treatment)."""
        self.rec.attendance(arrived, departed, False, mode, treated, minors, episode)
        self.finish(episode, AE_DISCHARGED, departed)

    def decided_to_admit(
        self, b: EpisodeBlock, j: int, episode: int, mode: int, arrived: float, minors: bool
    ) -> None:
        """Referred for a bed: the attendance counts now and lasts until the bed is granted."""
        bed_row = self.to_wards(b, j, episode, mode)
        self.rec.attendance(
            arrived, float("nan"), True, mode, self.env.now, minors, episode, bed_row
        )

    def report(self, records: Mapping[str, Any], ctx: CareContext) -> Report:
        tl = ctx.timeline
        rec: AERecords = records[self.name]
        ae = rec.rows(np.frombuffer(records["wards"].bed_start, dtype=float))
        arrival = ae["arrival"]
        # A patient still waiting for a bed when the run ends has been in A&E until then.
        hours = np.where(np.isnan(ae["departure"]), tl.horizon_hours, ae["departure"]) - arrival
        attendances = count_by_year(arrival, tl)
        within = hours <= self.standard_hours
        minors = ae["minors"]
        treat_start = np.asarray(rec.treat_start, dtype=float)
        treat_hours = np.asarray(rec.treat_hours, dtype=float)
        rota_hours = np.full(tl.total_days, self.rota_hours_per_day)
        return {
            "ae_attendances": attendances,
            "ae_4h_performance": ratio(count_by_year(arrival, tl, within), attendances),
            "ae_4h_performance_minors": ratio(
                count_by_year(arrival, tl, within & minors), count_by_year(arrival, tl, minors)
            ),
            "ae_4h_performance_majors": ratio(
                count_by_year(arrival, tl, within & ~minors), count_by_year(arrival, tl, ~minors)
            ),
            "ae_mean_time_hours": ratio(sum_by_year(arrival, hours, tl), attendances),
            "ae_conversion_rate": ratio(count_by_year(arrival, tl, ae["admitted"]), attendances),
            "ae_clinician_utilisation": ratio(
                sum_by_year(treat_start, treat_hours, tl), sum_days_by_year(rota_hours, tl)
            ),
            "ae_ambulance_arrival_share": ratio(
                count_by_year(arrival, tl, ae["mode"] == BY_AMBULANCE), attendances
            ),
        }
