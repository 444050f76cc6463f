"""A *pricing*: one set of finance inputs applied to a finished run, written as one set of files.

The run's own pricing (its copies of providers.toml, tariffs.toml and
intervention_costs.toml) lives at the results folder's root. Every repricing
(``ucsim finance --set ...``) is written to ``finance/<name>/`` with the
inputs it used, so the folder never contradicts itself: each pricing's CSVs,
workbook and the report's table of pricings come from the same inputs, and
nothing is recomputed behind the reader's back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config import ModelConfig
from sim.cost_file import COSTS_FILE, CostInputs, load_cost_inputs
from sim.costs import investment, net_position
from sim.finance import (
    Pricing,
    decompose_income_at_risk,
    income_at_risk,
    line_income,
    price_activity,
    reconcile,
)
from sim.metrics import TRIM_POINTS_DAYS
from sim.plan import plan_comparison, plan_discrepancies
from sim.store import whole_area, write_csv, write_text
from sim.tariffs import (
    PROVIDERS_FILE,
    TARIFFS_FILE,
    FinanceInputs,
    load_finance_inputs,
    with_tariff_changes,
)
from sim.workbook import write_workbook

PRICINGS_DIR = "finance"
DEFAULT_PRICING = "default"
PRICING_FILE = "pricing.json"
WORKBOOK = "income_at_risk.xlsx"
FINANCE_FILES = (
    "finance.csv",
    "finance_decomposition.csv",
    "reconciliation.csv",
    "investment.csv",
    "net_position.csv",
    "priced_activity.csv",
    "plan_comparison.csv",
    "finance_sensitivity.csv",
    WORKBOOK,
)


@dataclass(frozen=True)
class FinanceTables:
    pricing: Pricing
    income: pd.DataFrame  # per replication and line
    finance: pd.DataFrame
    decomposition: pd.DataFrame
    reconciliation: pd.DataFrame
    investment: pd.DataFrame
    net: pd.DataFrame
    comparison: pd.DataFrame
    discrepancies: pd.DataFrame
    sensitivity: pd.DataFrame


def compute_finance(
    kpis: pd.DataFrame,
    inputs: FinanceInputs,
    costs: CostInputs | None,
    configs: Mapping[str, ModelConfig],
    reference: str,
    target_contradictions: pd.DataFrame,
    sensitivity: Callable[[], pd.DataFrame] | None = None,
) -> FinanceTables:
    """Every finance table of one pricing, from the KPI table (no re-simulation).

    ``sensitivity`` gives the pricing sensitivity when it was started elsewhere (on an
    idle worker, while this computes the rest); by default it is computed here.
    """
    pricing = price_activity(kpis, inputs, reference)
    income = line_income(pricing.components)
    finance = income_at_risk(income, reference, inputs)
    block = {
        (p.id, line.id)
        for p in inputs.book.provider
        for line in p.line
        if line.simulated == "community" and inputs.tariffs.community.payment == "block"
    }
    invest = (
        investment(configs, kpis, costs, reference)
        if costs is not None and reference in configs
        else pd.DataFrame()
    )
    net = net_position(income, invest, reference, block) if not income.empty else pd.DataFrame()
    parts = [f for f in (target_contradictions, plan_discrepancies(inputs.book)) if not f.empty]
    discrepancies = (
        pd.concat(parts, ignore_index=True) if parts else plan_discrepancies(inputs.book)
    )
    return FinanceTables(
        pricing,
        income,
        finance,
        decompose_income_at_risk(pricing.components, reference),
        reconcile(pricing, inputs),
        invest,
        net,
        plan_comparison(inputs.book, finance[finance["status"] == "simulated"], reference),
        discrepancies,
        sensitivity() if sensitivity is not None else pricing_sensitivity(kpis, inputs, reference),
    )


def write_pricing(
    directory: Path,
    tables: FinanceTables,
    inputs: FinanceInputs,
    costs: CostInputs | None,
    manifest: Mapping[str, Any],
    name: str,
    workbook: bool = True,
) -> list[Path]:
    """Write one pricing's CSVs and (``workbook``) its workbook into ``directory``;
    returns the files."""
    outputs = {
        "finance.csv": tables.finance,
        "finance_decomposition.csv": tables.decomposition,
        "reconciliation.csv": tables.reconciliation,
        "investment.csv": tables.investment,
        "net_position.csv": tables.net,
        "priced_activity.csv": tables.pricing.components,
        "plan_comparison.csv": tables.comparison,
        "finance_sensitivity.csv": tables.sensitivity,
    }
    written = []
    for file, frame in outputs.items():
        write_csv(directory / file, frame)
        written.append(directory / file)
    if workbook:
        write_workbook(directory / WORKBOOK, tables, inputs, costs, manifest, name)
        written.append(directory / WORKBOOK)
    return written


def load_pricing_inputs(
    root: Path,
    providers: Path | None = None,
    tariffs: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[FinanceInputs, CostInputs | None]:
    """Finance inputs of a results folder (or the files given), and its cost model."""
    inputs = load_finance_inputs(
        providers or root / PROVIDERS_FILE, tariffs or root / TARIFFS_FILE, overrides
    )
    costs_path = root / COSTS_FILE
    base = inputs.tariffs.price_base
    costs = (
        load_cost_inputs(costs_path, base.financial_year, base.cost_uplift)
        if costs_path.exists()
        else None
    )
    return inputs, costs


@dataclass(frozen=True)
class PricingRecord:
    name: str
    directory: Path
    description: str


def pricings(root: Path) -> list[PricingRecord]:
    """Every pricing in a results folder: the run's own first, then finance/<name>/."""
    found = []
    if (root / "finance.csv").exists():
        found.append(PricingRecord(DEFAULT_PRICING, root, "the run's own tariffs.toml"))
    for directory in sorted((root / PRICINGS_DIR).glob("*/")):
        if not (directory / "finance.csv").exists():
            continue
        info_path = directory / PRICING_FILE
        info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.exists() else {}
        found.append(PricingRecord(directory.name, directory, info.get("description", "")))
    return found


