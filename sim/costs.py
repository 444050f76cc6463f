"""The commissioner's side: what each scenario's levers cost, and the net position.

Investment is a quantity the scenario adds over the reference scenario (clinician
hours, virtual-ward place days, extra appointments, case-managed people...)
times a unit cost, year by year as each lever ramps in. The quantities come
from the resolved scenario configurations (the same daily schedule the
simulation used) and the run's own population, so a lever that is switched
on but has no evidenced effect still shows its cost.

Spend avoided is the income the commissioner no longer pays providers for
activity-priced lines (after the marginal-rate and readmission rules); a
block contract saves nothing. Net position = spend avoided - investment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.config import ModelConfig
from sim.cost_file import CostInputs
from sim.interventions import coverage, daily_schedule
from sim.store import whole_area
from sim.summary import t_interval
from sim.timeline import DAYS_PER_YEAR, timeline_for

INVESTMENT_COLUMNS = [
    "scenario",
    "year",
    "financial_year",
    "lever",
    "item",
    "quantity",
    "unit",
    "unit_cost",
    "cost_path",
    "investment",
]


@dataclass(frozen=True)
class Item:
    """One costed quantity: a function of (config, years) giving a per-year amount."""

    lever: str
    item: str
    unit: str
    cost_path: str
    quantity: Callable[[ModelConfig, Mapping[str, np.ndarray]], np.ndarray]


def _yearly(config: ModelConfig, daily: np.ndarray) -> np.ndarray:
    """Sum a per-simulation-day series over each report year."""
    tl = timeline_for(config)
    report = np.asarray(daily, dtype=float)[tl.warmup_days :]
    return report[: tl.years * DAYS_PER_YEAR].reshape(tl.years, DAYS_PER_YEAR).sum(axis=1)


def _year_mean_ramp(config: ModelConfig, lever: Any) -> np.ndarray:
    """The lever's mean share in force per report year, over the share of the area's list
    it covers (a lever aimed at one locality costs that locality's share)."""
    tl = timeline_for(config)
    days = np.arange(tl.total_days)
    daily = coverage(lever, config.practices, tl.year_fraction_of_day(days))
    return _yearly(config, daily) / DAYS_PER_YEAR


def _rrt_hours(config: ModelConfig, _: Mapping[str, np.ndarray]) -> np.ndarray:
    schedule = daily_schedule(config, timeline_for(config))
    open_hour = config.services.rapid_response.open_hour
    return _yearly(config, schedule.rapid_response.staffed_hours(open_hour).sum(axis=0))


def _virtual_ward(config: ModelConfig, _: Mapping[str, np.ndarray]) -> np.ndarray:
    schedule = daily_schedule(config, timeline_for(config))
    return _yearly(config, np.asarray(schedule.virtual_ward_places, dtype=float))


def _extra_appointments(config: ModelConfig, kpi: Mapping[str, np.ndarray]) -> np.ndarray:
    lever = config.interventions.extended_gp_access
    per_day = lever.extra_slots_per_1000_per_day * kpi["population"] / 1000
    return per_day * DAYS_PER_YEAR * _year_mean_ramp(config, lever)


def _case_managed(config: ModelConfig, kpi: Mapping[str, np.ndarray]) -> np.ndarray:
    lever = config.interventions.case_management
    return lever.top_percent / 100 * kpi["ltc_population"] * _year_mean_ramp(config, lever)


def _streaming_hours(config: ModelConfig, _: Mapping[str, np.ndarray]) -> np.ndarray:
    lever = config.interventions.front_door_streaming
    active = lever.streamed_share_low > 0 or lever.streamed_share_medium > 0
    return _year_mean_ramp(config, lever) * DAYS_PER_YEAR * (1.0 if active else 0.0)


def _pathfinder(config: ModelConfig, kpi: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.asarray(kpi["ambulance_pathfinder_referrals"], dtype=float)


def _care_home(config: ModelConfig, _: Mapping[str, np.ndarray]) -> np.ndarray:
    return _year_mean_ramp(config, config.interventions.care_home_gp_cover)


def _onward_places(config: ModelConfig, _: Mapping[str, np.ndarray]) -> np.ndarray:
    schedule = daily_schedule(config, timeline_for(config))
    return _yearly(config, np.asarray(schedule.onward_care_places, dtype=float))


def _discharge_team(config: ModelConfig, _: Mapping[str, np.ndarray]) -> np.ndarray:
    lever = config.interventions.enhanced_discharge
    shorter = 1.0 if lever.los_multiplier < 1.0 else 0.0
    return _year_mean_ramp(config, lever) * shorter


def _self_managing(config: ModelConfig, kpi: Mapping[str, np.ndarray]) -> np.ndarray:
    lever = config.interventions.self_management
    return kpi["ltc_population"] * _year_mean_ramp(config, lever)


ITEMS: tuple[Item, ...] = (
    Item(
        "rapid_response",
        "clinician-hours on duty",
        "hours",
        "rapid_response.staff_hour",
        _rrt_hours,
    ),
    Item(
        "rapid_response",
        "virtual-ward place days",
        "place days",
        "rapid_response.virtual_ward_place_day",
        _virtual_ward,
    ),
    Item(
        "extended_gp_access",
        "extra same-day appointments",
        "appointments",
        "extended_gp_access.appointment",
        _extra_appointments,
    ),
    Item(
        "case_management",
        "case-managed people",
        "person years",
        "case_management.person_year",
        _case_managed,
    ),
    Item(
        "front_door_streaming",
        "streaming days staffed",
        "days",
        "front_door_streaming.staff_hour",
        _streaming_hours,
    ),
    Item(
        "ambulance_pathfinder",
        "pathfinder referrals",
        "referrals",
        "ambulance_pathfinder.referral",
        _pathfinder,
    ),
    Item(
        "care_home_gp_cover",
        "care-home GP cover in force",
        "years at full effect",
        "care_home_gp_cover.annual_cost",
        _care_home,
    ),
    Item(
        "enhanced_discharge",
        "onward-care place days",
        "place days",
        "enhanced_discharge.onward_care_place_day",
        _onward_places,
    ),
    Item(
        "enhanced_discharge",
        "discharge team in force",
        "years at full effect",
        "enhanced_discharge.discharge_team_per_year",
        _discharge_team,
    ),
    Item(
        "self_management",
        "people with an LTC supported",
        "person years",
        "self_management.person_year",
        _self_managing,
    ),
)


def _unit_cost(item: Item, inputs: CostInputs) -> float:
    cost = inputs.prices[item.cost_path].value
    if item.cost_path == "front_door_streaming.staff_hour":
        cost *= inputs.costs.front_door_streaming.hours_per_day  # a staffed day
    return cost


def investment(
    configs: Mapping[str, ModelConfig],
    kpis: pd.DataFrame,
    inputs: CostInputs,
    reference: str,
) -> pd.DataFrame:
    """Per scenario, year and item: quantity added over the reference, unit cost, £."""
    kpis = whole_area(kpis)  # a results folder's table also holds each locality's rows
    means = kpis.groupby(["scenario", "year", "metric"])["value"].mean()
    fy = kpis.drop_duplicates("year").set_index("year")["financial_year"].sort_index()
    reference_config = configs[reference]

    def kpi_of(scenario: str) -> dict[str, np.ndarray]:
        def series(metric: str) -> np.ndarray:
            try:
                return (
                    means.xs((scenario, metric), level=["scenario", "metric"])
                    .sort_index()
                    .to_numpy()
                )
            except KeyError:
                return np.zeros(len(fy))

        return {
            m: series(m) for m in ("population", "ltc_population", "ambulance_pathfinder_referrals")
        }

    theirs = kpi_of(reference)
    baseline = {item.item: item.quantity(reference_config, theirs) for item in ITEMS}
    rows = []
    for scenario, config in configs.items():
        mine = kpi_of(scenario)
        for item in ITEMS:
            added = item.quantity(config, mine) - baseline[item.item]
            unit_cost = _unit_cost(item, inputs)
            for year, quantity in enumerate(added[: len(fy)]):
                rows.append(
                    (
                        scenario,
                        year,
                        fy.iloc[year],
                        item.lever,
                        item.item,
                        float(quantity),
                        item.unit,
                        unit_cost,
                        item.cost_path,
                        float(quantity) * unit_cost,
                    )
                )
    return pd.DataFrame(rows, columns=INVESTMENT_COLUMNS)


NET_COLUMNS = [
    "scenario",
    "year",
    "financial_year",
    "measure",
    "value",
    "ci_low",
    "ci_high",
    "n",
]
INVESTMENT = "investment"
SPEND_AVOIDED = "commissioner spend avoided"
PROVIDER_INCOME_AT_RISK = "provider income at risk (simulated lines)"
NET_POSITION = "net position (spend avoided - investment)"


def net_position(
    income: pd.DataFrame, invest: pd.DataFrame, reference: str, block_lines: set[tuple[str, str]]
) -> pd.DataFrame:
    """Investment, spend avoided, provider income at risk and the net, with paired intervals.

    ``income`` is the line-level income table (per replication); block lines pay
    the same whatever happens, so they add nothing to spend avoided.
    """
    lines = income[income["line"] != "total_simulated"]
    keep = [
        (p, ln) not in block_lines for p, ln in zip(lines["provider"], lines["line"], strict=True)
    ]
    paid = (
        lines[keep].groupby(["scenario", "replication", "year", "financial_year"])["income"].sum()
    )
    every = lines.groupby(["scenario", "replication", "year", "financial_year"])["income"].sum()
    spend = invest.groupby(["scenario", "year"])["investment"].sum()
    base_paid = paid.xs(reference, level="scenario")
    base_every = every.xs(reference, level="scenario")
    rows = []
    for (scenario, year, fy), part in paid.groupby(level=["scenario", "year", "financial_year"]):
        reps = part.index.get_level_values("replication")
        avoided = (
            base_paid.xs((year, fy), level=["year", "financial_year"]).reindex(reps).to_numpy()
            - part.to_numpy()
        )
        all_mine = every.xs(
            (scenario, year, fy), level=["scenario", "year", "financial_year"]
        ).reindex(reps)
        at_risk = (
            base_every.xs((year, fy), level=["year", "financial_year"]).reindex(reps).to_numpy()
            - all_mine.to_numpy()
        )
        cost = float(spend.get((scenario, year), 0.0))
        for measure, values in (
            (INVESTMENT, np.full(len(reps), cost)),
            (SPEND_AVOIDED, avoided),
            (PROVIDER_INCOME_AT_RISK, at_risk),
            (NET_POSITION, avoided - cost),
        ):
            mean, _, low, high = t_interval(np.asarray(values, dtype=float))
            rows.append((scenario, year, fy, measure, mean, low, high, len(reps)))
    return pd.DataFrame(rows, columns=NET_COLUMNS)
