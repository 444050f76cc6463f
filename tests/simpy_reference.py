"""Plain-SimPy references the model is checked against (only public SimPy API, no ucsim code).

``rota_clock`` varies a resource's capacity the SimPy way: off-duty units are held
by top-priority requests. ``ae_and_wards`` is the A&E and wards pathway written as
one SimPy process per patient, as a modeller who knows SimPy would write it,
from the same parameters the model reads.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.config import ModelConfig

Process = Generator[simpy.Event, Any, None]
OLDER_BANDS_FROM = 2  # 65-74 and above: the A&E admission multiplier applies


def rota_clock(
    env: simpy.Environment,
    resource: simpy.PriorityResource,
    rota: Sequence[int],
    period: float,
) -> Process:
    """Capacity ``rota[k]`` from ``k * period`` on (repeating), by off-duty holds."""
    off: list[simpy.resources.resource.PriorityRequest] = []
    k = 0
    while True:
        target = resource.capacity - rota[k % len(rota)]
        while len(off) < target:
            off.append(resource.request(priority=-1))
        while len(off) > target:
            waiting = [r for r in off if not r.triggered]
            request = waiting[-1] if waiting else off[-1]
            off.remove(request)
            if request.triggered:
                resource.release(request)
            else:
                request.cancel()
        k += 1
        yield env.timeout(k * period - env.now)


@dataclass
class PathwayRecords:
    ae_arrival: list[float]
    ae_departure: list[float]  # nan while still waiting for a bed at the end
    ae_admitted: list[bool]
    ae_minors: list[bool]  # seen in the minors stream
    decided: list[float]  # decisions to admit
    bed_start: list[float]  # nan if never granted
    stay_end: list[float]  # discharge, or nan if still in a bed at the end
    discharge: list[float]
    discharge_los_days: list[float]
    discharge_delay_days: list[float]


def ae_and_wards(
    config: ModelConfig,
    arrivals: np.ndarray,
    acuity: np.ndarray,
    age_band: np.ndarray,
    ltc: np.ndarray,
    horizon: float,
    seed: int,
    treatment_scale: float = 1.0,
) -> PathwayRecords:
    """Walk-ins at A&E: triage, a clinician of the patient's stream (hourly rotas), results,
    then home or a bed;
    the stay; onward care for some (given up after the longest wait); discharge."""
    ae, wards = config.services.ae, config.services.wards
    rng = np.random.default_rng(seed)
    n = arrivals.size
    triage_h = rng.exponential(ae.triage_hours_mean, n)
    treat_mean = np.array(ae.treatment_hours_mean.as_tuple())[acuity] * treatment_scale
    if ae.treatment_time_distribution == "exponential":
        treat_h = rng.exponential(treat_mean)
    else:
        s2 = math.log1p(ae.treatment_time_cv**2)
        treat_h = treat_mean * rng.lognormal(-s2 / 2, math.sqrt(s2), n)
    results_h = rng.exponential(np.array(ae.results_wait_hours_mean.as_tuple())[acuity])
    p_admit = np.minimum(
        1.0,
        np.array(ae.admit_probability.as_tuple())[acuity]
        * np.where(age_band >= OLDER_BANDS_FROM, ae.admit_multiplier_65_plus, 1.0)
        * np.where(ltc, ae.admit_multiplier_ltc, 1.0),
    )
    admit = rng.random(n) < p_admit
    stay_mean = (
        np.array(wards.los_days_mean.as_tuple())[age_band]
        * np.array(wards.los_acuity_multiplier.as_tuple())[acuity]
        * 24.0
    )
    sigma = wards.los_sigma
    long_stay = stay_mean * rng.lognormal(-sigma * sigma / 2, sigma, n)
    los_h = np.where(
        rng.random(n) < wards.same_day_discharge_share, rng.uniform(4.0, 24.0, n), long_stay
    )
    onward = rng.random(n) < np.array(wards.onward_care_share.as_tuple())[age_band]
    onward_h = rng.exponential(wards.onward_care_days_mean * 24.0, n)

    env = simpy.Environment()
    triage = simpy.Resource(env, ae.triage_staff)
    minors_rota = list(ae.minors_clinicians_by_hour)
    rota = [total - m for total, m in zip(ae.clinicians_by_hour, minors_rota, strict=True)]
    clinicians = simpy.PriorityResource(env, max(rota))
    minors = simpy.PriorityResource(env, max(1, max(minors_rota)))
    beds = simpy.Resource(env, wards.beds + wards.escalation_beds)
    places = simpy.Resource(env, wards.onward_care_places)
    rec = PathwayRecords(*([] for _ in range(10)))

    def patient(i: int) -> Process:
        arrived = env.now
        with triage.request() as nurse:
            yield nurse
            yield env.timeout(triage_h[i])
        # Minor patients queue for the minors stream while it is staffed.
        minor = acuity[i] == 0 and minors_rota[int(env.now) % 24] > 0
        stream = minors if minor else clinicians
        doctor = stream.request()
        yield doctor
        yield env.timeout(treat_h[i])
        stream.release(doctor)
        yield env.timeout(results_h[i])
        rec.ae_minors.append(minor)
        if not admit[i]:
            rec.ae_arrival.append(arrived)
            rec.ae_departure.append(env.now)
            rec.ae_admitted.append(False)
            return
        row = len(rec.decided)
        rec.ae_arrival.append(arrived)
        rec.ae_departure.append(math.nan)
        rec.ae_admitted.append(True)
        rec.decided.append(env.now)
        rec.bed_start.append(math.nan)
        rec.stay_end.append(math.nan)
        ae_row = len(rec.ae_arrival) - 1
        bed = beds.request()
        yield bed
        admitted = env.now
        rec.ae_departure[ae_row] = admitted
        rec.bed_start[row] = admitted
        yield env.timeout(los_h[i])
        ready = env.now
        if onward[i]:
            place = places.request()
            yield place | env.timeout(wards.onward_care_max_wait_days * 24.0)
            if place.triggered:
                env.process(hold_place(place, onward_h[i]))
            else:
                place.cancel()
        beds.release(bed)
        rec.stay_end[row] = env.now
        rec.discharge.append(env.now)
        rec.discharge_los_days.append((env.now - admitted) / 24.0)
        rec.discharge_delay_days.append((env.now - ready) / 24.0)

    def hold_place(place: simpy.Request, hours: float) -> Process:
        yield env.timeout(hours)
        places.release(place)

    def source() -> Process:
        for i, at in enumerate(arrivals.tolist()):
            yield env.timeout(at - env.now)
            env.process(patient(i))

    env.process(rota_clock(env, clinicians, rota, 1.0))
    if max(minors_rota) > 0:
        env.process(rota_clock(env, minors, minors_rota, 1.0))
    env.process(source())
    env.run(until=horizon)
    return rec