def write_pricing_record(directory: Path, record: Mapping[str, Any]) -> None:
    write_text(directory / PRICING_FILE, json.dumps(record, indent=2, default=str) + "\n")


SENSITIVITY_COLUMNS = [
    "scenario",
    "financial_year",
    "parameter",
    "setting",
    "income_at_risk",
    "base_income_at_risk",
    "change",
]


def _step(days: int, by: int) -> int:
    index = TRIM_POINTS_DAYS.index(days) + by
    return TRIM_POINTS_DAYS[min(max(index, 0), len(TRIM_POINTS_DAYS) - 1)]


def sensitivity_settings(inputs: FinanceInputs) -> list[tuple[str, str, dict[str, Any]]]:
    """(parameter, setting, tariff overrides): the pricing assumptions a finance lead
    would challenge, each moved one way then the other."""
    t = inputs.tariffs.non_elective
    trims = t.trim_point_days.by_band()
    spell = inputs.prices["non_elective.spell"].published
    excess = inputs.prices["non_elective.excess_bed_day"].published
    growth = t.marginal_rate.growth_per_year
    shorter = {f"non_elective.trim_point_days.{b}": _step(d, -1) for b, d in trims.items()}
    longer = {f"non_elective.trim_point_days.{b}": _step(d, 1) for b, d in trims.items()}
    one_trim = {f"non_elective.trim_point_days.{b}": 14 for b in trims}
    return [
        ("trim points", "one step shorter in every band", shorter),
        ("trim points", "one step longer in every band", longer),
        ("trim points", "14 days for every spell", one_trim),
        ("excess bed day price", "-25%", {"non_elective.excess_bed_day": excess * 0.75}),
        ("excess bed day price", "+25%", {"non_elective.excess_bed_day": excess * 1.25}),
        ("non-elective spell price", "-10%", {"non_elective.spell": spell * 0.9}),
        ("non-elective spell price", "+10%", {"non_elective.spell": spell * 1.1}),
        ("marginal-rate rule", "off", {"non_elective.marginal_rate.enabled": False}),
        (
            "marginal-rate rule",
            f"threshold from {growth + 0.01:.1%} growth a year",
            {"non_elective.marginal_rate.growth_per_year": growth + 0.01},
        ),
        ("readmission rule", "off", {"non_elective.readmissions.enabled": False}),
        ("readmission rule", "5% paid", {"non_elective.readmissions.max_rate": 0.05}),
        ("contract reconciliation", "scaled to contract", {"reconciliation.method": "scale"}),
        (
            "price base",
            "prices as published (no uplift)",
            {f"price_base.cost_uplift.{y}": 0.0 for y in inputs.tariffs.price_base.cost_uplift},
        ),
    ]


