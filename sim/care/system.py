"""The care system of one replication: the registered services, arrivals, and the metrics.

Each period's episodes are first routed with numpy (:mod:`sim.care.routing`);
those resolved without queueing (GP, NHS 111 advice, hear-and-treat) never
reach the event loop. The rest arrive one by one on the engine's agenda, each
handed to its first service by name, with durations derived only for them
(every service's :meth:`~sim.care.base.CareService.variates`). Nothing random is
drawn inside the event loop except readmissions, which draw from their own
blocks of pre-drawn uniforms.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.annual import count_by_year
from sim.care.base import CareContext, CareService, EpisodeBlock, Process, Receive
from sim.care.routing import FIRST_SERVICE, ROUTING_UNIFORMS, STREAM, STREAM_UNIFORMS, Router
from sim.demand import PeriodDemand, draw_uniforms, named_columns
from sim.metrics import HIGH_RISK_PERCENT, PER_100K_METRICS

READMISSION_BLOCK = 512
MONITOR_HOURS = 6.0
# The episode attributes services read.
ATTRIBUTES = ("age_band", "ltc", "acs_group", "acuity", "practice")
SYSTEM_METRICS = (
    "population",
    "ltc_population",
    "urgent_episodes",
    "episodes_prevented",
    "ae_attendances_all_types",
    *(f"{name}_per_100k" for name in PER_100K_METRICS),
    "high_risk_cohort_episodes",
    "high_risk_cohort_admissions",
)


def uniform_layout(services: Sequence[type[CareService]]) -> dict[str, tuple[str, ...]]:
    """Each random stream's per-episode columns: routing's, then every service's."""
    layout: dict[str, tuple[str, ...]] = {STREAM: STREAM_UNIFORMS}
    for service in services:
        if service.stream:
            layout[service.stream] = service.uniforms
    return layout


