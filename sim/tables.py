"""Plain-text renderings of results for the terminal (built by the CLI, not printed here)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from rich.markup import escape
from rich.table import Table

from sim.metrics import HEADLINE_METRICS, SHARE_METRICS, format_value
from sim.metrics import metric as registered


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


def differences_table(
    differences: pd.DataFrame,
    metrics: Sequence[str] = ("emergency_admissions", "ae_attendances", "bed_days"),
) -> Table:
    """Final-year paired differences vs the reference, with the unpaired interval beside."""
    last = differences["year"].max()
    rows = differences[(differences["year"] == last) & differences["metric"].isin(metrics)]
    reference = rows["reference"].iloc[0] if len(rows) else ""
    year = rows["financial_year"].iloc[0] if len(rows) else ""
    table = Table(
        title=f"Difference from {reference} in {year} (95% intervals)", title_justify="left"
    )
    for name in ("scenario", "metric", "mean", "paired interval", "unpaired interval"):
        table.add_column(name, justify="left" if name in ("scenario", "metric") else "right")
    for row in rows.itertuples():
        table.add_row(
            row.scenario,
            row.metric,
            f"{row.mean_difference:+,.0f} ({100 * row.relative_difference:+.1f}%)",
            _signed_interval(row.ci_low, row.ci_high),
            _signed_interval(row.unpaired_ci_low, row.unpaired_ci_high),
        )
    return table


def _signed_interval(low: float, high: float, spec: str = "+,.0f") -> str:
    if math.isnan(low) or math.isnan(high):
        return "needs 2+ replications"
    return f"{low:{spec}} to {high:{spec}}"


RAG_STYLE = {"green": "bold green", "amber": "bold yellow", "red": "bold red"}


def targets_table(targets: pd.DataFrame) -> Table:
    table = Table(
        title="Targets (p_met: share of replications meeting the target)", title_justify="left"
    )
    for name in (
        "scenario",
        "target",
        "year",
        "target value",
        "simulated (95% CI)",
        "p_met",
        "status",
    ):
        table.add_column(name, justify="right" if name in ("p_met",) else "left", overflow="fold")
    for row in targets.itertuples():
        if math.isnan(row.mean):
            interval = ""
        elif math.isnan(row.ci_low):
            interval = f"{row.mean:,.0f}"
        else:
            interval = f"{row.mean:,.0f} ({row.ci_low:,.0f} to {row.ci_high:,.0f})"
        style = RAG_STYLE.get(row.status, "")
        status = f"[{style}]{row.status}[/]" if style else escape(str(row.status))
        if row.attribution == "met without the plan":
            status += " (met without the plan)"
        table.add_row(
            row.scenario,
            row.target_id,
            row.year,
            "" if math.isnan(row.target) else f"{row.target:,.0f}",
            interval,
            "" if math.isnan(row.p_met) else f"{row.p_met:.2f}",
            status,
        )
    return table


def finance_table(finance: pd.DataFrame, reference: str = "do-nothing") -> Table:
    """Final-year simulated income at risk per provider (total of simulated lines)."""
    last = finance["year"].max()
    rows = finance[
        (finance["year"] == last)
        & (finance["line"] == "total_simulated")
        & (finance["scenario"] != reference)
    ]
    year = rows["financial_year"].iloc[0] if len(rows) else ""
    table = Table(
        title=f"Simulated income at risk vs {reference}, {year} (£, 95% interval)",
        title_justify="left",
    )
    for name in ("scenario", "provider", "income at risk", "95% interval"):
        table.add_column(
            name, justify="right" if name != "scenario" and name != "provider" else "left"
        )
    for row in rows.itertuples():
        interval = "" if math.isnan(row.ci_low) else f"£{row.ci_low:,.0f} to £{row.ci_high:,.0f}"
        table.add_row(row.scenario, row.provider, f"£{row.income_at_risk:,.0f}", interval)
    return table


def contribution_table(contributions: pd.DataFrame) -> Table:
    """Each lever's contribution in the last year, for admissions and all-types A&E."""
    table = Table(
        title="Each lever's contribution (scenario minus scenario without it)",
        title_justify="left",
    )
    if contributions.empty:
        return table
    last = contributions[contributions["year"] == contributions["year"].max()]
    shown = ("emergency_admissions", "ae_attendances_all_types")
    for name in ("scenario", "lever", *shown):
        table.add_column(
            name.replace("_", " "),
            justify="left" if name in ("scenario", "lever") else "right",
            overflow="fold",
        )
    for (scenario, lever), rows in last.groupby(["scenario", "lever"], sort=False):
        cells = []
        for metric in shown:
            row = rows[rows["metric"] == metric]
            if row.empty:
                cells.append("")
                continue
            r = row.iloc[0]
            cells.append(f"{r['contribution']:+,.0f} ({r['ci_low']:+,.0f} to {r['ci_high']:+,.0f})")
        table.add_row(escape(str(scenario)), escape(str(lever)), *cells)
    return table


