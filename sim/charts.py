"""Board-paper charts: one consistent, accessible style, saved as PNG and SVG.

Okabe-Ito colours (distinguishable with the common colour-vision
deficiencies), sizes readable when printed on A4, units on every axis and a
footnote naming the run, so a chart pasted into a paper carries its source.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from sim.decomposition import INTERACTIONS, LEVERS, WHOLE
from sim.metrics import SHARE_METRICS
from sim.metrics import metric as registered

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
A4_WIDTH_INCHES = 6.7  # text width of an A4 page with 2 cm margins

SHARES = SHARE_METRICS

# What each chart shows, for its caption and for readers who cannot see it (alt text).
FIGURE_TEXT: dict[str, tuple[str, str]] = {
    "places": (
        "Emergency admissions per 100,000 registered by locality, with 95% bands",
        "Small line charts, one per locality on a shared scale, of emergency admissions per "
        "100,000 registered patients by year, one line per scenario.",
    ),
    "activity": (
        "Activity by scenario and year, with 95% bands and the targets' trajectories",
        "Four line charts, one per measure (emergency admissions, A&E type 1 attendances, UCC "
        "attendances, bed days), each scenario a line over the financial years with a shaded "
        "95% band; dashed lines show target trajectories.",
    ),
    "contributions": (
        "Each lever's contribution in the final year, with 95% whiskers",
        "Horizontal bar charts of the change each lever makes to emergency admissions and to "
        "all-types A&E attendances, one bar per scenario, with all levers together and the "
        "interactions.",
    ),
    "income": (
        "Simulated income at risk by provider in the final year, with 95% whiskers",
        "Horizontal bars of each provider's simulated income at risk in millions of pounds, "
        "one bar per scenario.",
    ),
    "capacity": (
        "A&E performance, time in A&E, bed occupancy, waits for a bed, delayed discharges and "
        "rapid response use by scenario and year, with 95% whiskers",
        "Six line charts over the financial years, one line per scenario with 95% whiskers: "
        "A&E four-hour performance (%), mean hours in A&E, core bed occupancy (%), hours from "
        "the decision to admit to a bed, delayed discharge bed days, rapid response "
        "utilisation (%).",
    ),
    "finance_sensitivity": (
        "Change in income at risk under other pricing assumptions and without the "
        "length-of-stay lever",
        "Tornado bars, one row per alternative assumption (trim points, prices, payment rules, "
        "contract scaling, price base, length-of-stay lever), one panel per scenario, showing "
        "the change in income at risk in millions of pounds.",
    ),
}


def apply_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette=list(OKABE_ITO), font_scale=1.0)
    plt.rcParams.update({"axes.titleweight": "bold", "svg.fonttype": "none", "figure.dpi": 100})


def colours(scenarios: Sequence[str]) -> dict[str, str]:
    return {s: OKABE_ITO[i % len(OKABE_ITO)] for i, s in enumerate(scenarios)}


def save(fig: Figure, folder: Path, name: str, footnote: str) -> Path:
    fig.text(0.01, 0.005, footnote, fontsize=6.5, color="#555555", ha="left", va="bottom")
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    fig.savefig(png, dpi=200, bbox_inches="tight")
    fig.savefig(folder / f"{name}.svg", bbox_inches="tight")
    plt.close(fig)
    return png


def mean_with_band(
    ax: Any, rows: pd.DataFrame, colour: str, label: str, markersize: float = 3
) -> None:
    """One scenario's mean per year as a line, its 95% interval as a band."""
    mine = rows.sort_values("year")
    ax.plot(
        mine["financial_year"],
        mine["mean"],
        marker="o",
        markersize=markersize,
        color=colour,
        label=label,
    )
    ax.fill_between(
        mine["financial_year"],
        mine["ci_low"],
        mine["ci_high"],
        color=colour,
        alpha=0.2,
        linewidth=0,
    )


def trajectories(
    summary: pd.DataFrame,
    metrics: Sequence[str],
    folder: Path,
    footnote: str,
    target_lines: dict[str, pd.Series] | None = None,
) -> Path:
    """Mean per year with the 95% band, per scenario; dashed target trajectories."""
    apply_style()
    scenarios = list(dict.fromkeys(summary["scenario"]))
    palette = colours(scenarios)
    fig, axes = plt.subplots(2, 2, figsize=(A4_WIDTH_INCHES, 5.4))
    for ax, metric in zip(axes.ravel(), metrics, strict=False):
        rows = summary[summary["metric"] == metric]
        for scenario in scenarios:
            mean_with_band(ax, rows[rows["scenario"] == scenario], palette[scenario], scenario)
        if target_lines and metric in target_lines:
            line = target_lines[metric]
            ax.plot(
                list(line.index),
                list(line.values),
                linestyle="--",
                color="#444444",
                linewidth=1.2,
                label="target",
            )
        ax.set_title(registered(metric).label, fontsize=9)
        ax.set_ylabel(registered(metric).unit, fontsize=7.5)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=7.5, frameon=False)
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    return save(fig, folder, "activity_trajectories", footnote)


