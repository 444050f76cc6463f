"""Income at risk per provider: simulated activity x price x payment rule, row by row.

Every pound is one row of the *priced activity* table: a provider's line, a
component (spells of 2+ days, bed days beyond the trim point of one age
band, the marginal-rate deduction...), the activity it prices, the price in
the price base and the amount. The workbook writes the same rows with Excel
formulas, so a finance lead can follow activity x price x rule to the £.

Income is computed for every scenario, replication and year from the KPI
table (no re-simulation, so a tariff or rule can be changed afterwards).
Income at risk is reference (do-nothing) income minus scenario income in the
same replication and year, so its interval is a paired one; the same holds
for each component, which decomposes the total into fewer admissions,
shorter stays (excess bed days), the readmission rule and the marginal rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from sim.metrics import excess_bed_days_metric
from sim.store import whole_area
from sim.summary import t_interval
from sim.tariffs import FinanceInputs, Line, financial_year_start

KEYS = ["scenario", "replication", "year", "financial_year"]

# Which part of income at risk a component explains (the decomposition's categories).
ADMISSIONS = "fewer admissions"
EXCESS_BED_DAYS = "shorter stays (excess bed days)"
READMISSION_RULE = "readmission rule"
MARGINAL_RATE = "marginal-rate rule"
ACTIVITY = "attendances and incidents (A&E, UCC, ambulance)"
BLOCK = "block contract"
EFFECTS = (ADMISSIONS, EXCESS_BED_DAYS, READMISSION_RULE, MARGINAL_RATE, ACTIVITY, BLOCK)

COMPONENT_COLUMNS = [
    *KEYS,
    "provider",
    "line",
    "component",
    "effect",
    "recorded",
    "activity",
    "unit",
    "price",
    "price_input",
    "scale",
    "amount",
]
NOT_SIMULATED = "not simulated"


@dataclass(frozen=True)
class Threshold:
    """The marginal-rate threshold and how it was derived (shown in every output)."""

    spells: float
    baseline_admissions: float
    first_year: str
    baseline_year: str
    growth_per_year: float
    derived: bool

    @property
    def years(self) -> int:
        return financial_year_start(self.first_year) - financial_year_start(self.baseline_year)

    def derivation(self) -> str:
        if not self.derived:
            return f"{self.spells:,.0f} spells: fixed in tariffs.toml (threshold_spells)"
        return (
            f"{self.baseline_admissions:,.0f} simulated emergency admissions in "
            f"{self.first_year} (reference scenario, mean of replications) / "
            f"(1 + {self.growth_per_year:.1%})^{self.years} back to {self.baseline_year} "
            f"= {self.spells:,.0f} spells"
        )


@dataclass(frozen=True)
class Pricing:
    """Everything computed from one set of finance inputs for one run."""

    components: pd.DataFrame  # priced activity, one row per component
    threshold: Threshold
    scale: dict[tuple[str, str], float]  # (provider, line) -> reconciliation factor
    reference: str


def wide_kpis(kpis: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario, replication and year; one column per metric."""
    return kpis.pivot_table(index=KEYS, columns="metric", values="value", aggfunc="first")


def marginal_threshold(w: pd.DataFrame, inputs: FinanceInputs, reference: str) -> Threshold:
    """The 2008/09-baseline threshold, from the run's own first simulated year."""
    rule = inputs.tariffs.non_elective.marginal_rate
    first = w.xs(reference, level="scenario") if reference in w.index.unique("scenario") else w
    first_year_index = first.index.get_level_values("year").min()
    rows = first[first.index.get_level_values("year") == first_year_index]
    first_year = str(rows.index.get_level_values("financial_year")[0])
    admissions = float(rows["emergency_admissions"].mean())
    years = financial_year_start(first_year) - financial_year_start(rule.baseline_year)
    fixed = rule.threshold_spells
    spells = admissions / (1 + rule.growth_per_year) ** years if fixed is None else fixed
    return Threshold(
        float(spells),
        admissions,
        first_year,
        rule.baseline_year,
        rule.growth_per_year,
        fixed is None,
    )


def _rows(
    w: pd.DataFrame,
    component: str,
    effect: str,
    recorded: ArrayLike,
    activity: ArrayLike,
    unit: str,
    price: ArrayLike,
    price_input: str = "",
) -> pd.DataFrame:
    """One component's rows: what was recorded, what is priced, at what price, and which
    input sets that price (a tariff path; "block"; empty where a payment rule derives it)."""
    frame = pd.DataFrame(index=w.index)
    frame["price_input"] = price_input
    frame["component"], frame["effect"], frame["unit"] = component, effect, unit
    frame["recorded"] = np.asarray(recorded, dtype=float)
    frame["activity"] = np.asarray(activity, dtype=float)
    frame["price"] = np.broadcast_to(np.asarray(price, dtype=float), len(w)).copy()
    return frame


