"""What one replication records as it runs: flat lists of event times and flags.

Appending a float to a list is the cheapest record Python offers; annual
metrics are computed from these lists afterwards with numpy
(:mod:`sim.metrics`). Each episode also gets exactly one terminal outcome.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

IN_PROGRESS = 0
OUTCOMES: tuple[str, ...] = (
    "in_progress",
    "resolved_gp",
    "resolved_111_advice",
    "resolved_out_of_hours_gp",
    "ambulance_hear_and_treat",
    "ambulance_see_and_treat",
    "managed_at_home",
    "ucc_discharged",
    "ae_discharged",
    "admitted",
)
OUTCOME_CODE = {name: code for code, name in enumerate(OUTCOMES)}
OUTCOME_GROUP = {
    "in_progress": "in_progress",
    "resolved_gp": "resolved",
    "resolved_111_advice": "resolved",
    "resolved_out_of_hours_gp": "resolved",
    "ambulance_hear_and_treat": "resolved",
    "ambulance_see_and_treat": "resolved",
    "managed_at_home": "managed_at_home",
    "ucc_discharged": "resolved",
    "ae_discharged": "discharged_from_ae",
    "admitted": "admitted",
}

CONTACTS = ("gp", "nhs111", "ambulance", "ucc", "ae")
GP, NHS111, AMBULANCE, UCC, AE = range(5)

# Ambulance incident kinds
HEAR_AND_TREAT, SEE_AND_TREAT, CONVEYED, PATHFINDER = range(4)
# How a patient arrived at A&E or a bed
ARRIVAL_MODES = (
    "walk_in",
    "ambulance",
    "gp_referral",
    "ucc_transfer",
    "rapid_response",
    "readmission",
)
WALK_IN, BY_AMBULANCE, GP_REFERRAL, UCC_TRANSFER, FROM_RRT, READMISSION = range(6)
DIRECT = 6  # direct admission from GP, not through A&E


@dataclass
class Recorder:
    """Event lists of one replication (times in simulation hours)."""

    arrival_time: array = field(default_factory=lambda: array("d"))
    is_readmission: array = field(default_factory=lambda: array("b"))
    outcome: array = field(default_factory=lambda: array("b"))
    end_time: array = field(default_factory=lambda: array("d"))
    first_contact: array = field(default_factory=lambda: array("b"))
    terminations: int = 0

    gp_seen: list[float] = field(default_factory=list)
    gp_failed: list[float] = field(default_factory=list)
    gp_failed_closed: list[float] = field(default_factory=list)
    out_of_hours_gp: list[float] = field(default_factory=list)
    nhs111_calls: list[float] = field(default_factory=list)

    ambulance_time: list[float] = field(default_factory=list)  # call time, once the kind is known
    ambulance_kind: list[int] = field(default_factory=list)
    ambulance_wait: list[float] = field(default_factory=list)  # hours to a vehicle, per dispatch
    ambulance_dispatch_time: list[float] = field(default_factory=list)

    rrt_time: list[float] = field(default_factory=list)  # accepted referrals, at completion
    rrt_response: list[float] = field(default_factory=list)  # nan if escalated before response
    rrt_managed: list[bool] = field(default_factory=list)
    rrt_declined: list[float] = field(default_factory=list)
    rrt_busy_start: list[float] = field(default_factory=list)
    rrt_busy_hours: list[float] = field(default_factory=list)

    ucc_time: list[float] = field(default_factory=list)
    ucc_transfer: list[bool] = field(default_factory=list)
    ucc_streamed: list[bool] = field(default_factory=list)

    ae_arrival: list[float] = field(default_factory=list)
    ae_departure: list[float] = field(default_factory=list)
    ae_admitted: list[bool] = field(default_factory=list)
    ae_mode: list[int] = field(default_factory=list)
    ae_treat_start: list[float] = field(default_factory=list)
    ae_treat_hours: list[float] = field(default_factory=list)

    admission_time: list[float] = field(default_factory=list)
    admission_acs: list[bool] = field(default_factory=list)
    admission_readmission: list[bool] = field(default_factory=list)
    admission_source: list[int] = field(default_factory=list)
    admission_episode: list[int] = field(default_factory=list)
    discharge_episode: list[int] = field(default_factory=list)
    discharge_time: list[float] = field(default_factory=list)
    discharge_delay_hours: list[float] = field(default_factory=list)

    prevented_time: list[float] = field(default_factory=list)

    # State sampled every few hours (warm-up analysis): time, beds occupied,
    # patients in A&E waiting for a clinician or a bed, onward-care places used.
    monitor_time: list[float] = field(default_factory=list)
    monitor_beds: list[int] = field(default_factory=list)
    monitor_ae_queue: list[int] = field(default_factory=list)
    monitor_onward: list[int] = field(default_factory=list)

    def new_episodes(self, arrival_times: list[float], readmission: bool = False) -> int:
        """Reserve ids for episodes arriving at ``arrival_times``; returns the first id."""
        first = len(self.outcome)
        count = len(arrival_times)
        self.arrival_time.extend(arrival_times)
        self.is_readmission.extend([int(readmission)] * count)
        self.outcome.extend(bytes(count))
        self.end_time.extend([float("nan")] * count)
        self.first_contact.extend([AE if readmission else -1] * count)
        return first

    def finish(self, episode: int, outcome: int, now: float) -> None:
        self.outcome[episode] = outcome
        self.end_time[episode] = now
        self.terminations += 1

    def incident(self, called: float, kind: int) -> None:
        self.ambulance_time.append(called)
        self.ambulance_kind.append(kind)

    def rrt_referral(self, referred: float, response_hours: float, managed: bool) -> None:
        self.rrt_time.append(referred)
        self.rrt_response.append(response_hours)
        self.rrt_managed.append(managed)

    def ucc_attendance(self, arrived: float, streamed: bool, transfer: bool) -> None:
        self.ucc_time.append(arrived)
        self.ucc_streamed.append(streamed)
        self.ucc_transfer.append(transfer)

    def ae_attendance(self, arrived: float, departed: float, admitted: bool, mode: int) -> None:
        self.ae_arrival.append(arrived)
        self.ae_departure.append(departed)
        self.ae_admitted.append(admitted)
        self.ae_mode.append(mode)
