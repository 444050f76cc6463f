"""Plan targets: declared per area in ``calibration/<area>/targets.toml``, scored per
scenario and year from the replications, each on its own indicator, with the gap stated.

``p_met`` is the share of replications in which the target is met; the RAG
status follows the area's thresholds (default: green when p_met >= 0.8,
amber when p_met >= 0.5, red below). A RAG status is only given where it
means what it says:

* an ``absolute`` target whose stated baseline the model misses by more than
  ``baseline_tolerance`` (default 10%) is reported as ``baseline mismatch``,
  with both numbers, not coloured;
* a target the model cannot evaluate is listed as ``not modelled`` with the
  reason; a target year outside the run as ``beyond the run``; a target
  defined against do nothing, in a run without do nothing, as ``not evaluated``.

Kinds of target (``value`` means):

* ``absolute``: the level itself (e.g. composite at most 2,530 per 100,000);
* ``change_from_baseline``: a relative change from the same replication's
  year 0 (e.g. -0.15);
* ``change_from_stated_baseline``: a relative change from the target's stated
  baseline year, scored against the model's own value for that year
  (back-cast at the model's growth when the year precedes year 0);
* ``relative_to_stated_baseline``: a level stated beside a baseline level; the
  relative change they imply (value / baseline - 1) is applied to the model's
  own baseline, so a model that misses the level can still be scored;
* ``difference_from_reference``: the metric minus do nothing's in the same
  replication and year (e.g. -1,574 admissions);
* ``relative_difference_from_reference``: a relative change from do nothing
  (e.g. -0.15: 15% fewer than do nothing);
* ``not_modelled``: stated by the plan, not something the model produces.

The gap: for every row, the change required (against do nothing and against
the baseline), the change delivered against do nothing (paired mean and
interval) and delivered / required. A target that do nothing already meets
is ``met without the plan``: a scenario gets no credit for it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.metrics import roll_factor, years_between
from sim.store import whole_area
from sim.summary import t_interval
from sim.target_file import (
    BECAUSE_OF_PLAN,
    MET_WITHOUT_PLAN,
    RAG,
    REFERENCE_KINDS,
    RELATIVE_KINDS,
    RAGRule,
    Target,
    TargetSet,
)

TARGET_COLUMNS = [
    "scenario",
    "target_id",
    "description",
    "reading",
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
    "attribution",
    "stated_baseline",
    "stated_baseline_year",
    "model_baseline",
    "baseline_ratio",
    "required_vs_reference",
    "required_vs_baseline",
    "delivered",
    "delivered_ci_low",
    "delivered_ci_high",
    "delivered_share",
    "note",
    "source",
    "confidence",
]


@dataclass(frozen=True)
class Growth:
    """The model's growth, used to back-cast a metric to a year before year 0."""

    list_growth: float = 0.0
    per_capita_trend: float = 0.0


class _Run:
    """The run's KPIs as (scenario, replication) x (metric, financial year) arrays."""

    def __init__(self, kpis: pd.DataFrame, growth: Growth):
        self.wide = kpis.pivot_table(
            index=["scenario", "replication"],
            columns=["metric", "financial_year"],
            values="value",
            aggfunc="first",
        )
        year0 = kpis.loc[kpis["year"] == 0, "financial_year"]
        self.year0: str | None = str(year0.iloc[0]) if len(year0) else None
        self.years = set(kpis["financial_year"].astype(str))
        self.growth = growth

    def values(self, scenario: str, metric: str, year: str) -> np.ndarray | None:
        if (metric, year) not in self.wide.columns or scenario not in self.wide.index:
            return None
        return self.wide.loc[scenario, (metric, year)].to_numpy(dtype=float)

    def at(self, scenario: str, metric: str, year: str) -> np.ndarray | None:
        """The metric in ``year``; before year 0, year 0 back-cast at the model's growth."""
        if year in self.years or self.year0 is None:
            return self.values(scenario, metric, year)
        before = years_between(year, self.year0)
        if before <= 0:
            return None
        year0 = self.values(scenario, metric, self.year0)
        if year0 is None:
            return None
        g = self.growth
        return year0 / roll_factor(metric, before, g.list_growth, g.per_capita_trend)


