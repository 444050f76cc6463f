"""The plan's own method: flat shares of contract lines, computed from inputs, never copied.

Also lists where the plan contradicts itself, each with the arithmetic: rows and
totals of the value-at-risk table that do not agree to the pound with the table
computed from its inputs, and pairs of targets that ask for different levels of
one metric in one year (declared as ``[[discrepancy]]`` in targets.toml).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.store import whole_area
from sim.target_file import Target, TargetSet
from sim.targets import Growth, required_level
from sim.tariffs import ProviderBook

RECONCILE_TOLERANCE = 0.5  # pounds


def plan_amounts(book: ProviderBook) -> pd.DataFrame:
    """provider, provider_name, line, label, income, plan_method, plan_share, plan_amount."""
    rows = []
    for provider in book.provider:
        for line in provider.line:
            if line.plan_method == "share":
                share = line.plan_share if line.plan_share is not None else 0.0
            elif line.plan_method == "full":
                share = 1.0
            else:
                share = 0.0
            rows.append(
                (
                    provider.id,
                    provider.name,
                    line.id,
                    line.label,
                    line.income,
                    line.plan_method,
                    share,
                    round(line.income * share, 2),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "provider",
            "provider_name",
            "line",
            "label",
            "income",
            "plan_method",
            "plan_share",
            "plan_amount",
        ],
    )


DISCREPANCY_COLUMNS = [
    "kind",
    "item",
    "first",
    "first_value",
    "second",
    "second_value",
    "difference",
    "unit",
    "arithmetic",
    "source",
]
VALUE_AT_RISK = "value-at-risk table"
TARGETS = "targets"
CELL_MATCH = 5.0  # pounds: a difference this close to one cell is that cell, left out or added


def plan_discrepancies(book: ProviderBook) -> pd.DataFrame:
    """Published rows and totals of the value-at-risk table that do not reconcile with
    the table computed from its inputs, each with the arithmetic."""
    amounts = plan_amounts(book)
    checks: list[tuple[str, float, float, str]] = []
    for provider in book.provider:
        mine = amounts[amounts["provider"] == provider.id]
        for line in provider.line:
            if line.published_plan_amount is not None:
                computed = float(mine.loc[mine["line"] == line.id, "plan_amount"].sum())
                checks.append(
                    (
                        f"{provider.name}: {line.label}",
                        line.published_plan_amount,
                        computed,
                        f"income {line.income:,.0f} x {line.plan_method} rule",
                    )
                )
        if provider.published_total is not None:
            checks.append(
                (
                    f"{provider.name}: total value at risk",
                    provider.published_total,
                    float(mine["plan_amount"].sum()),
                    f"sum of its {len(mine)} lines",
                )
            )
        listed = sum(line.income for line in provider.line)
        if listed > provider.contract_value + RECONCILE_TOLERANCE:
            checks.append(
                (
                    f"{provider.name}: contract value vs sum of its lines",
                    provider.contract_value,
                    listed,
                    f"sum of its {len(provider.line)} lines' income",
                )
            )
    for column, published in book.published_totals.items():
        if column == "grand_total":
            computed = float(amounts["plan_amount"].sum())
            checks.append(
                (
                    "All providers: grand total value at risk",
                    published,
                    computed,
                    f"sum of all {len(amounts)} lines",
                )
            )
        else:
            computed = float(amounts.loc[amounts["line"] == column, "plan_amount"].sum())
            checks.append(
                (f"All providers: column total '{column}'", published, computed, "column sum")
            )
    rows = []
    for item, published, computed, how in checks:
        difference = computed - published
        if abs(difference) < RECONCILE_TOLERANCE:
            continue
        text = (
            f"published £{published:,.0f}; computed £{computed:,.0f} ({how}); "
            f"computed - published = {'+' if difference >= 0 else '-'}£{abs(difference):,.2f}"
        )
        cell = _matching_cell(amounts, abs(difference))
        if cell:
            text += f", which is {cell}"
        rows.append(
            (
                VALUE_AT_RISK,
                item,
                "published",
                published,
                "computed from its inputs",
                computed,
                difference,
                "£",
                text,
                "the plan's value-at-risk table (providers.toml)",
            )
        )
    return pd.DataFrame(rows, columns=DISCREPANCY_COLUMNS)


def _matching_cell(amounts: pd.DataFrame, difference: float) -> str:
    """The one line whose amount the difference equals (to CELL_MATCH), if any."""
    if difference < 100 * CELL_MATCH:
        return ""
    close = amounts[(amounts["plan_amount"] - difference).abs() <= CELL_MATCH]
    if len(close) != 1:
        return ""
    row = close.iloc[0]
    return f"the {row['provider_name']} {row['label']} cell (£{row['plan_amount']:,.0f})"


def target_discrepancies(
    kpis: pd.DataFrame, targets: TargetSet, reference: str, growth: Growth | None = None
) -> pd.DataFrame:
    """Pairs of targets (declared in targets.toml) that ask for different levels of one
    metric in one year, each level as the run resolves it against ``reference``."""
    kpis = whole_area(kpis)  # targets are the area's
    rows = []
    for d in targets.discrepancy:
        first, second = (targets.by_id(name) for name in d.targets)
        first_level, level = required_level(kpis, first, d.year, reference, growth)
        second_level, _ = required_level(kpis, second, d.year, reference, growth)
        if np.isnan(first_level) or np.isnan(second_level):
            continue  # a year beyond this run, or no reference scenario in it
        difference = second_level - first_level
        text = (
            f"in {d.year}, '{first.id}' asks for {_change(first_level, level, reference)}; "
            f"'{second.id}' asks for {_change(second_level, level, reference)}; "
            f"they differ by {difference:+,.0f} ({difference / level:+.1%} of {reference})"
        )
        first_change, second_change = first_level - level, second_level - level
        if first_change * second_change > 0 and min(
            abs(first_change), abs(second_change)
        ) >= 0.01 * abs(level):
            text += f": the first asks for {first_change / second_change:.1f} times the change"
        rows.append(
            (
                TARGETS,
                d.description,
                _reading(first),
                first_level,
                _reading(second),
                second_level,
                difference,
                first.metric,
                text,
                d.source,
            )
        )
    return pd.DataFrame(rows, columns=DISCREPANCY_COLUMNS)


def _change(required: float, reference_level: float, reference: str) -> str:
    change = required - reference_level
    return (
        f"{required:,.0f} ({change:+,.0f} against {reference}'s {reference_level:,.0f}, "
        f"{change / reference_level:+.1%})"
    )


def _reading(target: Target) -> str:
    return f"{target.description} ({target.reading})" if target.reading else target.description


def _value(row: pd.Series | None, column: str) -> float:
    return float("nan") if row is None else float(row[column])


def plan_comparison(book: ProviderBook, at_risk: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Plan amount per provider line beside the simulated income at risk, per scenario,
    in the final simulated year."""
    amounts = plan_amounts(book)
    rows = []
    if at_risk.empty:
        return pd.DataFrame()
    last = at_risk["year"].max()
    final = at_risk[at_risk["year"] == last]
    year_label = final["financial_year"].iloc[0]
    simulated_lines = {(p.id, line.id): line.simulated for p in book.provider for line in p.line}
    for scenario in [s for s in final["scenario"].unique() if s != reference]:
        mine = final[final["scenario"] == scenario].set_index(["provider", "line"])
        for row in amounts.itertuples():
            key = (row.provider, row.line)
            simulated = simulated_lines[key] != "none" and key in mine.index
            values = mine.loc[key] if simulated else None
            if row.plan_method == "none" and not simulated:
                continue
            rows.append(
                (
                    scenario,
                    year_label,
                    row.provider,
                    row.line,
                    row.plan_amount,
                    _value(values, "income_at_risk"),
                    _value(values, "ci_low"),
                    _value(values, "ci_high"),
                    simulated_lines[key] if simulated else "not simulated",
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "scenario",
            "financial_year",
            "provider",
            "line",
            "plan_amount",
            "simulated_mean",
            "ci_low",
            "ci_high",
            "simulated_from",
        ],
    )
