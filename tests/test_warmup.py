"""Warm-up: MSER-5 finds a known transient; the analysis runs end to end and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.config import ModelConfig
from sim.warmup import analyse_warmup, mser_truncation, plot_warmup
from tests.conftest import scaled


def test_mser_finds_the_end_of_a_known_transient() -> None:
    rng = np.random.default_rng(1)
    days = np.arange(400)
    transient = 100 * (1 - np.exp(-days / 12))  # ~95% settled by day 36
    series = transient + rng.normal(0, 2, days.size)
    truncation = mser_truncation(series)
    assert 25 <= truncation <= 70
    assert mser_truncation(rng.normal(50, 2, 400)) <= 40  # stationary: little or none


def test_warmup_analysis_runs_and_plots(do_nothing: ModelConfig, tmp_path: Path) -> None:
    config = scaled(do_nothing, 0.1)
    analysis = analyse_warmup([config], days=120, replications=2)
    assert set(analysis.daily["series"]) == {"beds_occupied", "ae_queue", "onward_care_in_use"}
    assert analysis.daily["day"].max() == 119
    beds = analysis.daily[analysis.daily["series"] == "beds_occupied"]
    assert beds.groupby("day")["value"].mean().iloc[0] < beds["value"].max() / 4  # starts empty
    assert analysis.suggested_days % 10 == 0 and analysis.suggested_days > 0
    plot_warmup(analysis, tmp_path / "warmup.png", "test")
    assert (tmp_path / "warmup.png").stat().st_size > 10_000
