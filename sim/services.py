"""Finite-capacity services that need more than a plain ``simpy.Resource``.

* :class:`Pool` is a ``simpy.Resource`` whose release costs the same however
  many servers it has.
* :class:`RotaResource` is a SimPy resource whose number of servers follows a
  rota (rapid-response staff by day). Lowering the capacity never interrupts a
  service in progress; raising it starts waiting requests at once.
* :class:`AgendaPool` has the semantics of a :class:`RotaResource` used as
  request, grant, release, for holders who wait on nothing else (beds, onward
  care places): a grant is a callback on the engine's agenda, not a SimPy event.
* :class:`BookedServers` and :class:`BookedRota` are first-come-first-served
  servers for jobs whose hold time is known when they arrive (triage, A&E
  clinicians, UCC clinicians, ambulances). A job is booked straight onto the
  server that frees first, so it costs one timeout instead of SimPy's request,
  grant, timeout and release, with the same start times.
* :class:`GPSameDayBook` is each practice's same-day appointment book. GP
  demand is far larger than the urgent episodes the model follows, so routine
  same-day requests are drawn in aggregate per practice-day and fill the book
  evenly through opening hours; an urgent episode gets a slot only if one is
  left at the time it asks.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
import simpy

from sim.config import ModelConfig, OpeningHours
from sim.engine import Callback, Engine
from sim.interventions import DailySchedule
from sim.population import Population
from sim.streams import RandomStreams
from sim.timeline import Timeline

WEEKEND_FROM = 5  # Saturday


class _Users(dict[simpy.resources.resource.Request, None]):
    """A resource's users as an insertion-ordered set: release is O(1), not O(servers)."""

    def append(self, request: simpy.resources.resource.Request) -> None:
        self[request] = None

    def remove(self, request: simpy.resources.resource.Request) -> None:
        if self.pop(request, _MISSING) is _MISSING:
            raise ValueError("not a user")  # what list.remove raises, which SimPy expects


_MISSING = object()


class Pool(simpy.Resource):
    """A ``simpy.Resource`` (same semantics) whose release does not scan its users.

    ``simpy.Resource`` keeps users in a list, so each release searches it: with
    hundreds of beds that search was 5% of a replication.
    """

    def __init__(self, env: simpy.Environment, capacity: int):
        super().__init__(env, capacity)
        self.users = _Users()  # type: ignore[assignment]