def line_components(
    w: pd.DataFrame, line: Line, inputs: FinanceInputs, threshold: Threshold
) -> list[pd.DataFrame]:
    """The components of one contract line, in the order the workbook lays them out."""
    price = inputs.price
    kind = line.simulated
    if kind == "non_elective":
        t = inputs.tariffs.non_elective
        spells = w["emergency_admissions"]
        short = np.minimum(w["short_stay_discharges"], spells)
        long = spells - short
        base = long * price("non_elective.spell") + short * price("non_elective.short_stay_spell")
        average = base / spells.where(spells > 0, 1)
        rows = [
            _rows(
                w,
                "spells of 2+ days",
                ADMISSIONS,
                long,
                long,
                "spells",
                price("non_elective.spell"),
                "non_elective.spell",
            ),
            _rows(
                w,
                "short-stay spells (under 2 days)",
                ADMISSIONS,
                short,
                short,
                "spells",
                price("non_elective.short_stay_spell"),
                "non_elective.short_stay_spell",
            ),
        ]
        for band, trim in t.trim_point_days.by_band().items():
            days = w[excess_bed_days_metric(trim, band)]
            label = band_label(band)
            rows.append(
                _rows(
                    w,
                    f"bed days beyond {trim} days, aged {label}",
                    EXCESS_BED_DAYS,
                    days,
                    days,
                    "bed days",
                    price("non_elective.excess_bed_day"),
                    "non_elective.excess_bed_day",
                )
            )
        above = np.maximum(spells - threshold.spells, 0) if t.marginal_rate.enabled else 0 * spells
        rows.append(
            _rows(
                w,
                "marginal rate: spells above the threshold",
                MARGINAL_RATE,
                spells,
                above,
                "spells",
                -average * (1 - t.marginal_rate.rate),
            )
        )
        readmissions = w["readmissions_30d"]
        unpaid = (
            np.maximum(readmissions - t.readmissions.max_rate * spells, 0)
            if t.readmissions.enabled
            else 0 * spells
        )
        rows.append(
            _rows(
                w,
                "readmissions above the threshold, unpaid",
                READMISSION_RULE,
                readmissions,
                unpaid,
                "spells",
                -average,
            )
        )
        return rows
    if kind == "ae":
        admitted = w["ae_attendances"] * w["ae_conversion_rate"]
        not_admitted = w["ae_attendances"] - admitted
        return [
            _rows(
                w,
                "attendances admitted",
                ACTIVITY,
                admitted,
                admitted,
                "attendances",
                price("ae.admitted"),
                "ae.admitted",
            ),
            _rows(
                w,
                "attendances not admitted",
                ACTIVITY,
                not_admitted,
                not_admitted,
                "attendances",
                price("ae.not_admitted"),
                "ae.not_admitted",
            ),
        ]
    if kind == "ucc":
        n = w["ucc_attendances"]
        path = "ucc.attendance"
        return [_rows(w, "attendances", ACTIVITY, n, n, "attendances", price(path), path)]
    if kind == "ambulance":
        hear = w["ambulance_hear_and_treat"]
        see = w["ambulance_see_and_treat"] + w["ambulance_pathfinder_referrals"]
        convey = w["ambulance_conveyances"]
        return [
            _rows(
                w,
                "hear and treat",
                ACTIVITY,
                hear,
                hear,
                "incidents",
                price("ambulance.hear_and_treat"),
                "ambulance.hear_and_treat",
            ),
            _rows(
                w,
                "see and treat (incl. pathfinder referrals)",
                ACTIVITY,
                see,
                see,
                "incidents",
                price("ambulance.see_and_treat"),
                "ambulance.see_and_treat",
            ),
            _rows(
                w,
                "see, treat and convey",
                ACTIVITY,
                convey,
                convey,
                "incidents",
                price("ambulance.see_treat_convey"),
                "ambulance.see_treat_convey",
            ),
        ]
    if kind == "community":
        contacts = w["rrt_referrals"]
        if inputs.tariffs.community.payment == "block":
            # A block pays the contract line whatever the activity: one block a year.
            return [
                _rows(
                    w,
                    "block payment",
                    BLOCK,
                    contacts,
                    np.ones(len(w)),
                    "years",
                    line.income,
                    "block",
                )
            ]
        return [
            _rows(
                w,
                "contacts",
                ACTIVITY,
                contacts,
                contacts,
                "contacts",
                price("community.per_contact"),
                "community.per_contact",
            )
        ]
    raise ValueError(f"no simulated activity {kind!r}")


