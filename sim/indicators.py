"""The published indicators that plan targets name, defined as the model can count them.

Targets are only honest when scored on their own indicator. The CCG plans'
"avoidable emergency admissions" (Dudley) and "emergency admissions composite
indicator" (Bury) are the NHS Outcomes Framework emergency admissions
composite: the sum of four indicators, each a set of primary diagnoses.
Every urgent episode carries one diagnosis group (drawn in :mod:`sim.demand`
from its own stream, so labelling never shifts another draw); an admission
counts towards the component of its episode's group. Rates are crude, per
100,000 registered: the published indicators are age/sex standardised.

How each kind of metric moves between years (rolling a figure stated for an
earlier year to the baseline year) is in :mod:`sim.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import DiagnosisParams

# Diagnosis groups: which composite component an admission of the episode counts in.
NOT_IN_COMPOSITE, CHRONIC_ACS, UNDER_19_CHRONIC, ACUTE_ACS, CHILD_LRTI = range(5)
CHILD_BAND = 0  # age band 0-17: the model's children (the indicators use under-19s)


@dataclass(frozen=True)
class CompositeComponent:
    metric: str
    group: int
    label: str
    indicator: str


COMPOSITE_COMPONENTS: tuple[CompositeComponent, ...] = (
    CompositeComponent(
        "chronic_acs_admissions",
        CHRONIC_ACS,
        "Chronic ambulatory-care-sensitive conditions, adults",
        "NHSOF 2.3i",
    ),
    CompositeComponent(
        "under_19_acs_admissions",
        UNDER_19_CHRONIC,
        "Asthma, diabetes and epilepsy in under-19s (model: 0-17, no epilepsy)",
        "NHSOF 2.3ii",
    ),
    CompositeComponent(
        "acute_acs_admissions",
        ACUTE_ACS,
        "Acute conditions that should not usually need admission",
        "NHSOF 3a",
    ),
    CompositeComponent(
        "child_lrti_admissions",
        CHILD_LRTI,
        "Children's lower respiratory tract infections (model: 0-17)",
        "NHSOF 3.2",
    ),
)
# All ambulatory-care-sensitive conditions (chronic and acute): the design's acs_admissions.
ACS_GROUPS = (CHRONIC_ACS, UNDER_19_CHRONIC, ACUTE_ACS)
COMPOSITE_GROUPS = tuple(c.group for c in COMPOSITE_COMPONENTS)


def diagnosis_groups(
    u: np.ndarray,
    age_band: np.ndarray,
    chronic_condition: np.ndarray,
    under_19_condition: np.ndarray,
    params: DiagnosisParams,
) -> np.ndarray:
    """One diagnosis group per episode from one uniform each.

    ``chronic_condition`` marks episodes of LTC patients whose main condition is
    ambulatory-care-sensitive; ``under_19_condition`` those of children with one of
    the conditions of NHSOF 2.3ii. The uniform is cut into consecutive intervals
    (chronic, acute, children's LRTI), so the shares are exactly the parameters.
    """
    child = age_band == CHILD_BAND
    chronic_share = np.where(
        child,
        np.where(under_19_condition, params.under_19_episode_share, 0.0),
        np.where(chronic_condition, params.chronic_acs_episode_share, 0.0),
    )
    acute_to = chronic_share + np.asarray(params.acute_acs_share.as_tuple())[age_band]
    lrti_to = acute_to + np.where(child, params.child_lrti_share, 0.0)
    group = np.full(u.size, NOT_IN_COMPOSITE, dtype=np.int64)
    group[u < lrti_to] = CHILD_LRTI
    group[u < acute_to] = ACUTE_ACS
    chronic = u < chronic_share
    group[chronic] = np.where(child[chronic], UNDER_19_CHRONIC, CHRONIC_ACS)
    return group


# Metrics that are shares of a whole: their intervals are clipped to [0, 1].
__all__ = [
    "ACS_GROUPS",
    "COMPOSITE_COMPONENTS",
    "COMPOSITE_GROUPS",
    "CompositeComponent",
    "diagnosis_groups",
]
