"""The intervention costs file (``calibration/intervention_costs.toml``, or an area's
own): each lever's unit costs with their price years, converted to the price base.

Kept apart from the costing (:mod:`sim.costs`), which needs the simulation's schedule
and pandas, so that ``ucsim validate`` checks the file without loading either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sim.config import NonNegativeFloat, StrictModel
from sim.errors import InputError
from sim.loading import ParameterNote, read_toml, split_annotations, validated_file
from sim.tariffs import Price, PriceBase, load_finance_inputs, uplift_factor

COSTS_FILE = "intervention_costs.toml"


class RapidResponseCosts(StrictModel):
    staff_hour: NonNegativeFloat
    virtual_ward_place_day: NonNegativeFloat


class ExtendedAccessCosts(StrictModel):
    appointment: NonNegativeFloat


class CaseManagementCosts(StrictModel):
    person_year: NonNegativeFloat


class StreamingCosts(StrictModel):
    hours_per_day: NonNegativeFloat
    staff_hour: NonNegativeFloat


class PathfinderCosts(StrictModel):
    referral: NonNegativeFloat


class CareHomeCosts(StrictModel):
    annual_cost: NonNegativeFloat


class DischargeCosts(StrictModel):
    onward_care_place_day: NonNegativeFloat
    discharge_team_per_year: NonNegativeFloat


class SelfManagementCosts(StrictModel):
    person_year: NonNegativeFloat


class InterventionCosts(StrictModel):
    # The price base when the area has no tariffs.toml (whose own price base wins).
    price_base: PriceBase | None = None
    rapid_response: RapidResponseCosts
    extended_gp_access: ExtendedAccessCosts
    case_management: CaseManagementCosts
    front_door_streaming: StreamingCosts
    ambulance_pathfinder: PathfinderCosts
    care_home_gp_cover: CareHomeCosts
    enhanced_discharge: DischargeCosts
    self_management: SelfManagementCosts


@dataclass(frozen=True)
class CostInputs:
    costs: InterventionCosts
    notes: dict[str, ParameterNote]
    prices: dict[str, Price]  # every unit cost in the price base
    file: str


# Unit costs that are money (everything but hours_per_day), by dotted path.
MONEY_PATHS: tuple[str, ...] = (
    "rapid_response.staff_hour",
    "rapid_response.virtual_ward_place_day",
    "extended_gp_access.appointment",
    "case_management.person_year",
    "front_door_streaming.staff_hour",
    "ambulance_pathfinder.referral",
    "care_home_gp_cover.annual_cost",
    "enhanced_discharge.onward_care_place_day",
    "enhanced_discharge.discharge_team_per_year",
    "self_management.person_year",
)


def costs_file(area_dir: Path) -> Path:
    """The area's own cost file if it has one, else the national defaults beside it."""
    own = area_dir / COSTS_FILE
    return own if own.exists() else area_dir.parent / COSTS_FILE


def load_area_cost_inputs(area_dir: Path) -> CostInputs:
    """An area's intervention costs in its price base: its tariffs' where it has finance
    inputs, else the cost file's own ``[price_base]`` (so an area without tariffs can
    still cost its levers, e.g. for ``ucsim goal``)."""
    path = costs_file(area_dir)
    providers, tariffs = area_dir / "providers.toml", area_dir / "tariffs.toml"
    if providers.exists() and tariffs.exists():
        base = load_finance_inputs(providers, tariffs).tariffs.price_base
    else:
        tree, _, _ = split_annotations(read_toml(path), str(path))
        own = validated_file(InterventionCosts, tree, path).price_base
        if own is None:
            raise InputError.single(
                str(path), "price_base", None, "needed where the area has no tariffs.toml"
            )
        base = own
    return load_cost_inputs(path, base.financial_year, base.cost_uplift)


def load_cost_inputs(path: Path, base_year: str, uplift: Mapping[str, float]) -> CostInputs:
    tree, notes, _ = split_annotations(read_toml(path), str(path))
    costs = validated_file(InterventionCosts, tree, path)
    dumped = costs.model_dump()
    prices = {}
    for dotted in MONEY_PATHS:
        note = notes.get(dotted)
        year = note.price_year if note else ""
        if not year:
            raise InputError.single(
                str(path), f"{dotted}.price_year", "", "every cost states its price year"
            )
        section, name = dotted.split(".")
        try:
            factor = uplift_factor(year, base_year, uplift)
        except (KeyError, ValueError) as exc:
            raise InputError.single(
                str(path), f"{dotted}.price_year", year, f"cannot convert to {base_year}: {exc}"
            ) from None
        prices[dotted] = Price(dotted, float(dumped[section][name]), year, factor, base_year)
    return CostInputs(costs, notes, prices, str(path))
