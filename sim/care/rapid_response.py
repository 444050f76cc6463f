"""The rapid response team: a crisis visit at home within two hours, then support there.

This is the one service whose patients may give up waiting (the team must reach
them within its response target, or they go to A&E instead), so it is a SimPy
process on SimPy resources, readable as one story:

1. referred (by a GP, or by an ambulance crew on scene: the pathfinder); declined
   when closed or when the team will not take it (its acceptance share);
2. waits for a member of staff, no longer than the response target allows after
   travel; if none is free in time, escalated to A&E unseen;
3. travels and visits; managed at home (a share by acuity), with a virtual-ward
   place for those above low acuity where the area has one, and follow-up visits;
   otherwise sent to A&E.

An area may run one team per locality (``services.rapid_response.teams``): a
patient is then seen by the team of their practice's locality, and each team
has its own staff, hours and acceptance (a lever can expand one team alone).
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.annual import count_by_year, ratio, sum_by_year, sum_days_by_year
from sim.care.base import CareContext, CareService, EpisodeBlock, Process, Report
from sim.demand import exponential
from sim.recorder import FROM_RRT, OUTCOME_CODE, flags, floats, ints
from sim.resources import StaffRota

MANAGED_AT_HOME = OUTCOME_CODE["managed_at_home"]
FOLLOW_UP_INTERVAL_HOURS = 24.0


@dataclass
class RapidResponseRecords:
    time: array[float] = field(default_factory=floats)  # accepted referrals
    response: array[float] = field(default_factory=floats)  # hours; nan if escalated unseen
    managed: array[int] = field(default_factory=flags)
    episode: array[int] = field(default_factory=ints)  # of each accepted referral
    declined: array[float] = field(default_factory=floats)
    busy_start: array[float] = field(default_factory=floats)
    busy_hours: array[float] = field(default_factory=floats)
    busy_team: array[int] = field(default_factory=ints)

    def referral(self, referred: float, response_hours: float, managed: bool, episode: int) -> None:
        self.time.append(referred)
        self.response.append(response_hours)
        self.managed.append(managed)
        self.episode.append(episode)

    def busy(self, start: float, hours: float, team: int) -> None:
        self.busy_start.append(start)
        self.busy_hours.append(hours)
        self.busy_team.append(team)


class RapidResponse(CareService):
    name = "rapid_response"
    stream = "rapid_response"
    uniforms = ("u_accept", "u_managed", "u_visit")
    decisions = ("u_accept", "u_managed")
    variate_inputs = ("u_visit",)
    metrics = (
        "rrt_referrals",
        "rrt_declined",
        "rrt_managed_at_home",
        "rrt_escalated_unseen",
        "rrt_mean_response_hours",
        "rrt_utilisation",
    )
    Records = RapidResponseRecords

    def __init__(self, ctx: CareContext, system: Any):
        super().__init__(ctx, system)
        rrt, schedule = ctx.config.services.rapid_response, ctx.schedule
        self.open_hour = rrt.open_hour
        self.travel = rrt.travel_hours_mean
        # A clinician must be free in time to travel and still meet the response target.
        self.wait_limit = max(rrt.response_target_hours - rrt.travel_hours_mean, 0.0)
        self.follow_ups = rrt.follow_up_visits
        self.managed_share = list(rrt.managed_at_home.as_tuple())
        self.virtual_ward_hours = rrt.virtual_ward_days * 24.0
        self.visit_mean = rrt.visit_hours_mean
        self.teams = schedule.rapid_response
        self.rotas = [StaffRota(ctx.env, most) for most in self.teams.capacity]
        self.team_of_practice = self.teams.team_of_practice.tolist()
        # Places on the virtual ward by day (none: no virtual ward that day); a patient
        # takes one only if one is free, and never waits for one.
        self.virtual_ward_places = schedule.virtual_ward_places
        self.on_virtual_ward = 0
        self.rec: RapidResponseRecords = self.records

    def connect(self) -> None:
        self.to_ae = self.hand_to("ae")

    def processes(self) -> list[Process]:
        # Daily: each team's staff on duty (the schedule follows the staffing lever).
        return [
            self.daily(staff, rota.set_on_duty)
            for staff, rota in zip(self.teams.staff, self.rotas, strict=True)
        ]

    def variates(
        self,
        u: Mapping[str, np.ndarray],
        acuity: np.ndarray,
        age_band: np.ndarray,
        ltc: np.ndarray,
    ) -> dict[str, np.ndarray]:
        return {"visit_h": exponential(self.visit_mean, u["u_visit"])}

    def team(self, b: EpisodeBlock, j: int) -> int:
        """The team that serves the patient: their practice's locality's, or the area's."""
        return int(self.team_of_practice[b.practice[j]])

    def accepts(self, b: EpisodeBlock, j: int, now: float) -> bool:
        """The patient's team is open and willing to take this referral (the episode's own
        uniform decides)."""
        team, day = self.team(b, j), self.ctx.day(now)
        hour = now - 24.0 * day
        is_open = self.open_hour <= hour < self.teams.close_hour[team][day]
        return is_open and b.u_accept[j] < self.teams.acceptance[team][day]

    def receive(self, b: EpisodeBlock, j: int, episode: int, source: int) -> int:
        self.env.process(self.referral(b, j, episode, source))
        return -1

    def referral(self, b: EpisodeBlock, j: int, episode: int, source: int) -> Process:
        env, rec = self.env, self.rec
        referred = env.now
        traced = episode in self.traced
        if not self.accepts(b, j, referred):
            rec.declined.append(referred)
            if traced:
                self.tracer.add(referred, episode, self.name, "referral", note="declined: to A&E")
            self.to_ae(b, j, episode, FROM_RRT)
            return
        team = self.team(b, j)
        pool = self.rotas[team].resource
        staff = pool.request()
        yield staff | env.timeout(self.wait_limit)
        if not staff.triggered:
            staff.cancel()
            rec.referral(referred, float("nan"), False, episode)
            if traced:
                note = "nobody free in time: to A&E unseen"
                self.tracer.add(
                    referred, episode, self.name, "referral", "staff", env.now - referred, note
                )
            self.to_ae(b, j, episode, FROM_RRT)
            return
        response = env.now - referred + self.travel
        hours = self.travel + b.visit_h[j]
        if traced:
            note = f"visit ends at {self.when(env.now + hours)}; response {response:.2f} h"
            self.tracer.add(
                referred, episode, self.name, "referral", "staff", env.now - referred, note
            )
        rec.busy(env.now, hours, team)
        yield env.timeout(hours)
        pool.release(staff)
        acuity = b.acuity[j]
        managed = b.u_managed[j] < self.managed_share[acuity]
        places = self.virtual_ward_places[self.ctx.day(env.now)]
        if managed and acuity > 0 and places > 0:
            managed = self.on_virtual_ward < places
            if managed:
                self.on_virtual_ward += 1
                rec.referral(referred, response, True, episode)
                if traced:
                    note = "managed at home, on the virtual ward"
                    self.tracer.add(env.now, episode, self.name, "visit done", note=note)
                self.finish(episode, MANAGED_AT_HOME, env.now)
                self._follow_up(hours, team)
                yield env.timeout(self.virtual_ward_hours)
                self.on_virtual_ward -= 1
                return
        rec.referral(referred, response, managed, episode)
        if traced:
            note = "managed at home" if managed else "to A&E"
            self.tracer.add(env.now, episode, self.name, "visit done", note=note)
        if managed:
            self.finish(episode, MANAGED_AT_HOME, env.now)
            self._follow_up(hours, team)
        else:
            self.to_ae(b, j, episode, FROM_RRT)

    def _follow_up(self, hours: float, team: int) -> None:
        if self.follow_ups:
            self.env.process(self.follow_up_visits(hours, team))

    def follow_up_visits(self, hours: float, team: int) -> Process:
        """Short-term support at home by the same team: visits a day apart, each as long
        as the first."""
        env, rec, pool = self.env, self.rec, self.rotas[team].resource
        for _ in range(self.follow_ups):
            yield env.timeout(FOLLOW_UP_INTERVAL_HOURS)
            staff = pool.request()
            yield staff
            rec.busy(env.now, hours, team)
            yield env.timeout(hours)
            pool.release(staff)

    def report(self, records: Mapping[str, Any], ctx: CareContext) -> Report:
        rec: RapidResponseRecords = records[self.name]
        tl = ctx.timeline
        time = np.asarray(rec.time, dtype=float)
        response = np.asarray(rec.response, dtype=float)
        responded = ~np.isnan(response)
        staffed = self.teams.staffed_hours(self.open_hour)
        busy = sum_by_year(
            np.asarray(rec.busy_start, dtype=float), np.asarray(rec.busy_hours, dtype=float), tl
        )
        return {
            "rrt_referrals": count_by_year(time, tl),
            "rrt_declined": count_by_year(rec.declined, tl),
            "rrt_managed_at_home": count_by_year(time, tl, np.asarray(rec.managed, dtype=bool)),
            "rrt_escalated_unseen": count_by_year(time, tl, ~responded),
            "rrt_mean_response_hours": ratio(
                sum_by_year(time[responded], response[responded], tl),
                count_by_year(time[responded], tl),
            ),
            "rrt_utilisation": ratio(busy, sum_days_by_year(staffed.sum(axis=0), tl)),
        }
