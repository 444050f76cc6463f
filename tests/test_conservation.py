"""Every episode ends in exactly one outcome, and counts reconcile across settings."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from sim.care.ambulance import CONVEYED, HEAR_AND_TREAT, PATHFINDER, SEE_AND_TREAT
from sim.config import ModelConfig
from sim.recorder import BY_AMBULANCE, DIRECT, OTHER_ROUTE_ADMISSION, OUTCOME_CODE, UCC_TRANSFER
from sim.replication import SimulationRun, simulate
from tests.conftest import scaled


@pytest.fixture(scope="module")
def best_run(best_case: ModelConfig) -> SimulationRun:
    """Best case exercises every pathway: pathfinder, streaming, virtual ward, onward care."""
    return simulate(scaled(best_case, 0.2, run__years=2, run__warmup_days=60), 0)


def _outcomes(run: SimulationRun) -> Counter[int]:
    return Counter(np.frombuffer(run.recorder.outcome, dtype=np.int8).tolist())


def test_each_episode_has_exactly_one_terminal_outcome(best_run: SimulationRun) -> None:
    rec = best_run.recorder
    outcomes = _outcomes(best_run)
    finished = len(rec.outcome) - outcomes[OUTCOME_CODE["in_progress"]]
    assert rec.terminations == finished  # no episode was finished twice
    assert outcomes[OUTCOME_CODE["in_progress"]] < 0.002 * len(rec.outcome)
    in_progress = np.frombuffer(rec.outcome, dtype=np.int8) == 0
    arrivals = np.frombuffer(rec.arrival_time, dtype=float)
    # only episodes near the horizon (or in onward care queues) may still be open
    assert np.all(arrivals[in_progress] > best_run.context.timeline.horizon_hours - 24 * 60)


def test_counts_reconcile_across_settings(best_run: SimulationRun) -> None:
    records = best_run.recorder.service
    ambulance, ae, ucc, wards = (records[n] for n in ("ambulance", "ae", "ucc", "wards"))
    out = _outcomes(best_run)
    kind = np.asarray(ambulance.kind)
    admitted_from_ae = np.asarray(ae.admitted, dtype=bool)
    source = np.asarray(wards.admission_source)
    assert out[OUTCOME_CODE["admitted"]] == len(wards.admission_time)
    not_through_ae = np.isin(source, (DIRECT, OTHER_ROUTE_ADMISSION))
    assert admitted_from_ae.sum() + not_through_ae.sum() == len(wards.admission_time)
    assert (source == OTHER_ROUTE_ADMISSION).sum() > 0, "the areas admit some by other routes"
    assert out[OUTCOME_CODE["ae_discharged"]] == (~admitted_from_ae).sum()
    assert out[OUTCOME_CODE["ucc_discharged"]] == (~np.asarray(ucc.transfer, dtype=bool)).sum()
    assert out[OUTCOME_CODE["ambulance_hear_and_treat"]] == (kind == HEAR_AND_TREAT).sum()
    assert out[OUTCOME_CODE["ambulance_see_and_treat"]] == (kind == SEE_AND_TREAT).sum()
    managed = np.asarray(records["rapid_response"].managed, dtype=bool).sum()
    assert out[OUTCOME_CODE["managed_at_home"]] == managed
    assert out[OUTCOME_CODE["resolved_gp"]] <= len(records["gp"].seen)
    mode = np.asarray(ae.mode)
    # conveyed patients and UCC transfers all reach A&E (bar those still in transit at the end)
    assert 0 <= (kind == CONVEYED).sum() - (mode == BY_AMBULANCE).sum() <= 50
    assert 0 <= np.asarray(ucc.transfer, dtype=bool).sum() - (mode == UCC_TRANSFER).sum() <= 50
    assert (kind == PATHFINDER).sum() > 0, "best case should use the ambulance pathfinder"
    assert np.asarray(ucc.streamed, dtype=bool).sum() > 0, (
        "best case should stream at the front door"
    )


def test_no_episode_ends_before_it_arrives(best_run: SimulationRun) -> None:
    """Every finished episode's end is at or after its arrival (a step scheduled in the
    past, or an outcome written against the wrong episode, would break this)."""
    rec = best_run.recorder
    outcome = np.frombuffer(rec.outcome, dtype=np.int8)
    arrival = np.frombuffer(rec.arrival_time, dtype=float)
    end = np.frombuffer(rec.end_time, dtype=float)
    finished = outcome != OUTCOME_CODE["in_progress"]
    assert finished.sum() > 0.99 * outcome.size
    assert np.all(end[finished] >= arrival[finished])
    assert np.all(np.isnan(end[~finished]))
