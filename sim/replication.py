"""One replication of one scenario: build, run, measure. Returns data, prints nothing."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.care import SERVICES, CareContext, CareService, CareSystem, uniform_layout
from sim.care.base import Tracer
from sim.care.places import PLACE_COLUMNS, place_metrics
from sim.config import ModelConfig
from sim.demand import DemandGenerator, PeriodDemand
from sim.engine import Engine
from sim.interventions import DailySchedule, daily_schedule
from sim.population import build_population
from sim.recorder import CONTACTS, OUTCOME_GROUP, OUTCOMES, Recorder
from sim.streams import RandomStreams
from sim.timeline import Timeline, timeline_for

EVENT_LOG_COLUMNS = (
    "time",
    "practice",
    "person",
    "age_band",
    "ltc",
    "acs_group",
    "acuity",
    "care_home",
)


@dataclass(frozen=True)
class ReplicationResult:
    """Annual metrics of one replication, with what is needed to trust them."""

    scenario: str
    replication: int
    seed: int
    annual: pd.DataFrame
    outcome_counts: dict[str, int]
    episodes: int
    terminations: int
    runtime_seconds: float
    event_log: pd.DataFrame | None = None
    trace: pd.DataFrame | None = None  # one row per step of the followed episodes
    # Key metrics per locality (year, financial_year, locality, metric, value).
    places: pd.DataFrame | None = None

    def long(self) -> pd.DataFrame:
        """Tidy rows: scenario, replication, seed, year, financial_year, metric, value."""
        frame = self.annual.melt(
            id_vars=["year", "financial_year"], var_name="metric", value_name="value"
        )
        frame.insert(0, "seed", self.seed)
        frame.insert(0, "replication", self.replication)
        frame.insert(0, "scenario", self.scenario)
        return frame

    def long_places(self) -> pd.DataFrame:
        """:meth:`long` rows per locality, with a ``locality`` column (empty if none)."""
        frame = self.places if self.places is not None else pd.DataFrame(columns=PLACE_COLUMNS)
        frame = frame.copy()
        frame.insert(0, "seed", self.seed)
        frame.insert(0, "replication", self.replication)
        frame.insert(0, "scenario", self.scenario)
        return frame


@dataclass
class SimulationRun:
    """The raw state a finished replication leaves: what metrics and checks read."""

    config: ModelConfig
    seed: int
    replication: int
    system: CareSystem
    logged: list[dict[str, np.ndarray]]
    runtime_seconds: float
    demand: DemandGenerator | None = None
    started: float = 0.0  # perf_counter when the build began
    event_log: bool = False
    traced: bool = False

    @property
    def context(self) -> CareContext:
        return self.system.ctx

    @property
    def recorder(self) -> Recorder:
        return self.system.ctx.recorder


def simulate(
    config: ModelConfig,
    replication: int = 0,
    seed: int | None = None,
    event_log: bool = False,
    services: tuple[type[CareService], ...] = SERVICES,
    trace: int | Sequence[int] | None = None,
) -> SimulationRun:
    """Build the area's population and services and run the event loop to the horizon.

    ``services`` is the registry to build (:data:`sim.care.SERVICES` unless a test
    adds one). ``trace`` follows episodes step by step: a number follows that many
    (the first after the warm-up that reach a service), a sequence the episode ids given.
    """
    run = build(config, replication, seed, event_log, services, trace)
    run.context.env.run_until(run.context.timeline.horizon_hours)
    run.runtime_seconds = time.perf_counter() - run.started
    return run


def build(
    config: ModelConfig,
    replication: int = 0,
    seed: int | None = None,
    event_log: bool = False,
    services: tuple[type[CareService], ...] = SERVICES,
    trace: int | Sequence[int] | None = None,
    schedule: DailySchedule | None = None,
    before_period: Callable[[int], None] | None = None,
) -> SimulationRun:
    """A replication ready to run: population, services, the first period routed.

    ``schedule`` replaces the config's own daily schedule (a shared prefix sizes the
    rapid response rota for every scenario it serves); ``before_period(first_day)``
    is called before each period's episodes are drawn (where a prefix forks).
    """
    started = time.perf_counter()
    seed = config.run.seed if seed is None else seed
    streams = RandomStreams(seed, replication)
    timeline = timeline_for(config)
    population = build_population(config, streams)
    schedule = daily_schedule(config, timeline) if schedule is None else schedule
    demand = DemandGenerator(
        config, timeline, population, schedule, streams, uniform_layout(services)
    )
    day_years = np.maximum(timeline.year_of_hours(np.arange(timeline.total_days) * 24.0), 0)
    growth_by_day = (1 + config.population.growth_per_year) ** day_years.astype(float)
    growth_by_year = (1 + config.population.growth_per_year) ** np.arange(timeline.years)
    recorder = Recorder()
    ctx = CareContext(
        env=Engine(),
        config=config,
        timeline=timeline,
        population=population,
        schedule=schedule,
        streams=streams,
        recorder=recorder,
        growth_by_day=growth_by_day,
        growth_by_year=growth_by_year,
        tracer=_tracer(trace),
    )
    system = CareSystem(ctx, services)
    logged: list[dict[str, np.ndarray]] = []

    def periods() -> Iterator[tuple[int, PeriodDemand]]:
        for period in demand.periods(before_period):
            recorder.prevented_time.extend(period.prevented_times.tolist())
            arrays = period.arrays
            first = recorder.new_episodes(arrays["time"], arrays["person"], arrays["practice"])
            if event_log:
                part = {k: period.arrays[k] for k in EVENT_LOG_COLUMNS}
                part["episode"] = np.arange(first, first + period.size)
                logged.append(part)
            yield first, period

    system.start(periods())
    return SimulationRun(
        config,
        seed,
        replication,
        system,
        logged,
        0.0,
        demand,
        started,
        event_log,
        trace is not None,
    )


def run_replication(
    config: ModelConfig,
    replication: int = 0,
    seed: int | None = None,
    event_log: bool = False,
    trace: int | Sequence[int] | None = None,
) -> ReplicationResult:
    """Simulate ``config`` once and summarise it. Replication ``r`` with seed ``s``
    uses the same random streams in every scenario (common random numbers)."""
    return replication_result(simulate(config, replication, seed, event_log, trace=trace))


def replication_result(run: SimulationRun) -> ReplicationResult:
    """The metrics of a finished run, with what is needed to trust them."""
    config = run.config
    started = time.perf_counter()
    annual = run.system.annual_metrics()
    outcomes = Counter(np.frombuffer(run.recorder.outcome, dtype=np.int8).tolist())
    return ReplicationResult(
        scenario=config.scenario.name,
        replication=run.replication,
        seed=run.seed,
        annual=annual,
        outcome_counts={name: int(outcomes.get(code, 0)) for code, name in enumerate(OUTCOMES)},
        episodes=len(run.recorder.outcome),
        terminations=run.recorder.terminations,
        runtime_seconds=run.runtime_seconds + time.perf_counter() - started,
        event_log=(
            _event_log(run.recorder, run.logged, run.context.timeline) if run.event_log else None
        ),
        trace=_trace_frame(run) if run.traced else None,
        places=place_metrics(run.context),
    )


def _trace_frame(run: SimulationRun) -> pd.DataFrame:
    """The followed episodes' steps, with the calendar time of each."""
    frame = run.context.tracer.frame()
    frame.insert(1, "clock", run.context.timeline.clock(frame["time"].to_numpy()))
    return frame


