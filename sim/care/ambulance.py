"""The ambulance service: a 999 call, the vehicle, the scene, and where the patient goes.

Hear-and-treat is decided on the phone, for a whole period at once, by
:mod:`sim.care.routing`; every other call is received here. A vehicle's whole job
is known when it is dispatched (the time on scene and the journey are drawn in
advance), so vehicles are booked servers (:class:`~sim.resources.BookedServers`):

1. dispatched when a vehicle is free (first come, first served);
2. on scene: treated there (see-and-treat) if the crew can and the patient does
   not need admission; or, for a low- or medium-acuity patient the rapid response
   team accepts, handed to that team (the pathfinder); or else
3. conveyed to A&E, where the crew hands over and turns round.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.annual import count_by_year, ratio, sum_by_year
from sim.care.base import CareContext, CareService, EpisodeBlock, Report
from sim.demand import exponential
from sim.recorder import BY_AMBULANCE, OUTCOME_CODE, floats, ints
from sim.resources import BookedServers

# What became of an incident (records.kind).
HEAR_AND_TREAT, SEE_AND_TREAT, CONVEYED, PATHFINDER = range(4)
SEE_TREAT_DONE = OUTCOME_CODE["ambulance_see_and_treat"]


@dataclass
class AmbulanceRecords:
    time: array[float] = field(default_factory=floats)  # call time, once the kind is known
    kind: array[int] = field(default_factory=ints)
    wait: array[float] = field(default_factory=floats)  # hours to a vehicle, per dispatch
    dispatch_time: array[float] = field(default_factory=floats)

    def incident(self, called: float, kind: int) -> None:
        self.time.append(called)
        self.kind.append(kind)


class Ambulance(CareService):
    name = "ambulance"
    stream = "ambulance"
    uniforms = ("u_hear", "u_see", "u_path", "u_scene", "u_convey")
    decisions = ("u_see", "u_path")
    variate_inputs = ("u_scene", "u_convey")
    metrics = (
        "ambulance_incidents",
        "ambulance_hear_and_treat",
        "ambulance_see_and_treat",
        "ambulance_conveyances",
        "ambulance_pathfinder_referrals",
        "ambulance_mean_wait_minutes",
        "ambulance_response_minutes",
    )
    Records = AmbulanceRecords

    def __init__(self, ctx: CareContext, system: Any):
        super().__init__(ctx, system)
        amb = ctx.config.services.ambulance
        self.vehicles = BookedServers(amb.vehicles)
        self.see_and_treat = list(amb.see_and_treat.as_tuple())
        self.turnaround = amb.handover_turnaround_hours
        self.to_scene = amb.travel_to_scene_hours_mean
        self.scene_mean = amb.scene_hours_mean
        self.convey_mean = amb.convey_to_handover_hours_mean
        self.pathfinder_share = ctx.schedule.pathfinder_share
        self.rec: AmbulanceRecords = self.records

    def connect(self) -> None:
        self.to_ae = self.hand_to("ae")
        self.to_rapid_response = self.hand_to("rapid_response")
        self.rrt_accepts = self.system.service("rapid_response").accepts

    def variates(
        self,
        u: Mapping[str, np.ndarray],
        acuity: np.ndarray,
        age_band: np.ndarray,
        ltc: np.ndarray,
    ) -> dict[str, np.ndarray]:
        return {
            "scene_h": exponential(self.scene_mean, u["u_scene"]),
            "convey_h": exponential(self.convey_mean, u["u_convey"]),
        }

    def receive(self, b: EpisodeBlock, j: int, episode: int, source: int) -> int:
        """A 999 call that needs a vehicle."""
        env, rec, vehicles = self.env, self.rec, self.vehicles
        called = env.now
        dispatched = vehicles.start(called)
        rec.dispatch_time.append(dispatched)
        rec.wait.append(dispatched - called)
        leave_scene = dispatched + (self.to_scene + b.scene_h[j])
        acuity = b.acuity[j]
        # A crew treats on scene only a patient who does not need admission.
        if b.u_see[j] < self.see_and_treat[acuity] and b.u_admit[j] >= b.p_admit[j]:
            vehicles.hold(dispatched, leave_scene)
            done = called + (leave_scene - called)  # SimPy's arithmetic for a wait from ``called``
            if episode in self.traced:
                self._trace(
                    called, episode, dispatched, f"treated on scene, done at {self.when(done)}"
                )
            env.record_at(done, self.see_and_treat_done, episode, called, done)
            return -1
        if (
            acuity < 2
            and b.u_path[j] < self.pathfinder_share[self.ctx.day(leave_scene)]
            and self.rrt_accepts(b, j, leave_scene)
        ):
            vehicles.hold(dispatched, leave_scene)
            env.call_in(leave_scene - called, self.pathfinder_handover, b, j, episode, called)
            if episode in self.traced:
                note = f"handed to rapid response on scene at {self.when(leave_scene)} (pathfinder)"
                self._trace(called, episode, dispatched, note)
            return -1
        at_hospital = dispatched + (self.to_scene + b.scene_h[j] + b.convey_h[j])
        # The crew hands over and turns round while the patient's A&E visit goes on.
        vehicles.hold(dispatched, at_hospital + self.turnaround)
        rec.incident(called, CONVEYED)
        env.call_in(at_hospital - called, self.to_ae, b, j, episode, BY_AMBULANCE)
        if episode in self.traced:
            self._trace(
                called, episode, dispatched, f"conveyed, at A&E at {self.when(at_hospital)}"
            )
        return -1

    def _trace(self, called: float, episode: int, dispatched: float, note: str) -> None:
        self.tracer.add(
            called, episode, self.name, "999 call", "vehicle", dispatched - called, note
        )

    def see_and_treat_done(self, episode: int, called: float, done: float) -> None:
        self.rec.incident(called, SEE_AND_TREAT)
        self.finish(episode, SEE_TREAT_DONE, done)

    def pathfinder_handover(self, b: EpisodeBlock, j: int, episode: int, called: float) -> None:
        self.rec.incident(called, PATHFINDER)
        self.to_rapid_response(b, j, episode, BY_AMBULANCE)

    def report(self, records: Mapping[str, Any], ctx: CareContext) -> Report:
        rec: AmbulanceRecords = records[self.name]
        tl = ctx.timeline
        kind = np.asarray(rec.kind, dtype=np.int64)
        m = {
            "ambulance_incidents": count_by_year(rec.time, tl),
            "ambulance_hear_and_treat": count_by_year(rec.time, tl, kind == HEAR_AND_TREAT),
            "ambulance_see_and_treat": count_by_year(rec.time, tl, kind == SEE_AND_TREAT),
            "ambulance_conveyances": count_by_year(rec.time, tl, kind == CONVEYED),
            "ambulance_pathfinder_referrals": count_by_year(rec.time, tl, kind == PATHFINDER),
        }
        waits = np.asarray(rec.wait, dtype=float)
        dispatched = np.asarray(rec.dispatch_time, dtype=float)
        m["ambulance_mean_wait_minutes"] = 60 * ratio(
            sum_by_year(dispatched, waits, tl), count_by_year(dispatched, tl)
        )
        # Call to arrival on scene: the wait for a vehicle plus the mean travel to the scene.
        m["ambulance_response_minutes"] = m["ambulance_mean_wait_minutes"] + 60 * self.to_scene
        return m