def discrepancy_table(discrepancies: pd.DataFrame) -> Table:
    table = Table(
        title="Plan figures that do not reconcile with their inputs", title_justify="left"
    )
    for name in ("item", "published", "computed", "difference"):
        table.add_column(name, justify="left" if name == "item" else "right", overflow="fold")
    for row in discrepancies[discrepancies["unit"] == "£"].itertuples():
        table.add_row(
            escape(str(row.item)),
            f"£{row.first_value:,.0f}",
            f"£{row.second_value:,.0f}",
            f"£{row.difference:+,.0f}",
        )
    return table


# The terminal's compact view: what fits 80 columns (``--wide`` prints every metric).
KEY_FIGURES: tuple[str, ...] = (
    "emergency_admissions",
    "ae_attendances",
    "ae_attendances_all_types",
    "ucc_attendances",
    "ae_4h_performance",
    "ae_mean_time_hours",
    "bed_days",
    "bed_occupancy",
    "trolley_waits_over_12h",
    "rrt_referrals",
)


def key_figures_table(summary: pd.DataFrame, reference: str, scenarios: Sequence[str]) -> Table:
    """The reference's first year beside every scenario's final year (means)."""
    first, last = summary["year"].min(), summary["year"].max()
    fy = summary.drop_duplicates("year").set_index("year")["financial_year"]
    table = Table(
        title=f"Key figures: {fy[first]} ({reference}) and {fy[last]} by scenario (means)",
        title_justify="left",
    )
    table.add_column("measure", max_width=26)
    table.add_column(f"{fy[first]}", justify="right")
    for scenario in scenarios:
        table.add_column(scenario, justify="right", max_width=12, overflow="fold")
    means = summary.set_index(["scenario", "year", "metric"])["mean"]
    for name in KEY_FIGURES:
        if (reference, first, name) not in means.index:
            continue
        cells = [format_value(name, means[(reference, first, name)])]
        cells += [format_value(name, means.get((s, last, name), math.nan)) for s in scenarios]
        table.add_row(registered(name).label, *cells)
    return table


def compact_differences_table(differences: pd.DataFrame) -> Table:
    """Final-year paired differences from the reference, key measures only."""
    last = differences["year"].max()
    rows = differences[(differences["year"] == last) & differences["metric"].isin(KEY_FIGURES)]
    reference = rows["reference"].iloc[0] if len(rows) else ""
    year = rows["financial_year"].iloc[0] if len(rows) else ""
    table = Table(title=f"Difference from {reference}, {year} (paired 95%)", title_justify="left")
    table.add_column("scenario", max_width=12, overflow="fold")
    table.add_column("measure", max_width=26)
    table.add_column("difference", justify="right")
    table.add_column("95% interval", justify="right")
    order = {m: i for i, m in enumerate(KEY_FIGURES)}
    rows = rows.assign(order=rows["metric"].map(order)).sort_values(["scenario", "order"])
    for row in rows.itertuples():
        if row.metric in SHARE_METRICS:  # percentage points
            scale, spec, unit = 100.0, "+.1f", " pts"
        elif registered(row.metric).kind == "mean":
            scale, spec, unit = 1.0, "+,.2f", ""
        else:
            scale, spec, unit = 1.0, "+,.0f", ""
        difference = f"{scale * row.mean_difference:{spec}}{unit}"
        interval = _signed_interval(scale * row.ci_low, scale * row.ci_high, spec)
        table.add_row(row.scenario, registered(row.metric).label, difference, interval)
    return table


def targets_overview_table(targets: pd.DataFrame, scenarios: Sequence[str]) -> tuple[Table, str]:
    """Scored target-years with each scenario's status and p_met; a line counting the rest."""
    table = Table(title="Targets scored (status, p_met)", title_justify="left")
    table.add_column("target", max_width=30)
    table.add_column("year")
    for scenario in scenarios:
        table.add_column(scenario, max_width=13, overflow="fold")
    scored = targets[targets["status"].isin(RAG_STYLE) | (targets["status"] == "baseline mismatch")]
    for (target_id, year), group in scored.groupby(["target_id", "year"], sort=False):
        mine = group.set_index("scenario")
        cells = []
        for scenario in scenarios:
            if scenario not in mine.index:
                cells.append("")
                continue
            row = mine.loc[scenario]
            style = RAG_STYLE.get(str(row["status"]), "")
            p = "" if math.isnan(row["p_met"]) else f" {row['p_met']:.2f}"
            cells.append(f"[{style}]{row['status']}[/]{p}" if style else str(row["status"]))
        table.add_row(str(target_id).replace("_", " "), str(year), *cells)
    rest = targets[~targets.index.isin(scored.index)].drop_duplicates(["target_id", "year"])
    counts = rest["status"].value_counts()
    line = ", ".join(f"{n} {status}" for status, n in counts.items())
    return table, (f"also {line} (targets.csv and the report list them)" if line else "")
