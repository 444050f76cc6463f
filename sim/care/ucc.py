"""The urgent care centre: walk-ins (and patients streamed from A&E's front door).

A clinician's time with a patient is known on arrival, so clinicians are booked
servers. The UCC cannot admit: a patient who needs admission, and a share of
the others by acuity, is sent on to A&E once seen; the rest are discharged.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.annual import count_by_year
from sim.care.base import CareContext, CareService, EpisodeBlock, Report
from sim.demand import exponential
from sim.recorder import OUTCOME_CODE, STREAMED_FROM_AE, UCC_TRANSFER, flags, floats, ints
from sim.resources import BookedServers

UCC_DISCHARGED = OUTCOME_CODE["ucc_discharged"]


@dataclass
class UCCRecords:
    time: array[float] = field(default_factory=floats)  # arrival
    transfer: array[int] = field(default_factory=flags)  # sent on to A&E
    streamed: array[int] = field(default_factory=flags)  # streamed from A&E's front door
    episode: array[int] = field(default_factory=ints)

    def attendance(self, arrived: float, streamed: bool, transfer: bool, episode: int) -> None:
        self.time.append(arrived)
        self.episode.append(episode)
        self.streamed.append(streamed)
        self.transfer.append(transfer)


class UrgentCareCentre(CareService):
    name = "ucc"
    stream = "ucc"
    uniforms = ("u_transfer", "u_ucc")
    decisions = ("u_transfer",)
    variate_inputs = ("u_ucc",)
    metrics = ("ucc_attendances", "ucc_transfers_to_ae", "ucc_streamed_from_ae")
    Records = UCCRecords

    def __init__(self, ctx: CareContext, system: Any):
        super().__init__(ctx, system)
        ucc = ctx.config.services.ucc
        self.clinicians = BookedServers(ucc.clinicians)
        self.transfer_share = list(ucc.transfer_to_ae.as_tuple())
        self.treatment_mean = np.array(ucc.treatment_hours_mean.as_tuple())
        self.rec: UCCRecords = self.records

    def connect(self) -> None:
        self.to_ae = self.hand_to("ae")

    def variates(
        self,
        u: Mapping[str, np.ndarray],
        acuity: np.ndarray,
        age_band: np.ndarray,
        ltc: np.ndarray,
    ) -> dict[str, np.ndarray]:
        return {"ucc_h": exponential(self.treatment_mean[acuity], u["u_ucc"])}

    def receive(self, b: EpisodeBlock, j: int, episode: int, source: int) -> int:
        """Arrive (walk-in, or streamed from A&E's front door) and see a clinician."""
        arrived, hours = self.env.now, b.ucc_h[j]
        streamed = source == STREAMED_FROM_AE
        start = self.clinicians.book(arrived, hours)
        seen = arrived + (start + hours - arrived)
        # The UCC cannot admit: a patient who needs admission is always sent on to A&E.
        transfer = b.u_transfer[j] < self.transfer_share[b.acuity[j]] or b.u_admit[j] < b.p_admit[j]
        if transfer:
            self.env.call_at(seen, self.transferred, b, j, episode, streamed, arrived)
        else:
            self.env.record_at(seen, self.discharged, episode, streamed, arrived, seen)
        if episode in self.traced:
            then = "sent on to A&E" if transfer else "discharged"
            note = f"seen until {self.when(seen)}, then {then}" + (
                " (streamed)" if streamed else ""
            )
            self.tracer.add(
                arrived, episode, self.name, "arrive", "clinician", start - arrived, note
            )
        return -1

    def discharged(self, episode: int, streamed: bool, arrived: float, seen: float) -> None:
        self.rec.attendance(arrived, streamed, False, episode)
        self.finish(episode, UCC_DISCHARGED, seen)

    def transferred(
        self, b: EpisodeBlock, j: int, episode: int, streamed: bool, arrived: float
    ) -> None:
        self.rec.attendance(arrived, streamed, True, episode)
        self.to_ae(b, j, episode, UCC_TRANSFER)

    def report(self, records: Mapping[str, Any], ctx: CareContext) -> Report:
        rec: UCCRecords = records[self.name]
        tl = ctx.timeline
        return {
            "ucc_attendances": count_by_year(rec.time, tl),
            "ucc_transfers_to_ae": count_by_year(rec.time, tl, np.asarray(rec.transfer, bool)),
            "ucc_streamed_from_ae": count_by_year(rec.time, tl, np.asarray(rec.streamed, bool)),
        }
