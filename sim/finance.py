"""Income at risk per provider: simulated activity x tariff under the payment rules.

Income is computed for every scenario, replication and year from the KPI
table (no re-simulation, so a tariff or rule can be changed afterwards).
Income at risk is do-nothing income minus scenario income in the same
replication and year, so its interval is a paired one. Lines the model does
not simulate (electives, CQUIN, re-procurement) are left to the plan method
(:mod:`sim.plan`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from sim.config import NonNegativeFloat, Probability, StrictModel
from sim.loading import ParameterNote, read_toml, split_annotations, tree_with, validated_file
from sim.metrics import TRIM_POINTS_DAYS
from sim.summary import t_interval

SimulatedActivity = Literal["non_elective", "ae", "ucc", "ambulance", "community", "none"]


class Line(StrictModel):
    id: str
    label: str
    income: NonNegativeFloat
    plan_method: Literal["share", "full", "none"]
    plan_share: Probability | None = None
    published_plan_amount: float | None = None
    simulated: SimulatedActivity


class Provider(StrictModel):
    id: str
    name: str
    contract_value: NonNegativeFloat
    published_total: float | None = None
    line: list[Line] = Field(min_length=1)


class ProviderBook(StrictModel):
    published_totals: dict[str, float] = Field(default_factory=dict)
    provider: list[Provider] = Field(min_length=1)


class MarginalRate(StrictModel):
    enabled: bool = True
    rate: Probability
    threshold_spells: NonNegativeFloat


class ReadmissionRule(StrictModel):
    enabled: bool = True
    max_rate: Probability


class NonElectiveTariff(StrictModel):
    spell: NonNegativeFloat
    short_stay_spell: NonNegativeFloat
    excess_bed_day: NonNegativeFloat
    trim_point_days: int
    marginal_rate: MarginalRate
    readmissions: ReadmissionRule

    @field_validator("trim_point_days")
    @classmethod
    def _known_trim(cls, days: int) -> int:
        if days not in TRIM_POINTS_DAYS:
            raise ValueError(f"must be one of {TRIM_POINTS_DAYS} (the excess bed days recorded)")
        return days


class AETariff(StrictModel):
    admitted: NonNegativeFloat
    not_admitted: NonNegativeFloat


class UCCTariff(StrictModel):
    attendance: NonNegativeFloat


class AmbulanceTariff(StrictModel):
    hear_and_treat: NonNegativeFloat
    see_and_treat: NonNegativeFloat
    see_treat_convey: NonNegativeFloat


class CommunityTariff(StrictModel):
    payment: Literal["block", "per_contact"]
    per_contact: NonNegativeFloat


class Tariffs(StrictModel):
    non_elective: NonElectiveTariff
    ae: AETariff
    ucc: UCCTariff
    ambulance: AmbulanceTariff
    community: CommunityTariff


@dataclass(frozen=True)
class FinanceInputs:
    book: ProviderBook
    tariffs: Tariffs
    notes: dict[str, ParameterNote]
    files: tuple[str, ...]


def load_finance_inputs(
    providers_path: Path, tariffs_path: Path, tariff_overrides: dict[str, Any] | None = None
) -> FinanceInputs:
    book_tree, book_notes, _ = split_annotations(read_toml(providers_path), str(providers_path))
    tariff_tree, tariff_notes, _ = split_annotations(read_toml(tariffs_path), str(tariffs_path))
    for path, value in (tariff_overrides or {}).items():
        tariff_tree = tree_with(tariff_tree, path, value)
    book = validated_file(ProviderBook, book_tree, providers_path)
    tariffs = validated_file(Tariffs, tariff_tree, tariffs_path)
    notes = {f"providers.{k}": v for k, v in book_notes.items()} | {
        f"tariffs.{k}": v for k, v in tariff_notes.items()
    }
    return FinanceInputs(book, tariffs, notes, (str(providers_path), str(tariffs_path)))


def wide_kpis(kpis: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario, replication and year; one column per metric."""
    return kpis.pivot_table(
        index=["scenario", "replication", "year", "financial_year"],
        columns="metric",
        values="value",
        aggfunc="first",
    )


