"""How long a long command will take, from its first wave of work (issue 21).

A command that runs for minutes (a batch with automatic replications, a sensitivity
analysis, a calibration) says what it has planned and, once every worker has finished
its first task, how long the rest should take, so a user can stop it before
committing the time. The first wave is the honest measure: it includes starting the
workers and runs at the parallelism the rest will run at.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


def duration(seconds: float) -> str:
    """'45 s', '3 min 20 s', '2 h 05 min': a time a person reads at a glance."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass(frozen=True)
class Estimate:
    """What is planned, what the first wave took, and the time the rest should take."""

    unit: str  # what is counted: "replications", "iterations"
    planned: int  # units planned now
    done: int  # units finished when the first wave ended
    seconds: float  # wall seconds of the first wave
    workers: int
    ceiling: int | None = None  # the most units the command may run (a cap), if more than planned
    ceiling_reason: str = "it needs all"  # read before the ceiling: "...if {reason} 150"

    @property
    def seconds_per_unit(self) -> float:
        """Wall seconds per unit at this parallelism (all workers were busy in the wave)."""
        return self.seconds / self.done if self.done else float("nan")

    @property
    def remaining_seconds(self) -> float:
        return (self.planned - self.done) * self.seconds_per_unit

    @property
    def ceiling_seconds(self) -> float | None:
        if self.ceiling is None or self.ceiling <= self.planned:
            return None
        return (self.ceiling - self.done) * self.seconds_per_unit

    def statement(self) -> str:
        workers = f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        text = (
            f"planned: {self.planned:,} {self.unit} on {workers}; the first {self.done:,} took "
            f"{duration(self.seconds)}: about {duration(self.remaining_seconds)} more"
        )
        most = self.ceiling_seconds
        if most is not None:
            text += f" (up to {duration(most)} if {self.ceiling_reason} {self.ceiling:,})"
        return text


@dataclass
class FirstWave:
    """Counts finished tasks until every worker has finished one, then gives the estimate.

    A task may yield several units (scenarios sharing a prefix yield one replication
    each): the wave ends on tasks, and the estimate counts units.
    """

    unit: str
    planned: int  # units
    tasks: int  # tasks in the wave's batch
    workers: int
    ceiling: int | None = None
    ceiling_reason: str = "it needs all"
    started: float = field(default_factory=time.perf_counter)
    tasks_done: int = 0
    units_done: int = 0
    reported: bool = False

    def finished(self, units: int, task_complete: bool) -> Estimate | None:
        """Record ``units`` more finished; the estimate once, when the wave ends."""
        self.units_done += units
        self.tasks_done += task_complete
        if self.reported or self.tasks_done < min(self.workers, self.tasks):
            return None
        self.reported = True
        return Estimate(
            unit=self.unit,
            planned=self.planned,
            done=self.units_done,
            seconds=time.perf_counter() - self.started,
            workers=min(self.workers, self.tasks),
            ceiling=self.ceiling,
            ceiling_reason=self.ceiling_reason,
        )
