"""What one replication records as it runs: flat typed arrays of event times and flags.

Appending to an ``array.array`` is as cheap as to a list and stores 8 bytes, not
a 32-byte Python float, per entry; annual metrics are computed from them afterwards with numpy
(:mod:`sim.metrics`). Each episode also gets exactly one terminal outcome.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
# How a patient arrived at A&E or a bed: walk-in, ambulance, GP referral, UCC transfer,
# rapid response, readmission (and DIRECT: a GP's direct admission, not through A&E)
WALK_IN, BY_AMBULANCE, GP_REFERRAL, UCC_TRANSFER, FROM_RRT, READMISSION = range(6)
DIRECT = 6  # direct admission from GP, not through A&E


def as_array(typecode: str, values: np.ndarray) -> array[Any]:
    """A numpy array as an ``array.array`` of ``typecode``, in one copy."""
    flat: array[Any] = array(typecode)
    extend_from(flat, values)
    return flat


def extend_from(target: array[Any], values: np.ndarray) -> None:
    """Append a numpy array's values to an ``array.array`` (one copy, converted to its type)."""
    contiguous = np.ascontiguousarray(values, dtype=np.dtype(target.typecode))
    target.frombytes(contiguous.data.cast("B"))


def _floats() -> array:
    return array("d")


def _ints() -> array:
    return array("q")


def _flags() -> array:
    return array("b")


