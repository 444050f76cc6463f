"""Backtest: the default area still gives the stored results for a fixed seed.

``tests/data/backtest.csv`` holds the annual metrics and outcome counts of one
1-year replication (seed 11) of do-nothing and best-case on the shipped Dudley
calibration. Speed-ups must not change them: a failure here means the model's
results moved. If that is intended (a model change, new calibration, a
documented change to the random streams), say so in the CHANGELOG and rewrite
the file with ``python tests/test_backtest.py --write``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim.loading import project_root, resolve, with_overrides
from sim.replication import run_replication

STORED = Path(__file__).resolve().parent / "data" / "backtest.csv"
SCENARIOS = ("do-nothing", "best-case")
SEED = 11
# Tight enough that any change to the model shows; loose enough for last-digit
# differences between numpy builds on other CPUs.
RELATIVE_TOLERANCE = 1e-12


def current_results() -> pd.DataFrame:
    frames = []
    for name in SCENARIOS:
        config = resolve(project_root() / "scenarios" / f"{name}.toml").config
        result = run_replication(with_overrides(config, {"run.years": 1}), 0, SEED)
        annual = result.long()[["scenario", "year", "metric", "value"]]
        counts = pd.DataFrame(
            {
                "scenario": name,
                "year": -1,
                "metric": [f"outcome:{k}" for k in result.outcome_counts]
                + ["episodes", "terminations"],
                "value": [*result.outcome_counts.values(), result.episodes, result.terminations],
            }
        )
        frames += [annual, counts]
    return pd.concat(frames, ignore_index=True).astype({"value": float})


def test_the_metric_registry_is_what_a_run_reports() -> None:
    """Targets and baselines are checked against metric_names() before a run: it must be
    exactly the set a replication reports."""
    from sim.metrics import metric_names

    stored = pd.read_csv(STORED)
    reported = {
        m for m in stored["metric"] if stored.loc[stored["metric"] == m, "year"].iloc[0] >= 0
    }
    assert reported == set(metric_names())


def test_results_match_the_stored_backtest() -> None:
    stored = pd.read_csv(STORED)
    now = current_results()
    assert list(now["metric"]) == list(stored["metric"]), "metrics differ from the stored set"
    both = stored.merge(now, on=["scenario", "year", "metric"], suffixes=("_stored", "_now"))
    assert len(both) == len(stored)
    close = np.isclose(
        both["value_now"], both["value_stored"], rtol=RELATIVE_TOLERANCE, atol=0, equal_nan=True
    )
    moved = both.loc[~close, ["scenario", "year", "metric", "value_stored", "value_now"]]
    assert moved.empty, f"results moved from the stored backtest:\n{moved.to_string()}"


if __name__ == "__main__" and "--write" in sys.argv:
    STORED.parent.mkdir(exist_ok=True)
    current_results().to_csv(STORED, index=False, float_format="%.17g")
    print(f"wrote {STORED}")