def _final_total(kpis: pd.DataFrame, inputs: FinanceInputs, reference: str) -> pd.Series:
    """Mean income at risk of all simulated lines in the final year, per scenario."""
    income = line_income(price_activity(kpis, inputs, reference).components)
    if income.empty:
        return pd.Series(dtype=float)
    last = income["year"].max()
    lines = income[(income["year"] == last) & (income["line"] != "total_simulated")]
    total = lines.groupby(["scenario", "replication"])["income"].sum()
    base = total.xs(reference, level="scenario")
    at_risk = -(total - base.reindex(total.index.get_level_values("replication")).to_numpy())
    return at_risk.groupby(level="scenario").mean()


def pricing_sensitivity(kpis: pd.DataFrame, inputs: FinanceInputs, reference: str) -> pd.DataFrame:
    """Income at risk (all simulated lines, final year) under each alternative pricing
    assumption, beside the pricing's own: a repricing, no re-simulation."""
    if not (kpis["scenario"] != reference).any():  # nothing is at risk against itself
        return pd.DataFrame(columns=SENSITIVITY_COLUMNS)
    # Only the first and the final year are priced: a year's income reads that year's
    # activity, and the first year's (the marginal-rate threshold, the reconciliation's
    # baseline income), never another's. The same figures for 2 of 5 years' work.
    years = kpis["year"]
    kpis = kpis[(years == years.min()) | (years == years.max())]
    base = _final_total(kpis, inputs, reference)
    if base.empty:
        return pd.DataFrame(columns=SENSITIVITY_COLUMNS)
    last_label = str(kpis.loc[kpis["year"] == kpis["year"].max(), "financial_year"].iloc[0])
    rows = []
    for parameter, setting, changes in sensitivity_settings(inputs):
        varied = _final_total(kpis, with_tariff_changes(inputs, changes), reference)
        for scenario in base.index:
            if scenario == reference:
                continue
            rows.append(
                (
                    scenario,
                    last_label,
                    parameter,
                    setting,
                    float(varied[scenario]),
                    float(base[scenario]),
                    float(varied[scenario] - base[scenario]),
                )
            )
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)


def income_pricer(root: Path, reference: str) -> Callable[[pd.DataFrame], pd.DataFrame] | None:
    """KPI rows -> the run's own pricing of all simulated lines, as KPI-shaped rows under
    ``provider_income_simulated`` (for ``ucsim decompose``); None without finance inputs."""
    if not (root / PROVIDERS_FILE).exists() or not (root / TARIFFS_FILE).exists():
        return None
    inputs, _ = load_pricing_inputs(root)
    # The run's own threshold, so re-runs are priced exactly as the run was.
    run = price_activity(whole_area(pd.read_parquet(root / "kpis.parquet")), inputs, reference)
    threshold = {"non_elective.marginal_rate.threshold_spells": run.threshold.spells}
    inputs = with_tariff_changes(inputs, threshold)

    def price(kpis: pd.DataFrame) -> pd.DataFrame:
        income = line_income(price_activity(kpis, inputs, reference).components)
        lines = income[income["line"] != "total_simulated"]
        total = (
            lines.groupby(["scenario", "replication", "year", "financial_year"], sort=False)[
                "income"
            ]
            .sum()
            .rename("value")
            .reset_index()
        )
        seeds = kpis.drop_duplicates(["scenario", "replication"]).set_index(
            ["scenario", "replication"]
        )["seed"]
        total["seed"] = seeds.reindex(
            pd.MultiIndex.from_frame(total[["scenario", "replication"]])
        ).to_numpy()
        total["metric"] = "provider_income_simulated"
        return total[
            ["scenario", "replication", "seed", "year", "financial_year", "metric", "value"]
        ]

    return price