def _tracer(trace: int | Sequence[int] | None) -> Tracer:
    if trace is None:
        return Tracer()
    if isinstance(trace, int):
        if trace < 0:
            raise ValueError("trace must be a number of episodes (0 or more) or a list of ids")
        return Tracer(wanted=trace)
    return Tracer(episodes={int(e) for e in trace})


def _event_log(
    recorder: Recorder, logged: list[dict[str, np.ndarray]], tl: Timeline
) -> pd.DataFrame:
    """Episode-level log: attributes, first contact, terminal outcome and its time."""
    columns = ("episode", *EVENT_LOG_COLUMNS)
    frame = pd.DataFrame({k: np.concatenate([part[k] for part in logged]) for k in columns})
    frame = frame.rename(columns={"time": "arrival_hours"})
    ids = frame["episode"].to_numpy()
    outcome = np.frombuffer(recorder.outcome, dtype=np.int8)[ids]
    contact = np.frombuffer(recorder.first_contact, dtype=np.int8)[ids]
    frame["first_contact"] = pd.Categorical.from_codes(contact, categories=list(CONTACTS))
    frame["outcome"] = pd.Categorical.from_codes(outcome, categories=list(OUTCOMES))
    frame["outcome_group"] = frame["outcome"].map(OUTCOME_GROUP).astype("category")
    frame["end_hours"] = np.frombuffer(recorder.end_time, dtype=float)[ids]
    frame["report_year"] = tl.year_of_hours(frame["arrival_hours"].to_numpy())
    return frame
