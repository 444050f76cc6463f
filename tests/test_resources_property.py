"""Every custom resource primitive gives exactly what plain SimPy gives, on random cases.

The references are plain SimPy only: a ``simpy.Resource``, or, where capacity
follows a rota, a ``simpy.PriorityResource`` whose off-duty units are held by
top-priority requests (SimPy's own way to vary capacity: a fall never
interrupts a job, a rise starts the longest waiting at once). Hypothesis draws
the arrivals, holds, capacities and withdrawals; times fall on a 1/8-hour grid
so that arrivals, ends and capacity changes often coincide (ties are where
event-order mistakes show). At such a tie the model's rule is that a change of
rota comes first; the references follow it.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine import Engine
from sim.resources import AgendaPool, BookedRota, BookedServers, StaffRota
from tests.simpy_reference import rota_clock

EXAMPLES = int(os.environ.get("UCSIM_PROPERTY_EXAMPLES", "60"))
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
Process = Generator[simpy.Event, Any, None]


@st.composite
def jobs(draw: st.DrawFn, max_jobs: int = 60) -> list[tuple[float, float]]:
    """(arrival, hold) pairs in arrival order, on a 1/8-hour grid."""
    gaps = draw(st.lists(st.integers(0, 12), min_size=1, max_size=max_jobs))
    holds = draw(st.lists(st.integers(0, 40), min_size=len(gaps), max_size=len(gaps)))
    arrivals, t = [], 0
    for gap in gaps:
        t += gap
        arrivals.append(t / 8)
    return [(a, h / 8) for a, h in zip(arrivals, holds, strict=True)]


def simpy_starts(
    plan: list[tuple[float, float]],
    rota: list[int] | None = None,
    period: float = 1.0,
    patience: list[float] | None = None,
    servers: int = 1,
    rota_first: bool = True,
) -> list[float | None]:
    """Start time of each job in plain SimPy (None: gave up waiting after its patience).

    With ``rota_first`` a job arriving at the very moment the rota changes meets the
    new rota (as the model's booked rota and agenda pools do): it takes one more
    zero-length step, so the clock's change at that moment runs before its request.
    """
    env = simpy.Environment()
    capacity = max(rota) if rota else servers
    resource = simpy.PriorityResource(env, max(capacity, 1))
    starts: list[float | None] = [None] * len(plan)

    def job(i: int, hold: float) -> Process:
        request = resource.request()
        if patience is None:
            yield request
        else:
            yield request | env.timeout(patience[i])
            if not request.triggered:
                request.cancel()
                return
        starts[i] = env.now
        yield env.timeout(hold)
        resource.release(request)

    def source() -> Process:
        for i, (at, hold) in enumerate(plan):
            yield env.timeout(at - env.now)
            if rota_first:
                yield env.timeout(0)
            env.process(job(i, hold))

    if rota:
        env.process(rota_clock(env, resource, rota, period))
    env.process(source())
    env.run(until=plan[-1][0] + sum(h for _, h in plan) + 24.0 * (len(plan) + 2))
    return starts


@PROPERTY
@given(plan=jobs(), servers=st.integers(1, 4))
def test_booked_servers_are_a_simpy_resource(plan: list[tuple[float, float]], servers: int) -> None:
    booked = BookedServers(servers)
    assert [booked.book(at, hold) for at, hold in plan] == simpy_starts(plan, servers=servers)


@PROPERTY
@given(plan=jobs(), rota=st.lists(st.integers(0, 3), min_size=24, max_size=24))
def test_booked_rota_is_a_simpy_rota(plan: list[tuple[float, float]], rota: list[int]) -> None:
    rota[0] = max(rota[0], 1)  # at least one hour with someone on
    booked = BookedRota(rota)
    assert [booked.book(at, hold) for at, hold in plan] == simpy_starts(plan, rota=rota)


@PROPERTY
@given(
    plan=jobs(),
    rota=st.lists(st.integers(0, 4), min_size=1, max_size=6),
    period=st.sampled_from([0.5, 1.0, 3.0]),
    patience=st.lists(st.integers(0, 24), min_size=60, max_size=60),
    withdraw=st.booleans(),
)
def test_agenda_pool_is_a_simpy_rota_with_reneging(
    plan: list[tuple[float, float]],
    rota: list[int],
    period: float,
    patience: list[int],
    withdraw: bool,
) -> None:
    """Grants, capacity changes and withdrawals (an onward-care wait given up)."""
    # Patience ends half-way between grid points: a wait given up at the very moment a
    # unit frees is a tie each side breaks its own way, with no meaning in the model.
    waits = [p / 8 + 1 / 16 for p in patience] if withdraw else None
    env = Engine()
    pool = AgendaPool(env, rota[0])
    starts: list[float | None] = [None] * len(plan)

    def granted(i: int, hold: float) -> None:
        starts[i] = env.now
        env.call_in(hold, pool.release)

    def arrive(i: int, hold: float) -> None:
        ticket = pool.request(granted, i, hold)
        if ticket is not None and waits is not None:
            env.call_in(waits[i], pool.withdraw, ticket)

    def clock() -> Process:
        k = 0
        while True:
            pool.set_capacity(rota[k % len(rota)])
            k += 1
            yield env.timeout(k * period - env.now)

    env.process(clock())
    for i, (at, hold) in enumerate(plan):
        env.call_at(at, arrive, i, hold)
    env.run_until(plan[-1][0] + sum(h for _, h in plan) + 24.0 * (len(plan) + 2))
    if max(rota) == 0:
        assert starts == [None] * len(plan)
        return
    assert starts == simpy_starts(plan, rota=rota, period=period, patience=waits)


@PROPERTY
@given(
    plan=jobs(),
    rota=st.lists(st.integers(0, 4), min_size=1, max_size=6),
    period=st.sampled_from([0.5, 1.0, 3.0]),
)
def test_staff_rota_follows_its_rota_like_plain_simpy(
    plan: list[tuple[float, float]], rota: list[int], period: float
) -> None:
    """The model's rota (rapid response staff) against the reference written here."""
    if max(rota) == 0:
        rota = [*rota, 1]
    env = Engine()
    staff = StaffRota(env, max(rota))
    starts: list[float | None] = [None] * len(plan)

    def job(i: int, hold: float) -> Process:
        request = staff.resource.request()
        yield request
        starts[i] = env.now
        yield env.timeout(hold)
        staff.resource.release(request)

    def clock() -> Process:
        k = 0
        while True:
            staff.set_on_duty(rota[k % len(rota)])
            k += 1
            yield env.timeout(k * period - env.now)

    def source() -> Process:
        for i, (at, hold) in enumerate(plan):
            yield env.timeout(at - env.now)
            env.process(job(i, hold))

    env.process(clock())
    env.process(source())
    env.run_until(plan[-1][0] + sum(h for _, h in plan) + 24.0 * (len(plan) + 2))
    assert starts == simpy_starts(plan, rota=rota, period=period, rota_first=False)