def _mean(values: np.ndarray | None) -> float:
    return float(np.nanmean(values)) if values is not None and values.size else np.nan


def evaluate_targets(
    kpis: pd.DataFrame,
    targets: TargetSet,
    reference: str,
    growth: Growth | None = None,
    reference_is_do_nothing: bool = True,
) -> pd.DataFrame:
    """One row per scenario, target and target year (none dropped: see the statuses)."""
    kpis = whole_area(kpis)  # targets are the area's
    run = _Run(kpis, growth or Growth())
    scenarios = [str(s) for s in kpis["scenario"].unique()]
    rows = []
    for target in targets.target:
        for year in target.years:
            reference_met = np.nan
            if reference in scenarios and target.kind not in REFERENCE_KINDS:
                scored = _score(run, target, year, reference, reference, targets.rag)
                reference_met = float(scored["p_met"])  # type: ignore[arg-type]
            for scenario in scenarios:
                row = _score(run, target, year, scenario, reference, targets.rag)
                if target.kind in REFERENCE_KINDS and not reference_is_do_nothing:
                    row.update(
                        status="not evaluated",
                        note=f"no do-nothing in this run (reference would be {reference})",
                        p_met=np.nan,
                    )
                elif target.kind in REFERENCE_KINDS and scenario == reference:
                    continue  # a difference from itself says nothing
                if (
                    row["status"] in RAG
                    and not np.isnan(reference_met)
                    and reference_met >= targets.rag.green_at_least
                ):
                    row["attribution"] = MET_WITHOUT_PLAN
                elif row["status"] == "green" and scenario != reference:
                    row["attribution"] = BECAUSE_OF_PLAN
                rows.append(row)
    return pd.DataFrame(rows, columns=TARGET_COLUMNS)


@dataclass(frozen=True)
class _Measured:
    """One target in one scenario and year, per replication."""

    values: np.ndarray  # the metric itself
    measured: np.ndarray  # what is compared with the threshold
    threshold: np.ndarray
    model_base: np.ndarray | None  # the model's value for the target's baseline
    own_reference: np.ndarray | None  # the reference scenario's metric

    def required_level(self, target: Target) -> np.ndarray:
        """The level of the metric the target asks for, in the metric's own units."""
        if target.kind == "difference_from_reference":
            assert self.own_reference is not None
            return self.own_reference + self.threshold
        return self.threshold


