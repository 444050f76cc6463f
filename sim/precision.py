"""How many replications: the confidence-interval method of Hoad, Robinson & Davies (2010).

Replications are added until the 95% interval half-width of every key
metric (in every scenario and report year) is within ``precision`` of its
mean, and stays there for ``look_ahead`` further replications (their kLimit),
so that a lucky early estimate does not stop the run; or until the cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.metrics import KEY_METRICS
from sim.summary import t_interval

LOOK_AHEAD = 5


@dataclass(frozen=True)
class PrecisionCheck:
    replications: int
    worst_relative_half_width: float
    worst: str  # scenario / metric / year with the widest interval

    def met(self, precision: float) -> bool:
        return bool(self.worst_relative_half_width <= precision)


def relative_precision(
    kpis: pd.DataFrame, replications: int, metrics: Sequence[str] = KEY_METRICS
) -> PrecisionCheck:
    """Widest relative half-width over scenarios, key metrics and years, using reps < n."""
    subset = kpis[(kpis["replication"] < replications) & kpis["metric"].isin(metrics)]
    worst, label = 0.0, ""
    for (scenario, metric, year), group in subset.groupby(["scenario", "metric", "financial_year"]):
        mean, _, low, high = t_interval(group["value"].to_numpy(dtype=float))
        width = np.inf if np.isnan(low) or mean == 0 else (high - low) / 2 / abs(mean)
        if width > worst or not label:
            worst, label = float(width), f"{scenario} / {metric} / {year}"
    return PrecisionCheck(replications, worst, label)


@dataclass
class ReplicationRule:
    """The stopping rule, fed one replication count at a time."""

    precision: float = 0.05
    minimum: int = 3
    cap: int = 50
    look_ahead: int = LOOK_AHEAD
    first_met: int | None = None
    history: list[PrecisionCheck] | None = None

    def next_count(self, check: PrecisionCheck) -> int | None:
        """Given the check at n replications, the next n to run, or None to stop.

        Checks must arrive for every n in turn. Once the precision is met at n the
        rule cannot stop before n + look_ahead, so it asks for all of them at once
        (parallel workers stay busy); the caller then checks each count in between,
        which gives exactly the one-at-a-time rule's answer.
        """
        self.history = [*(self.history or []), check]
        n = check.replications
        if check.met(self.precision):
            if self.first_met is None:
                self.first_met = n
            if n >= self.first_met + self.look_ahead:
                return None
            wanted = self.first_met + self.look_ahead
        else:
            self.first_met = None
            wanted = n + 1
        return None if n >= self.cap else min(wanted, self.cap)

    def reason(self) -> str:
        if not self.history:
            return "no replications run"
        last = self.history[-1]
        if self.first_met is not None and last.replications >= self.first_met + self.look_ahead:
            return (
                f"95% half-width within {self.precision:.0%} of the mean for every key metric "
                f"from {self.first_met} replications and for {self.look_ahead} more "
                f"(Hoad, Robinson & Davies 2010); widest {last.worst_relative_half_width:.2%} "
                f"({last.worst})"
            )
        return (
            f"cap of {self.cap} replications reached before the precision of {self.precision:.0%} "
            f"held; widest half-width {last.worst_relative_half_width:.2%} ({last.worst})"
        )
