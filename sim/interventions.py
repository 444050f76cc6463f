"""Scenario levers turned into what the model reads: a value per simulation day.

Every lever ramps linearly from its ``start_year`` to full effect over
``ramp_years``. A lever that acts on patients of a place may be scoped to
localities or practices, each scope with its own start and ramp: its share in
force is then a value per practice per day (zero outside every scope).
Computing the daily values once, up front, keeps the simulation's hot path to a
list lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.config import Lever, LeverScope, ModelConfig, Practice, ScopedLever
from sim.timeline import Timeline


def ramp_fraction(lever: Lever, year_fraction: np.ndarray) -> np.ndarray:
    """Share of the lever's full effect in force at each (fractional) report year."""
    t = np.asarray(year_fraction, dtype=float)
    if not lever.enabled:
        return np.zeros_like(t)
    if lever.ramp_years == 0:
        return (t >= lever.start_year).astype(float)
    return np.clip((t - lever.start_year) / lever.ramp_years, 0.0, 1.0)


def scope_members(scope: LeverScope, practices: Sequence[Practice]) -> np.ndarray:
    """Indices of the practices a scope covers (its localities' and its named ones)."""
    return np.array(
        [
            i
            for i, p in enumerate(practices)
            if p.locality in scope.localities or p.practice_code in scope.practices
        ],
        dtype=np.int64,
    )


def scope_groups(
    lever: ScopedLever, practices: Sequence[Practice], year_fraction: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(practice indices, share in force by day) for each scope; one group of every
    practice, on the lever's own ramp, when the lever has no scopes."""
    if not lever.scopes:
        return [(np.arange(len(practices)), ramp_fraction(lever, year_fraction))]
    groups = []
    for scope in lever.scopes:
        timing = lever.model_copy(
            update={
                "start_year": lever.start_year if scope.start_year is None else scope.start_year,
                "ramp_years": lever.ramp_years if scope.ramp_years is None else scope.ramp_years,
            }
        )
        groups.append((scope_members(scope, practices), ramp_fraction(timing, year_fraction)))
    return groups


def by_practice(groups: list[tuple[np.ndarray, np.ndarray]], practices: int) -> np.ndarray:
    """The share in force per practice (rows) per day (columns): zero outside every scope."""
    days = groups[0][1].size
    out = np.zeros((practices, days))
    for members, fraction in groups:
        out[members] = fraction[None, :]
    return out


def scope_start_years(lever: ScopedLever, practices: Sequence[Practice]) -> np.ndarray:
    """Each practice's start year under the lever (inf outside every scope, or when off)."""
    starts = np.full(len(practices), np.inf)
    if not lever.enabled:
        return starts
    if not lever.scopes:
        starts[:] = lever.start_year
    for scope in lever.scopes:
        start = lever.start_year if scope.start_year is None else scope.start_year
        starts[scope_members(scope, practices)] = start
    return starts


def blend(base: float, target: float, fraction: np.ndarray) -> np.ndarray:
    """Value moving from ``base`` to ``target`` as the lever ramps in."""
    return base + (target - base) * fraction


@dataclass(frozen=True)
class DailySchedule:
    """Per-day values of everything levers change in the pathway (lists for speed); a
    scoped lever's share in force is per practice (rows) per day (columns)."""

    rrt_staff: list[int]
    rrt_close_hour: list[float]
    rrt_acceptance: list[float]
    pathfinder_share: list[float]
    streamed_share_low: list[float]
    streamed_share_medium: list[float]
    los_multiplier: list[float]
    onward_care_places: list[int]
    extended_access_groups: list[tuple[np.ndarray, np.ndarray]]
    case_management_fraction: np.ndarray
    care_home_fraction: np.ndarray
    self_management_fraction: np.ndarray


def daily_schedule(config: ModelConfig, timeline: Timeline) -> DailySchedule:
    levers = config.interventions
    services = config.services
    year = timeline.year_fraction_of_day(np.arange(timeline.total_days))
    rrt = levers.rapid_response
    f_rrt = ramp_fraction(rrt, year)
    base_rrt = services.rapid_response
    close = np.where(
        (f_rrt > 0) & (rrt.close_hour is not None),
        rrt.close_hour if rrt.close_hour is not None else base_rrt.close_hour,
        base_rrt.close_hour,
    )
    acceptance = (
        blend(base_rrt.acceptance, rrt.acceptance, f_rrt)
        if rrt.acceptance is not None
        else np.full_like(year, base_rrt.acceptance)
    )
    streaming = levers.front_door_streaming
    f_stream = ramp_fraction(streaming, year)
    discharge = levers.enhanced_discharge
    f_discharge = ramp_fraction(discharge, year)
    practices = config.practices

    def scoped(lever: ScopedLever) -> np.ndarray:
        return by_practice(scope_groups(lever, practices, year), len(practices))

    return DailySchedule(
        rrt_staff=np.rint(base_rrt.staff + rrt.extra_staff * f_rrt).astype(int).tolist(),
        rrt_close_hour=close.astype(float).tolist(),
        rrt_acceptance=acceptance.tolist(),
        pathfinder_share=(
            levers.ambulance_pathfinder.referral_share
            * ramp_fraction(levers.ambulance_pathfinder, year)
        ).tolist(),
        streamed_share_low=(streaming.streamed_share_low * f_stream).tolist(),
        streamed_share_medium=(streaming.streamed_share_medium * f_stream).tolist(),
        los_multiplier=blend(1.0, discharge.los_multiplier, f_discharge).tolist(),
        onward_care_places=np.rint(
            services.wards.onward_care_places + discharge.extra_onward_care_places * f_discharge
        )
        .astype(int)
        .tolist(),
        extended_access_groups=scope_groups(levers.extended_gp_access, practices, year),
        case_management_fraction=scoped(levers.case_management),
        care_home_fraction=scoped(levers.care_home_gp_cover),
        self_management_fraction=scoped(levers.self_management),
    )
