"""The registered population: practices, age bands, and a synthetic LTC cohort.

Only people with a long-term condition are represented individually (about
30% of the list): their urgent-episode risk is heterogeneous (a persistent
gamma frailty) and drifts over time (a transient AR(1) log-risk, see
:mod:`sim.demand`), so a high-risk group selected today regresses toward the
mean without any intervention. Everyone else is counted per practice and age
band and generates background demand in aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import AGE_BANDS, ModelConfig
from sim.streams import RandomStreams


@dataclass(frozen=True)
class LTCCohort:
    """One row per person with at least one long-term condition."""

    practice: np.ndarray
    age_band: np.ndarray
    condition: np.ndarray
    n_conditions: np.ndarray
    care_home: np.ndarray
    acs: np.ndarray  # main condition is ambulatory-care-sensitive (NHSOF 2.3i)
    under_19_condition: np.ndarray  # main condition is one NHSOF 2.3ii counts in children
    base_rate: np.ndarray  # urgent episodes per person-year before drift and growth

    @property
    def size(self) -> int:
        return int(self.practice.size)


@dataclass(frozen=True)
class Population:
    list_size: np.ndarray  # per practice
    registered: np.ndarray  # practices x age bands
    ltc_count: np.ndarray  # practices x age bands
    cohort: LTCCohort
    condition_names: tuple[str, ...]
    locality: tuple[str, ...]

    @property
    def background_count(self) -> np.ndarray:
        return self.registered - self.ltc_count

    @property
    def total(self) -> int:
        return int(self.list_size.sum())


def build_population(config: ModelConfig, streams: RandomStreams) -> Population:
    """Draw the LTC cohort for every practice (stream ``population``)."""
    rng = streams["population"]
    params = config.population
    list_size = np.array([p.list_size for p in config.practices], dtype=np.int64)
    mix = np.array([p.age_mix.as_tuple() for p in config.practices])
    registered = _split_by_share(list_size, mix)
    prevalence = np.array(params.ltc_prevalence.as_tuple())
    ltc_count = rng.binomial(registered, prevalence[None, :])

    practice_idx, band_idx = np.nonzero(ltc_count)
    repeats = ltc_count[practice_idx, band_idx]
    practice = np.repeat(practice_idx, repeats).astype(np.int32)
    age_band = np.repeat(band_idx, repeats).astype(np.int8)
    n = practice.size

    names = tuple(params.conditions)
    weights = np.array([params.conditions[c].prevalence_weight for c in names])
    condition = rng.choice(len(names), size=n, p=weights / weights.sum()).astype(np.int8)
    extra = rng.poisson(np.array(params.extra_conditions_mean.as_tuple())[age_band])
    n_conditions = (1 + np.minimum(extra, len(names) - 1)).astype(np.int8)
    care_home = rng.random(n) < np.array(params.care_home_share.as_tuple())[age_band]
    frailty = rng.gamma(params.risk_frailty_shape, 1.0 / params.risk_frailty_shape, n)

    condition_multiplier = np.array([params.conditions[c].episode_rate_multiplier for c in names])
    base_rate = (
        np.array(config.demand.ltc_episode_rate.as_tuple())[age_band]
        * condition_multiplier[condition]
        * (1.0 + params.extra_condition_rate_factor * (n_conditions - 1))
        * np.where(care_home, params.care_home_rate_multiplier, 1.0)
        * frailty
    )
    acs_by_condition = np.array([params.conditions[c].ambulatory_care_sensitive for c in names])
    cohort = LTCCohort(
        practice=practice,
        age_band=age_band,
        condition=condition,
        n_conditions=n_conditions,
        care_home=care_home,
        acs=acs_by_condition[condition],
        under_19_condition=np.isin(
            condition, [names.index(c) for c in config.demand.diagnosis.under_19_conditions]
        ),
        base_rate=base_rate,
    )
    return Population(
        list_size=list_size,
        registered=registered,
        ltc_count=ltc_count,
        cohort=cohort,
        condition_names=names,
        locality=tuple(p.locality for p in config.practices),
    )


def _split_by_share(totals: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Integer split of each total by shares that preserves the total (largest remainder)."""
    raw = totals[:, None] * shares
    counts = np.floor(raw).astype(np.int64)
    short = totals - counts.sum(axis=1)
    order = np.argsort(-(raw - counts), axis=1, kind="stable")
    for row, missing in enumerate(short):
        counts[row, order[row, :missing]] += 1
    return counts


__all__ = ["AGE_BANDS", "LTCCohort", "Population", "build_population"]
