"""Results by place: the key activity of each locality's registered patients.

Every episode keeps its patient's practice (a readmission its first episode's),
and the A&E, UCC and ward records keep their episode, so each locality's
attendances and admissions are counted from the same run: no second simulation.
An activity counts in the report year its event falls in, as for the whole area,
so the localities' counts add up to the area's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.annual import count_by_year
from sim.indicators import COMPOSITE_GROUPS

if TYPE_CHECKING:
    from sim.care.base import CareContext

# The metrics reported per locality (each also a whole-area metric of the same name).
PLACE_METRICS = (
    "population",
    "urgent_episodes",
    "ae_attendances",
    "ucc_attendances",
    "ae_attendances_all_types",
    "emergency_admissions",
    "composite_emergency_admissions",
    "emergency_admissions_per_100k",
    "composite_emergency_admissions_per_100k",
)
PLACE_COLUMNS = ["year", "financial_year", "locality", "metric", "value"]


def place_metrics(ctx: CareContext) -> pd.DataFrame:
    """Long rows (year, financial_year, locality, metric, value) for every locality."""
    rec, tl, population = ctx.recorder, ctx.timeline, ctx.population
    localities = np.asarray(population.locality)
    names = sorted(set(population.locality))
    practice = np.frombuffer(rec.episode_practice, dtype=np.int64)
    readmission = np.frombuffer(rec.is_readmission, dtype=np.int8).astype(bool)
    arrival = np.frombuffer(rec.arrival_time, dtype=float)
    ae, ucc, wards = (rec.service[name] for name in ("ae", "ucc", "wards"))
    ae_episode = np.asarray(ae.episode, dtype=np.int64)
    ucc_episode = np.asarray(ucc.episode, dtype=np.int64)
    admitted = np.asarray(wards.admission_episode, dtype=np.int64)
    composite = np.isin(np.asarray(wards.admission_group, dtype=np.int64), COMPOSITE_GROUPS)
    place_of_episode = localities[practice] if practice.size else np.zeros(0, dtype=str)
    rows = []
    for name in names:
        here = place_of_episode == name
        listed = population.list_size[localities == name].sum()
        m = {
            "population": listed * ctx.growth_by_year,
            "urgent_episodes": count_by_year(arrival, tl, here & ~readmission),
            "ae_attendances": count_by_year(ae.arrival, tl, here[ae_episode]),
            "ucc_attendances": count_by_year(ucc.time, tl, here[ucc_episode]),
            "emergency_admissions": count_by_year(wards.admission_time, tl, here[admitted]),
            "composite_emergency_admissions": count_by_year(
                wards.admission_time, tl, here[admitted] & composite
            ),
        }
        m["ae_attendances_all_types"] = m["ae_attendances"] + m["ucc_attendances"]
        for metric in ("emergency_admissions", "composite_emergency_admissions"):
            m[f"{metric}_per_100k"] = m[metric] / m["population"] * 1e5
        for metric in PLACE_METRICS:
            for year, value in enumerate(np.asarray(m[metric], dtype=float)):
                rows.append((year, tl.financial_year(year), name, metric, value))
    return pd.DataFrame(rows, columns=PLACE_COLUMNS)
