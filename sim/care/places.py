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

from sim.annual import count_by_year, ratio, sum_by_year, sum_days_by_year
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
    "rrt_referrals",
)
# Reported per locality only where each locality has its own rapid response team.
TEAM_METRICS = ("rrt_utilisation",)
PLACE_COLUMNS = ["year", "financial_year", "locality", "metric", "value"]


def place_metrics(ctx: CareContext) -> pd.DataFrame:
    """Long rows (year, financial_year, locality, metric, value) for every locality."""
    rec, tl, population = ctx.recorder, ctx.timeline, ctx.population
    names = sorted(set(population.locality))
    # Each practice's locality as a small integer code (comparing codes, not names, over
    # a million episodes).
    code_of_practice = np.array([names.index(n) for n in population.locality], dtype=np.int64)
    practice = np.frombuffer(rec.episode_practice, dtype=np.int64)
    readmission = np.frombuffer(rec.is_readmission, dtype=np.int8).astype(bool)
    arrival = np.frombuffer(rec.arrival_time, dtype=float)
    ae, ucc, wards, rrt = (rec.service[n] for n in ("ae", "ucc", "wards", "rapid_response"))
    teams = ctx.schedule.rapid_response
    staffed = teams.staffed_hours(ctx.config.services.rapid_response.open_hour)
    busy_team = np.asarray(rrt.busy_team, dtype=np.int64)
    ae_episode = np.asarray(ae.episode, dtype=np.int64)
    ucc_episode = np.asarray(ucc.episode, dtype=np.int64)
    admitted = np.asarray(wards.admission_episode, dtype=np.int64)
    composite = np.isin(np.asarray(wards.admission_group, dtype=np.int64), COMPOSITE_GROUPS)
    place_of_episode = code_of_practice[practice]
    rows = []
    for code, name in enumerate(names):
        here = place_of_episode == code
        listed = population.list_size[code_of_practice == code].sum()
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
        m["rrt_referrals"] = count_by_year(
            rrt.time, tl, here[np.asarray(rrt.episode, dtype=np.int64)]
        )
        metrics: tuple[str, ...] = PLACE_METRICS
        if name in teams.names:  # the locality's own team
            team = teams.names.index(name)
            mine = busy_team == team
            busy = sum_by_year(
                np.asarray(rrt.busy_start, dtype=float)[mine],
                np.asarray(rrt.busy_hours, dtype=float)[mine],
                tl,
            )
            m["rrt_utilisation"] = ratio(busy, sum_days_by_year(staffed[team], tl))
            metrics = (*PLACE_METRICS, *TEAM_METRICS)
        for metric in ("emergency_admissions", "composite_emergency_admissions"):
            m[f"{metric}_per_100k"] = m[metric] / m["population"] * 1e5
        for metric in metrics:
            for year, value in enumerate(np.asarray(m[metric], dtype=float)):
                rows.append((year, tl.financial_year(year), name, metric, value))
    return pd.DataFrame(rows, columns=PLACE_COLUMNS)
