"""Simulate the time scenarios share once, then each scenario on from it.

Scenarios that differ only in their levers are identical until the first lever
starts: the warm-up and every report year before it (on common random numbers
every draw is the same, and a lever's ramp is exactly zero before its start).
One replication of such a group simulates that prefix once; at the first
period of the lever years the process forks once per scenario, one child at a
time so a task never uses more than one core (copy-on-write: the SimPy
processes, queues and random streams are copied whole, which nothing else can
do with SimPy's generators), and each child switches to its own scenario's
levers and runs on to the horizon. The results are identical to
running each scenario from the start (``tests/test_prefix.py``).

Forking needs ``os.fork`` and a process with no other threads doing work (a
Dask worker has them), so the batch uses this with the sequential and loky
backends only; elsewhere every scenario runs from the start, with the same
results.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from sim.config import ModelConfig, ScopedLever
from sim.interventions import (
    DailySchedule,
    RapidResponseTeams,
    daily_schedule,
    scope_start_years,
)
from sim.replication import (
    ReplicationResult,
    SimulationRun,
    build,
    replication_result,
    run_replication,
)
from sim.timeline import DAYS_PER_YEAR, timeline_for

LEVER_FIELDS = ("interventions", "scenario")  # what may differ within a group


class _Forked(Exception):
    """Raised in the parent once every scenario has its child: unwinds the prefix run."""


def first_lever_year(config: ModelConfig) -> float:
    """The first report year any enabled lever of ``config`` acts (inf when none)."""
    first = math.inf
    for name in type(config.interventions).model_fields:
        lever = getattr(config.interventions, name)
        if not lever.enabled:
            continue
        starts = (
            scope_start_years(lever, config.practices)
            if isinstance(lever, ScopedLever)
            else np.array([lever.start_year])
        )
        first = min(first, float(np.min(starts)))
    return first


def shared_years(configs: Sequence[ModelConfig]) -> int:
    """Whole report years the scenarios share (0: nothing to share)."""
    if len(configs) < 2 or len(prefix_groups(configs)) > 1:
        return 0
    start = min(first_lever_year(c) for c in configs)
    years = configs[0].run.years
    return int(min(start, years)) if math.isfinite(start) else years


def can_fork() -> bool:
    return hasattr(os, "fork")


def prefix_groups(configs: Sequence[ModelConfig]) -> list[list[int]]:
    """Indices of the configs that are identical but for their levers, in first-seen
    order (a scenario that changes a service, not a lever, is a group of its own)."""
    groups: dict[str, list[int]] = {}
    for i, config in enumerate(configs):
        key = config.model_dump_json(exclude=set(LEVER_FIELDS))
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def run_sharing_prefix(
    configs: Sequence[ModelConfig], replication: int, seed: int | None = None
) -> list[ReplicationResult]:
    """Replication ``replication`` of every config, each group's shared prefix simulated
    once (:func:`prefix_groups`); results in the order of ``configs``."""
    results: dict[int, ReplicationResult] = {}
    for group in prefix_groups(configs):
        done = _run_group([configs[i] for i in group], replication, seed)
        results.update(zip(group, done, strict=True))
    return [results[i] for i in range(len(configs))]


def _run_group(
    configs: Sequence[ModelConfig], replication: int, seed: int | None
) -> list[ReplicationResult]:
    """One group: falls back to one run per config when they share no whole year or the
    platform cannot fork; the results are the same either way."""
    years = shared_years(configs)
    if years == 0 or not can_fork() or years >= configs[0].run.years:
        return [run_replication(c, replication, seed) for c in configs]
    started = time.perf_counter()
    timeline = timeline_for(configs[0])
    switch_day = timeline.warmup_days + years * DAYS_PER_YEAR
    schedules = [daily_schedule(c, timeline) for c in configs]
    # One rota big enough for every scenario's staffing (a rota's spare units are
    # held off duty, so its size does not change what patients see).
    sizes = np.array([s.rapid_response.capacity for s in schedules])
    capacity = sizes.max(axis=0).tolist()
    prefix_schedule = _with_capacity(schedules[0], capacity)
    results: list[ReplicationResult] = []
    state: dict[str, Any] = {}

    def fork_at(first_day: int) -> None:
        """At the first lever year: one child per scenario, one at a time (so a task
        uses one core), the parent waiting with the prefix untouched between them."""
        if first_day != switch_day or results:
            return
        for k, config in enumerate(configs):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: become scenario k and run on
                os.close(read)
                state.update(child=k, write=write)
                switch(run, config, _with_capacity(schedules[k], capacity), switch_day)
                return
            os.close(write)
            results.append(_receive(pid, read))
        raise _Forked

    run = build(configs[0], replication, seed, schedule=prefix_schedule, before_period=fork_at)
    try:
        run.context.env.run_until(timeline.horizon_hours)
    except _Forked:
        return results
    except BaseException as exc:
        if "child" in state:  # a child never returns into its caller: report and leave
            _send_and_exit(state["write"], exc)
        raise
    if "child" not in state:  # the fork point was never reached (cannot happen, but safe)
        return [run_replication(c, replication, seed) for c in configs]
    _finish_child(run, state["write"], time.perf_counter() - started)
    raise AssertionError("unreachable")  # pragma: no cover - the child exits above


def _with_capacity(schedule: DailySchedule, capacity: list[int]) -> DailySchedule:
    teams = dataclasses.replace(schedule.rapid_response, capacity=list(capacity))
    return dataclasses.replace(schedule, rapid_response=teams)


def switch(run: SimulationRun, config: ModelConfig, schedule: DailySchedule, day: int) -> None:
    """Make a prefix run scenario ``config`` from ``day`` on: its levers' schedule copied
    into the containers the services read (processes hold them), and what was derived
    from the levers when the run was built derived again."""
    ctx = run.context
    _copy_into(ctx.schedule, schedule)
    object.__setattr__(ctx, "config", config)  # the frozen context's one rebinding
    assert run.demand is not None  # built by sim.replication.build
    run.demand.switch(config)
    run.system.router.switch(ctx)
    run.system.service("gp").book.plan(config, ctx.schedule, from_day=day)
    object.__setattr__(run, "config", config)


def _copy_into(old: Any, new: Any) -> None:
    """Copy ``new``'s values into ``old``'s lists and arrays, field by field, in place."""
    for f in dataclasses.fields(old):
        target, source = getattr(old, f.name), getattr(new, f.name)
        if isinstance(target, RapidResponseTeams):
            _copy_into(target, source)
        elif isinstance(target, np.ndarray):
            target[...] = source
        elif isinstance(target, list) and target and isinstance(target[0], list):
            for row, values in zip(target, source, strict=True):
                row[:] = values
        elif isinstance(target, list):
            target[:] = source


def _finish_child(run: SimulationRun, write: int, seconds: float) -> None:
    """In a child: measure, send the result to the parent, and leave at once. Its time
    counts the shared prefix too (what it took to produce this scenario's result)."""
    run.runtime_seconds = seconds
    try:
        payload: Any = replication_result(run)
    except BaseException as exc:
        payload = exc
    _send_and_exit(write, payload)


def _send_and_exit(write: int, payload: Any) -> None:
    """Pickle a result (or the exception that stopped the child) to the parent, then
    end the child at once, whatever happens (it must never run its caller's code)."""
    try:
        with os.fdopen(write, "wb") as pipe:
            pickle.dump(payload, pipe, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        os._exit(0)


def _receive(pid: int, read: int) -> ReplicationResult:
    """A child's result (read before waiting, so a large one cannot block its pipe)."""
    with os.fdopen(read, "rb") as pipe:
        try:
            payload = pickle.load(pipe)
        except EOFError:
            _, status = os.waitpid(pid, 0)
            raise RuntimeError(
                f"a scenario forked from the shared prefix ended without a result "
                f"(wait status {status})"
            ) from None
    os.waitpid(pid, 0)
    if isinstance(payload, BaseException):
        raise payload
    assert isinstance(payload, ReplicationResult)
    return payload
