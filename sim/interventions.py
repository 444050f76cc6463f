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


def coverage(lever: Lever, practices: Sequence[Practice], year_fraction: np.ndarray) -> np.ndarray:
    """The share of the area's list the lever is in force for, by day: its ramp for an
    area-wide lever, each scope's ramp weighted by its practices' list sizes otherwise
    (what costs scale with)."""
    if not isinstance(lever, ScopedLever) or not lever.scopes:
        return ramp_fraction(lever, year_fraction)
    lists = np.array([p.list_size for p in practices], dtype=float)
    total = np.zeros_like(np.asarray(year_fraction, dtype=float))
    for members, fraction in scope_groups(lever, practices, year_fraction):
        total += lists[members].sum() / lists.sum() * fraction
    return total


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


WHOLE_AREA_TEAM = "whole area"


@dataclass(frozen=True)
class RapidResponseTeams:
    """Each rapid response team's staff on duty, closing hour and acceptance by day (one
    team for the whole area unless the area names locality teams)."""

    names: tuple[str, ...]
    team_of_practice: np.ndarray  # index into ``names`` for each practice
    staff: list[list[int]]
    close_hour: list[list[float]]
    acceptance: list[list[float]]
    # The most staff each team's rota must hold (its size; spare units are held off duty).
    capacity: list[int]

    def staffed_hours(self, open_hour: float) -> np.ndarray:
        """Staff hours on duty per team (rows) per day (columns)."""
        open_hours = np.clip(np.asarray(self.close_hour) - open_hour, 0, None)
        return np.asarray(self.staff, dtype=float) * open_hours


def share_out(total: int, weights: np.ndarray) -> np.ndarray:
    """Whole numbers in proportion to ``weights`` that add up to ``total`` (largest
    remainder, ties to the first)."""
    raw = total * weights / weights.sum()
    whole = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - whole), kind="stable")
    whole[order[: total - int(whole.sum())]] += 1
    return whole


def rapid_response_teams(config: ModelConfig, year: np.ndarray) -> RapidResponseTeams:
    """Base staffing per team, plus the lever's extra staff across its scope (the whole
    area by default) shared between the scope's teams by list size, each on its ramp."""
    base, lever = config.services.rapid_response, config.interventions.rapid_response
    practices = config.practices
    if base.teams:
        names = tuple(sorted(base.teams))
        team_of_practice = np.array([names.index(p.locality) for p in practices])
        staff = np.array([base.teams[n] for n in names], dtype=float)
    else:
        names, team_of_practice = (WHOLE_AREA_TEAM,), np.zeros(len(practices), dtype=np.int64)
        staff = np.array([float(base.staff)])
    lists = np.bincount(
        team_of_practice, weights=[p.list_size for p in practices], minlength=len(names)
    )
    scopes: list[list[str] | None] = [list(s.localities) for s in lever.scopes] or [None]
    fraction = np.zeros((len(names), year.size))
    extra = np.zeros(len(names))
    for scope, (_, ramp) in zip(scopes, scope_groups(lever, practices, year), strict=True):
        teams = np.array(
            [i for i, n in enumerate(names) if scope is None or n in scope], dtype=np.int64
        )
        fraction[teams] = ramp[None, :]
        extra[teams] = share_out(lever.extra_staff, lists[teams])
    close = np.where(
        (fraction > 0) & (lever.close_hour is not None),
        lever.close_hour if lever.close_hour is not None else base.close_hour,
        base.close_hour,
    )
    acceptance = (
        blend(base.acceptance, lever.acceptance, fraction)
        if lever.acceptance is not None
        else np.full_like(fraction, base.acceptance)
    )
    on_duty = np.rint(staff[:, None] + extra[:, None] * fraction).astype(int)
    return RapidResponseTeams(
        names=names,
        team_of_practice=team_of_practice,
        staff=on_duty.tolist(),
        close_hour=close.astype(float).tolist(),
        acceptance=acceptance.tolist(),
        capacity=on_duty.max(axis=1).tolist(),
    )


@dataclass(frozen=True)
class DailySchedule:
    """Per-day values of everything levers change in the pathway (lists for speed); a
    scoped lever's share in force is per practice (rows) per day (columns)."""

    rapid_response: RapidResponseTeams
    virtual_ward_places: list[int]
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
    streaming = levers.front_door_streaming
    f_stream = ramp_fraction(streaming, year)
    discharge = levers.enhanced_discharge
    f_discharge = ramp_fraction(discharge, year)
    practices = config.practices

    def scoped(lever: ScopedLever) -> np.ndarray:
        return by_practice(scope_groups(lever, practices, year), len(practices))

    return DailySchedule(
        rapid_response=rapid_response_teams(config, year),
        virtual_ward_places=np.rint(
            services.rapid_response.virtual_ward_places
            + levers.rapid_response.virtual_ward_places * ramp_fraction(levers.rapid_response, year)
        )
        .astype(int)
        .tolist(),
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
