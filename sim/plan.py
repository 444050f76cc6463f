"""The plan's own method: flat shares of contract lines, computed from inputs, never copied.

Also reconciles the computed table with the figures the plan published and
lists every row or total that does not agree to the pound.
"""

from __future__ import annotations

import pandas as pd

from sim.finance import ProviderBook

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


def plan_discrepancies(book: ProviderBook) -> pd.DataFrame:
    """Published rows and totals that do not reconcile with the computed plan table."""
    amounts = plan_amounts(book)
    checks: list[tuple[str, float, float]] = []
    for provider in book.provider:
        mine = amounts[amounts["provider"] == provider.id]
        for line in provider.line:
            if line.published_plan_amount is not None:
                computed = float(mine.loc[mine["line"] == line.id, "plan_amount"].sum())
                checks.append(
                    (f"{provider.name}: {line.label}", line.published_plan_amount, computed)
                )
        if provider.published_total is not None:
            checks.append(
                (
                    f"{provider.name}: total value at risk",
                    provider.published_total,
                    float(mine["plan_amount"].sum()),
                )
            )
        listed = sum(line.income for line in provider.line)
        if listed > provider.contract_value + RECONCILE_TOLERANCE:
            checks.append(
                (
                    f"{provider.name}: contract value vs sum of its lines",
                    provider.contract_value,
                    listed,
                )
            )
    for column, published in book.published_totals.items():
        if column == "grand_total":
            computed = float(amounts["plan_amount"].sum())
            checks.append(("All providers: grand total value at risk", published, computed))
        else:
            computed = float(amounts.loc[amounts["line"] == column, "plan_amount"].sum())
            checks.append((f"All providers: column total '{column}'", published, computed))
    frame = pd.DataFrame(checks, columns=["item", "published", "computed"])
    frame["difference"] = frame["computed"] - frame["published"]
    return frame[frame["difference"].abs() >= RECONCILE_TOLERANCE].reset_index(drop=True)


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