def default_reference(kpis: pd.DataFrame) -> str:
    scenarios = list(dict.fromkeys(kpis["scenario"]))
    return "do-nothing" if "do-nothing" in scenarios else scenarios[0]


def price_activity(
    kpis: pd.DataFrame, inputs: FinanceInputs, reference: str | None = None
) -> Pricing:
    """Priced activity of every simulated line; under ``reconciliation.method = "scale"``
    each line is scaled so its reference baseline-year income equals the contract line."""
    kpis = whole_area(kpis)  # a results folder's table also holds each locality's rows
    reference = reference or default_reference(kpis)
    w = wide_kpis(kpis)
    threshold = marginal_threshold(w, inputs, reference)
    frames = []
    scale: dict[tuple[str, str], float] = {}
    for provider in inputs.book.provider:
        for line in provider.line:
            if line.simulated == "none":
                continue
            parts = line_components(w, line, inputs, threshold)
            frame = pd.concat(parts).reset_index()
            frame["provider"], frame["line"] = provider.id, line.id
            frame["amount"] = frame["activity"] * frame["price"]
            factor = 1.0
            if inputs.tariffs.reconciliation.method == "scale" and line.simulated != "community":
                baseline = _baseline_income(frame, reference, threshold.first_year)
                factor = line.income / baseline if baseline > 0 else 1.0
            scale[(provider.id, line.id)] = factor
            frame["scale"] = factor
            frame["amount"] *= factor
            frames.append(frame)
    columns = pd.DataFrame(columns=COMPONENT_COLUMNS)
    components = pd.concat(frames, ignore_index=True)[COMPONENT_COLUMNS] if frames else columns
    return Pricing(components, threshold, scale, reference)


def _baseline_income(frame: pd.DataFrame, reference: str, first_year: str) -> float:
    rows = frame[(frame["scenario"] == reference) & (frame["financial_year"] == first_year)]
    return float(rows.groupby("replication")["amount"].sum().mean()) if len(rows) else 0.0


def simulated_income(
    kpis: pd.DataFrame, inputs: FinanceInputs, reference: str | None = None
) -> pd.DataFrame:
    """Long table: scenario, replication, year, financial_year, provider, line, income."""
    return line_income(price_activity(kpis, inputs, reference).components)


def line_income(components: pd.DataFrame) -> pd.DataFrame:
    """Income per line and the provider's simulated total, per scenario/replication/year."""
    if components.empty:
        return pd.DataFrame(columns=[*KEYS, "provider", "line", "income"])
    group = [*KEYS, "provider", "line"]
    income = components.groupby(group, sort=False)["amount"].sum().rename("income").reset_index()
    totals = (
        income.groupby([*KEYS, "provider"], sort=False)["income"]
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
    "status",
    "baseline_income",
    "scenario_income",
    "income_at_risk",
    "ci_low",
    "ci_high",
    "n",
]


def paired_at_risk(
    frame: pd.DataFrame, reference: str, by: Sequence[str], value: str
) -> pd.DataFrame:
    """Reference minus scenario ``value``, paired by replication, for each ``by`` group.

    Columns: scenario, year, financial_year, *by, baseline_income, scenario_income,
    income_at_risk, ci_low, ci_high, n.
    """
    group = ["scenario", "year", "financial_year", *by]
    keys = [k for k in group if k != "scenario"]
    base = frame[frame["scenario"] == reference].set_index([*keys, "replication"])[value]
    rows = []
    for labels, part in frame.groupby(group, sort=False):
        mine = part.set_index("replication")[value]
        theirs = base.xs(tuple(labels[1:]), level=list(range(len(keys)))).reindex(mine.index)
        at_risk = (theirs - mine).to_numpy(dtype=float)
        mean, _, low, high = t_interval(at_risk)
        rows.append(
            (*labels, float(theirs.mean()), float(mine.mean()), mean, low, high, len(at_risk))
        )
    names = [*group, "baseline_income", "scenario_income", "income_at_risk", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=[*names, "n"])