class RotaResource(Pool):
    """A resource whose capacity can change during the run."""

    def __init__(self, env: simpy.Environment, capacity: int):
        super().__init__(env, max(capacity, 1))
        self.set_capacity(capacity)

    def set_capacity(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError("capacity must be non-negative")
        self._capacity = capacity
        # SimPy grants one waiting request per trigger; grant all that now fit.
        while self.put_queue and len(self.users) < capacity:
            self._trigger_put(None)


class AgendaPool:
    """Identical units granted first come, first served, by callbacks on the agenda.

    ``request(callback, *args)`` runs ``callback(*args)`` when a unit is granted:
    at once (as the engine's next callback at this time) if fewer than
    ``capacity`` are held, else when an earlier holder's :meth:`release`, or a
    rise in :meth:`set_capacity`, frees one for it. This is what a SimPy
    resource does with a request and the callbacks on it, with the same grant
    times (tested against ``simpy.Resource`` and :class:`RotaResource`), at the
    cost of one agenda entry per grant instead of a request event, a grant
    event and a release event. A grant runs after the SimPy events already due
    at that time, as a SimPy grant's callbacks would.

    A request that has to wait gets a :class:`Waiting` ticket, which
    :meth:`withdraw` takes out of the queue (a patient who stops waiting for an
    onward-care place and leaves by another route), as cancelling a SimPy
    request would.
    """

    def __init__(self, env: Engine, capacity: int):
        self.env = env
        self.count = 0  # units held
        self.queue: deque[Waiting] = deque()  # waiting, in order (withdrawn ones skipped)
        self.waiting = 0  # requests in the queue not withdrawn
        self.granted = 0  # grants so far (a count of resource uses)
        self.capacity = 0
        self.set_capacity(capacity)

    def request(self, callback: Callback, *args: Any) -> Waiting | None:
        """Ask for a unit; returns the ticket of a request that has to wait, else None."""
        if self.count < self.capacity:
            self.count += 1
            self.granted += 1
            self.env.call_in(0.0, callback, *args)
            return None
        ticket = Waiting(callback, args)
        self.queue.append(ticket)
        self.waiting += 1
        return ticket

    def withdraw(self, ticket: Waiting) -> bool:
        """Stop waiting; False if the unit was already granted (nothing changes then)."""
        if ticket.done:
            return False
        ticket.done = True
        self.waiting -= 1
        return True

    def release(self) -> None:
        """Give back one unit; the longest-waiting request gets it if the capacity allows."""
        if self.count < 1:
            raise RuntimeError("release without a unit held")
        self.count -= 1
        if self.queue:
            self._grant_waiting()

    def set_capacity(self, capacity: int) -> None:
        """Change the number of units; a fall never takes a unit from its holder."""
        if capacity < 0:
            raise ValueError("capacity must be non-negative")
        self.capacity = capacity
        self._grant_waiting()

    def _grant_waiting(self) -> None:
        queue, env = self.queue, self.env
        while queue and self.count < self.capacity:
            ticket = queue.popleft()
            if ticket.done:
                continue  # withdrawn
            ticket.done = True
            self.waiting -= 1
            self.count += 1
            self.granted += 1
            env.call_in(0.0, ticket.callback, *ticket.args)


class Waiting:
    """A request waiting in an :class:`AgendaPool`: granted or withdrawn once ``done``."""

    __slots__ = ("args", "callback", "done")

    def __init__(self, callback: Callback, args: tuple[Any, ...]):
        self.callback = callback
        self.args = args
        self.done = False


class BookedServers:
    """``servers`` identical servers, first come first served, holds known on arrival.

    Calls must come in simulation-time order (as SimPy requests do). A job that
    arrives at ``now`` starts at ``max(now, earliest free time)`` on the server
    that frees first: the c-server FIFO recursion, which gives exactly the start
    times of a ``simpy.Resource`` used as request, hold, release.
    """

    def __init__(self, servers: int):
        if servers < 1:
            raise ValueError("servers must be at least 1")
        self._free_at = [0.0] * servers  # heap: when each server is next free

    def start(self, now: float) -> float:
        """When a job arriving now would start; follow with :meth:`hold` before any other call."""
        return max(now, self._free_at[0])

    def hold(self, start: float, free_at: float) -> None:
        """Occupy the first free server from ``start`` (from :meth:`start`) until ``free_at``."""
        heapq.heapreplace(self._free_at, free_at)

    def book(self, now: float, duration: float) -> float:
        """Book a job arriving ``now`` that holds a server for ``duration``; return its start.

        :meth:`start` then :meth:`hold` in one call, for jobs whose length does not
        depend on when they start.
        """
        free_at = self._free_at
        start = max(now, free_at[0])
        heapq.heapreplace(free_at, start + duration)
        return start


class BookedRota:
    """FIFO servers whose number follows an hourly rota that repeats every day.

    The same semantics as :class:`RotaResource` driven by an hourly clock: a fall
    in the rota never interrupts a job; a job starts at the first moment, from its
    arrival and no earlier than the job booked before it, when fewer jobs are in
    service than the rota allows (at a job's end or the top of an hour).
    """

    def __init__(self, servers_by_hour: Sequence[int]):
        if len(servers_by_hour) != 24 or min(servers_by_hour) < 0 or max(servers_by_hour) < 1:
            raise ValueError("a rota needs 24 non-negative hourly values, one above zero")
        self.rota = [int(n) for n in servers_by_hour]
        self._ends: list[float] = []  # heap: ends of jobs started or booked to start
        self._last_start = 0.0
        # Starts in booking order, which is time order (each job starts no earlier
        # than the one booked before it): those still ahead are the queue, for waiting().
        self._starts: deque[float] = deque()

    def book(self, now: float, hold: float) -> float:
        """Book a job arriving ``now`` that holds a server for ``hold``; return its start."""
        ends, rota = self._ends, self.rota
        t = max(now, self._last_start)
        while True:
            while ends and ends[0] <= t:
                heapq.heappop(ends)
            if len(ends) < rota[int(t) % 24]:
                break
            next_hour = math.floor(t) + 1.0
            t = ends[0] if ends and ends[0] < next_hour else next_hour
        heapq.heappush(ends, t + hold)
        self._starts.append(t)
        self._last_start = t
        return t

    def waiting(self, now: float) -> int:
        """Jobs booked but not yet started at ``now`` (the queue a Resource would show).

        Call it regularly (the monitor does, every 6 hours): it also discards past starts.
        """
        starts = self._starts
        while starts and starts[0] <= now:
            starts.popleft()
        return len(starts)


BOOKED, NO_SLOT, CLOSED = 0, 1, 2


class GPSameDayBook:
    """Same-day slots per practice per day, shared by routine and urgent demand."""

    def __init__(
        self,
        config: ModelConfig,
        timeline: Timeline,
        population: Population,
        schedule: DailySchedule,
        streams: RandomStreams,
        growth: np.ndarray,
    ):
        gp = config.services.gp
        days = timeline.total_days
        n_practices = population.list_size.size
        weekend = timeline.day_of_week() >= WEEKEND_FROM
        extended = config.interventions.extended_gp_access
        # Practices adopt extended access in a fixed random order as the lever ramps in.
        adoption_rank = streams["extended_access"].permutation(n_practices)
        adopted = (
            adoption_rank[:, None]
            < np.rint(schedule.extended_access_fraction * n_practices)[None, :]
        )
        core_open, core_close = _hours_by_day(gp.hours, weekend)
        ext_open, ext_close = _hours_by_day(extended.hours, weekend)
        open_hour = np.where(adopted, ext_open[None, :], core_open[None, :])
        close_hour = np.where(adopted, ext_close[None, :], core_close[None, :])
        is_open = close_hour > open_hour

        lists = population.list_size[:, None] * growth[None, :] / 1000.0
        day_factor = np.where(weekend, gp.weekend_slot_factor, 1.0)[None, :]
        slots = (
            lists
            * day_factor
            * (
                gp.sameday_slots_per_1000_per_day
                + np.where(adopted, extended.extra_slots_per_1000_per_day, 0.0)
            )
        )
        # Routine same-day demand peaks on Mondays as urgent demand does (the area's
        # day-of-week profile, relative to the weekday mean), so the book runs out on
        # busy days.
        dow = np.asarray(config.demand.day_of_week, dtype=float)
        weekday_profile = np.where(weekend, 1.0, dow[timeline.day_of_week()] / dow[:5].mean())
        routine_mean = (
            lists
            * day_factor
            * weekday_profile[None, :]
            * gp.routine_sameday_demand_per_1000_per_day
        )
        routine = streams["gp_routine"].poisson(routine_mean)
        self.slots = np.where(is_open, np.rint(slots), 0).astype(np.int64)
        self.routine = np.where(is_open, routine, 0).astype(np.int64)
        self.open_hour = open_hour
        self.close_hour = close_hour
        self.core_open, self.core_close = core_open, core_close
        self._used = np.zeros((n_practices, days), dtype=np.int64)  # urgent slots booked

    def try_book(self, practice: int, now: float) -> int:
        """BOOKED, NO_SLOT or CLOSED for one urgent request at time ``now`` (hours).

        Routine requests are assumed to arrive evenly through opening hours, so
        by a fraction ``elapsed`` of the day ``routine * elapsed`` slots have gone
        to them; an urgent request gets a slot if what is left exceeds that.
        """
        day = int(now // 24.0)
        hour = now - 24.0 * day
        opens = float(self.open_hour[practice, day])
        closes = float(self.close_hour[practice, day])
        if hour < opens or hour >= closes:
            return CLOSED
        elapsed = (hour - opens) / (closes - opens)
        used = int(self._used[practice, day])
        if used + int(self.routine[practice, day]) * elapsed < self.slots[practice, day]:
            self._used[practice, day] += 1
            return BOOKED
        return NO_SLOT

    def in_core_hours(self, times: np.ndarray) -> np.ndarray:
        """Whether each time falls in the practices' core (not extended) opening hours."""
        day = np.floor_divide(times, 24.0).astype(np.int64)
        hour = times - 24.0 * day
        return (hour >= self.core_open[day]) & (hour < self.core_close[day])

    def book_many(self, practices: np.ndarray, times: np.ndarray) -> np.ndarray:
        """:meth:`try_book` for requests in time order, all at once, with the same answers.

        Within a practice's day the slots left for urgent requests only shrink as
        the day goes on, so once one request finds none, every later one that day
        finds none. Up to that point every earlier request was booked, so a request
        is booked exactly when ``booked before today's first + earlier requests
        today + routine * elapsed < slots``: each answer follows from the
        request's place in its practice-day, with no loop.
        """
        status = np.full(times.size, CLOSED, dtype=np.int64)
        day = np.floor_divide(times, 24.0).astype(np.int64)
        hour = times - 24.0 * day
        opens = self.open_hour[practices, day]
        closes = self.close_hour[practices, day]
        asking = np.flatnonzero((hour >= opens) & (hour < closes))
        if asking.size == 0:
            return status
        # Requests grouped by practice-day, in time order within each group.
        group = practices[asking] * self._used.shape[1] + day[asking]
        order = np.argsort(group, kind="stable")
        by_group, group = asking[order], group[order]
        first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        size = np.diff(np.r_[first, group.size])
        rank = np.arange(group.size) - np.repeat(first, size)
        p, d = practices[by_group], day[by_group]
        elapsed = (hour[by_group] - opens[by_group]) / (closes[by_group] - opens[by_group])
        booked = (self._used[p, d] + rank) + self.routine[p, d] * elapsed < self.slots[p, d]
        status[by_group] = np.where(booked, BOOKED, NO_SLOT)
        np.add.at(self._used, (p[booked], d[booked]), 1)
        return status

    def routine_served(self) -> np.ndarray:
        """Routine same-day requests served per practice-day (slots left after urgent use)."""
        return np.minimum(self.routine, np.maximum(self.slots - self._used, 0))


def _hours_by_day(hours: OpeningHours, weekend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    opens = np.where(weekend, hours.weekend_open, hours.weekday_open)
    closes = np.where(weekend, hours.weekend_close, hours.weekday_close)
    return opens.astype(float), closes.astype(float)
