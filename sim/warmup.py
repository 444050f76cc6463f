"""Choosing the warm-up length with evidence: time series across replications and MSER-5.

The model starts empty (no one in a bed, no queue, no one in onward care).
Run each scenario from empty without a warm-up, average the daily state over
replications, and apply MSER-5 (White 1997; Hoad, Robinson & Davies 2010):
in batches of five days, the truncation point ``d`` minimising
``sum_{i>=d} (Z_i - mean(Z_d..))^2 / (n - d)^2`` over the first half of the
series. The suggestion is the longest truncation over series and scenarios.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import ModelConfig
from sim.executors import Backend, Task, run_unordered
from sim.loading import with_overrides
from sim.replication import simulate
from sim.timeline import DAYS_PER_YEAR, HOURS_PER_DAY

SERIES = {
    "beds_occupied": "monitor_beds",
    "ae_queue": "monitor_ae_queue",
    "onward_care_in_use": "monitor_onward",
}
BATCH_DAYS = 5
ROUND_TO_DAYS = 10


def mser_truncation(series: np.ndarray, batch: int = BATCH_DAYS) -> int:
    """MSER-b truncation point, in observations (a multiple of ``batch``)."""
    n_batches = series.size // batch
    if n_batches < 4:
        return 0
    z = series[: n_batches * batch].reshape(n_batches, batch).mean(axis=1)
    best, best_d = math.inf, 0
    for d in range(n_batches // 2):
        tail = z[d:]
        value = float(((tail - tail.mean()) ** 2).sum() / tail.size**2)
        if value < best:
            best, best_d = value, d
    return best_d * batch


@dataclass(frozen=True)
class WarmupAnalysis:
    daily: pd.DataFrame  # scenario, replication, day, series, value
    truncation: pd.DataFrame  # scenario, series, truncation_days
    suggested_days: int


def daily_state(config: ModelConfig, replication: int, seed: int) -> pd.DataFrame:
    """One replication's monitored state (beds, queues, onward care) as daily means."""
    run = simulate(config, replication, seed)
    rec = run.recorder
    day = (np.asarray(rec.monitor_time) // HOURS_PER_DAY).astype(int)
    frames = []
    for name, attribute in SERIES.items():
        daily = pd.Series(np.asarray(getattr(rec, attribute), dtype=float)).groupby(day).mean()
        frames.append(
            pd.DataFrame(
                {
                    "scenario": config.scenario.name,
                    "replication": replication,
                    "day": daily.index,
                    "series": name,
                    "value": daily.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def analyse_warmup(
    configs: Sequence[ModelConfig],
    days: int = 365,
    replications: int = 5,
    seed: int | None = None,
    backend: Backend = "sequential",
    jobs: int = 1,
    scheduler: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> WarmupAnalysis:
    """Run each scenario from empty for ``days`` and suggest a warm-up length (the
    replications go through the executors, as every study's do)."""
    years = max(1, math.ceil(days / DAYS_PER_YEAR))
    tasks = [
        Task(
            with_overrides(c, {"run.warmup_days": 0, "run.years": years}),
            r,
            c.run.seed if seed is None else seed,
            measure=daily_state,
        )
        for c in configs
        for r in range(replications)
    ]
    order = {task.key: i for i, task in enumerate(tasks)}
    finished = []
    for result in run_unordered(tasks, backend, jobs, scheduler):
        finished.append(result)
        if on_progress is not None:
            on_progress(len(finished), len(tasks))
    done = sorted(finished, key=lambda t: order[(t.scenario, t.replication)])
    daily = pd.concat([t.rows for t in done], ignore_index=True)
    daily = daily[daily["day"] < days].reset_index(drop=True)
    means = daily.groupby(["scenario", "series", "day"])["value"].mean()
    rows = []
    for (scenario, series), group in means.groupby(level=[0, 1]):
        rows.append((scenario, series, mser_truncation(group.to_numpy())))
    truncation = pd.DataFrame(rows, columns=["scenario", "series", "truncation_days"])
    longest = int(truncation["truncation_days"].max()) if len(truncation) else 0
    suggested = int(math.ceil(max(longest, 1) / ROUND_TO_DAYS) * ROUND_TO_DAYS)
    return WarmupAnalysis(daily, truncation, suggested)


def plot_warmup(analysis: WarmupAnalysis, path: Path, title: str) -> None:
    """One panel per series: replications thin, their mean thick, the suggestion dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = list(SERIES)
    scenarios = list(dict.fromkeys(analysis.daily["scenario"]))
    colours = [plt.get_cmap("tab10")(i) for i in range(10)]
    fig, axes = plt.subplots(len(series), 1, figsize=(8.3, 3.0 * len(series)), sharex=True)
    for ax, name in zip(axes, series, strict=True):
        part = analysis.daily[analysis.daily["series"] == name]
        # Scenarios whose levers start after the warm-up run identically here: widths
        # and dashes shrink in turn, so a line drawn over another never hides it.
        styles = ("-", "--", ":", "-.")
        for i, (colour, scenario) in enumerate(zip(colours, scenarios, strict=False)):
            mine = part[part["scenario"] == scenario]
            for _, rep in mine.groupby("replication"):
                ax.plot(rep["day"], rep["value"], color=colour, alpha=0.15, linewidth=0.6)
            mean = mine.groupby("day")["value"].mean()
            ax.plot(
                mean.index,
                mean.to_numpy(),
                color=colour,
                linewidth=max(3.0 - 0.8 * i, 0.8),
                linestyle=styles[i % len(styles)],
                label=scenario,
            )
        ax.axvline(analysis.suggested_days, color="black", linestyle="--", linewidth=1)
        ax.set_ylabel(name.replace("_", " ") + " (people)")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    axes[0].set_title(f"{title}: suggested warm-up {analysis.suggested_days} days (MSER-5)")
    axes[-1].set_xlabel("days from an empty system")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
