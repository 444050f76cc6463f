"""What one replication records about its episodes: flat typed arrays of times and flags.

Appending to an ``array.array`` is as cheap as to a list and stores 8 bytes, not
a 32-byte Python float, per entry; annual metrics are computed from them afterwards with numpy
(each service's ``report``). Each episode also gets exactly one terminal outcome.
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

# First contact; "other_route" is an admission that arises outside the urgent-care front
# doors the model represents (an outpatient clinic, a transfer, the bed bureau).
CONTACTS = ("gp", "nhs111", "ambulance", "ucc", "ae", "other_route")
GP, NHS111, AMBULANCE, UCC, AE, OTHER_ROUTE = range(6)

# How a patient arrived at a service (``source``): walk-in, ambulance, GP referral, UCC
# transfer, rapid response, readmission, a GP's direct admission (not through A&E),
# streamed to the UCC from A&E's front door, and admitted by another route.
WALK_IN, BY_AMBULANCE, GP_REFERRAL, UCC_TRANSFER, FROM_RRT, READMISSION = range(6)
DIRECT = 6
STREAMED_FROM_AE = 7
OTHER_ROUTE_ADMISSION = 8


def as_array(typecode: str, values: np.ndarray) -> array[Any]:
    """A numpy array as an ``array.array`` of ``typecode``, in one copy."""
    flat: array[Any] = array(typecode)
    extend_from(flat, values)
    return flat


def extend_from(target: array[Any], values: np.ndarray) -> None:
    """Append a numpy array's values to an ``array.array`` (one copy, converted to its type)."""
    contiguous = np.ascontiguousarray(values, dtype=np.dtype(target.typecode))
    target.frombytes(contiguous.data.cast("B"))


def floats() -> array[float]:
    """An empty column of times or amounts (8-byte floats): a record field's default."""
    return array("d")


def ints() -> array[int]:
    """An empty column of counts, codes or row numbers (8-byte integers)."""
    return array("q")


def flags() -> array[int]:
    """An empty column of flags or small codes (1 byte each)."""
    return array("b")


@dataclass
class Recorder:
    """Episode-level records of one replication (times in simulation hours).

    Each service keeps its own records (``service[name]``, a dataclass the service
    defines); these are what every episode has: arrival, first contact, and the one
    terminal outcome it ends with.
    """

    arrival_time: array = field(default_factory=floats)
    episode_person: array = field(default_factory=ints)  # LTC cohort member, -1 for others
    episode_practice: array = field(default_factory=ints)  # the patient's practice (index)
    is_readmission: array = field(default_factory=flags)
    outcome: array = field(default_factory=flags)
    end_time: array = field(default_factory=floats)
    first_contact: array = field(default_factory=flags)
    terminations: int = 0
    prevented_time: array = field(default_factory=floats)

    # State sampled every few hours (warm-up analysis): time, beds occupied,
    # patients in A&E waiting for a clinician or a bed, onward-care places used.
    monitor_time: array = field(default_factory=floats)
    monitor_beds: array = field(default_factory=ints)
    monitor_ae_queue: array = field(default_factory=ints)
    monitor_onward: array = field(default_factory=ints)

    service: dict[str, Any] = field(default_factory=dict)  # each service's own records

    def new_episodes(
        self, arrival_times: np.ndarray, persons: np.ndarray, practices: np.ndarray
    ) -> int:
        """Reserve ids for first episodes arriving at ``arrival_times`` (of cohort members
        ``persons``, -1 outside the LTC cohort, registered at ``practices``); returns the
        first id."""
        first, count = len(self.outcome), int(arrival_times.size)
        extend_from(self.arrival_time, arrival_times)
        extend_from(self.episode_person, persons)
        extend_from(self.episode_practice, practices)
        self.is_readmission.frombytes(bytes(count))
        self.outcome.frombytes(bytes(count))
        extend_from(self.end_time, np.full(count, np.nan))
        extend_from(self.first_contact, np.full(count, -1))
        return first

    def new_readmission(self, now: float, of_episode: int) -> int:
        """Reserve the id of a readmission (after episode ``of_episode``) arriving at A&E now."""
        episode = len(self.outcome)
        self.arrival_time.append(now)
        self.episode_person.append(-1)
        self.episode_practice.append(self.episode_practice[of_episode])
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