class CareSystem:
    """The services of an area, built from the registry, and the episodes flowing through."""

    def __init__(self, ctx: CareContext, services: Sequence[type[CareService]]):
        self.ctx = ctx
        self.env = ctx.env
        self.layout = uniform_layout(services)
        for cls in services:
            if cls.Records is not None:
                ctx.recorder.service[cls.name] = cls.Records()
        self.services: dict[str, CareService] = {}
        for cls in services:
            self.services[cls.name] = cls(ctx, self)
        for service in self.services.values():
            service.connect()
        self.router = Router(ctx, self)
        self.decisions = tuple(u for s in self.services.values() for u in s.decisions)
        self.variate_inputs = tuple(u for s in self.services.values() for u in s.variate_inputs)
        self.first_service = {
            start: (self.entry(name), source) for start, (name, source) in FIRST_SERVICE.items()
        }
        self._readmission_uniforms: dict[str, np.ndarray] = {}
        self._readmission_blocks: dict[tuple[int, int, int], EpisodeBlock] = {}
        self._next_readmission = READMISSION_BLOCK

    def service(self, name: str) -> Any:
        """The named service (for a question one service asks another, e.g. "do you accept?")."""
        try:
            return self.services[name]
        except KeyError:
            raise KeyError(f"no service named {name!r}: {sorted(self.services)}") from None

    def entry(self, name: str) -> Receive:
        """Where a patient handed to ``name`` goes: that service's ``receive``."""
        return self.service(name).receive  # type: ignore[no-any-return]

    def variates(
        self,
        u: Mapping[str, np.ndarray],
        acuity: np.ndarray,
        age_band: np.ndarray,
        ltc: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Every service's per-episode durations and thresholds (elementwise)."""
        columns: dict[str, np.ndarray] = {}
        for service in self.services.values():
            columns.update(service.variates(u, acuity, age_band, ltc))
        return columns

    # ------------------------------------------------------------------ running
    def start(self, periods: Iterator[tuple[int, PeriodDemand]]) -> None:
        """Start the services' processes and the monitor, and route the first period.

        ``periods`` yields each period's first episode id and its episodes (time order).
        """
        for service in self.services.values():
            for process in service.processes():
                self.env.process(process)
        self.env.process(self.monitor())
        self._periods = periods
        self._clock = self.env.now
        self._route_next()

    def monitor(self, every_hours: float = MONITOR_HOURS) -> Process:
        """Sample the state of the system (for the warm-up analysis); 4 events a day."""
        env, rec = self.env, self.ctx.recorder
        wards, ae = self.service("wards"), self.service("ae")
        while True:
            rec.monitor_time.append(env.now)
            rec.monitor_beds.append(wards.beds.count)
            rec.monitor_ae_queue.append(ae.waiting(env.now) + wards.beds.waiting)
            rec.monitor_onward.append(wards.onward_care.count)
            yield env.timeout(every_hours)

    def _route_next(self) -> None:
        """Route one period; those that need a service arrive one by one.

        Only the next arrival is on the agenda at any time (each puts up the one
        after it), so the agenda stays short; the next period is routed at this
        one's last arrival, before that arrival is served.
        """
        period = next(self._periods, None)
        if period is None:
            return
        first_id, demand = period
        arrays = demand.arrays
        routed = self.router.route({**arrays, **demand.uniform_columns(ROUTING_UNIFORMS)}, first_id)
        index = routed.index
        picked = {name: arrays[name][index] for name in ("time", *ATTRIBUTES)}
        picked.update(demand.uniform_columns((*self.decisions, *self.variate_inputs), index))
        columns = self.variates(picked, picked["acuity"], picked["age_band"], picked["ltc"])
        for name in ("time", *ATTRIBUTES, *self.decisions):
            columns[name] = picked[name]
        columns["episode"] = first_id + index
        columns["start"] = routed.start
        block = EpisodeBlock(columns)
        due, clock = [], self._clock
        for now in block.time:
            delay = now - clock
            if delay > 0:
                clock = clock + delay  # the clock a process waiting ``delay`` would read
            due.append(clock)
        self._clock = clock
        self._arrivals = (block, due)
        if due:
            self.env.call_at(due[0], self._arrive, 0)
        else:
            self.env.call_at(clock, self._route_next)

    def _arrive(self, j: int) -> None:
        b, due = self._arrivals
        if j + 1 < len(due):
            self.env.call_at(due[j + 1], self._arrive, j + 1)
        else:
            self._route_next()
        receive, source = self.first_service[b.start[j]]
        receive(b, j, b.episode[j], source)

    def new_readmission(
        self, source: EpisodeBlock, j: int, now: float, of_episode: int
    ) -> tuple[EpisodeBlock, int, int]:
        """A readmission of episode ``of_episode`` (row ``j`` of ``source``): its block, its
        row there and its episode id.

        Uniforms come in blocks from streams prefixed ``readmission/`` so that
        readmissions never disturb the streams of first episodes; the n-th
        readmission of a block takes row n. Variates depend on the patient's
        acuity, age band and LTC flag, so the first readmission of each such kind
        in a block derives the whole block's variates for that kind at once
        (elementwise, so row n holds what deriving row n alone would give); the
        readmission is row n of that kind's block, with the ACS flag and practice copied in.
        """
        if self._next_readmission >= READMISSION_BLOCK:
            blocks = draw_uniforms(self.ctx.streams, "readmission/", READMISSION_BLOCK, self.layout)
            self._readmission_uniforms = named_columns(blocks, self.layout)
            self._readmission_blocks = {}
            self._next_readmission = 0
        row = self._next_readmission
        self._next_readmission += 1
        kind = (source.acuity[j], source.age_band[j], source.ltc[j])
        block = self._readmission_blocks.get(kind) or self._readmission_block(kind)
        block.acs_group[row] = source.acs_group[j]
        block.practice[row] = source.practice[j]
        return block, row, self.ctx.recorder.new_readmission(now, of_episode)

    def _readmission_block(self, kind: tuple[int, int, int]) -> EpisodeBlock:
        n = READMISSION_BLOCK
        acuity, age_band, ltc = (np.full(n, value) for value in kind)
        uniforms = self._readmission_uniforms
        columns = self.variates(uniforms, acuity, age_band, ltc)
        columns["p_admit"] = np.ones(n)  # a readmission is, by definition, admitted
        columns.update((name, uniforms[name]) for name in self.decisions)
        columns.update(
            acuity=acuity,
            age_band=age_band,
            ltc=ltc,
            acs_group=np.zeros(n, dtype=np.int64),
            practice=np.zeros(n, dtype=np.int64),
        )
        block = EpisodeBlock(columns)
        self._readmission_blocks[kind] = block
        return block

    # ------------------------------------------------------------------ metrics
    def annual_metrics(self) -> pd.DataFrame:
        """One row per report year, one column per metric: every service's, then the system's."""
        ctx = self.ctx
        tl, rec = ctx.timeline, ctx.recorder
        growth = ctx.growth_by_year
        m: dict[str, np.ndarray] = {
            "population": ctx.population.total * growth,
            "ltc_population": ctx.population.cohort.size * growth,
        }
        arrivals = (
            np.frombuffer(rec.arrival_time, dtype=float) if len(rec.arrival_time) else np.zeros(0)
        )
        readmission = np.frombuffer(rec.is_readmission, dtype=np.int8).astype(bool)
        m["urgent_episodes"] = count_by_year(arrivals, tl, ~readmission)
        m["episodes_prevented"] = count_by_year(rec.prevented_time, tl)
        for service in self.services.values():
            m.update(service.report(rec.service, ctx))
        derived = {"ae_attendances_all_types": m["ae_attendances"] + m["ucc_attendances"]}
        for name in PER_100K_METRICS:
            derived[f"{name}_per_100k"] = m[name] / m["population"] * 1e5
        # Report order: the derived figures next to the admissions they come from.
        at = list(m).index("acs_admissions") + 1
        m = dict([*list(m.items())[:at], *derived.items(), *list(m.items())[at:]])
        m.update(self._high_risk_cohort(arrivals, readmission))
        frame = pd.DataFrame(m)
        frame.insert(0, "financial_year", [tl.financial_year(y) for y in range(tl.years)])
        frame.insert(0, "year", np.arange(tl.years))
        return frame

    def _high_risk_cohort(
        self, arrivals: np.ndarray, readmission: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The cohort a before/after evaluation of case management would follow: the top 2%
        of the LTC cohort by urgent episodes in year 0 (ties by list order; the same people
        in every scenario, so scenarios compare paired), and its urgent episodes and their
        admissions in every year. Under do nothing its fall from year 0 is regression to
        the mean, which a before/after evaluation would credit to the intervention."""
        ctx = self.ctx
        tl, rec = ctx.timeline, ctx.recorder
        size = ctx.population.cohort.size
        person = np.frombuffer(rec.episode_person, dtype=np.int64)
        first = ~readmission & (person >= 0)
        in_year0 = first & (tl.year_of_hours(arrivals) == 0)
        counts = np.bincount(person[in_year0], minlength=size)
        top = round(HIGH_RISK_PERCENT / 100.0 * size)
        tracked = np.zeros(size, dtype=bool)
        tracked[np.lexsort((np.arange(size), -counts))[:top]] = True
        followed = first & tracked[np.maximum(person, 0)]
        wards = rec.service["wards"]
        admitted = np.asarray(wards.admission_episode, dtype=np.int64)
        return {
            "high_risk_cohort_episodes": count_by_year(arrivals, tl, followed),
            "high_risk_cohort_admissions": count_by_year(
                np.asarray(wards.admission_time, dtype=float), tl, followed[admitted]
            ),
        }
