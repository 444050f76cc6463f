"""General practice: each practice's same-day book, and the GP's part of first contact.

GP demand is far larger than the urgent episodes the model follows, so routine
same-day requests are drawn in aggregate per practice-day and fill the book
evenly through opening hours; an urgent episode gets a slot only if one is left
at the time it asks. Whether an episode asks, and what the GP then does, is
decided for a whole period at once by :mod:`sim.care.routing`, which writes this
service's records; the GP has no steps on the event loop.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.annual import count_by_year, sum_days_by_year
from sim.care.base import CareContext, CareService, Report
from sim.config import ModelConfig, OpeningHours
from sim.interventions import DailySchedule
from sim.population import Population
from sim.recorder import floats
from sim.streams import RandomStreams
from sim.timeline import Timeline

WEEKEND_FROM = 5  # Saturday


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
        self.weekend = timeline.day_of_week() >= WEEKEND_FROM
        # Practices adopt extended access in a fixed random order as the lever ramps in,
        # within each scope (the whole area unless the lever names places).
        self.adoption_rank = streams["extended_access"].permutation(n_practices)
        self.core_open, self.core_close = _hours_by_day(gp.hours, self.weekend)
        self.lists = population.list_size[:, None] * growth[None, :] / 1000.0
        self.day_factor = np.where(self.weekend, gp.weekend_slot_factor, 1.0)[None, :]
        # Routine same-day demand peaks on Mondays as urgent demand does (the area's
        # day-of-week profile, relative to the weekday mean), so the book runs out on
        # busy days. Drawn for every practice-day; a closed day serves none.
        dow = np.asarray(config.demand.day_of_week, dtype=float)
        weekday_profile = np.where(self.weekend, 1.0, dow[timeline.day_of_week()] / dow[:5].mean())
        routine_mean = (
            self.lists
            * self.day_factor
            * weekday_profile[None, :]
            * gp.routine_sameday_demand_per_1000_per_day
        )
        self.routine_drawn = streams["gp_routine"].poisson(routine_mean)
        self.open_hour = np.zeros((n_practices, days))
        self.close_hour = np.zeros((n_practices, days))
        self.slots = np.zeros((n_practices, days), dtype=np.int64)
        self.routine = np.zeros((n_practices, days), dtype=np.int64)
        self._used = np.zeros((n_practices, days), dtype=np.int64)  # urgent slots booked
        self.plan(config, schedule)

    def plan(self, config: ModelConfig, schedule: DailySchedule, from_day: int = 0) -> None:
        """Opening hours and slots per practice-day from ``from_day`` on, under the
        config's extended-access lever (a shared prefix re-plans the days after it)."""
        gp = config.services.gp
        extended = config.interventions.extended_gp_access
        adopted = np.zeros(self.slots.shape, dtype=bool)
        for members, fraction in schedule.extended_access_groups:
            rank = np.argsort(np.argsort(self.adoption_rank[members], kind="stable"), kind="stable")
            adopted[members] = rank[:, None] < np.rint(fraction * members.size)[None, :]
        ext_open, ext_close = _hours_by_day(extended.hours, self.weekend)
        open_hour = np.where(adopted, ext_open[None, :], self.core_open[None, :])
        close_hour = np.where(adopted, ext_close[None, :], self.core_close[None, :])
        is_open = close_hour > open_hour
        slots = (
            self.lists
            * self.day_factor
            * (
                gp.sameday_slots_per_1000_per_day
                + np.where(adopted, extended.extra_slots_per_1000_per_day, 0.0)
            )
        )
        later = slice(from_day, None)
        self.slots[:, later] = np.where(is_open, np.rint(slots), 0)[:, later]
        self.routine[:, later] = np.where(is_open, self.routine_drawn, 0)[:, later]
        self.open_hour[:, later] = open_hour[:, later]
        self.close_hour[:, later] = close_hour[:, later]

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


@dataclass
class GPRecords:
    """Times (hours) of urgent requests seen, and of those that found no slot."""

    seen: array[float] = field(default_factory=floats)
    failed: array[float] = field(default_factory=floats)
    failed_closed: array[float] = field(default_factory=floats)  # the practice was closed


class GeneralPractice(CareService):
    """The practices' same-day capacity and what urgent patients got from it."""

    name = "gp"
    stream = "gp"
    uniforms = ("u_gp", "u_direct")
    metrics = (
        "gp_urgent_appointments",
        "gp_access_failures",
        "gp_access_failures_closed",
        "gp_routine_sameday_served",
        "gp_sameday_slots",
    )
    Records = GPRecords

    def __init__(self, ctx: CareContext, system: Any):
        super().__init__(ctx, system)
        self.book = GPSameDayBook(
            ctx.config, ctx.timeline, ctx.population, ctx.schedule, ctx.streams, ctx.growth_by_day
        )

    def report(self, records: Mapping[str, Any], ctx: CareContext) -> Report:
        rec: GPRecords = records[self.name]
        tl = ctx.timeline
        return {
            "gp_urgent_appointments": count_by_year(rec.seen, tl),
            "gp_access_failures": count_by_year(rec.failed, tl),
            "gp_access_failures_closed": count_by_year(rec.failed_closed, tl),
            "gp_routine_sameday_served": sum_days_by_year(
                self.book.routine_served().sum(axis=0), tl
            ),
            "gp_sameday_slots": sum_days_by_year(self.book.slots.sum(axis=0), tl),
        }