def _measure(
    run: _Run, target: Target, year: str, scenario: str, reference: str
) -> _Measured | tuple[str, str]:
    """The measured value and threshold per replication, or (status, note) why there is none."""
    stated = target.baseline
    values = run.values(scenario, target.metric, year)
    if values is None:
        if (target.metric, run.year0) in run.wide.columns:
            return "beyond the run", f"{year} is not among the simulated years"
        produced = sorted({str(m) for m in run.wide.columns.get_level_values("metric")})
        close = difflib.get_close_matches(target.metric, produced, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return "not modelled", f"metric {target.metric} is not produced by the model{hint}"
    assert target.value is not None  # checked by Target's validator
    own_reference = run.values(reference, target.metric, year)
    if stated is not None:
        model_base = run.at(scenario, target.metric, stated.year)
    else:
        model_base = run.values(scenario, target.metric, run.year0 or year)
    if target.kind == "absolute":
        measured, threshold = values, np.full_like(values, target.value)
    elif target.kind == "change_from_baseline" or target.kind in RELATIVE_KINDS:
        if model_base is None:
            return "not modelled", f"no model value for {stated and stated.year}"
        change = target.value
        if target.kind == "relative_to_stated_baseline":
            assert stated is not None and stated.value
            change = target.value / stated.value - 1
        measured, threshold = values, model_base * (1 + change)
    elif own_reference is None:
        return "not evaluated", "no reference scenario in this run"
    elif target.kind == "difference_from_reference":
        measured, threshold = values - own_reference, np.full_like(values, target.value)
    else:  # relative_difference_from_reference
        measured, threshold = values, own_reference * (1 + target.value)
    return _Measured(values, measured, threshold, model_base, own_reference)


def required_level(
    kpis: pd.DataFrame, target: Target, year: str, reference: str, growth: Growth | None = None
) -> tuple[float, float]:
    """(level the target asks for, the reference scenario's level), means over replications.

    NaN where the target cannot be evaluated in this run.
    """
    found = _measure(_Run(kpis, growth or Growth()), target, year, reference, reference)
    if not isinstance(found, _Measured) or found.own_reference is None:
        return np.nan, np.nan
    return float(np.mean(found.required_level(target))), float(np.mean(found.own_reference))


def _score(
    run: _Run, target: Target, year: str, scenario: str, reference: str, rag: RAGRule
) -> dict[str, object]:
    """The row for one scenario: measured value, threshold, p_met, status and the gap."""
    stated = target.baseline
    row: dict[str, object] = dict.fromkeys(TARGET_COLUMNS, np.nan)
    row.update(
        scenario=scenario,
        target_id=target.id,
        description=target.description,
        reading=target.reading,
        metric=target.metric,
        year=year,
        kind=target.kind,
        n=0,
        attribution="",
        note="",
        source=target.source,
        confidence=target.confidence,
        stated_baseline=stated.value if stated and stated.value is not None else np.nan,
        stated_baseline_year=stated.year if stated else "",
    )
    if target.kind == "not_modelled":
        row.update(status="not modelled", note=target.reason)
        return row
    found = _measure(run, target, year, scenario, reference)
    if not isinstance(found, _Measured):
        row.update(status=found[0], note=found[1])
        return row
    met = (
        found.measured <= found.threshold
        if target.direction == "at_most"
        else found.measured >= found.threshold
    )
    mean, _, low, high = t_interval(found.measured)
    p_met = float(met.mean()) if met.size else np.nan
    row.update(
        target=float(np.mean(found.threshold)),
        mean=mean,
        ci_low=low,
        ci_high=high,
        n=int(found.measured.size),
        p_met=p_met,
        status=rag.status(p_met),
    )
    base_mean = _mean(found.model_base)
    row["model_baseline"] = base_mean
    if stated is not None and stated.value:
        ratio = base_mean / stated.value
        row["baseline_ratio"] = ratio
        if target.kind == "absolute" and abs(ratio - 1) > rag.baseline_tolerance:
            row["status"] = "baseline mismatch"
            row["note"] = (
                f"the model's {target.metric} in {stated.year} is {base_mean:,.0f} against the "
                f"stated {stated.value:,.0f} ({ratio - 1:+.0%}): a level target cannot be scored "
                "on a model that misses its baseline"
            )
    _gap(row, target, found)
    return row


def _gap(row: dict[str, object], target: Target, found: _Measured) -> None:
    """Required and delivered change, paired by replication (common random numbers)."""
    if target.kind not in REFERENCE_KINDS and found.model_base is not None:
        row["required_vs_baseline"] = float(np.mean(found.threshold - found.model_base))
    if found.own_reference is None:
        return
    if target.kind == "difference_from_reference":
        required, delivered = found.threshold, found.measured
    else:
        required = found.threshold - found.own_reference
        delivered = found.values - found.own_reference
    required_mean = float(np.mean(required))
    mean, _, low, high = t_interval(delivered)
    row.update(
        required_vs_reference=required_mean,
        delivered=mean,
        delivered_ci_low=low,
        delivered_ci_high=high,
    )
    wanted_down = target.direction == "at_most"
    if (required_mean < 0) if wanted_down else (required_mean > 0):
        row["delivered_share"] = mean / required_mean


__all__ = ["TARGET_COLUMNS", "Growth", "evaluate_targets", "required_level"]
