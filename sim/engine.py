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

The agenda is a heap of the entries due within the current window
(``window`` hours, a power of two; windows start at its multiples) plus a
bucket per later window. Most entries waiting at any time are lengths of stay
and readmissions days ahead; keeping them out of the heap keeps each heap
operation short (about 19 entries instead of 570 in a Dudley run). A marker
entry at each window's end moves the next bucket into the heap; entries keep
their due time and creation number, so they run in exactly the order one heap
would give.

The public contract, so that a SimPy user cannot be surprised by it:

* :meth:`run`, :meth:`step` and :meth:`run_until` all drive both queues (``run()``
  with no ``until`` runs until both are empty);
* a negative delay, or a due time before now, raises ``ValueError``;
* SimPy is read only through its public API (``now``, ``peek()``, ``schedule()``,
  ``step()``). The one protected member used is the clock, ``_now``, which
  SimPy gives no public setter for: an agenda callback must see its due time as
  ``now`` (the scheduling calls also read it directly, being the hottest code).
  ``pyproject.toml`` pins SimPy to the tested minor version, and
  ``tests/test_engine.py`` checks that the clock and the event order still behave.
"""

from __future__ import annotations

import gc
import heapq
import math
from collections.abc import Callable
from itertools import count
from typing import Any

import simpy
from simpy.core import EmptySchedule, Infinity

Callback = Callable[..., object]  # any return value is ignored
# The loop makes and drops a few container objects per step; with CPython's default
# first-generation threshold (700) the cyclic collector runs every few hundred
# steps and costs ~20% of a replication. Raised while the loop runs, restored after.
LOOP_GC_THRESHOLD = 100_000


Entry = tuple[float, int, Callback, tuple[Any, ...]]


class Engine(simpy.Environment):
    """A ``simpy.Environment`` that also runs time-stamped callbacks from an agenda."""

    def __init__(self, window: float = 4.0) -> None:
        super().__init__()
        if not (window > 0 and math.frexp(window)[0] == 0.5):
            # A power of two keeps window boundaries and bucket numbers exact in
            # floating point, so an entry is never filed in a window already past.
            raise ValueError("window must be a positive power of two (hours)")
        self._agenda: list[Entry] = []  # heap of entries due before _window_end
        self._later: dict[int, list[Entry]] = {}  # window number -> its entries
        self._window = window
        self._window_end = window
        self._marker_pending = False
        self._order = count()
        self.horizon = float("inf")  # end of the current (or last) run_until
        self._simpy_next = Infinity  # due time of SimPy's next event (kept by schedule/step)

    # ------------------------------------------------------------ SimPy's side
    def schedule(
        self,
        event: simpy.Event,
        priority: simpy.core.EventPriority = simpy.core.NORMAL,
        delay: float = 0,
    ) -> None:
        """SimPy's ``schedule``, remembering the earliest SimPy event for the run loop."""
        super().schedule(event, priority, delay)
        due = self.now + delay
        if due < self._simpy_next:
            self._simpy_next = due

    def _step_simpy(self) -> None:
        super().step()
        self._simpy_next = super().peek()

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
        if not delay >= 0:
            raise ValueError(f"delay must be non-negative (got {delay})")
        due = self._now + delay  # the clock read directly: this is the hottest call
        if due < self._window_end:
            heapq.heappush(self._agenda, (due, next(self._order), callback, args))
        else:
            self._defer((due, next(self._order), callback, args))

    def call_at(self, due: float, callback: Callback, *args: Any) -> None:
        """Run ``callback(*args)`` at ``due`` (not before now)."""
        if not due >= self._now:
            raise ValueError(f"cannot schedule at {due}, before now ({self._now})")
        if due < self._window_end:
            heapq.heappush(self._agenda, (due, next(self._order), callback, args))
        else:
            self._defer((due, next(self._order), callback, args))

    def _defer(self, entry: Entry) -> None:
        """Keep an entry due after the current window in its window's bucket."""
        if not self._marker_pending:
            # No bucket waiting: the window starts again from the window holding now.
            self._window_end = (self.now // self._window + 1.0) * self._window
            if entry[0] < self._window_end:
                heapq.heappush(self._agenda, entry)
                return
            self._marker_pending = True
            marker = (self._window_end, next(self._order), self._next_window, ())
            heapq.heappush(self._agenda, marker)
        key = int(entry[0] // self._window)
        bucket = self._later.get(key)
        if bucket is None:
            self._later[key] = [entry]
        else:
            bucket.append(entry)

    def _next_window(self) -> None:
        """At a window's end (the marker entry): move the next window's entries to the heap."""
        entries = self._later.pop(int(self._window_end // self._window), [])
        self._window_end += self._window
        for entry in entries:
            heapq.heappush(self._agenda, entry)
        if self._later:
            marker = (self._window_end, next(self._order), self._next_window, ())
            heapq.heappush(self._agenda, marker)
        else:
            self._marker_pending = False

    @property
    def agenda_size(self) -> int:
        """Callbacks still due."""
        later = sum(len(entries) for entries in self._later.values())
        return len(self._agenda) - self._marker_pending + later

    def peek(self) -> float:
        """Due time of the next agenda entry or SimPy event (``Infinity`` if none)."""
        agenda = self._agenda[0][0] if self._agenda else Infinity
        return min(agenda, super().peek())

    def step(self) -> None:
        """Run the next agenda entry or SimPy event, whichever is due first.

        Raises SimPy's ``EmptySchedule`` when neither queue holds anything.
        """
        agenda = self._agenda
        if agenda and agenda[0][0] < self._simpy_next:
            due, _, callback, args = heapq.heappop(agenda)
            self._now = due
            callback(*args)
        elif self._simpy_next < Infinity:
            self._step_simpy()
        else:
            raise EmptySchedule

    def run(self, until: float | simpy.Event | None = None) -> Any:
        """SimPy's ``run``, with agenda callbacks run in their turn.

        A number runs up to (not including) that time, as :meth:`run_until`; an
        event runs until it is processed and returns its value; ``None`` runs until
        nothing is left on either queue.
        """
        if until is None:
            self.run_until(Infinity)
            return None
        if isinstance(until, simpy.Event):
            while until.callbacks is not None:
                try:
                    self.step()
                except EmptySchedule:
                    raise RuntimeError(
                        "nothing left to run, but the 'until' event was not triggered"
                    ) from None
            return until.value
        if not until > self.now:
            raise ValueError(f"until ({until}) must be greater than the current time")
        self.run_until(float(until))
        return None

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
        agenda = self._agenda
        pop, step = heapq.heappop, self._step_simpy
        while True:
            if agenda and agenda[0][0] < self._simpy_next:
                if agenda[0][0] >= horizon:
                    break
                due, _, callback, args = pop(agenda)
                self._now = due
                callback(*args)
            elif self._simpy_next < horizon:
                step()
            else:
                break
        if horizon < Infinity:
            self._now = horizon
