"""Plan targets: declared per area in ``calibration/<area>/targets.toml``, evaluated per
scenario and year from the replications.

``p_met`` is the share of replications in which the target is met; the RAG
status follows the area's documented thresholds (default: green when
p_met >= 0.8, amber when p_met >= 0.5, red below).

Three kinds of target:
* ``absolute``: the metric itself against a value (e.g. ACS admissions per
  100,000 at most 2,530 in 2015/16);
* ``change_from_baseline``: the metric's change from the same replication's
  year 0 (e.g. -15% emergency admissions by 2018/19);
* ``difference_from_reference``: the metric minus the reference scenario's
  (do nothing) in the same replication and year (the plan's "activity change
  after demographic growth").
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from sim.config import Probability, StrictModel
from sim.loading import read_toml, validated_file
from sim.summary import t_interval

TARGET_COLUMNS = [
    "scenario",
    "target_id",
    "description",
    "metric",
    "year",
    "kind",
    "target",
    "mean",
    "ci_low",
    "ci_high",
    "n",
    "p_met",
    "status",
]


class Target(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str
    metric: str
    kind: Literal["absolute", "change_from_baseline", "difference_from_reference"]
    direction: Literal["at_most", "at_least"] = "at_most"
    value: float
    years: list[str] = Field(min_length=1)
    source: str
    confidence: Literal["S", "P", "E"]


class RAGRule(StrictModel):
    green_at_least: Probability = 0.8
    amber_at_least: Probability = 0.5

    def status(self, p_met: float) -> str:
        if np.isnan(p_met):
            return "n/a"
        if p_met >= self.green_at_least:
            return "green"
        return "amber" if p_met >= self.amber_at_least else "red"


class TargetSet(StrictModel):
    rag: RAGRule = RAGRule()
    target: list[Target] = Field(default_factory=list)


def load_targets(path: Path) -> TargetSet:
    if not path.exists():
        return TargetSet()
    return validated_file(TargetSet, read_toml(path), path)


def evaluate_targets(kpis: pd.DataFrame, targets: TargetSet, reference: str) -> pd.DataFrame:
    """One row per scenario, target and target year present in the run."""
    rows = []
    wide = kpis.pivot_table(
        index=["scenario", "replication"],
        columns=["metric", "financial_year"],
        values="value",
        aggfunc="first",
    )
    baseline_year = kpis.loc[kpis["year"] == 0, "financial_year"]
    baseline_label = baseline_year.iloc[0] if len(baseline_year) else None
    for scenario in kpis["scenario"].unique():
        for target in targets.target:
            for year in target.years:
                if (target.metric, year) not in wide.columns:
                    continue
                values = wide.loc[scenario, (target.metric, year)].to_numpy(dtype=float)
                if target.kind == "absolute":
                    measured, threshold = values, np.full_like(values, target.value)
                elif target.kind == "change_from_baseline":
                    base = wide.loc[scenario, (target.metric, baseline_label)].to_numpy(dtype=float)
                    measured, threshold = values, base * (1 + target.value)
                else:
                    if scenario == reference or reference not in wide.index.get_level_values(0):
                        continue  # a difference from itself says nothing
                    ref = wide.loc[reference, (target.metric, year)].to_numpy(dtype=float)
                    measured, threshold = values - ref, np.full_like(values, target.value)
                met = (
                    measured <= threshold
                    if target.direction == "at_most"
                    else measured >= threshold
                )
                mean, _, low, high = t_interval(measured)
                p_met = float(met.mean()) if met.size else np.nan
                rows.append(
                    (
                        scenario,
                        target.id,
                        target.description,
                        target.metric,
                        year,
                        target.kind,
                        float(np.mean(threshold)),
                        mean,
                        low,
                        high,
                        int(measured.size),
                        p_met,
                        targets.rag.status(p_met),
                    )
                )
    return pd.DataFrame(rows, columns=TARGET_COLUMNS)
