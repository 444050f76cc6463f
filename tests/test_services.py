"""Booked servers and agenda pools give exactly the start times of the SimPy resources they replace."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
import pytest
import simpy

from sim.care.gp import BOOKED, CLOSED, NO_SLOT, GPSameDayBook
from sim.config import ModelConfig
from sim.engine import Engine
from sim.interventions import daily_schedule
from sim.population import build_population
from sim.resources import AgendaPool, BookedRota, BookedServers, Waiting
from sim.streams import RandomStreams
from sim.timeline import timeline_for
from tests.simpy_reference import rota_clock


def _jobs(n: int, rate: float, mean_hold: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.exponential(1 / rate, n)), rng.exponential(mean_hold, n)


def _simpy_starts(
    arrivals: np.ndarray, holds: np.ndarray, servers: int | Sequence[int]
) -> list[float]:
    """Start times from plain SimPy: a Resource, or for an hourly rota a PriorityResource
    whose off-duty units are held by top-priority requests (tests/simpy_reference.py)."""
    env = simpy.Environment()
    rota = list(servers) if not isinstance(servers, int) else None
    resource = simpy.PriorityResource(env, max(rota) if rota else servers)  # type: ignore[arg-type]
    starts = [0.0] * len(arrivals)

    def job(i: int) -> Generator[simpy.Event, Any, None]:
        with resource.request() as request:
            yield request
            starts[i] = env.now
            yield env.timeout(holds[i])

    def source() -> Generator[simpy.Event, Any, None]:
        for i, at in enumerate(arrivals):
            yield env.timeout(at - env.now)
            env.process(job(i))

    if rota:
        env.process(rota_clock(env, resource, rota, 1.0))
    env.process(source())
    env.run(until=float(arrivals[-1] + holds.sum()))  # the clock never stops by itself
    return starts


@pytest.mark.parametrize(("servers", "rate"), [(1, 0.9), (3, 2.7), (8, 7.5)])
def test_booked_servers_match_a_simpy_resource(servers: int, rate: float) -> None:
    arrivals, holds = _jobs(5_000, rate, 1.0, seed=servers)
    booked, in_one_call = BookedServers(servers), BookedServers(servers)
    starts, one_call_starts = [], []
    for at, hold in zip(arrivals.tolist(), holds.tolist(), strict=True):
        start = booked.start(at)
        booked.hold(start, start + hold)
        starts.append(start)
        one_call_starts.append(in_one_call.book(at, hold))
    assert starts == _simpy_starts(arrivals, holds, servers)
    assert one_call_starts == starts
    assert max(s - a for s, a in zip(starts, arrivals, strict=True)) > 1.0  # queues formed


def test_booked_rota_matches_a_plain_simpy_rota() -> None:
    rota = [2] * 8 + [6] * 10 + [4] * 4 + [0, 1]  # includes an hour with nobody on
    arrivals, holds = _jobs(5_000, 3.2, 1.0, seed=7)
    booked = BookedRota(rota)
    pairs = zip(arrivals.tolist(), holds.tolist(), strict=True)
    starts = [booked.book(at, hold) for at, hold in pairs]
    assert starts == _simpy_starts(arrivals, holds, rota)
    assert sum(1 for s, a in zip(starts, arrivals, strict=True) if s > a) > 500


def test_waiting_counts_jobs_booked_but_not_started() -> None:
    booked = BookedRota([1] * 24)
    for at in (0.0, 0.1, 0.2):
        booked.book(at, 1.0)
    assert booked.waiting(0.5) == 2 and booked.waiting(1.5) == 1 and booked.waiting(2.5) == 0
    with pytest.raises(ValueError):
        BookedServers(0)
    with pytest.raises(ValueError):
        BookedRota([0] * 24)


def _agenda_pool_starts(
    arrivals: np.ndarray, holds: np.ndarray, servers: int | Sequence[int]
) -> list[float]:
    """Start times from an AgendaPool driven the way the model drives beds."""
    env = Engine()
    rota = list(servers) if not isinstance(servers, int) else None
    pool = AgendaPool(env, rota[0] if rota else servers)  # type: ignore[arg-type]
    starts = [0.0] * len(arrivals)

    def granted(i: int) -> None:
        starts[i] = env.now
        env.call_in(float(holds[i]), pool.release)

    def clock() -> Generator[simpy.Event, Any, None]:
        hour = 0
        while True:
            assert rota is not None
            pool.set_capacity(rota[hour % 24])
            hour += 1
            yield env.timeout(hour - env.now)

    due = 0.0
    for i, at in enumerate(arrivals.tolist()):
        due = due + (at - due)  # the clock SimPy's source process would read
        env.call_at(due, pool.request, granted, i)
    if rota:
        env.process(clock())
    env.run_until(float(arrivals[-1] + holds.sum()))
    return starts


@pytest.mark.parametrize("servers", [1, 4, [2] * 8 + [6] * 10 + [4] * 4 + [0, 1]])
def test_agenda_pool_grants_like_a_simpy_resource(servers: int | list[int]) -> None:
    capacity = servers if isinstance(servers, int) else 4
    arrivals, holds = _jobs(5_000, 0.9 * capacity, 1.0, seed=capacity + 11)
    starts = _agenda_pool_starts(arrivals, holds, servers)
    assert starts == _simpy_starts(arrivals, holds, servers)
    assert sum(1 for s, a in zip(starts, arrivals, strict=True) if s > a) > 500  # queues formed


def test_agenda_pool_keeps_holders_when_capacity_falls() -> None:
    env = Engine()
    pool = AgendaPool(env, 2)
    granted: list[str] = []
    for name in "abc":
        pool.request(granted.append, name)
    env.run_until(1.0)
    assert granted == ["a", "b"] and pool.count == 2 and len(pool.queue) == 1
    pool.set_capacity(1)
    pool.release()  # still one held against a capacity of one: c keeps waiting
    env.run_until(2.0)
    assert granted == ["a", "b"] and pool.count == 1
    pool.release()
    env.run_until(3.0)
    assert granted == ["a", "b", "c"] and pool.granted == 3
    pool.release()
    with pytest.raises(RuntimeError):
        pool.release()
    with pytest.raises(ValueError):
        pool.set_capacity(-1)


def test_agenda_pool_withdrawal_matches_a_cancelled_simpy_request() -> None:
    """Requests that stop waiting after ``patience`` hours: the same grants and the same
    withdrawals as SimPy requests cancelled after a timeout (reneging)."""
    arrivals, holds = _jobs(3_000, 2.2, 1.0, seed=5)
    patience = 0.5

    env = Engine()
    pool = AgendaPool(env, 2)
    agenda: dict[int, float] = {}

    def grant(i: int) -> None:
        agenda[i] = env.now
        env.call_in(holds[i], pool.release)

    def give_up(ticket: Waiting) -> None:
        pool.withdraw(ticket)

    def arrive(i: int) -> None:
        ticket = pool.request(grant, i)
        if ticket is not None:
            env.call_in(patience, give_up, ticket)

    for i, at in enumerate(arrivals):
        env.call_at(at, arrive, i)
    env.run_until(arrivals[-1] + 1_000)

    sim = simpy.Environment()
    resource = simpy.Resource(sim, 2)
    reference: dict[int, float] = {}

    def patient(i: int) -> Generator[simpy.Event, Any, None]:
        yield sim.timeout(arrivals[i])
        request = resource.request()
        yield request | sim.timeout(patience)
        if not request.triggered:
            request.cancel()
            return
        reference[i] = sim.now
        yield sim.timeout(holds[i])
        resource.release(request)

    for i in range(len(arrivals)):
        sim.process(patient(i))
    sim.run()
    assert agenda == pytest.approx(reference)
    assert len(arrivals) - len(agenda) > 100  # the patience binds: many withdrew
    assert pool.waiting == 0


def _gp_book(config: ModelConfig) -> GPSameDayBook:
    streams = RandomStreams(4, 0)
    timeline = timeline_for(config)
    population = build_population(config, streams)
    growth = np.ones(timeline.total_days)
    return GPSameDayBook(
        config, timeline, population, daily_schedule(config, timeline), streams, growth
    )


def test_gp_book_books_a_period_at_once_as_one_by_one(best_case: ModelConfig) -> None:
    # Busy days (about 30 requests per practice-day), so books run out.
    one_by_one, at_once = _gp_book(best_case), _gp_book(best_case)
    rng = np.random.default_rng(8)
    n_practices = one_by_one.slots.shape[0]
    times = np.sort(rng.uniform(0, 24.0 * 20, 60_000))
    times[1::50] = times[::50][: times[1::50].size]  # some requests at the same moment
    times = np.sort(times)
    practices = rng.integers(0, n_practices, times.size)
    pairs = zip(practices.tolist(), times.tolist(), strict=True)
    expected = [one_by_one.try_book(p, t) for p, t in pairs]
    # Two periods, the second starting at 11:00 on a day the first began.
    half = int(np.searchsorted(times, 24.0 * 10 + 11.0))
    got = np.concatenate(
        [
            at_once.book_many(practices[:half], times[:half]),
            at_once.book_many(practices[half:], times[half:]),
        ]
    )
    assert got.tolist() == expected
    assert min(expected.count(status) for status in (BOOKED, NO_SLOT, CLOSED)) > 5_000
    assert np.array_equal(at_once.routine_served(), one_by_one.routine_served())
