"""Urgent episodes, generated in vectorised blocks one period (quarter) at a time.

For each period every LTC person draws a Poisson number of episodes at their
current risk (persistent frailty x drifting transient risk x growth), and
each practice/age band draws its background (non-LTC) episodes in aggregate.
Arrival times follow the hour-of-day x day-of-week x month profile.

Interventions that reduce demand act by *thinning*: each candidate episode
carries a uniform ``u_keep`` and survives if ``u_keep < multiplier``. Every
scenario sees the same candidate episodes with the same attributes and
service-time variates, so an episode an intervention prevents is exactly
one that do-nothing has (common random numbers at the level of the patient).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from sim.config import ModelConfig
from sim.indicators import diagnosis_groups
from sim.interventions import DailySchedule, scope_start_years
from sim.population import Population
from sim.streams import RandomStreams
from sim.timeline import HOURS_PER_DAY, HOURS_PER_YEAR, Timeline

LOW, MEDIUM, HIGH = 0, 1, 2

# Each random stream's per-episode uniform columns, by the names the model reads them
# under (an episode's ``u_*`` columns). Services declare their own stream's columns
# (:func:`sim.care.system.uniform_layout`); the order within a stream is the order of
# its draws, so it must not change.
UniformLayout = Mapping[str, tuple[str, ...]]


def draw_uniforms(
    streams: RandomStreams, prefix: str, n: int, layout: UniformLayout
) -> dict[str, np.ndarray]:
    """One (n x k) block of uniforms from each stream's own generator."""
    return {
        stream: streams[f"{prefix}{stream}"].random((n, len(columns)))
        for stream, columns in layout.items()
    }


def column_sources(layout: UniformLayout) -> dict[str, tuple[str, int]]:
    """Where each ``u_*`` column lives: its stream's block and its position there."""
    return {name: (stream, k) for stream, names in layout.items() for k, name in enumerate(names)}


def named_columns(blocks: dict[str, np.ndarray], layout: UniformLayout) -> dict[str, np.ndarray]:
    """Each stream's (n x k) block as named columns (views, no copy)."""
    return {
        name: blocks[stream][:, k]
        for stream, names in layout.items()
        for k, name in enumerate(names)
    }


def exponential(mean: float | np.ndarray, u: np.ndarray) -> np.ndarray:
    return -np.asarray(mean) * np.log1p(-u)


def lognormal(mean: float | np.ndarray, cv: float, u: np.ndarray) -> np.ndarray:
    """Lognormal with the given mean and coefficient of variation, by inversion."""
    sigma = np.sqrt(np.log1p(cv * cv))
    return np.asarray(mean) * np.exp(sigma * ndtri(u) - 0.5 * sigma * sigma)


def hourly_weights(config: ModelConfig, timeline: Timeline) -> np.ndarray:
    """Relative arrival intensity for every simulated hour, mean 1 over a year."""
    demand = config.demand
    hod = np.array(demand.hour_of_day) / np.mean(demand.hour_of_day)
    dow = np.array(demand.day_of_week) / np.mean(demand.day_of_week)
    moy = np.array(demand.month_of_year) / np.mean(demand.month_of_year)
    daily = dow[timeline.day_of_week()] * moy[timeline.month_index()]
    weights = (daily[:, None] * hod[None, :]).ravel()
    first = timeline.warmup_days * 24
    year0 = weights[first : first + int(HOURS_PER_YEAR)]
    return weights / year0.mean()