def income_at_risk(
    income: pd.DataFrame, reference: str, inputs: FinanceInputs | None = None
) -> pd.DataFrame:
    """Reference income minus scenario income per line and provider total, paired.

    With ``inputs``, every contract line the model does not simulate is listed too,
    with status "not simulated" and no simulated figures, so no provider drops out.
    """
    if income.empty:
        at_risk = pd.DataFrame(columns=FINANCE_COLUMNS)
    else:
        at_risk = paired_at_risk(income, reference, ["provider", "line"], "income")
        at_risk["status"] = "simulated"
        at_risk = at_risk[FINANCE_COLUMNS]
    if inputs is None:
        return at_risk
    periods = (
        income[["scenario", "year", "financial_year"]].drop_duplicates()
        if not income.empty
        else pd.DataFrame(columns=["scenario", "year", "financial_year"])
    )
    extra = []
    for provider in inputs.book.provider:
        for line in provider.line:
            if line.simulated != "none":
                continue
            for period in periods.itertuples(index=False):
                extra.append(
                    {
                        "scenario": period.scenario,
                        "year": period.year,
                        "financial_year": period.financial_year,
                        "provider": provider.id,
                        "line": line.id,
                        "status": NOT_SIMULATED,
                    }
                )
    if not extra:
        return at_risk
    return pd.concat([at_risk, pd.DataFrame(extra, columns=FINANCE_COLUMNS)], ignore_index=True)


DECOMPOSITION_COLUMNS = [
    "scenario",
    "year",
    "financial_year",
    "provider",
    "effect",
    "baseline_income",
    "scenario_income",
    "income_at_risk",
    "ci_low",
    "ci_high",
    "n",
]


def decompose_income_at_risk(components: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Income at risk per provider split by what moved it (admissions, stays, rules)."""
    if components.empty:
        return pd.DataFrame(columns=DECOMPOSITION_COLUMNS)
    by_effect = (
        components.groupby([*KEYS, "provider", "effect"], sort=False)["amount"].sum().reset_index()
    )
    return paired_at_risk(by_effect, reference, ["provider", "effect"], "amount")[
        DECOMPOSITION_COLUMNS
    ]


RECONCILIATION_COLUMNS = [
    "provider",
    "line",
    "label",
    "financial_year",
    "contract_income",
    "simulated_income",
    "difference",
    "difference_share",
    "contract_volume",
    "simulated_volume",
    "volume_unit",
    "method",
    "scale",
    "note",
]

# The activity that counts as a line's volume, by what it simulates.
VOLUME = {
    "non_elective": (("spells of 2+ days", "short-stay spells (under 2 days)"), "spells"),
    "ae": (("attendances admitted", "attendances not admitted"), "attendances"),
    "ucc": (("attendances",), "attendances"),
    "ambulance": (
        ("hear and treat", "see and treat (incl. pathfinder referrals)", "see, treat and convey"),
        "incidents",
    ),
    "community": (("block payment", "contacts"), "contacts"),
}


def reconcile(pricing: Pricing, inputs: FinanceInputs) -> pd.DataFrame:
    """Every contract line against the simulated baseline-year income of the reference
    (lines the model does not simulate are listed as such).

    Income is compared before any scaling (the gap the tool reports), and the
    factor the "scale" method applies is shown beside it.
    """
    c = pricing.components
    first = c[
        (c["scenario"] == pricing.reference) & (c["financial_year"] == pricing.threshold.first_year)
    ]
    method = inputs.tariffs.reconciliation.method
    rows = []
    for provider in inputs.book.provider:
        for line in provider.line:
            row: dict[str, object] = {
                "provider": provider.id,
                "line": line.id,
                "label": line.label,
                "financial_year": pricing.threshold.first_year,
                "contract_income": line.income,
                "contract_volume": line.contract_volume,
                "method": method,
            }
            rows.append(row)
            if line.simulated == "none":
                row["note"] = f"{NOT_SIMULATED}: the model has no activity for this line"
                continue
            mine = first[(first["provider"] == provider.id) & (first["line"] == line.id)]
            factor = pricing.scale.get((provider.id, line.id), 1.0)
            income = float(mine.groupby("replication")["amount"].sum().mean()) / factor
            names, unit = VOLUME[line.simulated]
            volume_rows = mine[mine["component"].isin(names)]
            if line.simulated == "community" and inputs.tariffs.community.payment == "block":
                note = "block contract: paid in full whatever the activity"
            elif method == "scale":
                note = f"prices scaled by {factor:.3f} so baseline income equals the contract line"
            else:
                note = "reported: priced at tariff, not scaled to the contract"
            row.update(
                simulated_income=income,
                difference=income - line.income,
                difference_share=(income - line.income) / line.income if line.income else np.nan,
                simulated_volume=float(volume_rows.groupby("replication")["recorded"].sum().mean()),
                volume_unit=unit,
                scale=factor,
                note=note,
            )
    return pd.DataFrame(rows, columns=RECONCILIATION_COLUMNS).fillna({"volume_unit": ""})


def effect_order(effect: str) -> int:
    return EFFECTS.index(effect) if effect in EFFECTS else len(EFFECTS)


def band_label(band: str) -> str:
    return band.removeprefix("age_").replace("_plus", "+").replace("_", "-")
