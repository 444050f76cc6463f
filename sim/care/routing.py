"""First contact: where each episode of a period goes, decided for the whole period at once.

An episode's first contact, the GP and NHS 111 outcomes, streaming at the A&E
front door and hear-and-treat follow from its own pre-drawn uniforms, its
acuity and its arrival time. The GP same-day book fills in arrival order;
its answers follow from each request's place in its practice's day
(:meth:`~sim.care.gp.GPSameDayBook.book_many`), so everything is numpy over
the period. Episodes resolved without queueing
(GP, NHS 111 advice, out-of-hours GP, hear-and-treat) are recorded here and
never reach the event loop; the rest come back as :class:`Routed` with the
service each one starts at.

Each record list (the GP's, NHS 111's, the ambulance service's) gets its
entries in arrival order, as an episode-by-episode walk would append them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from sim.care.ambulance import HEAR_AND_TREAT
from sim.care.base import CareContext
from sim.care.gp import BOOKED, CLOSED
from sim.recorder import (
    AE,
    AMBULANCE,
    BY_AMBULANCE,
    CONTACTS,
    DIRECT,
    GP,
    GP_REFERRAL,
    NHS111,
    OTHER_ROUTE,
    OTHER_ROUTE_ADMISSION,
    OUTCOME_CODE,
    OUTCOMES,
    STREAMED_FROM_AE,
    UCC,
    WALK_IN,
)

if TYPE_CHECKING:
    from sim.care.system import CareSystem

ACUITIES: tuple[Literal["low", "medium", "high"], ...] = ("low", "medium", "high")
GP_RESOLVED, GP_REFER_RRT, GP_REFER_HOSPITAL = range(3)
ADVICE, TO_GP, TO_AMBULANCE, TO_UCC, TO_AE = range(5)

# The service an episode that needs one starts at.
START_UCC, START_UCC_STREAMED, START_AE_WALK_IN, START_AE_GP_REFERRAL = range(4)
START_AMBULANCE, START_RRT_GP_REFERRAL, START_DIRECT_ADMISSION, START_OTHER_ROUTE = range(4, 8)
NO_SERVICE = -1
# Each start: the service that receives the patient, and how the patient arrives there.
FIRST_SERVICE: dict[int, tuple[str, int]] = {
    START_UCC: ("ucc", WALK_IN),
    START_UCC_STREAMED: ("ucc", STREAMED_FROM_AE),
    START_AE_WALK_IN: ("ae", WALK_IN),
    START_AE_GP_REFERRAL: ("ae", GP_REFERRAL),
    START_AMBULANCE: ("ambulance", BY_AMBULANCE),
    START_RRT_GP_REFERRAL: ("rapid_response", GP_REFERRAL),
    START_DIRECT_ADMISSION: ("wards", DIRECT),
    START_OTHER_ROUTE: ("wards", OTHER_ROUTE_ADMISSION),
}
# Routing's own stream: the columns it supplies per episode, in draw order.
STREAM, STREAM_UNIFORMS = "routing", ("u_contact", "u_fallback", "u_stream", "u_route")
# The uniform columns routing reads, for every episode of a period.
ROUTING_UNIFORMS = (
    "u_contact",
    "u_fallback",
    "u_stream",
    "u_route",
    "u_gp",
    "u_direct",
    "u_111",
    "u_hear",
    "u_admit",
)


def cumulative(shares: tuple[float, ...]) -> np.ndarray:
    """Cumulative thresholds; the last is forced just above 1 so every uniform maps somewhere."""
    out = np.cumsum(np.asarray(shares, dtype=float))
    out[-1] = 1.0 + 1e-12
    return out


def choose(thresholds: list[np.ndarray], acuity: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Category of each uniform: the first threshold above it, per acuity's table."""
    out = np.empty(u.size, dtype=np.int64)
    for level, table in enumerate(thresholds):
        mask = acuity == level
        out[mask] = np.searchsorted(table, u[mask], side="right")
    return out


@dataclass(frozen=True)
class Routed:
    """Episodes of a period that need a service: positions in the period, in time order."""

    index: np.ndarray
    start: np.ndarray


