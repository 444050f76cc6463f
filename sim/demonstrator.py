"""A demonstrator evaluated as its evaluators would, and whether it could show anything.

A place-based pilot (Bury's "A Healthier Radcliffe") is judged by a
difference in differences: the change in its localities' rate from the year
before to its first year, less the change in the rest of the area. The real
evaluation sees one realisation of that figure; the model sees many, so it can
say how large the noise is. Under do nothing the difference in differences is
pure noise (chance, and regression to the mean of the places): its spread
across replications gives the smallest effect a single evaluation could detect
(80% power, two-sided 5%), and the chance that it detects the effect the
scenario carries. Scenarios are compared replication by replication (common
random numbers), so the modelled effect itself is estimated precisely.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from sim.config import ModelConfig
from sim.metrics import metric as registered
from sim.summary import t_interval

DEMONSTRATOR_FILE = "demonstrator.csv"
# Metrics judged, each as a rate per 100,000 registered in the places compared.
JUDGED = ("emergency_admissions", "ae_attendances_all_types", "urgent_episodes")
FIRM_REPLICATIONS = 30  # below this, the spread (and so the detectable effect) is rough
ALPHA = 0.05
POWER = 0.80
Z_ALPHA = float(ndtri(1 - ALPHA / 2))
Z_POWER = float(ndtri(POWER))
COLUMNS = [
    "scenario",
    "reference",
    "metric",
    "treated",
    "before_year",
    "after_year",
    "before_financial_year",
    "after_financial_year",
    "treated_before",
    "treated_after",
    "control_before",
    "control_after",
    "did_mean",
    "did_single_low",
    "did_single_high",
    "effect",
    "effect_ci_low",
    "effect_ci_high",
    "effect_relative",
    "null_sd",
    "mde_80",
    "mde_80_relative",
    "power",
    "replications_needed",
    "n",
]


def rates(places: pd.DataFrame, localities: list[str], metric: str, year: int) -> pd.Series:
    """Per replication: the metric per 100,000 registered across ``localities`` in ``year``."""
    here = places[places["locality"].isin(localities) & (places["year"] == year)]
    wide = here.pivot_table(
        index="replication", columns="metric", values="value", aggfunc="sum"
    ).sort_index()
    return wide[metric] / wide["population"] * 1e5


def difference_in_differences(
    places: pd.DataFrame, treated: list[str], metric: str, before: int, after: int
) -> pd.DataFrame:
    """Per replication: each group's rate before and after, and their difference in
    differences ((treated after - before) - (control after - before))."""
    control = sorted(set(places["locality"]) - set(treated))
    frame = pd.DataFrame(
        {
            "treated_before": rates(places, treated, metric, before),
            "treated_after": rates(places, treated, metric, after),
            "control_before": rates(places, control, metric, before),
            "control_after": rates(places, control, metric, after),
        }
    )
    frame["did"] = (frame["treated_after"] - frame["treated_before"]) - (
        frame["control_after"] - frame["control_before"]
    )
    return frame


def evaluate_demonstrators(
    places: pd.DataFrame, configs: list[ModelConfig], reference: str
) -> pd.DataFrame:
    """One row per demonstrator scenario and judged metric (empty without one)."""
    rows = []
    for config in configs:
        pilot = config.scenario.demonstrator
        name = config.scenario.name
        if pilot is None or name == reference:
            continue
        own = places[places["scenario"] == name]
        base = places[places["scenario"] == reference]
        for metric in JUDGED:
            args = (pilot.localities, metric, pilot.before_year, pilot.after_year)
            scenario_did = difference_in_differences(own, *args)
            null_did = difference_in_differences(base, *args)
            paired = (scenario_did["did"] - null_did["did"]).dropna().to_numpy()
            effect, paired_sd, low, high = t_interval(paired)
            null_sd = float(null_did["did"].std(ddof=1))
            did = scenario_did["did"].to_numpy()
            mde = (Z_ALPHA + Z_POWER) * null_sd
            baseline = float(scenario_did["treated_before"].mean())
            rows.append(
                {
                    "scenario": name,
                    "reference": reference,
                    "metric": metric,
                    "treated": "; ".join(pilot.localities),
                    "before_year": pilot.before_year,
                    "after_year": pilot.after_year,
                    "before_financial_year": financial_year(own, pilot.before_year),
                    "after_financial_year": financial_year(own, pilot.after_year),
                    **{c: float(scenario_did[c].mean()) for c in GROUP_RATES},
                    "did_mean": float(did.mean()),
                    # What one evaluation could see (95% of single realisations).
                    "did_single_low": float(np.quantile(did, 0.025)),
                    "did_single_high": float(np.quantile(did, 0.975)),
                    "effect": effect,
                    "effect_ci_low": low,
                    "effect_ci_high": high,
                    "effect_relative": effect / baseline,
                    "null_sd": null_sd,
                    "mde_80": mde,
                    "mde_80_relative": mde / baseline,
                    "power": float(ndtr(abs(effect) / null_sd - Z_ALPHA)) if null_sd > 0 else 1.0,
                    "replications_needed": replications_needed(effect, paired_sd),
                    "n": int(paired.size),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


GROUP_RATES = ("treated_before", "treated_after", "control_before", "control_after")


def financial_year(places: pd.DataFrame, year: int) -> str:
    return str(places.loc[places["year"] == year, "financial_year"].iloc[0])


def replications_needed(effect: float, paired_sd: float) -> float:
    """Paired replications for the model to tell the effect from zero at 80% power."""
    if not np.isfinite(paired_sd) or paired_sd == 0:
        return 2.0
    if effect == 0 or not np.isfinite(effect):
        return math.inf
    return float(max(2, math.ceil(((Z_ALPHA + Z_POWER) * paired_sd / abs(effect)) ** 2)))


def statement(row: pd.Series) -> str:
    """The board's sentence for one judged metric."""
    label = registered(str(row["metric"])).label.lower().replace("a&e", "A&E")
    return (
        f"{row['treated']} against the rest of the area, {row['before_financial_year']} to "
        f"{row['after_financial_year']}: one evaluation would detect a change in {label} of at "
        f"least {row['mde_80']:,.0f} per 100,000 ({row['mde_80_relative']:.1%} of the "
        f"demonstrator's baseline) with 80% power. The scenario's effect is "
        f"{row['effect']:+,.0f} per 100,000 ({row['effect_relative']:+.1%}); the chance "
        f"that the evaluation shows it is {row['power']:.0%}."
        + (
            f" (The noise is estimated from {int(row['n'])} replications: run "
            f"{FIRM_REPLICATIONS} or more for a firm figure.)"
            if int(row["n"]) < FIRM_REPLICATIONS
            else ""
        )
    )
