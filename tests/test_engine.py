"""The engine runs agenda callbacks and SimPy events as one time-ordered stream."""

from __future__ import annotations

import gc
import random

import pytest
import simpy

from sim.engine import Engine
from sim.resources import BookedServers


def test_agenda_and_simpy_events_run_in_time_order() -> None:
    env = Engine()
    log: list[tuple[str, float]] = []

    def process() -> simpy.events.ProcessGenerator:
        for delay in (1.0, 2.0):
            yield env.timeout(delay)
            log.append(("simpy", env.now))

    env.process(process())
    env.call_at(2.0, lambda: log.append(("agenda", env.now)))
    env.call_in(0.5, lambda: log.append(("agenda", env.now)))
    env.call_at(4.0, lambda: log.append(("agenda", env.now)))
    env.run_until(10.0)
    assert log == [
        ("agenda", 0.5),
        ("simpy", 1.0),
        ("agenda", 2.0),
        ("simpy", 3.0),
        ("agenda", 4.0),
    ]
    assert env.now == 10.0


def test_a_callback_sees_its_due_time_and_schedules_from_it() -> None:
    env = Engine()
    seen: list[float] = []

    def waits() -> simpy.events.ProcessGenerator:
        yield env.timeout(1.25)
        seen.append(env.now)

    env.call_at(2.5, lambda: env.process(waits()))
    env.call_at(2.5, lambda: env.call_in(0.5, lambda: seen.append(env.now)))
    env.run_until(10.0)
    assert seen == [3.0, 3.75]


def test_on_a_tie_simpy_runs_first_and_agenda_keeps_insertion_order() -> None:
    env = Engine()
    log: list[str] = []
    env.call_at(1.0, lambda: log.append("agenda a"))
    env.call_at(1.0, lambda: log.append("agenda b"))
    env.timeout(1.0).callbacks.append(lambda _: log.append("simpy"))
    env.run_until(2.0)
    assert log == ["simpy", "agenda a", "agenda b"]


def test_run_stops_before_the_horizon_and_resumes() -> None:
    env = Engine()
    log: list[float] = []
    for due in (1.0, 5.0, 7.0):
        env.call_at(due, lambda due=due: log.append(due))
    env.run_until(5.0)
    assert log == [1.0] and env.now == 5.0 and env.agenda_size == 2
    env.run_until(8.0)
    assert log == [1.0, 5.0, 7.0]


def test_record_at_records_early_only_what_falls_before_the_horizon() -> None:
    env = Engine()
    log: list[tuple[float, float]] = []

    def book(due: float) -> None:
        env.record_at(due, lambda: log.append((env.now, due)))

    env.call_at(1.0, book, 3.0)  # due within the run: recorded at once, at 1.0
    env.call_at(2.0, book, 6.0)  # due after the horizon: waits on the agenda
    env.run_until(5.0)
    assert log == [(1.0, 3.0)] and env.agenda_size == 1
    env.run_until(10.0)  # a later run records it at its due time
    assert log == [(1.0, 3.0), (6.0, 6.0)]


def test_cannot_schedule_in_the_past() -> None:
    env = Engine()
    env.call_at(3.0, lambda: env.call_at(2.0, lambda: None))
    with pytest.raises(ValueError, match="before now"):
        env.run_until(5.0)


