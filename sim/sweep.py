"""Parameter sweeps: a grid of variants of one scenario, run as one batch.

Each grid point is a scenario named ``<base>--<index>`` whose config is the
base with the point's overrides (validated like ``--set``). Because the grid
runs as a batch, it shares the batch's common random numbers, backends,
resume and provenance; ``sweep.csv`` adds one row per point, year and metric
with the swept values as columns.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.batch import BatchOptions, BatchOutcome, EstimateCallback, Progress, run_batch
from sim.config import ModelConfig
from sim.errors import InputError
from sim.loading import OPTION, parse_override, with_overrides
from sim.store import write_csv

SWEEP_METRICS = ("emergency_admissions", "ae_attendances", "ae_4h_performance", "bed_occupancy")
# How busy the resource a swept parameter sizes is: a flat sweep is explained by it.
LOAD_OF = {
    "services.rapid_response": "rrt_utilisation",
    "interventions.rapid_response": "rrt_utilisation",
    "services.ae": "ae_clinician_utilisation",
    "services.wards": "bed_occupancy",
    "services.ambulance": "ambulance_mean_wait_minutes",
}


@dataclass(frozen=True)
class Variation:
    path: str
    values: tuple[Any, ...]


def parse_variation(text: str) -> Variation:
    """``path=start:stop:step`` (inclusive) or ``path=a,b,c``."""
    path, raw = parse_override(text)
    spec = str(raw) if not isinstance(raw, list) else ",".join(str(v) for v in raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return Variation(path, (raw,))
    try:
        if ":" in spec:
            start, stop, step = (float(x) for x in spec.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            values = np.arange(start, stop + step / 2, step)
            integral = all(float(x).is_integer() for x in (start, stop, step))
            return Variation(
                path, tuple(int(v) if integral else round(float(v), 10) for v in values)
            )
        return Variation(path, tuple(parse_override(f"v={v}")[1] for v in spec.split(",")))
    except ValueError:
        raise InputError.single(
            OPTION, "--vary", text, "expected path=start:stop:step (step > 0) or path=a,b,c"
        ) from None


def grid(
    base: ModelConfig, variations: Sequence[Variation]
) -> list[tuple[dict[str, Any], ModelConfig]]:
    """Every combination of the varied values, each as a validated config."""
    points = []
    for index, combo in enumerate(itertools.product(*(v.values for v in variations))):
        values = {v.path: value for v, value in zip(variations, combo, strict=True)}
        config = with_overrides(base, values, origin="--vary")
        name = f"{base.scenario.name}--{index:03d}"
        points.append(
            (
                values,
                config.model_copy(
                    update={"scenario": config.scenario.model_copy(update={"name": name})}
                ),
            )
        )
    return points


def run_sweep(
    base: ModelConfig,
    variations: Sequence[Variation],
    out: Path,
    options: BatchOptions,
    on_progress: Progress | None = None,
    on_estimate: EstimateCallback | None = None,
) -> tuple[BatchOutcome, pd.DataFrame]:
    points = grid(base, variations)
    outcome = run_batch([config for _, config in points], out, options, on_progress, on_estimate)
    values = pd.DataFrame([{"scenario": c.scenario.name, **v} for v, c in points])
    table = outcome.summary.merge(values, on="scenario", how="left")
    table.insert(0, "base_scenario", base.scenario.name)
    write_csv(out / "sweep.csv", table)
    return outcome, table


def plot_sweep(table: pd.DataFrame, variations: Sequence[Variation], path: Path) -> None:
    """Final-year mean (95% interval) of key metrics against the first swept parameter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = variations[0].path
    others = [v.path for v in variations[1:]]
    last = table[table["year"] == table["year"].max()]
    fig, axes = plt.subplots(2, 2, figsize=(8.3, 6.5))
    for ax, metric in zip(axes.ravel(), SWEEP_METRICS, strict=True):
        rows = last[last["metric"] == metric]
        groups = rows.groupby(others) if others else [((), rows)]
        for key, group in groups:
            group = group.sort_values(x)
            label = ", ".join(f"{p}={k}" for p, k in zip(others, np.atleast_1d(key), strict=False))
            ax.errorbar(
                group[x],
                group["mean"],
                yerr=[group["mean"] - group["ci_low"], group["ci_high"] - group["mean"]],
                marker="o",
                capsize=3,
                label=label or None,
            )
        ax.set_title(metric.replace("_", " "), fontsize=10)
        ax.set_xlabel(x)
        ax.grid(alpha=0.3)
    if others:
        axes[0, 0].legend(fontsize=7)
    year = last["financial_year"].iloc[0] if len(last) else ""
    fig.suptitle(f"Sweep of {x}: {year} means with 95% intervals")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def flat_sweep_notes(table: pd.DataFrame, variations: Sequence[Variation]) -> list[str]:
    """Why a key metric does not move across the grid, in words: its final-year means
    all lie within one 95% half-width of each other, and the swept resource's own load
    (utilisation or occupancy) says whether it was ever the constraint."""
    last = table[table["year"] == table["year"].max()]
    x = variations[0].path
    notes = []
    for metric in ("emergency_admissions", "ae_attendances"):
        rows = last[last["metric"] == metric]
        if rows.empty or len(rows) < 2:
            continue
        spread = float(rows["mean"].max() - rows["mean"].min())
        half_width = float(((rows["ci_high"] - rows["ci_low"]) / 2).max())
        if not spread <= max(half_width, 0.0):
            continue
        text = (
            f"{metric} is flat across {x} (final-year means within {spread:,.0f} of each other, "
            f"inside the 95% half-width {half_width:,.0f}): the swept capacity does not bind "
            "on it"
        )
        load_metric = next((m for prefix, m in LOAD_OF.items() if x.startswith(prefix)), None)
        load = last[last["metric"] == load_metric] if load_metric else last.iloc[0:0]
        if len(load):
            low, high = float(load["mean"].min()), float(load["mean"].max())
            shown = (
                f"{low:.0%} to {high:.0%}"
                if "utilisation" in str(load_metric) or load_metric == "bed_occupancy"
                else f"{low:,.1f} to {high:,.1f}"
            )
            text += f"; {load_metric} runs at {shown} across the grid"
        notes.append(text + ".")
    return notes
