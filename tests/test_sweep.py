"""Sweeps: grid shape, provenance of every row, parsing of --vary, the chart."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.batch import BatchOptions
from sim.config import ModelConfig
from sim.errors import InputError
from sim.sweep import grid, parse_variation, plot_sweep, run_sweep
from tests.conftest import scaled


def test_parse_variation_forms() -> None:
    assert parse_variation("services.rapid_response.staff=2:10:2").values == (2, 4, 6, 8, 10)
    assert parse_variation("a.b=0.5:1.0:0.25").values == (0.5, 0.75, 1.0)
    assert parse_variation("a.b=1,3,7").values == (1, 3, 7)
    for bad in ("a.b=5:1:1", "a.b=1:5:0", "a.b=x:y:z"):
        with pytest.raises(InputError):
            parse_variation(bad)


def test_sweep_grid_shape_and_provenance(do_nothing: ModelConfig, tmp_path: Path) -> None:
    base = scaled(do_nothing, 0.1, run__years=1, run__warmup_days=30)
    variations = [
        parse_variation("services.rapid_response.staff=1:3:1"),
        parse_variation("services.wards.beds=50,80"),
    ]
    points = grid(base, variations)
    assert len(points) == 6
    assert len({config.scenario.name for _, config in points}) == 6
    assert (
        points[-1][1].services.wards.beds == 80 and points[-1][1].services.rapid_response.staff == 3
    )
    outcome, table = run_sweep(
        base, variations, tmp_path / "sweep", BatchOptions(replications=2, seed=4)
    )
    sweep = pd.read_csv(tmp_path / "sweep" / "sweep.csv")
    rows = sweep[(sweep["metric"] == "emergency_admissions")]
    assert len(rows) == 6  # one year x six grid points
    assert set(
        zip(rows["services.rapid_response.staff"], rows["services.wards.beds"], strict=True)
    ) == {(s, b) for s in (1, 2, 3) for b in (50, 80)}
    assert (rows["n"] == 2).all() and (rows["base_scenario"] == "do-nothing").all()
    kpis = pd.read_parquet(tmp_path / "sweep" / "kpis.parquet")
    assert kpis["scenario"].nunique() == 6 and {"seed", "config_sha256"} <= set(kpis.columns)
    manifest = json.loads((tmp_path / "sweep" / "manifest.json").read_text())
    assert len(manifest["scenarios"]) == 6
    plot_sweep(table, variations, tmp_path / "sweep" / "sweep.png")
    assert (tmp_path / "sweep" / "sweep.png").stat().st_size > 10_000
    assert outcome.manifest["status"] == "complete"
