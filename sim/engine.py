"""SimPy's environment with an agenda of plain callbacks, run in one time order.

Most steps of an urgent episode wait on nothing SimPy has to arbitrate: a
booked server (:mod:`sim.services`) already knows when the job starts and ends,
so the step only has to happen *at the right time, in the right order*. Making
each such step a SimPy timeout and generator resume costs several objects and
calls per step; an entry on a plain heap costs a tuple. :class:`Engine` keeps
both queues and always runs whichever is earlier, so the agenda's callbacks and
SimPy's processes see one clock and one event order.

Rules, which keep results identical to running every step as a SimPy timeout:

* an entry made ``delay`` hours from now is due at ``now + delay``, the same
  arithmetic SimPy's ``schedule`` uses;
* while a callback runs, ``env.now`` is the entry's due time, so SimPy events
  it schedules (a bed request, a process start) fall where a process at that
  time would have put them;
* on a tie SimPy's event runs first, and agenda entries due at the same time
  run in the order they were made (as SimPy orders events by creation).

Beds, onward care and the rapid-response team stay SimPy resources and
processes: whether and when they are granted depends on other patients' future.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Callable
from itertools import count
from typing import Any

import simpy

Callback = Callable[..., object]  # any return value is ignored
# The loop makes and drops a few container objects per step; with CPython's default
# first-generation threshold (700) the cyclic collector runs every few hundred
# steps and costs ~20% of a replication. Raised while the loop runs, restored after.
LOOP_GC_THRESHOLD = 100_000


class Engine(simpy.Environment):
    """A ``simpy.Environment`` that also runs time-stamped callbacks from an agenda."""

    def __init__(self) -> None:
        super().__init__()
        self._agenda: list[tuple[float, int, Callback, tuple[Any, ...]]] = []
        self._order = count()
        self.horizon = float("inf")  # end of the current (or last) run_until

    def record_at(self, due: float, record: Callback, *args: Any) -> None:
        """Run ``record(*args)`` now if ``due`` falls before the horizon, else at ``due``.

        For a step that only writes down what is already certain (an outcome whose
        time is known when the episode is booked): doing it now saves an agenda
        entry, and one due after the horizon stays on the agenda exactly as a
        :meth:`call_at` would, so a run that stops at the horizon never records it
        and a later :meth:`run_until` does, in its turn. ``record`` must take its
        times as arguments: ``env.now`` is not ``due`` when it runs early.
        """
        if due < self.horizon:
            record(*args)
        else:
            self.call_at(due, record, *args)

    def call_in(self, delay: float, callback: Callback, *args: Any) -> None:
        """Run ``callback(*args)`` ``delay`` hours from now (``delay`` >= 0)."""
        heapq.heappush(self._agenda, (self._now + delay, next(self._order), callback, args))

    def call_at(self, due: float, callback: Callback, *args: Any) -> None:
        """Run ``callback(*args)`` at ``due`` (not before now)."""
        if due < self._now:
            raise ValueError(f"cannot schedule at {due}, before now ({self._now})")
        heapq.heappush(self._agenda, (due, next(self._order), callback, args))

    @property
    def agenda_size(self) -> int:
        """Callbacks still due."""
        return len(self._agenda)

    def run_until(self, horizon: float) -> None:
        """Run agenda and SimPy events, earliest first, up to (not including) ``horizon``."""
        self.horizon = horizon
        thresholds = gc.get_threshold()
        gc.set_threshold(LOOP_GC_THRESHOLD, *thresholds[1:])
        try:
            self._run_until(horizon)
        finally:
            gc.set_threshold(*thresholds)

    def _run_until(self, horizon: float) -> None:
        agenda, queue = self._agenda, self._queue
        pop, step = heapq.heappop, self.step
        while True:
            if agenda and (not queue or agenda[0][0] < queue[0][0]):
                if agenda[0][0] >= horizon:
                    break
                due, _, callback, args = pop(agenda)
                self._now = due
                callback(*args)
            elif queue and queue[0][0] < horizon:
                step()
            else:
                break
        self._now = horizon
