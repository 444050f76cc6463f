"""Across-replication summaries and paired scenario differences.

Replication ``r`` of every scenario shares its random streams (common random
numbers), so the difference between two scenarios is best estimated from
the per-replication differences: their spread excludes the noise the
scenarios share, which is why the paired interval is much narrower than the
unpaired (Welch) interval reported beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import stdtrit  # Student t quantile, without importing scipy.stats

from sim.metrics import SHARE_METRICS

CONFIDENCE = 0.95
KEYS = ["scenario", "year", "financial_year", "metric"]


def t_interval(
    values: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[float, float, float, float]:
    """Mean, sd, and the t-interval of the mean (nan bounds when n < 2)."""
    values = values[~np.isnan(values)]
    n = values.size
    if n == 0:
        return (np.nan, np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if n < 2:
        return (mean, np.nan, np.nan, np.nan)
    sd = float(values.std(ddof=1))
    half = float(stdtrit(n - 1, 0.5 + confidence / 2) * sd / np.sqrt(n))
    return (mean, sd, mean - half, mean + half)


def summarise(kpis: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """scenario, year, financial_year, metric, mean, sd, ci_low, ci_high, n."""
    rows = []
    for key, group in kpis.groupby(KEYS, sort=False):
        values = group["value"].to_numpy(dtype=float)
        mean, sd, low, high = t_interval(values, confidence)
        # Every metric is a count, rate, time or share: its interval cannot go below 0,
        # and a share's cannot go above 1.
        low = max(low, 0.0)
        if key[-1] in SHARE_METRICS:
            high = min(high, 1.0)
        rows.append((*key, mean, sd, low, high, int(np.sum(~np.isnan(values)))))
    return pd.DataFrame(rows, columns=[*KEYS, "mean", "sd", "ci_low", "ci_high", "n"])


def paired_differences(
    kpis: pd.DataFrame, reference: str, confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """Each scenario minus ``reference``, replication by replication, with both intervals."""
    wide = kpis.pivot_table(
        index=["year", "financial_year", "metric", "replication"],
        columns="scenario",
        values="value",
        aggfunc="first",
    )
    if reference not in wide.columns:
        return pd.DataFrame()
    rows = []
    for scenario in [s for s in kpis["scenario"].unique() if s != reference]:
        if scenario not in wide.columns:
            continue
        for (year, fy, metric), group in wide.groupby(level=[0, 1, 2], sort=False):
            base = group[reference].to_numpy(dtype=float)
            other = group[scenario].to_numpy(dtype=float)
            both = ~(np.isnan(base) | np.isnan(other))
            diff = other[both] - base[both]
            mean, sd, low, high = t_interval(diff, confidence)
            u_low, u_high = welch_interval(other[both], base[both], confidence)
            base_mean = float(base[both].mean()) if both.any() else np.nan
            rows.append(
                (
                    scenario,
                    reference,
                    year,
                    fy,
                    metric,
                    mean,
                    sd,
                    low,
                    high,
                    int(both.sum()),
                    mean / base_mean if base_mean else np.nan,
                    u_low,
                    u_high,
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "scenario",
            "reference",
            "year",
            "financial_year",
            "metric",
            "mean_difference",
            "sd",
            "ci_low",
            "ci_high",
            "n",
            "relative_difference",
            "unpaired_ci_low",
            "unpaired_ci_high",
        ],
    )


def welch_interval(
    a: np.ndarray, b: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Interval for mean(a) - mean(b) treating the samples as independent."""
    if a.size < 2 or b.size < 2:
        return (np.nan, np.nan)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = np.sqrt(va + vb)
    if se == 0:
        diff = float(a.mean() - b.mean())
        return (diff, diff)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stdtrit(dof, 0.5 + confidence / 2) * se)
    diff = float(a.mean() - b.mean())
    return (diff - half, diff + half)
