"""Plain-text renderings of results for the terminal (built by the CLI, not printed here)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import pandas as pd
from rich.table import Table

from sim.loading import ParameterNote
from sim.metrics import DESIGN_METRICS

SHARE_METRICS = frozenset(
    {
        "ae_4h_performance",
        "ae_conversion_rate",
        "bed_occupancy",
        "rrt_utilisation",
        "ae_ambulance_arrival_share",
    }
)
DECIMAL_METRICS = frozenset(
    {
        "ae_mean_time_hours",
        "mean_length_of_stay",
        "rrt_mean_response_hours",
        "ambulance_mean_wait_minutes",
    }
)
HEADLINE_METRICS: tuple[str, ...] = (*DESIGN_METRICS, "urgent_episodes", "episodes_prevented")


def format_value(metric: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if metric in SHARE_METRICS:
        return f"{100 * value:.1f}%"
    if metric in DECIMAL_METRICS:
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def annual_table(
    annual: pd.DataFrame, title: str, metrics: Sequence[str] = HEADLINE_METRICS
) -> Table:
    """Metrics as rows, financial years as columns."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric", style="bold")
    for label in annual["financial_year"]:
        table.add_column(str(label), justify="right")
    for metric in metrics:
        if metric in annual.columns:
            table.add_row(metric, *(format_value(metric, v) for v in annual[metric]))
    return table


def provenance_lines(flat: Mapping[str, object], notes: Mapping[str, ParameterNote]) -> list[str]:
    """Resolved values as ``path = value  # unit [confidence] source (file)`` lines."""
    lines = []
    for path, value in flat.items():
        note = _note_for(path, notes)
        shown = (
            json.dumps(value)
            if isinstance(value, str)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
        if note is None:
            lines.append(f"{path} = {shown}")
            continue
        file = note.file.rsplit("/", 1)[-1]
        confidence = f"[{note.confidence}] " if note.confidence else ""
        lines.append(f"{path} = {shown}  # {note.unit}; {confidence}{note.source} ({file})")
    return lines


def _note_for(path: str, notes: Mapping[str, ParameterNote]) -> ParameterNote | None:
    probe = path
    while probe:
        if probe in notes:
            return notes[probe]
        probe = probe.rpartition(".")[0]
    return None


def flatten(tree: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{path}."))
        else:
            out[path] = value
    return out
