"""The model's A&E and wards agree with a plain-SimPy version of the same pathway.

Every urgent episode is sent to A&E as a walk-in (no GP, 111, ambulance or UCC;
no readmissions; nobody "managed to the standard"), so the model's A&E and
wards see exactly the arrivals the reference (``tests/simpy_reference.py``) is
given: the model's own event log. The reference draws its own durations and
decisions from the same parameters with its own random numbers, so the two
agree in distribution, not draw by draw. Over 20 seeds, each metric's mean
paired difference (model - reference) must lie within four standard errors.
The same comparison must reject a reference whose treatment times are 15%
longer: the check has the power to see a real difference.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import ModelConfig
from sim.loading import with_overrides
from sim.replication import run_replication
from sim.timeline import Timeline, timeline_for
from tests.conftest import scaled
from tests.simpy_reference import PathwayRecords, ae_and_wards

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not
SEEDS = 20
ONLY_AE = {"gp": 0.0, "nhs111": 0.0, "ambulance": 0.0, "ucc": 0.0, "ae": 1.0}
NO_READMISSION = {
    b: 0.0 for b in ("age_0_17", "age_18_64", "age_65_74", "age_75_84", "age_85_plus")
}
COMPARED = (
    "ae_4h_performance",
    "ae_4h_performance_minors",
    "ae_mean_time_hours",
    "ae_conversion_rate",
    "emergency_admissions",
    "bed_days",
    "trolley_wait_mean_hours",
    "mean_length_of_stay",
    "delayed_discharge_days",
)


@pytest.fixture(scope="module")
def walk_in_only(do_nothing: ModelConfig) -> ModelConfig:
    # Capacities for twice the usual A&E volume (every episode comes), list sizes at 5%,
    # and beds few enough to run at about 90% (patients wait for a bed).
    config = scaled(do_nothing, 0.12, run__years=1, run__warmup_days=60)
    config = with_overrides(
        config,
        {
            **{f"first_contact.preference.{a}": ONLY_AE for a in ("low", "medium", "high")},
            "services.ae.managed_to_standard_share": 0.0,
            "services.wards.readmission_probability": NO_READMISSION,
            "services.wards.beds": 24,
            "services.wards.other_route_share": 0.0,
            # Minors streamed by day: the stream takes one of the day's clinicians.
            "services.ae.minors_clinicians_by_hour": [0] * 8 + [1] * 14 + [0] * 2,
        },
    )
    practices = tuple(
        p.model_copy(update={"list_size": max(1, round(p.list_size * 0.05 / 0.12))})
        for p in config.practices
    )
    return config.model_copy(update={"practices": practices})


def reference_metrics(rec: PathwayRecords, tl: Timeline, config: ModelConfig) -> dict[str, float]:
    """The compared metrics for report year 0, by the model's own definitions."""
    start, end = tl.year_start_hours(0), tl.year_start_hours(1)
    arrival = np.array(rec.ae_arrival)
    departure = np.array(rec.ae_departure)
    hours = np.where(np.isnan(departure), tl.horizon_hours, departure) - arrival
    in_year = (arrival >= start) & (arrival < end)
    minors = np.array(rec.ae_minors, dtype=bool)
    decided, bed_start = np.array(rec.decided), np.array(rec.bed_start)
    granted = ~np.isnan(bed_start)
    stay_end = np.where(np.isnan(rec.stay_end), tl.horizon_hours, rec.stay_end)
    overlap = np.clip(np.minimum(stay_end, end) - np.maximum(bed_start, start), 0, None)
    decided_in_year = (decided >= start) & (decided < end)
    wait = np.where(granted, bed_start, tl.horizon_hours) - decided
    discharge = np.array(rec.discharge)
    out_in_year = (discharge >= start) & (discharge < end)
    return {
        "ae_4h_performance": float(np.mean(hours[in_year] <= config.services.ae.standard_hours)),
        "ae_4h_performance_minors": float(
            np.mean(hours[in_year & minors] <= config.services.ae.standard_hours)
        ),
        "ae_mean_time_hours": float(hours[in_year].mean()),
        "ae_conversion_rate": float(np.mean(np.array(rec.ae_admitted)[in_year])),
        "emergency_admissions": float(decided_in_year.sum()),
        "bed_days": float(overlap[granted].sum() / 24.0),
        "trolley_wait_mean_hours": float(wait[decided_in_year].mean()),
        "mean_length_of_stay": float(np.array(rec.discharge_los_days)[out_in_year].mean()),
        "delayed_discharge_days": float(np.array(rec.discharge_delay_days)[out_in_year].sum()),
    }


def _disagreements(model: np.ndarray, reference: np.ndarray) -> list[str]:
    """Metrics whose mean paired difference is more than 4 standard errors from 0."""
    diff = model - reference
    mean = diff.mean(axis=0)
    se = diff.std(axis=0, ddof=1) / np.sqrt(diff.shape[0])
    return [
        f"{name}: model {model[:, k].mean():.4g} vs reference {reference[:, k].mean():.4g}"
        for k, name in enumerate(COMPARED)
        if abs(mean[k]) > 4 * se[k] + 1e-9 * abs(reference[:, k].mean())
    ]


def test_model_matches_a_plain_simpy_pathway(walk_in_only: ModelConfig) -> None:
    tl = timeline_for(walk_in_only)
    model, reference, slower = [], [], []
    for seed in range(SEEDS):
        result = run_replication(walk_in_only, seed, event_log=True)
        log = result.event_log
        assert log is not None and (log["first_contact"] == "ae").all()
        annual = result.annual.iloc[0]
        model.append([annual[m] for m in COMPARED])
        inputs = (
            log["arrival_hours"].to_numpy(),
            log["acuity"].to_numpy(),
            log["age_band"].to_numpy(),
            log["ltc"].to_numpy().astype(bool),
            tl.horizon_hours,
        )
        reference.append(
            list(
                reference_metrics(
                    ae_and_wards(walk_in_only, *inputs, seed=1000 + seed), tl, walk_in_only
                ).values()
            )
        )
        slow = ae_and_wards(walk_in_only, *inputs, seed=1000 + seed, treatment_scale=1.15)
        slower.append(list(reference_metrics(slow, tl, walk_in_only).values()))
    model_a, reference_a = np.array(model), np.array(reference)
    # The constraints bind: queues for a clinician and for beds both form.
    assert reference_a[:, COMPARED.index("ae_4h_performance")].mean() < 0.97
    assert reference_a[:, COMPARED.index("trolley_wait_mean_hours")].mean() > 1.0
    assert _disagreements(model_a, reference_a) == []
    assert _disagreements(model_a, np.array(slower)), "the comparison cannot see a 15% change"
