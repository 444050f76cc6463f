"""The resource primitives services are built from, beyond a plain ``simpy.Resource``.

Three primitives, and when to use each:

1. **The hold time is known when the job arrives** (triage, A&E and UCC
   clinicians, ambulances): :class:`BookedServers` (or :class:`BookedRota`, the
   same with an hourly rota). First come, first served; a job is booked straight
   onto the server that frees first, one agenda entry instead of SimPy's request,
   grant, timeout and release, with the same start times.
2. **The unit is held until another event** (a bed until the stay ends, an
   onward-care place found): :class:`AgendaPool`, units granted first come, first
   served, by agenda callbacks; a waiting request can be withdrawn.
3. **Anything else: priority, preemption, giving up while waiting with other
   things to do, a process that reads as a story** (rapid response): SimPy's own
   ``Resource`` / ``PriorityResource`` with a process. :class:`StaffRota` is the
   plain-SimPy way to make such a resource follow a rota.

Each is proven against plain SimPy on random cases (``tests/test_resources_property.py``);
none touches SimPy's internals.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from typing import Any

import simpy

from sim.engine import Callback, Engine


class StaffRota:
    """Staff on duty by a rota, on a plain ``simpy.PriorityResource`` (SimPy's own way).

    The resource has as many units as the most staff ever on duty; staff off duty
    are held by requests at the top priority (-1), which queue ahead of every
    patient and never interrupt one. A fall in the rota takes units as jobs end;
    a rise releases them at once to whoever has waited longest. Patients use
    ``resource`` as any SimPy resource: request (and cancel, to give up), release.
    """

    OFF_DUTY = -1

    def __init__(self, env: simpy.Environment, most_on_duty: int):
        self.most = max(most_on_duty, 1)
        self.resource = simpy.PriorityResource(env, self.most)
        self._off_duty: list[simpy.resources.resource.PriorityRequest] = []

    @property
    def on_duty(self) -> int:
        return self.most - len(self._off_duty)

    def set_on_duty(self, staff: int) -> None:
        """Put ``staff`` on duty from now (0 to the most the resource was built for)."""
        if not 0 <= staff <= self.most:
            raise ValueError(f"staff on duty must be 0 to {self.most} (got {staff})")
        off = self.most - staff
        while len(self._off_duty) < off:
            self._off_duty.append(self.resource.request(priority=self.OFF_DUTY))
        while len(self._off_duty) > off:
            # Back on duty: a hold still waiting (it holds nothing yet) goes first.
            waiting = [r for r in self._off_duty if not r.triggered]
            request = waiting[-1] if waiting else self._off_duty[-1]
            self._off_duty.remove(request)
            if request.triggered:
                self.resource.release(request)
            else:
                request.cancel()


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
