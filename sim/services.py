"""Finite-capacity services that need more than a plain ``simpy.Resource``.

* :class:`RotaResource` is a SimPy resource whose number of servers follows a
  rota (A&E clinicians by hour, rapid-response staff by day). Lowering the
  capacity never interrupts a service in progress; raising it starts waiting
  requests at once.
* :class:`GPSameDayBook` is each practice's same-day appointment book. GP
  demand is far larger than the urgent episodes the model follows, so routine
  same-day requests are drawn in aggregate per practice-day and fill the book
  evenly through opening hours; an urgent episode gets a slot only if one is
  left at the time it asks.
"""

from __future__ import annotations

import numpy as np
import simpy

from sim.config import ModelConfig, OpeningHours
from sim.interventions import DailySchedule
from sim.population import Population
from sim.streams import RandomStreams
from sim.timeline import Timeline

WEEKEND_FROM = 5  # Saturday


class RotaResource(simpy.Resource):
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
        routine_mean = lists * day_factor * gp.routine_sameday_demand_per_1000_per_day
        routine = streams["gp_routine"].poisson(routine_mean)
        self.slots = np.where(is_open, np.rint(slots), 0).astype(np.int64)
        self.routine = np.where(is_open, routine, 0).astype(np.int64)
        self.open_hour = open_hour.tolist()
        self.close_hour = close_hour.tolist()
        self._slots = self.slots.tolist()
        self._routine = self.routine.tolist()
        self._used = np.zeros((n_practices, days), dtype=np.int64).tolist()

    def try_book(self, practice: int, now: float) -> int:
        """BOOKED, NO_SLOT or CLOSED for an urgent request at time ``now`` (hours)."""
        day = int(now // 24.0)
        hour = now - 24.0 * day
        opens = self.open_hour[practice][day]
        closes = self.close_hour[practice][day]
        if hour < opens or hour >= closes:
            return CLOSED
        used = self._used[practice]
        elapsed = (hour - opens) / (closes - opens)
        if used[day] + self._routine[practice][day] * elapsed < self._slots[practice][day]:
            used[day] += 1
            return BOOKED
        return NO_SLOT

    def routine_served(self) -> np.ndarray:
        """Routine same-day requests served per practice-day (slots left after urgent use)."""
        used = np.array(self._used, dtype=np.int64)
        return np.minimum(self.routine, np.maximum(self.slots - used, 0))


def _hours_by_day(hours: OpeningHours, weekend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    opens = np.where(weekend, hours.weekend_open, hours.weekday_open)
    closes = np.where(weekend, hours.weekend_close, hours.weekday_close)
    return opens.astype(float), closes.astype(float)
