"""The report's finance section, read from a results folder's pricings (never recomputed).

What a finance lead and a board need beside income at risk: the basis (price
base, contract reconciliation, marginal-rate threshold), the decomposition
(fewer admissions, shorter stays, the payment rules), the commissioner's net
position, the reconciliation table, the repricing sensitivity, and every
pricing present in the folder with its headline figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.costs import INVESTMENT, NET_POSITION, PROVIDER_INCOME_AT_RISK, SPEND_AVOIDED
from sim.decomposition import DECOMPOSITION_FILE, INCOME_METRIC
from sim.finance import effect_order
from sim.formatting import pounds
from sim.loading import read_toml
from sim.pricing import TARIFFS_FILE, pricings

LOS_LEVER = "enhanced_discharge"  # carries the length-of-stay multiplier


def _interval(low: float, high: float) -> str:
    if pd.isna(low) or pd.isna(high):
        return "interval needs 2 or more replications"
    return f"{pounds(low)} to {pounds(high)}"


@dataclass
class FinanceSection:
    basis: list[str] = field(default_factory=list)
    decomposition: list[dict[str, Any]] = field(default_factory=list)
    net: list[dict[str, Any]] = field(default_factory=list)
    reconciliation: list[dict[str, Any]] = field(default_factory=list)
    pricings: list[dict[str, Any]] = field(default_factory=list)
    sensitivity: list[dict[str, Any]] = field(default_factory=list)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.exists() else pd.DataFrame()


def _basis(root: Path, reconciliation: pd.DataFrame) -> list[str]:
    tariffs = read_toml(root / TARIFFS_FILE) if (root / TARIFFS_FILE).exists() else {}
    base = tariffs.get("price_base", {}).get("financial_year", "")
    method = tariffs.get("reconciliation", {}).get("method", {})
    method = method.get("value", "report") if isinstance(method, dict) else method
    lines = []
    if base:
        lines.append(
            f"Every price is converted to {base} prices with the cost uplifts in tariffs.toml "
            "(the workbook's Inputs sheet shows each conversion)."
        )
    if method == "scale":
        lines.append(
            "Each contract line's prices are scaled so that its simulated baseline-year income "
            "equals the contract line (reconciliation table below)."
        )
    else:
        lines.append(
            "Income is priced at tariff on simulated activity and is NOT scaled to the contract "
            "lines; the reconciliation table below shows each line's gap, and the sensitivity "
            "table shows income at risk if it were scaled."
        )
    if not reconciliation.empty:
        lines.append(
            "Trim points are set per admission group (age band); excess bed days, the "
            "marginal-rate rule and the readmission rule are separate rows of the decomposition."
        )
    return lines


def sensitivity_with_levers(root: Path) -> pd.DataFrame:
    """The repricing sensitivity, plus the length-of-stay lever's row where ``ucsim
    decompose`` has priced the run without it (a scenario assumption, not a price)."""
    sensitivity = _read(root / "finance_sensitivity.csv")
    decomposition = _read(root / DECOMPOSITION_FILE)
    if sensitivity.empty or decomposition.empty:
        return sensitivity
    last = decomposition["year"].max()
    lever = decomposition[
        (decomposition["metric"] == INCOME_METRIC)
        & (decomposition["lever"] == LOS_LEVER)
        & (decomposition["year"] == last)
    ]
    base = sensitivity.drop_duplicates("scenario").set_index("scenario")["base_income_at_risk"]
    rows = [
        {
            "scenario": r.scenario,
            "financial_year": r.financial_year,
            "parameter": "length-of-stay lever (enhanced discharge)",
            "setting": "lever off (ucsim decompose)",
            # income at risk without the lever = reference - (scenario - contribution)
            "income_at_risk": float(base[r.scenario]) + r.contribution,
            "base_income_at_risk": float(base[r.scenario]),
            "change": r.contribution,
        }
        for r in lever.itertuples()
        if r.scenario in base.index
    ]
    return pd.concat([sensitivity, pd.DataFrame(rows)], ignore_index=True) if rows else sensitivity


def build_finance_section(
    root: Path, year: int, scenarios: list[str], names: dict[str, str]
) -> FinanceSection:
    section = FinanceSection()
    if not (root / "finance.csv").exists():
        return section
    reconciliation = _read(root / "reconciliation.csv")
    section.basis = _basis(root, reconciliation)
    decomposition = _read(root / "finance_decomposition.csv")
    if not decomposition.empty:
        final = decomposition[
            (decomposition["year"] == year) & decomposition["scenario"].isin(scenarios)
        ]
        final = final.assign(order=final["effect"].map(effect_order))
        for (provider, effect), group in final.sort_values(["provider", "order"]).groupby(
            ["provider", "effect"], sort=False
        ):
            values = group.set_index("scenario").reindex(scenarios)
            if (values["income_at_risk"].fillna(0).abs() < 0.5).all():
                continue
            section.decomposition.append(
                {
                    "provider": names.get(provider, provider),
                    "effect": effect,
                    "cells": [
                        (pounds(r.income_at_risk), _interval(r.ci_low, r.ci_high))
                        for r in values.itertuples()
                    ],
                }
            )
    net = _read(root / "net_position.csv")
    if not net.empty:
        final = net[(net["year"] == year) & net["scenario"].isin(scenarios)]
        for measure in (INVESTMENT, SPEND_AVOIDED, PROVIDER_INCOME_AT_RISK, NET_POSITION):
            values = final[final["measure"] == measure].set_index("scenario").reindex(scenarios)
            section.net.append(
                {
                    "measure": measure,
                    "total": measure == NET_POSITION,
                    "cells": [
                        (
                            pounds(r.value),
                            _interval(r.ci_low, r.ci_high)
                            if measure != INVESTMENT
                            else "fixed by the cost model",
                        )
                        for r in values.itertuples()
                    ],
                }
            )
    for r in reconciliation.itertuples():
        volume = "not stated" if pd.isna(r.contract_volume) else f"{r.contract_volume:,.0f}"
        if pd.isna(r.simulated_income):
            section.reconciliation.append(
                {
                    "provider": names.get(r.provider, r.provider),
                    "line": r.label,
                    "contract": pounds(r.contract_income),
                    "simulated": "not simulated",
                    "difference": "",
                    "volumes": "",
                    "note": r.note,
                }
            )
            continue
        section.reconciliation.append(
            {
                "provider": names.get(r.provider, r.provider),
                "line": r.label,
                "contract": pounds(r.contract_income),
                "simulated": pounds(r.simulated_income),
                "difference": f"{pounds(r.difference)} ({r.difference_share:+.0%})"
                if pd.notna(r.difference_share)
                else pounds(r.difference),
                "volumes": f"{volume} vs {r.simulated_volume:,.0f} {r.volume_unit}",
                "note": r.note,
            }
        )
    sensitivity = sensitivity_with_levers(root)
    for (parameter, setting), group in sensitivity.groupby(["parameter", "setting"], sort=False):
        values = group.set_index("scenario").reindex(scenarios)
        section.sensitivity.append(
            {
                "parameter": parameter,
                "setting": setting,
                "cells": [
                    (pounds(r.income_at_risk), f"{'+' if r.change >= 0 else ''}{pounds(r.change)}")
                    for r in values.itertuples()
                ],
            }
        )
    for record in pricings(root):
        fin = _read(record.directory / "finance.csv")
        net = _read(record.directory / "net_position.csv")
        last = fin["year"].max() if not fin.empty else year
        cells = []
        for scenario in scenarios:
            totals = fin[
                (fin["scenario"] == scenario)
                & (fin["year"] == last)
                & (fin["line"] == "total_simulated")
            ]
            at_risk = float(totals["income_at_risk"].sum()) if len(totals) else float("nan")
            mine = (
                net[
                    (net["scenario"] == scenario)
                    & (net["year"] == last)
                    & (net["measure"] == NET_POSITION)
                ]
                if not net.empty
                else net
            )
            net_value = float(mine["value"].iloc[0]) if len(mine) else float("nan")
            cells.append(
                (
                    pounds(at_risk) if pd.notna(at_risk) else "n/a",
                    pounds(net_value) if pd.notna(net_value) else "n/a",
                )
            )
        where = "results folder" if record.directory == root else f"finance/{record.name}/"
        section.pricings.append(
            {"name": record.name, "description": record.description, "where": where, "cells": cells}
        )
    return section
