"""Counting recorded events by report year: the arithmetic every metric reporter uses.

Events count in the report year in which they happen; the warm-up (year -1)
and anything after the horizon are left out.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.timeline import HOURS_PER_DAY, Timeline


def count_by_year(times: npt.ArrayLike, tl: Timeline, mask: np.ndarray | None = None) -> np.ndarray:
    """How many of the events at ``times`` (hours; those in ``mask``) fall in each report year."""
    years = tl.year_of_hours(np.asarray(times, dtype=float))
    keep = (years >= 0) & (years < tl.years)
    if mask is not None:
        keep &= mask
    return np.bincount(years[keep], minlength=tl.years).astype(float)


def sum_by_year(times: np.ndarray, values: np.ndarray, tl: Timeline) -> np.ndarray:
    """The sum of ``values`` of the events at ``times``, per report year."""
    years = tl.year_of_hours(times)
    keep = (years >= 0) & (years < tl.years)
    return np.bincount(years[keep], weights=values[keep], minlength=tl.years)


def sum_days_by_year(per_day: np.ndarray, tl: Timeline) -> np.ndarray:
    """The sum of a value given for every simulated day, per report year."""
    day_year = tl.year_of_hours(np.arange(tl.total_days) * HOURS_PER_DAY)
    in_report = (day_year >= 0) & (day_year < tl.years)
    return np.bincount(day_year[in_report], weights=per_day[in_report], minlength=tl.years)


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ratio, nan where the denominator is 0 (a rate with nothing to rate)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )
