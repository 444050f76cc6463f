"""Following patients step by step: ``sim.run_one(config, trace=...)`` and ``ucsim run --trace``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.api import follow, run_one
from sim.config import ModelConfig
from sim.timeline import timeline_for
from tests.conftest import scaled


@pytest.fixture(scope="module")
def config(best_case: ModelConfig) -> ModelConfig:
    return scaled(best_case, 0.1, run__years=1, run__warmup_days=30)


def test_followed_patients_steps_are_in_order_and_after_the_warm_up(config: ModelConfig) -> None:
    result = run_one(config, trace=40)
    trace = result.trace
    assert trace is not None
    first = trace.groupby("episode")["time"].min()
    readmissions = trace.loc[trace["step"] == "readmission", "note"].str.extract(r"(\d+)")[0]
    chosen = set(first.index) - {int(e) for e in readmissions.dropna()}
    assert len(chosen) == 40
    assert first.loc[sorted(chosen)].min() >= timeline_for(config).report_start_hours
    for _, steps in trace.groupby("episode"):
        assert steps["time"].is_monotonic_increasing
    assert (trace["wait_hours"].dropna() >= 0).all()
    # Every chosen patient starts at first contact and reaches a service.
    starts = trace.groupby("episode").first()
    assert (starts.loc[sorted(chosen), "service"] == "routing").all()
    assert trace["service"].nunique() >= 3
    # A decision to admit in A&E is the wards' decision to admit, at the same moment.
    ae_admits = trace[trace["note"].str.contains("decision to admit at", regex=False)]
    wards = trace[(trace["service"] == "wards") & (trace["step"] == "decision to admit")]
    assert len(ae_admits) > 0
    assert set(wards["episode"]) >= set(ae_admits["episode"])


def test_following_patients_changes_no_result(config: ModelConfig) -> None:
    plain = run_one(config, 0)
    traced = run_one(config, 0, trace=25)
    pd.testing.assert_frame_equal(plain.annual, traced.annual)
    assert plain.trace is None


def test_chosen_episode_ids_include_those_resolved_at_first_contact(config: ModelConfig) -> None:
    ids = list(range(2000, 2200))
    trace = run_one(config, trace=ids).trace
    assert trace is not None
    routing = trace[trace["service"] == "routing"]
    assert set(routing["episode"]) == set(ids)
    assert routing["note"].str.startswith("resolved:").any()
    assert routing["note"].str.startswith("to ").any()
    # The calendar time agrees with the simulation time.
    tl = timeline_for(config)
    assert (trace["clock"] == tl.clock(trace["time"].to_numpy())).all()
    assert trace["clock"].min() >= np.datetime64(tl.start_date) - np.timedelta64(30, "D")


def test_the_same_patients_are_followed_in_every_scenario(
    do_nothing: ModelConfig, config: ModelConfig
) -> None:
    """Common random numbers: year 0, before any lever starts, the same 15 patients."""
    reference = scaled(do_nothing, 0.1, run__years=1, run__warmup_days=30)
    both = follow([reference, config], episodes=15)
    first_contacts = both[both["service"] == "routing"].groupby("scenario")["episode"].apply(set)
    assert list(first_contacts.index) == sorted([reference.scenario.name, config.scenario.name])
    assert len(first_contacts.iloc[0]) == 15
    assert first_contacts.iloc[0] == first_contacts.iloc[1]
