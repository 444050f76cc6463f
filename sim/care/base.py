"""What every service shares: the replication's context, the episode block, the protocol.

A service (one module of :mod:`sim.care`) owns, for its part of the pathway:

* the use of its parameters (its section of ``config.services``);
* its random draws: ``uniforms`` names the columns its own stream
  (``stream``) supplies per episode, and :meth:`CareService.variates` turns them
  into its durations and thresholds;
* its steps: agenda callbacks and SimPy processes, readable top to bottom;
* its records (``records``, a dataclass of ``array.array`` columns);
* its metrics: ``metrics`` names them (the registry), :meth:`CareService.report`
  computes them from the records after the run.

Services never import each other. A patient is handed on by name through the
system (``self.hand_to("ae")`` returns that service's :meth:`CareService.receive`),
so a new service plugs in between existing ones by changing a name.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import simpy

from sim.config import ModelConfig
from sim.engine import Engine
from sim.interventions import DailySchedule
from sim.population import Population
from sim.recorder import Recorder, as_array
from sim.streams import RandomStreams
from sim.timeline import Timeline

if TYPE_CHECKING:
    from sim.care.system import CareSystem

Process = Generator[simpy.Event, Any, None]
# A service's entry point: (episode block, row, episode id, source) -> its record row or -1.
Receive = Callable[["EpisodeBlock", int, int, int], int]
Report = dict[str, np.ndarray]


class EpisodeBlock:
    """Episodes' attributes and variates as flat ``array.array`` columns (fast scalar indexing).

    Each column is one copy of its numpy buffer, 8 bytes an entry, where a list
    would hold a 32-byte float object per entry and take 30-odd ns per entry to
    build; most entries are read once, if at all. Floats stay floats; integers
    and flags become ints.
    """

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        for name, values in arrays.items():
            setattr(self, name, as_array("d" if values.dtype.kind == "f" else "q", values))

    def __getattr__(self, name: str) -> array[Any]:  # for type checkers: attributes are dynamic
        raise AttributeError(name)


TRACE_COLUMNS = ("time", "episode", "service", "step", "resource", "wait_hours", "note")


@dataclass
class Tracer:
    """One row per step for the episodes being followed (teaching, debugging, face validity).

    ``episodes`` are followed from the start (ids); ``wanted`` more are chosen as the
    run goes: the next episodes after the warm-up that reach a service. A followed
    episode's readmissions are followed too. Services add rows only for followed
    episodes (``if episode in self.traced``), so an empty tracer costs one set lookup.
    """

    episodes: set[int] = field(default_factory=set)
    wanted: int = 0
    rows: list[tuple[float, int, str, str, str, float, str]] = field(default_factory=list)

    def add(
        self,
        time: float,
        episode: int,
        service: str,
        step: str,
        resource: str = "",
        wait_hours: float = math.nan,
        note: str = "",
    ) -> None:
        self.rows.append((time, episode, service, step, resource, wait_hours, note))

    def frame(self) -> pd.DataFrame:
        """The rows in time order (an episode's own steps in the order they happened)."""
        frame = pd.DataFrame(self.rows, columns=list(TRACE_COLUMNS))
        return frame.sort_values(["episode", "time"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class CareContext:
    """One replication's shared state, built once (:func:`sim.replication.simulate`)."""

    env: Engine
    config: ModelConfig
    timeline: Timeline
    population: Population
    schedule: DailySchedule
    streams: RandomStreams
    recorder: Recorder
    growth_by_day: np.ndarray  # list-size growth factor of each simulated day
    growth_by_year: np.ndarray  # ... of each report year
    tracer: Tracer = field(default_factory=Tracer)  # episodes followed step by step

    def day(self, at: float) -> int:
        """Simulation day of a time, clamped to the last day (for times past the horizon)."""
        return min(int(at // 24.0), self.timeline.total_days - 1)


class CareService:
    """Base of every service: the protocol (class attributes and methods to override).

    ``name`` is what other services hand patients to; ``stream`` names its random
    stream and ``uniforms`` the columns that stream supplies per episode, in draw
    order (never reorder them: that would change every draw); ``decisions`` are the
    uniforms its steps compare with a probability themselves; ``variate_inputs`` the
    ones :meth:`variates` reads; ``metrics`` the names :meth:`report` returns.
    """

    name: ClassVar[str]
    stream: ClassVar[str] = ""
    uniforms: ClassVar[tuple[str, ...]] = ()
    decisions: ClassVar[tuple[str, ...]] = ()
    variate_inputs: ClassVar[tuple[str, ...]] = ()
    metrics: ClassVar[tuple[str, ...]] = ()
    Records: ClassVar[type[Any] | None] = None  # its records' dataclass (None: it keeps none)

    def __init__(self, ctx: CareContext, system: CareSystem):
        self.ctx = ctx
        self.env = ctx.env
        self.system = system
        self.tracer = ctx.tracer
        self.traced = ctx.tracer.episodes  # ids of the episodes followed step by step
        self.finish = ctx.recorder.finish  # an episode's one terminal outcome

    def when(self, hours: float) -> str:
        """A simulation time as the calendar reads it (for trace notes)."""
        return str(self.ctx.timeline.clock(np.array([hours]))[0]).replace("T", " ")

    def hand_to(self, name: str) -> Receive:
        """Where to send a patient next: the named service's :meth:`receive`."""
        return self.system.entry(name)

    def connect(self) -> None:
        """Look up the services this one hands patients to (after all are built)."""

    def processes(self) -> list[Process]:
        """SimPy processes to start with the run (rotas, clocks)."""
        return []

    def daily(self, values: Sequence[int], apply: Callable[[int], None]) -> Process:
        """A process that applies ``values[day]`` at the start of each day (a daily rota)."""
        env, day = self.env, 0
        while day < len(values):
            apply(values[day])
            day += 1
            yield env.timeout(24.0 * day - env.now)

    def variates(
        self,
        u: Mapping[str, np.ndarray],
        acuity: np.ndarray,
        age_band: np.ndarray,
        ltc: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Per-episode durations (hours) and thresholds from its uniforms, elementwise."""
        return {}

    def receive(self, b: EpisodeBlock, j: int, episode: int, source: int) -> int:
        """A patient handed over now; returns the row of its record (-1 if none)."""
        raise NotImplementedError(f"{self.name} takes no patients from other services")

    def report(self, records: Mapping[str, Any], ctx: CareContext) -> Report:
        """Annual values of its metrics (one entry per report year), from all records."""
        return {}

    @property
    def records(self) -> Any:
        return self.ctx.recorder.service[self.name]