PERFORMANCE_METRICS = (
    "ae_4h_performance",
    "ae_mean_time_hours",
    "bed_occupancy",
    "trolley_wait_mean_hours",
    "delayed_discharge_days",
    "rrt_utilisation",
)


def performance(summary: pd.DataFrame, folder: Path, footnote: str) -> Path:
    """Capacity and performance by scenario and year."""
    apply_style()
    metrics = PERFORMANCE_METRICS
    scenarios = list(dict.fromkeys(summary["scenario"]))
    palette = colours(scenarios)
    fig, axes = plt.subplots(3, 2, figsize=(A4_WIDTH_INCHES, 7.0))
    for ax, metric in zip(axes.ravel(), metrics, strict=True):
        rows = summary[summary["metric"] == metric]
        for scenario in scenarios:
            mine = rows[rows["scenario"] == scenario].sort_values("year")
            scale = 100 if metric in SHARES else 1
            ax.errorbar(
                mine["financial_year"],
                mine["mean"] * scale,
                yerr=[
                    (mine["mean"] - mine["ci_low"]) * scale,
                    (mine["ci_high"] - mine["mean"]) * scale,
                ],
                marker="o",
                markersize=3,
                capsize=2,
                color=palette[scenario],
                label=scenario,
            )
        ax.set_title(registered(metric).label, fontsize=9)
        ax.set_ylabel(
            ("%" if metric in SHARES else "")
            + (" " + registered(metric).unit if metric not in SHARES else ""),
            fontsize=7.5,
        )
        ax.tick_params(labelsize=7)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=7.5, frameon=False)
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    return save(fig, folder, "capacity_performance", footnote)


def contributions(table: pd.DataFrame, folder: Path, footnote: str) -> Path:
    """Each lever's contribution in the final year (bars with 95% intervals), per scenario."""
    apply_style()
    last = table[table["year"] == table["year"].max()]
    metrics = ("emergency_admissions", "ae_attendances_all_types")
    scenarios = list(dict.fromkeys(last["scenario"]))
    present = set(last["lever"])
    middle = [lever for lever in LEVERS if lever in present]
    levers = [WHOLE, *middle, *([INTERACTIONS] if INTERACTIONS in present else [])]
    palette = colours(scenarios)
    fig, axes = plt.subplots(1, 2, figsize=(A4_WIDTH_INCHES, 0.35 * len(levers) + 1.8))
    height = 0.8 / max(1, len(scenarios))
    for ax, metric in zip(axes, metrics, strict=True):
        rows = last[last["metric"] == metric]
        for i, scenario in enumerate(scenarios):
            mine = rows[rows["scenario"] == scenario].set_index("lever").reindex(levers)
            positions = [k + i * height for k in range(len(levers))]
            ax.barh(
                positions,
                mine["contribution"],
                height=height,
                xerr=[
                    mine["contribution"] - mine["ci_low"],
                    mine["ci_high"] - mine["contribution"],
                ],
                color=palette[scenario],
                label=scenario,
                error_kw={"elinewidth": 0.8, "capsize": 2},
            )
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_yticks([k + 0.4 - height / 2 for k in range(len(levers))])
        ax.set_yticklabels([str(lever).replace("_", " ") for lever in levers], fontsize=7)
        ax.invert_yaxis()
        ax.set_title(registered(metric).label, fontsize=9)
        ax.set_xlabel(f"change per year, {last['financial_year'].iloc[0]}", fontsize=7.5)
        ax.tick_params(axis="x", labelsize=7)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:+,.0f}"))
    axes[1].set_yticklabels([])
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=7.5, frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    return save(fig, folder, "lever_contributions", footnote)


def places(summary: pd.DataFrame, metric: str, folder: Path, footnote: str) -> Path:
    """Small multiples: one panel per locality, each scenario's mean per year with its
    95% band, on a shared scale so localities compare at a glance."""
    apply_style()
    rows = summary[summary["metric"] == metric]
    localities = sorted(rows["locality"].unique())
    scenarios = list(dict.fromkeys(rows["scenario"]))
    palette = colours(scenarios)
    columns = min(3 if max(len(n) for n in localities) <= 24 else 2, len(localities))
    lines = math.ceil(len(localities) / columns)
    fig, axes = plt.subplots(
        lines, columns, figsize=(A4_WIDTH_INCHES, 2.1 * lines + 0.6), sharey=True, squeeze=False
    )
    for ax, locality in zip(axes.ravel(), localities, strict=False):
        here = rows[rows["locality"] == locality]
        for scenario in scenarios:
            mean_with_band(ax, here[here["scenario"] == scenario], palette[scenario], scenario, 2.5)
        ax.set_title(textwrap.fill(locality, 32), fontsize=8)
        ax.tick_params(labelsize=6.5)
        ax.tick_params(axis="x", rotation=45)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    for ax in axes.ravel()[len(localities) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(registered(metric).unit, fontsize=7)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=7.5, frameon=False)
    fig.tight_layout(rect=(0, 0.03, 1, 0.93))
    return save(fig, folder, "places", footnote)


