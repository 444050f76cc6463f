"""Backtest: the default area still gives the stored results, within statistical tolerances.

``tests/data/backtest.csv`` holds, for do-nothing and best-case on the shipped
Dudley calibration (one year, seed 11), each metric's and outcome count's mean
and standard deviation over 8 replications. A run now must agree metric by
metric: the two means within four standard errors of their difference (or
exactly, for a metric that does not vary). An unchanged model gives the same
numbers (common random numbers); a change that moves results by less than the
replications can resolve passes, and one that moves them further fails, naming
each metric. If a move is intended (a model change, a new calibration), say so
in the CHANGELOG and rewrite the file with ``python tests/test_backtest.py --write``:
the failure message shows what moved, so nothing is rewritten blind.

The fast tier checks replication 0 alone against the stored spread (a prediction
interval); the slow tier checks the mean of all 8.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.loading import project_root, resolve, with_overrides
from sim.replication import run_replication

STORED = Path(__file__).resolve().parent / "data" / "backtest.csv"
SCENARIOS = ("do-nothing", "best-case")
SEED = 11
REPLICATIONS = 8
STANDARD_ERRORS = 4.0
# Equal means, to the last digits numpy builds on other CPUs may differ in.
RELATIVE_FLOOR = 1e-9
KEYS = ["scenario", "year", "metric"]


def current_results(replications: int = REPLICATIONS) -> pd.DataFrame:
    """Every metric (and outcome count, as year -1) of each replication: one row each."""
    frames = []
    for name in SCENARIOS:
        config = with_overrides(
            resolve(project_root() / "scenarios" / f"{name}.toml").config, {"run.years": 1}
        )
        for replication in range(replications):
            result = run_replication(config, replication, SEED)
            annual = result.long()[[*KEYS, "value"]]
            counts = pd.DataFrame(
                {
                    "scenario": name,
                    "year": -1,
                    "metric": [f"outcome:{k}" for k in result.outcome_counts]
                    + ["episodes", "terminations"],
                    "value": [
                        *result.outcome_counts.values(),
                        result.episodes,
                        result.terminations,
                    ],
                }
            )
            frames += [
                annual.assign(replication=replication),
                counts.assign(replication=replication),
            ]
    return pd.concat(frames, ignore_index=True).astype({"value": float})


def statistics(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count of each metric over the replications."""
    grouped = rows.groupby(KEYS, sort=False)["value"]
    return grouped.agg(mean="mean", sd="std", n="count").reset_index().fillna({"sd": 0.0})


def moved(stored: pd.DataFrame, now: pd.DataFrame, prediction: bool = False) -> pd.DataFrame:
    """Metrics whose current mean is further from the stored one than the tolerance.

    ``prediction``: ``now`` is a single replication, judged against the stored spread.
    """
    both = stored.merge(now, on=KEYS, suffixes=("_stored", "_now"), how="outer")
    if prediction:
        spread = both["sd_stored"] * np.sqrt(1 + 1 / both["n_stored"])
    else:
        spread = np.sqrt(
            both["sd_stored"] ** 2 / both["n_stored"] + both["sd_now"] ** 2 / both["n_now"]
        )
    tolerance = np.maximum(STANDARD_ERRORS * spread, RELATIVE_FLOOR * both["mean_stored"].abs())
    difference = both["mean_now"] - both["mean_stored"]
    same_nan = both["mean_now"].isna() & both["mean_stored"].isna()
    out = both[~same_nan & ~(difference.abs() <= tolerance)]
    return out.assign(standard_errors=(difference / spread)[out.index])[
        [*KEYS, "mean_stored", "mean_now", "sd_stored", "standard_errors"]
    ]


def test_the_metric_registry_is_what_a_run_reports() -> None:
    """Targets and baselines are checked against metric_names() before a run: it must be
    exactly the set a replication reports."""
    from sim.metrics import metric_names

    stored = pd.read_csv(STORED)
    reported = set(stored.loc[stored["year"] >= 0, "metric"])
    assert reported == set(metric_names())


@pytest.mark.slow
def test_results_agree_with_the_stored_backtest() -> None:
    stored = pd.read_csv(STORED)
    now = statistics(current_results())
    assert set(map(tuple, now[KEYS].to_numpy())) == set(map(tuple, stored[KEYS].to_numpy())), (
        "the metrics reported differ from the stored set"
    )
    shifted = moved(stored, now)
    assert shifted.empty, f"results moved from the stored backtest:\n{shifted.to_string()}"


def test_one_replication_falls_within_the_stored_spread() -> None:
    stored = pd.read_csv(STORED)
    now = statistics(current_results(replications=1))
    shifted = moved(stored, now, prediction=True)
    assert shifted.empty, f"replication 0 is outside the stored spread:\n{shifted.to_string()}"


def test_the_tolerance_sees_a_real_change() -> None:
    """The check can fail: 2% more emergency admissions than stored is flagged."""
    stored = pd.read_csv(STORED)
    changed = stored.copy()
    rows = changed["metric"] == "emergency_admissions"
    changed.loc[rows, "mean"] *= 1.02
    assert set(moved(stored, changed)["metric"]) == {"emergency_admissions"}
    assert moved(stored, stored).empty


if __name__ == "__main__" and "--write" in sys.argv:
    STORED.parent.mkdir(exist_ok=True)
    statistics(current_results()).to_csv(STORED, index=False, float_format="%.17g")
    print(f"wrote {STORED}")