@dataclass
class Recorder:
    """Event lists of one replication (times in simulation hours)."""

    arrival_time: array = field(default_factory=_floats)
    episode_person: array = field(default_factory=_ints)  # LTC cohort member, -1 for others
    is_readmission: array = field(default_factory=_flags)
    outcome: array = field(default_factory=_flags)
    end_time: array = field(default_factory=_floats)
    first_contact: array = field(default_factory=_flags)
    terminations: int = 0

    gp_seen: array = field(default_factory=_floats)
    gp_failed: array = field(default_factory=_floats)
    gp_failed_closed: array = field(default_factory=_floats)
    out_of_hours_gp: array = field(default_factory=_floats)
    nhs111_calls: array = field(default_factory=_floats)

    ambulance_time: array = field(default_factory=_floats)  # call time, once the kind is known
    ambulance_kind: array = field(default_factory=_ints)
    ambulance_wait: array = field(default_factory=_floats)  # hours to a vehicle, per dispatch
    ambulance_dispatch_time: array = field(default_factory=_floats)

    rrt_time: array = field(default_factory=_floats)  # accepted referrals, at completion
    rrt_response: array = field(default_factory=_floats)  # nan if escalated before response
    rrt_managed: array = field(default_factory=_flags)
    rrt_declined: array = field(default_factory=_floats)
    rrt_busy_start: array = field(default_factory=_floats)
    rrt_busy_hours: array = field(default_factory=_floats)

    ucc_time: array = field(default_factory=_floats)
    ucc_transfer: array = field(default_factory=_flags)
    ucc_streamed: array = field(default_factory=_flags)

    ae_arrival: array = field(default_factory=_floats)
    ae_departure: array = field(default_factory=_floats)
    ae_admitted: array = field(default_factory=_flags)
    ae_mode: array = field(default_factory=_ints)
    # When the attendance's outcome was settled (end of treatment, or admission):
    # rows are written when the outcome is certain, which for a discharge is at
    # triage, so metrics put them in this order before summing (see ae_rows).
    ae_settled: array = field(default_factory=_floats)
    ae_treat_start: array = field(default_factory=_floats)
    ae_treat_hours: array = field(default_factory=_floats)

    # An admission is counted at the decision to admit (``admission_time``); its stay
    # starts when a bed is granted (``bed_start``, nan while the patient still waits).
    admission_time: array = field(default_factory=_floats)
    bed_start: array = field(default_factory=_floats)
    admission_group: array = field(default_factory=_flags)  # diagnosis group (sim.indicators)
    admission_age_band: array = field(default_factory=_flags)  # index in config.AGE_BANDS
    admission_readmission: array = field(default_factory=_flags)
    admission_source: array = field(default_factory=_ints)
    admission_episode: array = field(default_factory=_ints)
    discharge_episode: array = field(default_factory=_ints)
    discharge_time: array = field(default_factory=_floats)
    discharge_delay_hours: array = field(default_factory=_floats)
    # Discharged without the onward-care place they waited for (gave up waiting).
    onward_care_not_found: array = field(default_factory=_floats)

    prevented_time: array = field(default_factory=_floats)

    # State sampled every few hours (warm-up analysis): time, beds occupied,
    # patients in A&E waiting for a clinician or a bed, onward-care places used.
    monitor_time: array = field(default_factory=_floats)
    monitor_beds: array = field(default_factory=_ints)
    monitor_ae_queue: array = field(default_factory=_ints)
    monitor_onward: array = field(default_factory=_ints)

    def new_episodes(self, arrival_times: np.ndarray, persons: np.ndarray) -> int:
        """Reserve ids for first episodes arriving at ``arrival_times`` (of cohort members
        ``persons``, -1 outside the LTC cohort); returns the first id."""
        first, count = len(self.outcome), int(arrival_times.size)
        extend_from(self.arrival_time, arrival_times)
        extend_from(self.episode_person, persons)
        self.is_readmission.frombytes(bytes(count))
        self.outcome.frombytes(bytes(count))
        extend_from(self.end_time, np.full(count, np.nan))
        extend_from(self.first_contact, np.full(count, -1))
        return first

    def new_readmission(self, now: float) -> int:
        """Reserve the id of a readmission arriving (at A&E) now."""
        episode = len(self.outcome)
        self.arrival_time.append(now)
        self.episode_person.append(-1)
        self.is_readmission.append(1)
        self.outcome.append(0)
        self.end_time.append(float("nan"))
        self.first_contact.append(AE)
        return episode

    def set_first_contact(self, episodes: np.ndarray, contacts: np.ndarray) -> None:
        np.frombuffer(self.first_contact, dtype=np.int8)[episodes] = contacts

    def finish_many(self, episodes: np.ndarray, outcome: int, times: np.ndarray) -> None:
        """:meth:`finish` for many episodes at once."""
        np.frombuffer(self.outcome, dtype=np.int8)[episodes] = outcome
        np.frombuffer(self.end_time, dtype=float)[episodes] = times
        self.terminations += int(episodes.size)

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

    def ae_attendance(
        self, arrived: float, departed: float, admitted: bool, mode: int, settled: float
    ) -> int:
        """Record an attendance; returns its row (an admitted patient's departure, the
        time a bed is granted, is filled in then: nan while still waiting)."""
        self.ae_arrival.append(arrived)
        self.ae_departure.append(departed)
        self.ae_admitted.append(admitted)
        self.ae_mode.append(mode)
        self.ae_settled.append(settled)
        return len(self.ae_arrival) - 1

    def decide_to_admit(
        self,
        now: float,
        group: int,
        age_band: int,
        readmission: bool,
        source: int,
        episode: int,
    ) -> int:
        """Count an admission at the decision to admit; returns its row."""
        self.admission_time.append(now)
        self.bed_start.append(float("nan"))
        self.admission_group.append(group)
        self.admission_age_band.append(age_band)
        self.admission_readmission.append(readmission)
        self.admission_source.append(source)
        self.admission_episode.append(episode)
        return len(self.admission_time) - 1

    def ae_rows(self) -> dict[str, np.ndarray]:
        """A&E attendances (arrival, departure, admitted, mode) in the order they were settled.

        A fixed order makes floating-point sums over them independent of when
        the model happened to write each row.
        """
        order = np.argsort(np.frombuffer(self.ae_settled, dtype=float), kind="stable")
        return {
            "arrival": np.frombuffer(self.ae_arrival, dtype=float)[order],
            "departure": np.frombuffer(self.ae_departure, dtype=float)[order],
            "admitted": np.frombuffer(self.ae_admitted, dtype=np.int8)[order].astype(bool),
            "mode": np.frombuffer(self.ae_mode, dtype=np.int64)[order],
        }
