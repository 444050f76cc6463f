"""The simulation clock and calendar: hours from the start of the warm-up.

Years are 365 days (leap days ignored). Year 0 starts ``warmup_days`` after
time zero on the area's ``start_date`` (1 April of the baseline year), so
year ``y`` is financial year ``baseline + y``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: the calendar does not need the parameter models
    from sim.config import ModelConfig

HOURS_PER_DAY = 24.0
DAYS_PER_YEAR = 365
HOURS_PER_YEAR = HOURS_PER_DAY * DAYS_PER_YEAR
QUARTER_STARTS = (0, 91, 182, 273)


@dataclass(frozen=True)
class Timeline:
    start_date: dt.date
    baseline_year: str
    years: int
    warmup_days: int

    @property
    def total_days(self) -> int:
        return self.warmup_days + DAYS_PER_YEAR * self.years

    @property
    def horizon_hours(self) -> float:
        return self.total_days * HOURS_PER_DAY

    @property
    def report_start_hours(self) -> float:
        return self.warmup_days * HOURS_PER_DAY

    def year_start_hours(self, year: int) -> float:
        return self.report_start_hours + year * HOURS_PER_YEAR

    def year_of_hours(self, hours: np.ndarray) -> np.ndarray:
        """Report year of each time; -1 in the warm-up, ``years`` past the horizon."""
        years = np.floor(
            (np.asarray(hours, dtype=float) - self.report_start_hours) / HOURS_PER_YEAR
        )
        return np.clip(years, -1, self.years).astype(np.int64)

    def year_fraction_of_day(self, day: np.ndarray) -> np.ndarray:
        """Fractional report year at the start of each simulation day (negative in warm-up)."""
        return (np.asarray(day, dtype=float) - self.warmup_days) / DAYS_PER_YEAR

    def financial_year(self, year: int) -> str:
        first = int(self.baseline_year[:4]) + year
        return f"{first}/{(first + 1) % 100:02d}"

    def clock(self, hours: np.ndarray) -> np.ndarray:
        """Calendar date and time (to the minute) of simulation times in hours."""
        first = np.datetime64(self.start_date, "m") - np.timedelta64(self.warmup_days, "D")
        return first + np.rint(np.asarray(hours, dtype=float) * 60).astype("timedelta64[m]")

    def dates(self) -> np.ndarray:
        """Calendar date of every simulation day."""
        first = np.datetime64(self.start_date) - np.timedelta64(self.warmup_days, "D")
        return first + np.arange(self.total_days).astype("timedelta64[D]")

    def day_of_week(self) -> np.ndarray:
        """0 = Monday ... 6 = Sunday, for every simulation day."""
        # 1970-01-01 was a Thursday (3).
        return ((self.dates().astype(np.int64) + 3) % 7).astype(np.int64)

    def month_index(self) -> np.ndarray:
        """0 = January ... 11 = December, for every simulation day."""
        return (self.dates().astype("datetime64[M]").astype(np.int64) % 12).astype(np.int64)

    def periods(self) -> list[tuple[int, int]]:
        """Day ranges [start, end) used as demand-generation chunks: warm-up, then quarters."""
        bounds: list[int] = list(range(0, self.warmup_days, 91))
        for year in range(self.years):
            first = self.warmup_days + year * DAYS_PER_YEAR
            bounds.extend(first + q for q in QUARTER_STARTS)
        bounds.append(self.total_days)
        return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def timeline_for(config: ModelConfig) -> Timeline:
    """The run's calendar as a configuration states it."""
    return Timeline(
        start_date=config.area.start_date,
        baseline_year=config.area.baseline_year,
        years=config.run.years,
        warmup_days=config.run.warmup_days,
    )
