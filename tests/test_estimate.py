"""A long command's estimate: what is planned and how long the rest should take, from the
first wave of tasks (one finished task per worker)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim.batch import BatchOptions, run_batch
from sim.config import ModelConfig
from sim.estimate import Estimate, FirstWave, duration
from sim.loading import default_scenario_paths, resolve
from sim.prefix import can_fork
from tests.conftest import scaled


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0 s"), (45, "45 s"), (89.4, "89 s"), (200, "3 min 20 s"), (7500, "2 h 05 min")],
)
def test_durations_read_at_a_glance(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_the_rest_takes_the_first_wave_time_per_unit() -> None:
    fixed = Estimate("replications", planned=24, done=2, seconds=10.0, workers=2)
    assert fixed.seconds_per_unit == 5.0
    assert fixed.remaining_seconds == 110.0
    assert fixed.ceiling_seconds is None
    assert fixed.statement() == (
        "planned: 24 replications on 2 workers; the first 2 took 10 s: about 1 min 50 s more"
    )
    auto = Estimate(
        "replications", 24, 2, 10.0, 2, ceiling=150, ceiling_reason="the precision rule needs all"
    )
    assert auto.ceiling_seconds == 740.0
    assert auto.statement().endswith("(up to 12 min 20 s if the precision rule needs all 150)")


def test_the_wave_ends_when_every_worker_has_finished_a_task() -> None:
    # Two workers, tasks of three units (scenarios sharing a prefix): one finished task is
    # not the wave (it would make the rest look twice as long as it is).
    wave = FirstWave("replications", planned=12, tasks=4, workers=2)
    assert wave.finished(1, task_complete=False) is None
    assert wave.finished(1, task_complete=False) is None
    assert wave.finished(1, task_complete=True) is None
    assert wave.finished(1, task_complete=False) is None
    assert wave.finished(1, task_complete=False) is None
    estimate = wave.finished(1, task_complete=True)
    assert estimate is not None and estimate.done == 6 and estimate.planned == 12
    assert wave.finished(1, task_complete=True) is None  # said once
    # More workers than tasks: the wave is every task.
    few = FirstWave("replications", planned=2, tasks=1, workers=8)
    said = few.finished(2, task_complete=True)
    assert said is not None and said.workers == 1 and said.remaining_seconds == 0.0
    assert math.isnan(Estimate("x", 1, 0, 0.0, 1).seconds_per_unit)


@pytest.mark.skipif(not can_fork(), reason="tasks of several scenarios need os.fork")
def test_a_batch_says_its_estimate_once_counting_every_scenario(tmp_path: Path) -> None:
    configs: list[ModelConfig] = [
        scaled(resolve(p).config, 0.03, run__years=2, run__warmup_days=10)
        for p in default_scenario_paths()
    ]
    said: list[Estimate] = []
    options = BatchOptions(replications=2, seed=3, jobs=1, backend="sequential")
    run_batch(configs, tmp_path / "out", options, on_estimate=said.append)
    assert len(said) == 1
    # One worker, one task of three scenarios sharing their prefix: the wave is 3 units.
    assert (said[0].planned, said[0].done, said[0].workers) == (6, 3, 1)
    assert said[0].ceiling is None and said[0].seconds > 0
    auto: list[Estimate] = []
    rule = BatchOptions(seed=3, jobs=1, backend="sequential", max_replications=9)
    run_batch(configs, tmp_path / "auto", rule, on_estimate=auto.append)
    assert len(auto) == 1  # not again for the rounds the precision rule adds
    assert auto[0].planned == 3 * 8 and auto[0].ceiling == 3 * 9
