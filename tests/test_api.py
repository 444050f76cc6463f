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


def test_every_cli_command_has_an_api_function() -> None:
    """The CLI parses, calls the API and renders: each command's work is an API call."""
    import sim
    from sim.cli import app

    commands = {c.name or c.callback.__name__ for c in app.registered_commands}  # type: ignore[union-attr]
    api_for = {
        "run": "run_many",
        "app": None,  # the web app is itself a face over this API
    }
    missing = []
    for command in sorted(commands):
        name = api_for.get(command, command)
        if name is not None and not callable(getattr(sim, name, None)):
            missing.append(command)
    assert missing == []
    assert {"calibrate", "sweep", "sensitivity", "warmup", "report", "decompose"} <= commands


def test_api_names_stay_functions_after_their_modules_are_imported() -> None:
    """``sim.goal`` was the goal module, not the documented function, once anything had
    imported ``sim.goal``: the package now keeps its API names."""
    import importlib

    import sim

    for name in ("goal", "report", "sweep", "sensitivity", "warmup", "finance"):
        importlib.import_module(f"sim.{name}")
        assert callable(getattr(sim, name)) and getattr(sim, name).__module__ == "sim.api", name