@dataclass(frozen=True)
class PeriodDemand:
    """Episodes of one period that survived thinning, sorted by arrival time.

    ``arrays`` holds their attributes. Their uniforms stay in the blocks they
    were drawn in (one row per candidate episode; ``order`` maps kept episodes
    to rows) and are gathered by :meth:`uniform_columns` only where needed:
    routing's for every episode, the services' only for episodes that reach one.
    """

    arrays: dict[str, np.ndarray]
    uniforms: dict[str, np.ndarray]
    order: np.ndarray
    candidates: int
    prevented_times: np.ndarray
    sources: Mapping[str, tuple[str, int]]  # column name -> (stream, position)

    @property
    def size(self) -> int:
        return int(self.arrays["time"].size)

    def uniform_columns(
        self, names: Sequence[str], episodes: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """The named ``u_*`` columns for these episodes (positions in ``arrays``; all if None)."""
        rows = self.order if episodes is None else self.order[episodes]
        columns = {}
        for name in names:
            stream, k = self.sources[name]
            columns[name] = self.uniforms[stream][rows, k]
        return columns


class DemandGenerator:
    """Yields each period's episodes; keeps the per-person history case management needs."""

    def __init__(
        self,
        config: ModelConfig,
        timeline: Timeline,
        population: Population,
        schedule: DailySchedule,
        streams: RandomStreams,
        layout: UniformLayout,
    ):
        self.config = config
        self.layout = layout
        self.sources = column_sources(layout)
        self.timeline = timeline
        self.population = population
        self.schedule = schedule
        self.streams = streams
        self.weights = hourly_weights(config, timeline)
        self.cumulative_weights = np.concatenate(([0.0], np.cumsum(self.weights)))
        cohort = population.cohort
        self.case_managed = np.zeros(cohort.size, dtype=bool)
        self.recent_episodes: list[np.ndarray] = []
        pop = config.population
        drift = streams["risk_drift"]
        self._rho = pop.risk_drift_autocorrelation
        self._drift_sd = pop.risk_drift_sd
        self._z = drift.standard_normal(cohort.size)
        # Each practice's start under case management (inf outside its scopes): a person
        # can be chosen once their practice's scope has started.
        self._case_management_start = scope_start_years(
            config.interventions.case_management, config.practices
        )
        first_start = float(self._case_management_start.min())
        self._next_stratification: float | None = first_start if np.isfinite(first_start) else None

    def growth_factor(self, year: int) -> float:
        y = max(year, 0)
        return float(
            (1 + self.config.population.growth_per_year) ** y
            * (1 + self.config.demand.rate_trend_per_year) ** y
        )

    def periods(self, before_period: Callable[[int], None] | None = None) -> Iterator[PeriodDemand]:
        """Each period's episodes, drawn when asked for; ``before_period(first_day)`` runs
        just before each period is drawn."""
        for first_day, end_day in self.timeline.periods():
            if before_period is not None:
                before_period(first_day)
            yield self._period(first_day, end_day)

    def switch(self, config: ModelConfig) -> None:
        """Draw from now on under ``config``'s levers (a shared prefix's scenario); the
        schedule object is the same, already holding the new values."""
        self.config = config
        self._case_management_start = scope_start_years(
            config.interventions.case_management, config.practices
        )
        first_start = float(self._case_management_start.min())
        self._next_stratification = first_start if np.isfinite(first_start) else None

    def _period(self, first_day: int, end_day: int) -> PeriodDemand:
        tl, cfg, pop = self.timeline, self.config, self.population
        cohort = pop.cohort
        year = int(np.floor(tl.year_fraction_of_day(np.array([first_day]))[0]))
        hours_from, hours_to = first_day * 24, end_day * 24
        weight = self.cumulative_weights[hours_to] - self.cumulative_weights[hours_from]
        scale = self.growth_factor(year) * weight / HOURS_PER_YEAR
        self._maybe_restratify(first_day)

        # Transient risk: stationary AR(1) on the log scale, mean multiplier 1.
        self._z = self._rho * self._z + np.sqrt(1 - self._rho**2) * self.streams[
            "risk_drift"
        ].standard_normal(cohort.size)
        drift = np.exp(self._drift_sd * self._z - 0.5 * self._drift_sd**2)
        ltc_counts = self.streams["ltc_arrivals"].poisson(cohort.base_rate * drift * scale)
        person = np.repeat(np.arange(cohort.size, dtype=np.int64), ltc_counts)

        background_rate = np.array(cfg.demand.background_episode_rate.as_tuple())
        bg_counts = self.streams["background_arrivals"].poisson(
            pop.background_count * background_rate[None, :] * scale
        )
        bg_practice, bg_band = np.nonzero(bg_counts)
        bg_repeat = bg_counts[bg_practice, bg_band]

        n_ltc = person.size
        practice = np.concatenate([cohort.practice[person], np.repeat(bg_practice, bg_repeat)])
        age_band = np.concatenate([cohort.age_band[person], np.repeat(bg_band, bg_repeat)])
        n = practice.size
        ltc = np.zeros(n, dtype=bool)
        ltc[:n_ltc] = True
        person_all = np.full(n, -1, dtype=np.int64)
        person_all[:n_ltc] = person

        # Arrival times: an hour by inverse CDF of the intensity, then uniform within it.
        times_rng = self.streams["arrival_times"]
        u_hour, u_within = times_rng.random(n), times_rng.random(n)
        cum = self.cumulative_weights[hours_from : hours_to + 1]
        hour = np.searchsorted(cum, cum[0] + u_hour * (cum[-1] - cum[0]), side="right") - 1
        time = hours_from + np.clip(hour, 0, hours_to - hours_from - 1) + u_within

        acuity_u = self.streams["acuity"].random(n)
        acuity = np.where(
            ltc,
            _categorical(acuity_u, cfg.demand.ltc_acuity.as_tuple()),
            _categorical(acuity_u, cfg.demand.background_acuity.as_tuple()),
        )
        care_home = np.zeros(n, dtype=bool)
        care_home[:n_ltc] = cohort.care_home[person]
        chronic_condition = np.zeros(n, dtype=bool)
        chronic_condition[:n_ltc] = cohort.acs[person]
        under_19_condition = np.zeros(n, dtype=bool)
        under_19_condition[:n_ltc] = cohort.under_19_condition[person]
        acs_group = diagnosis_groups(
            self.streams["diagnosis"].random(n),
            age_band,
            chronic_condition,
            under_19_condition,
            cfg.demand.diagnosis,
        )

        uniforms = draw_uniforms(self.streams, "", n, self.layout)
        u_keep = self.streams["thinning"].random(n)
        keep = u_keep < self._retention(time, practice, ltc, person_all, acuity, care_home)

        # Kept episodes in time order (their uniforms are gathered later, where needed).
        order = np.flatnonzero(keep)[np.argsort(time[keep], kind="stable")]
        attributes: dict[str, np.ndarray] = {
            "time": time,
            "practice": practice.astype(np.int64),
            "person": person_all,
            "age_band": age_band.astype(np.int64),
            "ltc": ltc,
            "acs_group": acs_group,
            "acuity": acuity.astype(np.int64),
            "care_home": care_home,
        }
        kept = {name: values[order] for name, values in attributes.items()}

        in_cohort = kept["person"][kept["ltc"]]
        history = np.bincount(in_cohort, minlength=cohort.size).astype(np.int32)
        self.recent_episodes = [*self.recent_episodes[-3:], history]
        return PeriodDemand(
            arrays=kept,
            uniforms=uniforms,
            order=order,
            candidates=n,
            prevented_times=time[~keep],
            sources=self.sources,
        )

    def _retention(
        self,
        time: np.ndarray,
        practice: np.ndarray,
        ltc: np.ndarray,
        person: np.ndarray,
        acuity: np.ndarray,
        care_home: np.ndarray,
    ) -> np.ndarray:
        """Probability each candidate episode still happens under the scenario's levers
        (each lever as far as it is in force at the episode's practice that day)."""
        levers = self.config.interventions
        day = (time // HOURS_PER_DAY).astype(np.int64)
        s = self.schedule
        keep = np.ones(time.size)
        cm = levers.case_management
        if cm.enabled:
            managed = ltc & self.case_managed[np.maximum(person, 0)]
            keep *= np.where(
                managed,
                1 - s.case_management_fraction[practice, day] * (1 - cm.episode_rate_multiplier),
                1,
            )
        sm = levers.self_management
        if sm.enabled:
            keep *= np.where(
                ltc & (acuity == LOW),
                1 - s.self_management_fraction[practice, day] * (1 - sm.low_acuity_rate_multiplier),
                1,
            )
        ch = levers.care_home_gp_cover
        if ch.enabled:
            keep *= np.where(
                care_home,
                1 - s.care_home_fraction[practice, day] * (1 - ch.episode_rate_multiplier),
                1,
            )
        return keep

    def _maybe_restratify(self, first_day: int) -> None:
        """Risk stratification: case-manage the top k% of the cohort in scope (every practice
        whose scope has started) by urgent episodes in the past year."""
        if self._next_stratification is None:
            return
        year = float(self.timeline.year_fraction_of_day(np.array([first_day]))[0])
        if year + 1e-9 < self._next_stratification:
            return
        cm = self.config.interventions.case_management
        cohort_size = self.population.cohort.size
        score = (
            np.sum(self.recent_episodes, axis=0)
            if self.recent_episodes
            else np.zeros(cohort_size, dtype=np.int32)
        )
        tie_break = self.streams["case_management"].random(cohort_size)
        ranked = np.lexsort((tie_break, -score))
        in_scope = self._case_management_start[self.population.cohort.practice] <= year + 1e-9
        ranked = ranked[in_scope[ranked]]
        chosen = ranked[: round(cm.top_percent / 100.0 * ranked.size)]
        self.case_managed = np.zeros(cohort_size, dtype=bool)
        self.case_managed[chosen] = True
        self._next_stratification += cm.restratify_months / 12.0


def _categorical(u: np.ndarray, shares: tuple[float, ...]) -> np.ndarray:
    """Index of the category each uniform falls in (vectorised inverse CDF)."""
    edges = np.cumsum(shares)[:-1]
    return np.searchsorted(edges, u, side="right")