class Router:
    """Routes a period's episodes to their first service (see the module docstring)."""

    def __init__(self, ctx: CareContext, system: CareSystem):
        config = ctx.config
        fc, s = config.first_contact, config.services
        self.preference = [cumulative(fc.preference[a].as_tuple()) for a in ACUITIES]
        self.fallback = [cumulative(fc.when_gp_unavailable[a].as_tuple()) for a in ACUITIES]
        self.gp_outcome = [cumulative(s.gp.outcome[a].as_tuple()) for a in ACUITIES]
        self.nhs111_outcome = [cumulative(s.nhs111.outcome[a].as_tuple()) for a in ACUITIES]
        self.hear_and_treat = np.array(s.ambulance.hear_and_treat.as_tuple())
        self.ucc_open, self.ucc_close = s.ucc.open_hour, s.ucc.close_hour
        self.direct_share = s.gp.direct_admission_share
        self.other_route_share = s.wards.other_route_share
        self.switch(ctx)
        self.admission_probability = system.service("ae").admission_probability
        self.gp_book = system.service("gp").book
        self.rec = ctx.recorder
        self.tracer = ctx.tracer
        self.report_start = ctx.timeline.report_start_hours

    def switch(self, ctx: CareContext) -> None:
        """Read the levers routing depends on (again, when a shared prefix switches)."""
        schedule, extended = ctx.schedule, ctx.config.interventions.extended_gp_access
        self.streamed_low = np.asarray(schedule.streamed_share_low)
        self.streamed_medium = np.asarray(schedule.streamed_share_medium)
        self.extended_hours_low_only = extended.enabled and extended.extended_hours_serve == "low"

    def route(self, arrays: dict[str, np.ndarray], first_id: int) -> Routed:
        rec = self.rec
        time, acuity, practice = arrays["time"], arrays["acuity"], arrays["practice"]
        episode = first_id + np.arange(time.size)

        preferred = choose(self.preference, acuity, arrays["u_contact"])
        fallback = choose(self.fallback, acuity, arrays["u_fallback"])
        nhs111 = choose(self.nhs111_outcome, acuity, arrays["u_111"])
        gp_outcome = choose(self.gp_outcome, acuity, arrays["u_gp"])
        # Whether the patient needs admission is the episode's own (the decision A&E would
        # make, from its own uniform): no door resolves such a patient on the spot. NHS 111
        # sends them on (999 at high acuity, else A&E), a GP to hospital (or the rapid
        # response team, the one door meant to keep them at home), 999 never hears and
        # treats them. A door changes where a patient is admitted, not whether.
        needs = arrays["u_admit"] < self.admission_probability(
            acuity, arrays["age_band"], arrays["ltc"]
        )
        advised = needs & (nhs111 == ADVICE)
        nhs111[advised] = np.where(acuity[advised] == 2, TO_AMBULANCE, TO_AE)
        gp_outcome[needs & (gp_outcome == GP_RESOLVED)] = GP_REFER_HOSPITAL
        # Some who need admission are admitted by a route the model does not represent as
        # a service (seen in an outpatient clinic, transferred, the bed bureau): they
        # never reach a front door, so a door's lever cannot change them.
        other_route = needs & (arrays["u_route"] < self.other_route_share)
        preferred[other_route] = OTHER_ROUTE

        # Those who ask their practice first; if no slot, where they go instead.
        asks_gp = preferred == GP
        status = np.full(time.size, CLOSED, dtype=np.int64)
        asking = np.flatnonzero(asks_gp | ((preferred == NHS111) & (nhs111 == TO_GP)))
        if self.extended_hours_low_only:
            # Extended hours serve minor illness only: others find the practice closed.
            core = self.gp_book.in_core_hours(time[asking])
            asking = asking[core | (acuity[asking] == 0)]
        status[asking] = self.gp_book.book_many(practice[asking], time[asking])
        first_booked = asks_gp & (status == BOOKED)
        failed = asks_gp & ~first_booked
        contact = np.where(first_booked, GP, np.where(failed, fallback, preferred))
        # A patient whose practice just had no slot is told the same by NHS 111.
        via_111 = (contact == NHS111) & (nhs111 == TO_GP)
        second_booked = via_111 & ~failed & (status == BOOKED)
        out_of_hours = via_111 & ~second_booked
        sees_gp = first_booked | second_booked

        hour = np.remainder(time, 24.0)
        ucc_open = (self.ucc_open <= hour) & (hour < self.ucc_close)
        day = np.floor_divide(time, 24.0).astype(np.int64)
        share = np.where(
            acuity == 0,
            self.streamed_low[day],
            np.where(acuity == 1, self.streamed_medium[day], 0.0),
        )
        streamed = (acuity < 2) & ucc_open & (arrays["u_stream"] < share)

        calls_999 = (contact == AMBULANCE) | ((contact == NHS111) & (nhs111 == TO_AMBULANCE))
        heard = calls_999 & (arrays["u_hear"] < self.hear_and_treat[acuity]) & ~needs

        start = np.full(time.size, NO_SERVICE, dtype=np.int64)
        in_111 = (contact == NHS111) & ~sees_gp
        start[calls_999 & ~heard] = START_AMBULANCE
        start[in_111 & (nhs111 == TO_UCC) & ucc_open] = START_UCC
        start[in_111 & ((nhs111 == TO_AE) | ((nhs111 == TO_UCC) & ~ucc_open))] = START_AE_WALK_IN
        start[(contact == UCC) & ucc_open] = START_UCC
        start[(contact == UCC) & ~ucc_open] = START_AE_WALK_IN
        start[(contact == AE) & streamed] = START_UCC_STREAMED
        start[(contact == AE) & ~streamed] = START_AE_WALK_IN
        # Sent to hospital by a GP (in or out of hours), a patient who needs admission is
        # admitted directly (assessment unit / bed bureau) with the area's share.
        start[sees_gp & (gp_outcome == GP_REFER_RRT)] = START_RRT_GP_REFERRAL
        to_hospital = (sees_gp & (gp_outcome == GP_REFER_HOSPITAL)) | (out_of_hours & needs)
        start[to_hospital] = START_AE_GP_REFERRAL
        direct = to_hospital & needs & (arrays["u_direct"] < self.direct_share)
        start[direct] = START_DIRECT_ADMISSION
        start[other_route] = START_OTHER_ROUTE
        resolved_out_of_hours = out_of_hours & ~needs

        rec.set_first_contact(episode, contact)
        gp_records, nhs111_records, ambulance_records = (
            rec.service[name] for name in ("gp", "nhs111", "ambulance")
        )
        gp_records.failed.extend(time[failed].tolist())
        gp_records.failed_closed.extend(time[failed & (status == CLOSED)].tolist())
        nhs111_records.calls.extend(time[contact == NHS111].tolist())
        gp_records.seen.extend(time[sees_gp].tolist())
        nhs111_records.out_of_hours_gp.extend(time[out_of_hours].tolist())
        heard_times = time[heard].tolist()
        ambulance_records.time.extend(heard_times)
        ambulance_records.kind.extend([HEAR_AND_TREAT] * len(heard_times))
        for mask, outcome in (
            (sees_gp & (gp_outcome == GP_RESOLVED), "resolved_gp"),
            (in_111 & (nhs111 == ADVICE), "resolved_111_advice"),
            (resolved_out_of_hours, "resolved_out_of_hours_gp"),
            (heard, "ambulance_hear_and_treat"),
        ):
            rec.finish_many(episode[mask], OUTCOME_CODE[outcome], time[mask])
        index = np.flatnonzero(start != NO_SERVICE)
        if self.tracer.wanted or self.tracer.episodes:
            self._trace(episode, time, contact, start, index)
        return Routed(index=index, start=start[index])

    def _trace(
        self,
        episode: np.ndarray,
        time: np.ndarray,
        contact: np.ndarray,
        start: np.ndarray,
        index: np.ndarray,
    ) -> None:
        """Choose the episodes still wanted (the next after the warm-up that reach a
        service) and add a first-contact row for every followed episode of the period."""
        tracer = self.tracer
        if tracer.wanted:
            chosen = index[time[index] >= self.report_start][: tracer.wanted]
            tracer.episodes.update(episode[chosen].tolist())
            tracer.wanted -= chosen.size
        followed = np.flatnonzero(np.isin(episode, list(tracer.episodes)))
        outcome = np.frombuffer(self.rec.outcome, dtype=np.int8)
        for i in followed.tolist():
            if start[i] == NO_SERVICE:
                note = f"resolved: {OUTCOMES[outcome[episode[i]]]}"
            else:
                note = f"to {FIRST_SERVICE[int(start[i])][0]}"
            tracer.add(
                float(time[i]),
                int(episode[i]),
                "routing",
                "first contact",
                CONTACTS[int(contact[i])],
                note=note,
            )