def non_elective_income(w: pd.DataFrame, t: NonElectiveTariff) -> pd.Series:
    spells = w["emergency_admissions"]
    short = np.minimum(w["short_stay_discharges"], spells)
    base = (spells - short) * t.spell + short * t.short_stay_spell
    average = base / spells.where(spells > 0, 1)
    paid = base
    if t.marginal_rate.enabled:
        threshold = t.marginal_rate.threshold_spells
        paid = average * (
            np.minimum(spells, threshold) + t.marginal_rate.rate * np.maximum(spells - threshold, 0)
        )
    excess = w[f"excess_bed_days_over_{t.trim_point_days}d"] * t.excess_bed_day
    unpaid = 0.0
    if t.readmissions.enabled:
        unpaid = np.maximum(w["readmissions_30d"] - t.readmissions.max_rate * spells, 0) * average
    return paid + excess - unpaid


def activity_income(w: pd.DataFrame, activity: str, tariffs: Tariffs) -> pd.Series:
    """Income one line earns from simulated activity, per scenario/replication/year."""
    if activity == "non_elective":
        return non_elective_income(w, tariffs.non_elective)
    if activity == "ae":
        admitted = w["ae_attendances"] * w["ae_conversion_rate"]
        return (
            admitted * tariffs.ae.admitted
            + (w["ae_attendances"] - admitted) * tariffs.ae.not_admitted
        )
    if activity == "ucc":
        return w["ucc_attendances"] * tariffs.ucc.attendance
    if activity == "ambulance":
        a = tariffs.ambulance
        return (
            w["ambulance_hear_and_treat"] * a.hear_and_treat
            + (w["ambulance_see_and_treat"] + w["ambulance_pathfinder_referrals"]) * a.see_and_treat
            + w["ambulance_conveyances"] * a.see_treat_convey
        )
    if activity == "community":
        if tariffs.community.payment == "block":
            return pd.Series(0.0, index=w.index)  # a block contract pays the same whatever
        return w["rrt_referrals"] * tariffs.community.per_contact
    raise ValueError(f"no simulated activity {activity!r}")


def simulated_income(kpis: pd.DataFrame, inputs: FinanceInputs) -> pd.DataFrame:
    """Long table: scenario, replication, year, financial_year, provider, line, income."""
    w = wide_kpis(kpis)
    frames = []
    for provider in inputs.book.provider:
        for line in provider.line:
            if line.simulated == "none":
                continue
            income = activity_income(w, line.simulated, inputs.tariffs).rename("income")
            frame = income.reset_index()
            frame["provider"], frame["line"] = provider.id, line.id
            frames.append(frame)
    if not frames:
        return pd.DataFrame()
    income = pd.concat(frames, ignore_index=True)
    totals = (
        income.groupby(
            ["scenario", "replication", "year", "financial_year", "provider"], sort=False
        )["income"]
        .sum()
        .reset_index()
        .assign(line="total_simulated")
    )
    return pd.concat([income, totals], ignore_index=True)


FINANCE_COLUMNS = [
    "scenario",
    "year",
    "financial_year",
    "provider",
    "line",
    "baseline_income",
    "scenario_income",
    "income_at_risk",
    "ci_low",
    "ci_high",
    "n",
]


def income_at_risk(income: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Do-nothing income minus scenario income, paired by replication and year."""
    if income.empty:
        return pd.DataFrame(columns=FINANCE_COLUMNS)
    keys = ["year", "financial_year", "provider", "line", "replication"]
    base = income[income["scenario"] == reference].set_index(keys)["income"]
    rows = []
    for (scenario, year, fy, provider, line), group in income.groupby(
        ["scenario", "year", "financial_year", "provider", "line"], sort=False
    ):
        mine = group.set_index("replication")["income"]
        theirs = base.xs((year, fy, provider, line), level=[0, 1, 2, 3]).reindex(mine.index)
        at_risk = (theirs - mine).to_numpy(dtype=float)
        mean, _, low, high = t_interval(at_risk)
        rows.append(
            (
                scenario,
                year,
                fy,
                provider,
                line,
                float(theirs.mean()),
                float(mine.mean()),
                mean,
                low,
                high,
                len(at_risk),
            )
        )
    return pd.DataFrame(rows, columns=FINANCE_COLUMNS)