def income_at_risk(
    finance: pd.DataFrame,
    names: dict[str, str],
    folder: Path,
    footnote: str,
    reference: str = "do-nothing",
) -> Path:
    """Final-year simulated income at risk per provider and scenario, with 95% intervals."""
    apply_style()
    last = finance[
        (finance["year"] == finance["year"].max()) & (finance["line"] == "total_simulated")
    ]
    last = last[last["income_at_risk"].abs() > 0]
    last = last[last["scenario"] != reference]
    fig, ax = plt.subplots(figsize=(A4_WIDTH_INCHES, 2.8))
    scenarios = list(dict.fromkeys(last["scenario"]))
    palette = colours(["do-nothing", *scenarios])
    providers = list(dict.fromkeys(last["provider"]))
    width = 0.8 / max(len(scenarios), 1)
    for i, scenario in enumerate(scenarios):
        mine = last[last["scenario"] == scenario].set_index("provider").reindex(providers)
        x = [p + i * width for p in range(len(providers))]
        ax.barh(
            x,
            mine["income_at_risk"] / 1e6,
            height=width,
            color=palette[scenario],
            label=scenario,
            xerr=[
                (mine["income_at_risk"] - mine["ci_low"]) / 1e6,
                (mine["ci_high"] - mine["income_at_risk"]) / 1e6,
            ],
            capsize=2,
        )
    ax.set_yticks(
        [p + width * (len(scenarios) - 1) / 2 for p in range(len(providers))],
        [names.get(p, p) for p in providers],
        fontsize=7,
    )
    ax.invert_yaxis()  # first provider on top, and each group's bars in legend order
    ax.set_xlabel(f"simulated income at risk vs {reference} (£ million)", fontsize=7.5)
    if "status" in finance.columns:
        simulated = set(finance.loc[finance["status"] == "simulated", "provider"])
        unpriced = [
            names.get(p, p) for p in dict.fromkeys(finance["provider"]) if p not in simulated
        ]
        if unpriced:
            footnote = f"Not simulated (no bar): {'; '.join(unpriced)}.\n{footnote}"
    year = last["financial_year"].iloc[0] if len(last) else ""
    ax.set_title(f"Income at risk, {year}", fontsize=9)
    if scenarios:
        ax.legend(fontsize=7, frameon=False)
    else:
        ax.text(0.5, 0.5, "no scenario moves simulated income", ha="center", transform=ax.transAxes)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return save(fig, folder, "income_at_risk", footnote)


def finance_tornado(sensitivity: pd.DataFrame, folder: Path, footnote: str) -> Path:
    """How income at risk in the final year moves with each pricing assumption (repricing),
    one panel per scenario, largest swing first."""
    apply_style()
    scenarios = list(dict.fromkeys(sensitivity["scenario"]))
    labels = [
        f"{p}: {s}" for p, s in zip(sensitivity["parameter"], sensitivity["setting"], strict=True)
    ]
    frame = sensitivity.assign(label=labels)
    swing = frame.groupby("label", sort=False)["change"].apply(lambda c: c.abs().max())
    order = list(swing.sort_values(ascending=False).index)
    palette = colours(["do-nothing", *scenarios])
    fig, axes = plt.subplots(
        1, len(scenarios), figsize=(A4_WIDTH_INCHES, 0.28 * len(order) + 1.6), squeeze=False
    )
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        mine = frame[frame["scenario"] == scenario].set_index("label").reindex(order)
        ax.barh(range(len(order)), mine["change"] / 1e6, color=palette[scenario])
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_yticks(range(len(order)))
        ax.set_yticklabels(order if ax is axes[0][0] else [], fontsize=6.5)
        ax.invert_yaxis()
        base = float(mine["base_income_at_risk"].iloc[0]) / 1e6
        ax.set_title(f"{scenario}\nincome at risk £{base:,.2f}m", fontsize=8)
        ax.set_xlabel("change in income at risk (£m)", fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    year = sensitivity["financial_year"].iloc[0]
    fig.suptitle(f"Income at risk under other assumptions, {year}", fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return save(fig, folder, "finance_sensitivity", footnote)
