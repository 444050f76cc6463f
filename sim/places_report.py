"""The report's results by place: each locality's final year, and any demonstrator.

Both come from tables the batch already wrote (the locality rows of summary.csv
and differences.csv, and demonstrator.csv): nothing is re-simulated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.demonstrator import DEMONSTRATOR_FILE, statement
from sim.metrics import format_value
from sim.metrics import metric as registered
from sim.store import by_place

# The figures shown for each locality (the chart draws the first).
TABLE_METRICS = ("emergency_admissions_per_100k", "ae_attendances_all_types")


@dataclass
class PlacesSection:
    localities: list[str] = field(default_factory=list)
    # One row per locality and metric: the reference's value, and per scenario its
    # paired difference (mean, interval).
    rows: list[dict[str, Any]] = field(default_factory=list)
    demonstrator_statements: list[str] = field(default_factory=list)
    demonstrator: list[dict[str, Any]] = field(default_factory=list)


def build_places_section(
    root: Path, reference: str, scenarios: list[str], year: int
) -> PlacesSection:
    summary = by_place(pd.read_csv(root / "summary.csv"))
    if summary.empty:
        return PlacesSection()
    differences = by_place(pd.read_csv(root / "differences.csv"))
    localities = sorted(summary["locality"].unique())
    section = PlacesSection(localities=localities)
    for locality in localities:
        for name in TABLE_METRICS:
            own = summary[
                (summary["locality"] == locality)
                & (summary["metric"] == name)
                & (summary["year"] == year)
            ]
            base = own[own["scenario"] == reference]
            if base.empty:
                continue
            cells = []
            for scenario in scenarios:
                d = differences[
                    (differences["locality"] == locality)
                    & (differences["metric"] == name)
                    & (differences["year"] == year)
                    & (differences["scenario"] == scenario)
                ]
                cells.append(_difference(name, d))
            section.rows.append(
                {
                    "locality": locality,
                    "metric": registered(name).label,
                    "reference": format_value(name, float(base["mean"].iloc[0])),
                    "cells": cells,
                }
            )
    pilot = root / DEMONSTRATOR_FILE
    if pilot.exists():
        table = pd.read_csv(pilot)
        section.demonstrator_statements = [statement(r) for _, r in table.iterrows()]
        section.demonstrator = [_demonstrator_row(r) for _, r in table.iterrows()]
    return section


def _difference(name: str, rows: pd.DataFrame) -> tuple[str, str]:
    if rows.empty:
        return ("", "")
    r = rows.iloc[0]
    mean = f"{float(r['mean_difference']):+,.0f}"
    if pd.isna(r["ci_low"]):
        return (mean, "one replication")
    return (mean, f"{float(r['ci_low']):+,.0f} to {float(r['ci_high']):+,.0f}")


def _demonstrator_row(r: pd.Series) -> dict[str, Any]:
    """The evaluation's figures per 100,000 for one judged metric."""
    return {
        "scenario": r["scenario"],
        "metric": registered(str(r["metric"])).label,
        "single": f"{r['did_single_low']:+,.0f} to {r['did_single_high']:+,.0f}",
        "effect": f"{r['effect']:+,.0f} ({r['effect_relative']:+.1%})",
        "effect_interval": f"{r['effect_ci_low']:+,.0f} to {r['effect_ci_high']:+,.0f}",
        "mde": f"{r['mde_80']:,.0f} ({r['mde_80_relative']:.1%})",
        "power": f"{r['power']:.0%}",
        "replications": f"{int(r['n'])}",
    }
