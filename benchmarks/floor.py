"""A floor reference: the leanest honest pure-SimPy urgent pathway.

Each episode: a first contact (one of three services), an A&E cubicle, then a
bed (40%) or a follow-up (60%): three resource uses per episode. Variates are
drawn in vectorised blocks before the clock starts, resources are plain
``simpy.Resource``, one tuple is recorded per episode. Nothing a real model
needs is here, so the real model's cost per resource use divided by this one's,
measured in the same process, says how close it is to what SimPy allows.
"""

from __future__ import annotations

import time

import numpy as np
import simpy

CAPACITY = {"first_a": 2, "first_b": 2, "first_c": 2, "ae": 24, "bed": 260, "follow_up": 2}
MEAN_HOURS = {
    "first_a": 0.25,
    "first_b": 1.0,
    "first_c": 0.5,
    "ae": 4.0,
    "bed": 120.0,
    "follow_up": 0.25,
}
SIGMA = 0.5
USES_PER_EPISODE = 3
REFERENCE_EPISODES_PER_YEAR = 40_000  # the volume the capacities above are sized for


def run_floor(episodes: int, years: float, seed: int = 1) -> dict[str, float]:
    """Simulate ``episodes`` arrivals spread over ``years``; returns timing and counts."""
    horizon = years * 8760.0
    rate = episodes / horizon
    rng = np.random.default_rng(seed)
    n = int(episodes * 1.05)
    gaps = rng.exponential(1 / rate, n).tolist()
    route = rng.random(n).tolist()
    admit = rng.random(n).tolist()
    first_service = rng.exponential(1.0, n).tolist()
    ae_time = (MEAN_HOURS["ae"] * rng.lognormal(-(SIGMA**2) / 2, SIGMA, n)).tolist()
    bed_time = (MEAN_HOURS["bed"] * rng.lognormal(-(SIGMA**2) / 2, SIGMA, n)).tolist()
    follow_time = rng.exponential(MEAN_HOURS["follow_up"], n).tolist()

    # Keep utilisation as in the reference recipe whatever the volume: scale every capacity.
    scale = max(1.0, episodes / years / REFERENCE_EPISODES_PER_YEAR)
    env = simpy.Environment()
    res = {k: simpy.Resource(env, max(1, round(c * scale))) for k, c in CAPACITY.items()}
    records: list[tuple[int, float, float]] = []

    def episode(i: int):
        u = route[i]
        if u < 0.5:
            first, d = res["first_a"], MEAN_HOURS["first_a"] * first_service[i]
        elif u < 0.7:
            first, d = res["first_b"], MEAN_HOURS["first_b"] * first_service[i]
        else:
            first, d = res["first_c"], MEAN_HOURS["first_c"] * first_service[i]
        start = env.now
        with first.request() as req:
            yield req
            yield env.timeout(d)
        with res["ae"].request() as req:
            yield req
            yield env.timeout(ae_time[i])
        if admit[i] < 0.4:
            with res["bed"].request() as req:
                yield req
                yield env.timeout(bed_time[i])
        else:
            with res["follow_up"].request() as req:
                yield req
                yield env.timeout(follow_time[i])
        records.append((i, start, env.now))

    def arrivals():
        for i in range(n):
            yield env.timeout(gaps[i])
            env.process(episode(i))

    env.process(arrivals())
    started = time.perf_counter()
    env.run(until=horizon)
    seconds = time.perf_counter() - started
    done = len(records)
    return {
        "seconds": seconds,
        "episodes": done,
        "resource_uses": done * USES_PER_EPISODE,
        "us_per_episode": seconds / max(done, 1) * 1e6,
        "us_per_resource_use": seconds / max(done * USES_PER_EPISODE, 1) * 1e6,
    }
