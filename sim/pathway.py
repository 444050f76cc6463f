"""The urgent-care pathway: the services episodes flow through after first contact.

Each period's episodes are first routed with numpy (:mod:`sim.routing`); those
resolved without queueing (GP, NHS 111 advice, hear-and-treat) never reach the
event loop. The rest arrive one by one on the engine's agenda
(:class:`~sim.engine.Engine`), with durations derived only for them.

Servers whose hold time is known when a job arrives (triage, A&E and UCC
clinicians, ambulances) are booked first come, first served
(:class:`~sim.services.BookedServers`), so each step there is an agenda
callback; an outcome already certain at booking (a see-and-treat, a UCC or
A&E discharge) is recorded then. Beds and onward-care places are
:class:`~sim.services.AgendaPool` units granted by agenda callbacks, first
come, first served. Rapid response stays a SimPy resource and process (a
request is abandoned if not met in time). Processes live only while an
episode is being served, so the number of live processes stays small
whatever the population size.

Episode attributes and pre-drawn variates are read from :class:`EpisodeBlock`
lists by index; nothing random is drawn inside the event loop except
readmissions, which draw from their own block of pre-drawn uniforms.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

import numpy as np
import simpy

from sim.config import ModelConfig
from sim.demand import PeriodDemand, VariateModel, draw_uniforms, named_columns
from sim.engine import Engine
from sim.interventions import DailySchedule
from sim.recorder import (
    BY_AMBULANCE,
    CONVEYED,
    DIRECT,
    FROM_RRT,
    GP_REFERRAL,
    OUTCOME_CODE,
    PATHFINDER,
    READMISSION,
    SEE_AND_TREAT,
    UCC_TRANSFER,
    WALK_IN,
    Recorder,
    as_array,
)
from sim.routing import (
    ROUTING_UNIFORMS,
    START_AE_GP_REFERRAL,
    START_AE_WALK_IN,
    START_AMBULANCE,
    START_RRT_GP_REFERRAL,
    START_UCC,
    START_UCC_STREAMED,
    Router,
)
from sim.services import (
    AgendaPool,
    BookedRota,
    BookedServers,
    GPSameDayBook,
    RotaResource,
    Waiting,
)
from sim.streams import RandomStreams

Process = Generator[simpy.Event, Any, None]

SEE_TREAT_DONE = OUTCOME_CODE["ambulance_see_and_treat"]
MANAGED_AT_HOME = OUTCOME_CODE["managed_at_home"]
UCC_DISCHARGED = OUTCOME_CODE["ucc_discharged"]
AE_DISCHARGED = OUTCOME_CODE["ae_discharged"]
ADMITTED = OUTCOME_CODE["admitted"]

READMISSION_BLOCK = 512
FOLLOW_UP_INTERVAL_HOURS = 24.0
MONITOR_HOURS = 6.0


class EpisodeBlock:
    """Episodes' attributes and variates as flat ``array.array`` columns (fast scalar indexing).

    Each column is one copy of its numpy buffer, 8 bytes an entry, where a list
    would hold a 32-byte float object per entry and take 30-odd ns per entry to
    build; most entries are read once, if at all. Floats stay floats; integers
    and flags become ints.
    """

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        for name, values in arrays.items():
            setattr(self, name, as_array("d" if values.dtype.kind == "f" else "q", values))

    def __getattr__(self, name: str) -> array[Any]:  # for type checkers: attributes are dynamic
        raise AttributeError(name)


# Episode attributes the services read (a readmission's are its kind and the ACS flag).
ATTRIBUTES = ("age_band", "ltc", "acs_group", "acuity")
# Uniforms the services compare with a probability themselves; the other ``u_*``
# columns only feed :class:`~sim.demand.VariateModel` (or routing).
DECISION_UNIFORMS = (
    "u_see",
    "u_path",
    "u_accept",
    "u_managed",
    "u_transfer",
    "u_admit",
    "u_manage",
    "u_onward",
    "u_readmit",
)


class ReadmissionSource:
    """Builds a readmission episode from a discharged one, with fresh variates.

    Uniforms come in blocks from streams prefixed ``readmission/`` so that
    readmissions never disturb the streams of first episodes; the n-th
    readmission of a block takes row n. Variates depend on the patient's
    acuity, age band and LTC flag, so the first readmission of each such kind
    in a block derives the whole block's variates for that kind at once
    (elementwise, so row n holds what deriving row n alone would give); the
    readmission is row n of that kind's :class:`EpisodeBlock`, with the
    discharged episode's ACS flag copied in.
    """

    def __init__(self, config: ModelConfig, streams: RandomStreams, recorder: Recorder):
        self.variates = VariateModel(config)
        self.streams = streams
        self.recorder = recorder
        self._uniforms: dict[str, np.ndarray] = {}
        self._by_kind: dict[tuple[int, int, int], EpisodeBlock] = {}
        self._next = READMISSION_BLOCK

    def _derive(self, kind: tuple[int, int, int]) -> EpisodeBlock:
        n = READMISSION_BLOCK
        acuity, age_band, ltc = (np.full(n, value) for value in kind)
        columns = self.variates(self._uniforms, acuity, age_band, ltc)
        columns["p_admit"] = np.ones(n)  # a readmission is, by definition, admitted
        columns.update((name, self._uniforms[name]) for name in DECISION_UNIFORMS)
        columns.update(
            acuity=acuity, age_band=age_band, ltc=ltc, acs_group=np.zeros(n, dtype=np.int64)
        )
        block = EpisodeBlock(columns)
        self._by_kind[kind] = block
        return block

    def make(self, source: EpisodeBlock, j: int, now: float) -> tuple[EpisodeBlock, int, int]:
        """The readmission's block, its row in it and its episode id."""
        if self._next >= READMISSION_BLOCK:
            blocks = draw_uniforms(self.streams, "readmission/", READMISSION_BLOCK)
            self._uniforms = named_columns(blocks)
            self._by_kind = {}
            self._next = 0
        row = self._next
        self._next += 1
        kind = (source.acuity[j], source.age_band[j], source.ltc[j])
        block = self._by_kind.get(kind) or self._derive(kind)
        block.acs_group[row] = source.acs_group[j]
        return block, row, self.recorder.new_readmission(now)


