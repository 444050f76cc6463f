"""The model against queueing theory: Erlang C for A&E, Little's law for wards."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.config import ModelConfig
from sim.loading import with_overrides
from sim.replication import simulate
from sim.timeline import HOURS_PER_YEAR


def erlang_c_wait(arrival_rate: float, service_rate: float, servers: int) -> tuple[float, float]:
    """Mean wait in queue and utilisation of an M/M/c queue."""
    load = arrival_rate / service_rate
    rho = load / servers
    terms = sum(load**k / math.factorial(k) for k in range(servers))
    top = load**servers / math.factorial(servers) / (1 - rho)
    p_wait = top / (terms + top)
    return p_wait / (servers * service_rate - arrival_rate), rho


def mm_c_ae(
    config: ModelConfig,
    arrivals_per_hour: float,
    mean_service: float,
    servers: int,
    minors_servers: int = 0,
) -> ModelConfig:
    """Every episode walks into A&E: Poisson arrivals, exponential service, c clinicians
    (and ``minors_servers`` more in a minors stream open round the clock)."""
    registered = sum(p.list_size for p in config.practices)
    per_person_year = arrivals_per_hour * HOURS_PER_YEAR / registered
    bands = ("age_0_17", "age_18_64", "age_65_74", "age_75_84", "age_85_plus")
    only_ae = {"gp": 0.0, "nhs111": 0.0, "ambulance": 0.0, "ucc": 0.0, "ae": 1.0}
    changes = {
        "population.ltc_prevalence": dict.fromkeys(bands, 0.0),
        "population.growth_per_year": 0.0,
        "demand.rate_trend_per_year": 0.0,
        "demand.background_episode_rate": dict.fromkeys(bands, per_person_year),
        "demand.hour_of_day": [1.0] * 24,
        "demand.day_of_week": [1.0] * 7,
        "demand.month_of_year": [1.0] * 12,
        "first_contact.preference": {a: only_ae for a in ("low", "medium", "high")},
        "services.ae.clinicians_by_hour": [servers + minors_servers] * 24,
        "services.ae.minors_clinicians_by_hour": [minors_servers] * 24,
        "services.ae.triage_staff": 1000,
        "services.ae.triage_hours_mean": 1e-9,
        "services.ae.treatment_time_distribution": "exponential",
        "services.ae.treatment_hours_mean": dict.fromkeys(("low", "medium", "high"), mean_service),
        "services.ae.results_wait_hours_mean": dict.fromkeys(("low", "medium", "high"), 0.0),
        "services.ae.admit_probability": dict.fromkeys(("low", "medium", "high"), 0.0),
        "services.wards.other_route_share": 0.0,
        "run.years": 1,
        "run.warmup_days": 30,
    }
    return with_overrides(config, changes)


@pytest.mark.parametrize(("arrivals", "servers"), [(6.0, 8), (2.4, 3)])
def test_ae_matches_erlang_c(do_nothing: ModelConfig, arrivals: float, servers: int) -> None:
    """Mean queueing wait within 10% and utilisation within 2% of M/M/c theory, 4 replications."""
    mean_service = 1.0
    config = mm_c_ae(do_nothing, arrivals, mean_service, servers)
    expected_wait, expected_rho = erlang_c_wait(arrivals, 1 / mean_service, servers)
    waits, rhos = [], []
    for replication in range(4):
        run = simulate(config, replication)
        ae, tl = run.recorder.service["ae"], run.context.timeline
        arrival = np.asarray(ae.arrival)
        in_year = (arrival >= tl.report_start_hours) & (arrival < tl.horizon_hours - 24)
        time_in_ae = (np.asarray(ae.departure) - arrival)[in_year]
        treat_start = np.asarray(ae.treat_start)
        treated = (treat_start >= tl.report_start_hours) & (treat_start < tl.horizon_hours - 24)
        waits.append(time_in_ae.mean() - np.asarray(ae.treat_hours)[treated].mean())
        busy = np.asarray(ae.treat_hours)[treated].sum()
        rhos.append(busy / (servers * (tl.horizon_hours - 24 - tl.report_start_hours)))
    assert np.mean(waits) == pytest.approx(expected_wait, rel=0.10)
    assert np.mean(rhos) == pytest.approx(expected_rho, rel=0.02)


def test_ae_streams_each_match_erlang_c(do_nothing: ModelConfig) -> None:
    """With a minors stream open all day, minor and major patients form two independent
    M/M/c queues (Poisson thinning by acuity): each stream's mean wait within 10% of
    Erlang C at its own arrival rate and clinicians, 4 replications. Served as one queue,
    the majors clinicians alone could not keep up (the stream split binds)."""
    majors, minors = 3, 6
    config = mm_c_ae(do_nothing, 6.0, 1.0, majors, minors)
    waits: dict[bool, list[float]] = {True: [], False: []}
    rates: dict[bool, list[float]] = {True: [], False: []}
    for replication in range(4):
        run = simulate(config, replication)
        ae, tl = run.recorder.service["ae"], run.context.timeline
        arrival = np.asarray(ae.arrival)
        end = tl.horizon_hours - 24
        in_year = (arrival >= tl.report_start_hours) & (arrival < end)
        stream = np.asarray(ae.minors, dtype=bool)
        time_in_ae = np.asarray(ae.departure) - arrival
        for is_minor in (True, False):
            chosen = in_year & (stream == is_minor)
            waits[is_minor].append(time_in_ae[chosen].mean() - 1.0)  # less the mean service
            rates[is_minor].append(chosen.sum() / (end - tl.report_start_hours))
    assert np.mean(rates[True]) > majors, "one queue on the majors clinicians would be unstable"
    for is_minor, servers in ((True, minors), (False, majors)):
        expected, _ = erlang_c_wait(float(np.mean(rates[is_minor])), 1.0, servers)
        assert np.mean(waits[is_minor]) == pytest.approx(expected, rel=0.10)


def test_erlang_c_formula_known_value() -> None:
    # M/M/1: Wq = rho / (mu - lambda)
    wait, rho = erlang_c_wait(0.5, 1.0, 1)
    assert wait == pytest.approx(1.0) and rho == pytest.approx(0.5)


def test_ward_obeys_littles_law(small: ModelConfig) -> None:
    """Mean beds occupied = admissions per day x mean length of stay (within 3%)."""
    run = simulate(small, 0)
    rec, tl = run.recorder.service["wards"], run.context.timeline
    start, end = tl.report_start_hours, tl.horizon_hours
    days = (end - start) / 24
    admitted = np.asarray(rec.bed_start)  # a stay starts when the bed is granted
    episodes = len(run.recorder.outcome)
    stay_end = np.full(episodes, end)
    stay_end[np.asarray(rec.discharge_episode, dtype=int)] = rec.discharge_time
    stay_end = stay_end[np.asarray(rec.admission_episode, dtype=int)]
    granted = ~np.isnan(admitted)
    admitted, stay_end = admitted[granted], stay_end[granted]
    occupied = np.clip(np.minimum(stay_end, end) - np.maximum(admitted, start), 0, None).sum() / 24
    mean_occupancy = occupied / days
    in_window = (admitted >= start) & (admitted < end)
    arrival_rate = in_window.sum() / days
    discharged_in_window = (stay_end >= start) & (stay_end < end) & (admitted >= start)
    mean_stay = ((stay_end - admitted)[discharged_in_window]).mean() / 24
    assert mean_occupancy == pytest.approx(arrival_rate * mean_stay, rel=0.03)
