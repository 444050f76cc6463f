"""Shared fixtures: the shipped Dudley config and a scaled-down copy for fast runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sim.area_scale import scaled_area
from sim.config import ModelConfig
from sim.loading import project_root, resolve

ROOT = project_root()
SCENARIOS = ROOT / "scenarios"


def long_kpis(values: dict[tuple[str, int, int], float], metric: str = "m") -> pd.DataFrame:
    """KPI rows as a batch writes them, from {(scenario, replication, year): value}."""
    rows = [
        (scenario, rep, 1, year, f"{2014 + year}/{15 + year}", metric, value)
        for (scenario, rep, year), value in values.items()
    ]
    return pd.DataFrame(
        rows,
        columns=["scenario", "replication", "seed", "year", "financial_year", "metric", "value"],
    )


def scaled(config: ModelConfig, factor: float, **overrides: Any) -> ModelConfig:
    """Dudley shrunk (or grown) by ``factor``: list sizes and every capacity scale together."""
    return scaled_area(config, factor, **overrides)


@pytest.fixture(scope="session")
def do_nothing() -> ModelConfig:
    return resolve(SCENARIOS / "do-nothing.toml").config


@pytest.fixture(scope="session")
def best_case() -> ModelConfig:
    return resolve(SCENARIOS / "best-case.toml").config


@pytest.fixture(scope="session")
def small(do_nothing: ModelConfig) -> ModelConfig:
    """A fifth of Dudley, two years after a 60-day warm-up: about 2 s a run."""
    return scaled(do_nothing, 0.2, run__years=2, run__warmup_days=60)


def browser_or_skip(purpose: str) -> tuple[Any, str]:
    """Playwright and Debian's chromium; the test is skipped, saying how to enable it,
    where either is missing."""
    import shutil

    playwright = pytest.importorskip(
        "playwright.sync_api", reason=f"pip install playwright to {purpose} in a browser"
    )
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip(f"no browser: apt-get install chromium (.ci/run does) to {purpose}")
    return playwright, executable


def small_run_args(out: Path) -> list[str]:
    """`ucsim run` of two shipped scenarios, one year, two replications, one worker: the
    smallest run with every output (for CLI, kill and resume tests)."""
    return [
        "run",
        str(SCENARIOS / "do-nothing.toml"),
        str(SCENARIOS / "best-case.toml"),
        *("--replications", "2", "--years", "1", "--jobs", "1", "--out", str(out)),
    ]