class UrgentCareSystem:
    """All services of an area and the processes episodes follow through them."""

    def __init__(
        self,
        env: Engine,
        config: ModelConfig,
        schedule: DailySchedule,
        gp_book: GPSameDayBook,
        recorder: Recorder,
        readmissions: ReadmissionSource,
    ):
        self.env = env
        self.schedule = schedule
        self.gp_book = gp_book
        self.rec = recorder
        self.readmissions = readmissions
        self.variates = VariateModel(config)
        self.router = Router(config, schedule, gp_book, recorder, self.variates)
        s = config.services
        self.see_and_treat = list(s.ambulance.see_and_treat.as_tuple())
        self.turnaround = s.ambulance.handover_turnaround_hours
        self.to_scene = s.ambulance.travel_to_scene_hours_mean
        rrt = s.rapid_response
        self.rrt_open_hour = rrt.open_hour
        self.rrt_travel = rrt.travel_hours_mean
        # A clinician must be free in time to travel and still meet the response target.
        self.rrt_wait_limit = max(rrt.response_target_hours - rrt.travel_hours_mean, 0.0)
        self.rrt_follow_ups = rrt.follow_up_visits
        self.rrt_managed = list(rrt.managed_at_home.as_tuple())
        self.virtual_ward_days = rrt.virtual_ward_days * 24.0
        self.onward_max_wait = s.wards.onward_care_max_wait_days * 24.0
        self.ucc_transfer = list(s.ucc.transfer_to_ae.as_tuple())
        self.ae_rota = list(s.ae.clinicians_by_hour)
        self.ae_managed_share = s.ae.managed_to_standard_share
        self.ae_managed_by = s.ae.standard_hours - s.ae.managed_margin_hours
        self.last_day = len(schedule.rrt_staff) - 1

        self.triage = BookedServers(s.ae.triage_staff)
        self.ae_clinicians = BookedRota(self.ae_rota)
        self.beds = AgendaPool(env, s.wards.beds + s.wards.escalation_beds)
        self.onward_care = AgendaPool(env, schedule.onward_care_places[0])
        self.ambulances = BookedServers(s.ambulance.vehicles)
        self.ucc_clinicians = BookedServers(s.ucc.clinicians)
        self.rrt_staff = RotaResource(env, schedule.rrt_staff[0])
        self.virtual_ward = RotaResource(env, rrt.virtual_ward_places)

    # ----------------------------------------------------------------- clocks
    def rota(self) -> Process:
        """Daily: rapid response staff, onward care places (A&E clinicians book by the hour)."""
        env, day = self.env, 0
        while day < len(self.schedule.rrt_staff):
            self.rrt_staff.set_capacity(self.schedule.rrt_staff[day])
            self.onward_care.set_capacity(self.schedule.onward_care_places[day])
            day += 1
            yield env.timeout(24.0 * day - env.now)

    def monitor(self, every_hours: float = MONITOR_HOURS) -> Process:
        """Sample the state of the system (for the warm-up analysis); 4 events a day."""
        env, rec = self.env, self.rec
        while True:
            rec.monitor_time.append(env.now)
            rec.monitor_beds.append(self.beds.count)
            rec.monitor_ae_queue.append(self.ae_clinicians.waiting(env.now) + self.beds.waiting)
            rec.monitor_onward.append(self.onward_care.count)
            yield env.timeout(every_hours)

    # --------------------------------------------------------------- arrivals
    def start_arrivals(self, periods: Iterator[tuple[int, PeriodDemand]]) -> None:
        """Route the first period now; each period routes the next at its last arrival.

        ``periods`` yields each period's first episode id and its episodes (time order).
        """
        self._periods = periods
        self._clock = self.env.now
        self._route_next()

    def _route_next(self) -> None:
        """Route one period (:mod:`sim.routing`); those that need a service arrive one by one.

        Only the next arrival is on the agenda at any time (each puts up the one
        after it), so the agenda stays short; the next period is routed at this
        one's last arrival, before that arrival is served.
        """
        period = next(self._periods, None)
        if period is None:
            return
        first_id, demand = period
        arrays = demand.arrays
        routed = self.router.route({**arrays, **demand.uniform_columns(ROUTING_UNIFORMS)}, first_id)
        index = routed.index
        picked = {name: arrays[name][index] for name in ("time", *ATTRIBUTES)}
        picked.update(demand.uniform_columns((*DECISION_UNIFORMS, *VariateModel.INPUTS), index))
        columns = self.variates(picked, picked["acuity"], picked["age_band"], picked["ltc"])
        for name in ("time", *ATTRIBUTES, *DECISION_UNIFORMS):
            columns[name] = picked[name]
        columns["episode"] = first_id + index
        columns["start"] = routed.start
        block = EpisodeBlock(columns)
        due, clock = [], self._clock
        for now in block.time:
            delay = now - clock
            if delay > 0:
                clock = clock + delay  # the clock a process waiting ``delay`` would read
            due.append(clock)
        self._clock = clock
        self._arrivals = (block, due)
        if due:
            self.env.call_at(due[0], self._arrive, 0)
        else:
            self.env.call_at(clock, self._route_next)

    def _arrive(self, j: int) -> None:
        b, due = self._arrivals
        if j + 1 < len(due):
            self.env.call_at(due[j + 1], self._arrive, j + 1)
        else:
            self._route_next()
        start, episode = b.start[j], b.episode[j]
        if start == START_AE_WALK_IN:
            self.ae_arrive(b, j, episode, WALK_IN)
        elif start == START_AMBULANCE:
            self.ambulance_call(b, j, episode)
        elif start in (START_UCC, START_UCC_STREAMED):
            self.ucc_arrive(b, j, episode, start == START_UCC_STREAMED)
        elif start == START_AE_GP_REFERRAL:
            self.ae_arrive(b, j, episode, GP_REFERRAL)
        elif start == START_RRT_GP_REFERRAL:
            self._spawn(self.rapid_response, b, j, episode, GP_REFERRAL)
        else:
            self.request_bed(b, j, episode, DIRECT, float("nan"))

    def _spawn(self, process: Callable[..., Process], *args: Any) -> None:
        """Start a SimPy process now (for steps that wait on a SimPy resource)."""
        self.env.process(process(*args))

    def day(self, at: float) -> int:
        """Simulation day of a time, clamped to the last day (for times past the horizon)."""
        return min(int(at // 24.0), self.last_day)

    def rrt_is_open(self, now: float) -> bool:
        day = self.day(now)
        hour = now - 24.0 * day
        return self.rrt_open_hour <= hour < self.schedule.rrt_close_hour[day]

    def rrt_accepts(self, b: EpisodeBlock, j: int, now: float) -> bool:
        """Open, and willing to take this referral (the episode's own uniform decides)."""
        day = self.day(now)
        return self.rrt_is_open(now) and b.u_accept[j] < self.schedule.rrt_acceptance[day]

    # ------------------------------------------- booked steps (agenda callbacks)
    # Each method below runs at its due time on the engine's agenda (``env.now``
    # is that time) and books first-come-first-served servers, so calls to each
    # server come in time order exactly as SimPy processes would make them.

    def ambulance_call(self, b: EpisodeBlock, j: int, episode: int) -> None:
        env, rec, vehicles = self.env, self.rec, self.ambulances
        called = env.now
        # What happens on scene follows from the episode's pre-drawn uniforms and the
        # time the crew leaves scene, so the vehicle's whole job is known at the call.
        dispatched = vehicles.start(called)
        rec.ambulance_dispatch_time.append(dispatched)
        rec.ambulance_wait.append(dispatched - called)
        leave_scene = dispatched + (self.to_scene + b.scene_h[j])
        acuity = b.acuity[j]
        # A crew treats on scene only a patient who does not need admission.
        if b.u_see[j] < self.see_and_treat[acuity] and b.u_admit[j] >= b.p_admit[j]:
            vehicles.hold(dispatched, leave_scene)
            done = called + (leave_scene - called)  # SimPy's arithmetic for a wait from ``called``
            env.record_at(done, self.see_and_treat_done, episode, called, done)
            return
        if (
            acuity < 2
            and b.u_path[j] < self.schedule.pathfinder_share[self.day(leave_scene)]
            and self.rrt_accepts(b, j, leave_scene)
        ):
            vehicles.hold(dispatched, leave_scene)
            env.call_in(leave_scene - called, self.pathfinder_handover, b, j, episode, called)
            return
        at_hospital = dispatched + (self.to_scene + b.scene_h[j] + b.convey_h[j])
        # The crew hands over and turns round while the patient's A&E visit goes on.
        vehicles.hold(dispatched, at_hospital + self.turnaround)
        rec.incident(called, CONVEYED)
        env.call_in(at_hospital - called, self.ae_arrive, b, j, episode, BY_AMBULANCE)

    def see_and_treat_done(self, episode: int, called: float, done: float) -> None:
        self.rec.incident(called, SEE_AND_TREAT)
        self.rec.finish(episode, SEE_TREAT_DONE, done)

    def pathfinder_handover(self, b: EpisodeBlock, j: int, episode: int, called: float) -> None:
        self.rec.incident(called, PATHFINDER)
        self._spawn(self.rapid_response, b, j, episode, BY_AMBULANCE)

    def ucc_arrive(self, b: EpisodeBlock, j: int, episode: int, streamed: bool) -> None:
        arrived, hours = self.env.now, b.ucc_h[j]
        seen = arrived + (self.ucc_clinicians.book(arrived, hours) + hours - arrived)
        # The UCC cannot admit: a patient who needs admission is always sent on to A&E.
        if b.u_transfer[j] < self.ucc_transfer[b.acuity[j]] or b.u_admit[j] < b.p_admit[j]:
            self.env.call_at(seen, self.ucc_transferred, b, j, episode, streamed, arrived)
        else:
            self.env.record_at(seen, self.ucc_discharged, episode, streamed, arrived, seen)

    def ucc_discharged(self, episode: int, streamed: bool, arrived: float, seen: float) -> None:
        self.rec.ucc_attendance(arrived, streamed, False)
        self.rec.finish(episode, UCC_DISCHARGED, seen)

    def ucc_transferred(
        self, b: EpisodeBlock, j: int, episode: int, streamed: bool, arrived: float
    ) -> None:
        self.rec.ucc_attendance(arrived, streamed, True)
        self.ae_arrive(b, j, episode, UCC_TRANSFER)

    def ae_arrive(self, b: EpisodeBlock, j: int, episode: int, mode: int) -> None:
        """Arrive at A&E and queue for triage (also called by SimPy processes at their now)."""
        arrived = self.env.now
        triaged = self.triage.book(arrived, b.triage_h[j]) + b.triage_h[j]
        self.env.call_in(triaged - arrived, self.ae_triaged, b, j, episode, mode, arrived)

    def ae_triaged(self, b: EpisodeBlock, j: int, episode: int, mode: int, arrived: float) -> None:
        """Book a clinician; whether the patient will be admitted is already known."""
        env, rec = self.env, self.rec
        now, hours = env.now, b.treat_h[j]
        start = self.ae_clinicians.book(now, hours)
        rec.ae_treat_start.append(start)
        rec.ae_treat_hours.append(hours)
        treated = now + (start + hours - now)
        decided = treated + b.results_h[j]
        # Managed to the standard: a share of those whose tests and observation would run
        # past the 4 hours are decided (discharged, or referred for a bed) just before it.
        limit = arrived + self.ae_managed_by
        if treated < limit < decided and b.u_manage[j] < self.ae_managed_share:
            decided = limit
        if b.u_admit[j] < b.p_admit[j]:
            env.call_at(decided, self.request_bed, b, j, episode, mode, arrived)
        else:
            env.record_at(treated, self.ae_discharged, episode, mode, arrived, decided, treated)

    def ae_discharged(
        self, episode: int, mode: int, arrived: float, departed: float, treated: float
    ) -> None:
        """Discharged once treated and results are back (settled at the end of treatment)."""
        self.rec.ae_attendance(arrived, departed, False, mode, treated)
        self.rec.finish(episode, AE_DISCHARGED, departed)

    def readmit(self, b: EpisodeBlock, j: int) -> None:
        block, row, episode = self.readmissions.make(b, j, self.env.now)
        self.ae_arrive(block, row, episode, READMISSION)

    # ----------------------------------------------------------- SimPy processes
    def rapid_response(self, b: EpisodeBlock, j: int, episode: int, source: int) -> Process:
        env, rec = self.env, self.rec
        referred = env.now
        if not self.rrt_accepts(b, j, referred):
            rec.rrt_declined.append(referred)
            self.ae_arrive(b, j, episode, FROM_RRT)
            return
        staff = self.rrt_staff.request()
        yield staff | env.timeout(self.rrt_wait_limit)
        if not staff.triggered:
            staff.cancel()
            rec.rrt_referral(referred, float("nan"), False)
            self.ae_arrive(b, j, episode, FROM_RRT)
            return
        response = env.now - referred + self.rrt_travel
        hours = self.rrt_travel + b.visit_h[j]
        rec.rrt_busy_start.append(env.now)
        rec.rrt_busy_hours.append(hours)
        yield env.timeout(hours)
        self.rrt_staff.release(staff)
        acuity = b.acuity[j]
        managed = b.u_managed[j] < self.rrt_managed[acuity]
        ward = self.virtual_ward
        if managed and acuity > 0 and ward.capacity > 0:
            managed = ward.count < ward.capacity
            if managed:
                place = ward.request()
                rec.rrt_referral(referred, response, True)
                rec.finish(episode, MANAGED_AT_HOME, env.now)
                self._follow_up(hours)
                yield env.timeout(self.virtual_ward_days)
                ward.release(place)
                return
        rec.rrt_referral(referred, response, managed)
        if managed:
            rec.finish(episode, MANAGED_AT_HOME, env.now)
            self._follow_up(hours)
        else:
            self.ae_arrive(b, j, episode, FROM_RRT)

    def _follow_up(self, hours: float) -> None:
        if self.rrt_follow_ups:
            self._spawn(self.follow_up_visits, hours)

    def follow_up_visits(self, hours: float) -> Process:
        """Short-term support at home: visits a day apart, each as long as the first."""
        env, rec = self.env, self.rec
        for _ in range(self.rrt_follow_ups):
            yield env.timeout(FOLLOW_UP_INTERVAL_HOURS)
            staff = self.rrt_staff.request()
            yield staff
            rec.rrt_busy_start.append(env.now)
            rec.rrt_busy_hours.append(hours)
            yield env.timeout(hours)
            self.rrt_staff.release(staff)

    # ----------------------------------------------------- beds and onward care
    # A ward stay is a chain of callbacks: granted a bed (AgendaPool, first come
    # first served), medically fit after the length of stay, then, for those who
    # need it, holding the bed until an onward-care place is granted.

    def request_bed(
        self, b: EpisodeBlock, j: int, episode: int, source: int, arrived: float
    ) -> None:
        """Decide to admit now (in A&E, arrived at ``arrived``, or a GP's direct admission)
        and wait for a bed: the admission and the attendance count from this moment."""
        env, rec = self.env, self.rec
        decided = env.now
        row = rec.decide_to_admit(
            decided, b.acs_group[j], b.age_band[j], source == READMISSION, source, episode
        )
        ae_row = -1
        if source != DIRECT:
            ae_row = rec.ae_attendance(arrived, float("nan"), True, source, decided)
        rec.finish(episode, ADMITTED, decided)
        self.beds.request(self._admitted, b, j, episode, row, ae_row)

    def _admitted(self, b: EpisodeBlock, j: int, episode: int, row: int, ae_row: int) -> None:
        """A bed is granted: the stay starts, and an A&E patient leaves A&E."""
        env, rec = self.env, self.rec
        admitted = env.now
        rec.bed_start[row] = admitted
        if ae_row >= 0:
            rec.ae_departure[ae_row] = admitted
        stay = b.los_h[j] * self.schedule.los_multiplier[int(admitted // 24.0)]
        env.call_in(stay, self._medically_fit, b, j, episode)

    def _medically_fit(self, b: EpisodeBlock, j: int, episode: int) -> None:
        """Ready to leave; those who need onward care keep the bed until a place is free,
        or until they have waited the longest a patient waits and leave another way."""
        ready = self.env.now
        if b.u_onward[j] < b.p_onward[j]:
            ticket = self.onward_care.request(self._discharged, b, j, episode, ready, True)
            if ticket is not None:
                wait = self.onward_max_wait
                self.env.call_in(wait, self._onward_wait_over, ticket, b, j, episode, ready)
        else:
            self._discharged(b, j, episode, ready, False)

    def _onward_wait_over(
        self, ticket: Waiting, b: EpisodeBlock, j: int, episode: int, ready: float
    ) -> None:
        if self.onward_care.withdraw(ticket):
            self.rec.onward_care_not_found.append(self.env.now)
            self._discharged(b, j, episode, ready, False)

    def _discharged(
        self, b: EpisodeBlock, j: int, episode: int, ready: float, onward: bool
    ) -> None:
        env, rec = self.env, self.rec
        self.beds.release()
        rec.discharge_episode.append(episode)
        rec.discharge_time.append(env.now)
        rec.discharge_delay_hours.append(env.now - ready)
        if b.u_readmit[j] < b.p_readmit[j]:
            env.call_in(b.readmit_h[j], self.readmit, b, j)
        if onward:
            env.call_in(b.onward_h[j], self.onward_care.release)