def test_garbage_collector_thresholds_are_restored() -> None:
    before = gc.get_threshold()
    env = Engine()
    env.call_at(1.0, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        env.run_until(2.0)
    assert gc.get_threshold() == before


def _tandem_arrivals(n: int, seed: int) -> list[tuple[float, float, float]]:
    rng = random.Random(seed)
    t, jobs = 0.0, []
    for _ in range(n):
        t += rng.expovariate(1.0)
        jobs.append((t, rng.expovariate(0.7), rng.expovariate(0.45)))
    return jobs


def test_booked_steps_on_the_agenda_match_simpy_processes() -> None:
    """Two FIFO stages (1 then 2 servers): agenda + booking == SimPy Resources, exactly."""
    jobs = _tandem_arrivals(2000, seed=5)

    env = simpy.Environment()
    first, second = simpy.Resource(env, 1), simpy.Resource(env, 2)
    reference: list[float] = [0.0] * len(jobs)

    def job(i: int, hold1: float, hold2: float) -> simpy.events.ProcessGenerator:
        with first.request() as r:
            yield r
            yield env.timeout(hold1)
        with second.request() as r:
            yield r
            yield env.timeout(hold2)
        reference[i] = env.now

    def source() -> simpy.events.ProcessGenerator:
        for i, (t, h1, h2) in enumerate(jobs):
            yield env.timeout(t - env.now)
            env.process(job(i, h1, h2))

    env.process(source())
    env.run()

    engine = Engine()
    stage1, stage2 = BookedServers(1), BookedServers(2)
    booked: list[float] = [0.0] * len(jobs)

    def leave(i: int) -> None:
        booked[i] = engine.now

    def second_stage(i: int, hold: float) -> None:
        start = stage2.book(engine.now, hold)
        engine.call_in(start + hold - engine.now, leave, i)

    def first_stage(i: int, hold1: float, hold2: float) -> None:
        start = stage1.book(engine.now, hold1)
        engine.call_in(start + hold1 - engine.now, second_stage, i, hold2)

    clock = 0.0
    for i, (t, h1, h2) in enumerate(jobs):
        clock = clock + (t - clock)
        engine.call_at(clock, first_stage, i, h1, h2)
    engine.run_until(float("inf"))
    assert booked == pytest.approx(reference, rel=1e-12, abs=1e-9)


def _run_log(window: float) -> tuple[list[tuple[str, float, int]], int]:
    """A random cascade of callbacks (delays near, far, zero and on the hour) and a
    SimPy process ticking on the hour, run to a horizon, then resumed."""
    env = Engine(window)
    rng = random.Random(5)
    ids = iter(range(10**9))
    log: list[tuple[str, float, int]] = []

    def callback(i: int) -> None:
        log.append(("agenda", env.now, i))
        for _ in range(rng.randint(0, 2) if i < 4000 else 0):
            delay = rng.choice(
                [0.0, rng.expovariate(1.0), rng.expovariate(0.01), 6.0, float(rng.randint(1, 40))]
            )
            env.call_in(delay, callback, next(ids))

    def ticks() -> simpy.events.ProcessGenerator:
        while True:
            yield env.timeout(1.0)
            log.append(("simpy", env.now, -1))
            if rng.random() < 0.2:
                env.call_in(0.0, callback, next(ids))

    env.process(ticks())
    for _ in range(50):
        env.call_at(rng.uniform(0, 100), callback, next(ids))
    env.run_until(300.0)
    waiting = env.agenda_size
    env.run_until(3000.0)
    return log, waiting


def test_windowed_agenda_runs_entries_in_exactly_one_heaps_order() -> None:
    one_heap, waiting = _run_log(window=2.0**60)
    assert len(one_heap) > 5000 and waiting > 50
    for window in (0.5, 4.0, 32.0):
        assert _run_log(window) == (one_heap, waiting)
    for bad in (0.0, -4.0, 6.0):
        with pytest.raises(ValueError, match="power of two"):
            Engine(window=bad)


def test_simpy_run_and_step_drive_the_agenda_too() -> None:
    """What a SimPy user calls (``run()``, ``run(until)``, ``step()``) never skips a callback."""
    for drive in ("run", "run_until_number", "run_until_event", "step"):
        env = Engine()
        log: list[tuple[str, float]] = []

        def process(env: Engine = env, log: list[tuple[str, float]] = log):  # type: ignore[no-untyped-def]
            yield env.timeout(2.0)
            log.append(("simpy", env.now))

        done = env.process(process())
        env.call_at(1.0, lambda env=env, log=log: log.append(("agenda", env.now)))
        env.call_at(3.0, lambda env=env, log=log: log.append(("agenda", env.now)))
        if drive == "run":
            env.run()
        elif drive == "run_until_number":
            env.run(until=5.0)
            assert env.now == 5.0
        elif drive == "run_until_event":
            env.run(until=done)
            env.run()
        else:
            with pytest.raises(simpy.core.EmptySchedule):
                while True:
                    env.step()
        assert log == [("agenda", 1.0), ("simpy", 2.0), ("agenda", 3.0)], drive


def test_peek_sees_both_queues() -> None:
    env = Engine()
    assert env.peek() == float("inf")
    env.call_at(3.0, lambda: None)
    assert env.peek() == 3.0
    env.timeout(1.0)
    assert env.peek() == 1.0


@pytest.mark.parametrize("delay", [-1e-9, -5.0, float("nan")])
def test_a_negative_or_undefined_delay_is_refused(delay: float) -> None:
    env = Engine()
    with pytest.raises(ValueError, match="non-negative"):
        env.call_in(delay, lambda: None)
    with pytest.raises(ValueError, match="before now"):
        env.call_at(delay, lambda: None)
    assert env.agenda_size == 0
