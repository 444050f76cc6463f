"""The Python API and the example study (executed end to end, in quick mode)."""

from __future__ import annotations

import os
import runpy

import pytest

import sim
from sim.loading import project_root

EXAMPLE = project_root() / "docs" / "examples" / "small_study.py"


def test_api_load_modify_run(small) -> None:
    base = sim.load_scenario(project_root() / "scenarios" / "base-case.toml")
    more = base.services.wards.beds + 40
    changed = sim.modify(base, {"services.wards.beds": more})
    assert changed.services.wards.beds == more and base.services.wards.beds == more - 40
    with pytest.raises(sim.InputError):
        sim.modify(base, {"services.wards.beds": -1})
    result = sim.run_one(small)
    assert list(result.annual["financial_year"]) == ["2014/15", "2015/16"]
    assert {"scenario", "replication", "seed", "metric", "value"} <= set(result.long().columns)


def test_example_study_runs_end_to_end(monkeypatch) -> None:
    monkeypatch.setitem(os.environ, "UCSIM_QUICK", "1")
    namespace = runpy.run_path(str(EXAMPLE), run_name="__main__")
    result = namespace["STUDY_RESULT"]
    assert result["scenarios"] == ["base-case", "base-case-bigger-rrt", "do-nothing"]
    tables = sim.results(result["folder"])
    assert {"kpis", "summary", "differences", "targets", "finance"} <= set(tables)
