"""What a pricing reads: providers' contract lines, tariffs, payment rules, one price base.

Two files per area: ``providers.toml`` (who is paid, their 2014/15 contract
lines and the plan's value-at-risk table) and ``tariffs.toml`` (prices with
the year each was published, the payment rules and the price base). Every
price is converted to the price base with the stated cost uplifts, so a
2016/17 reference cost and a 2013/14 one are never added as they stand.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, field_validator

from sim.config import AGE_BANDS, NonNegativeFloat, Probability, StrictModel
from sim.errors import InputError
from sim.loading import (
    COMMAND_LINE,
    ParameterNote,
    read_toml,
    split_annotations,
    tree_with,
    validated_file,
)
from sim.metrics import TRIM_POINTS_DAYS

SimulatedActivity = Literal["non_elective", "ae", "ucc", "ambulance", "community", "none"]
PROVIDERS_FILE = "providers.toml"
TARIFFS_FILE = "tariffs.toml"
FINANCIAL_YEAR = re.compile(r"^(\d{4})/(\d{2})$")
# An annual rate of change (uplift, growth): a fall of up to half, a rise of up to double.
AnnualRate = Annotated[float, Field(ge=-0.5, le=1.0)]


def financial_year_start(label: str) -> int:
    """2014 for "2014/15"; raises ValueError for anything else."""
    match = FINANCIAL_YEAR.match(label)
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"{label!r} is not a financial year such as 2014/15")
    return int(match.group(1))


def financial_year_label(start: int) -> str:
    return f"{start}/{(start + 1) % 100:02d}"


# --------------------------------------------------------------------- providers


class Line(StrictModel):
    id: str
    label: str
    income: NonNegativeFloat
    contract_volume: NonNegativeFloat | None = None
    plan_method: Literal["share", "full", "none"]
    plan_share: Probability | None = None
    published_plan_amount: float | None = None
    simulated: SimulatedActivity


class Provider(StrictModel):
    id: str
    name: str
    contract_value: NonNegativeFloat
    published_total: float | None = None
    line: list[Line] = Field(min_length=1)


class ProviderBook(StrictModel):
    published_totals: dict[str, float] = Field(default_factory=dict)
    provider: list[Provider] = Field(min_length=1)


# ----------------------------------------------------------------------- tariffs


class PriceBase(StrictModel):
    financial_year: str
    cost_uplift: dict[str, AnnualRate] = Field(default_factory=dict)

    @field_validator("financial_year")
    @classmethod
    def _year(cls, year: str) -> str:
        financial_year_start(year)
        return year

    @field_validator("cost_uplift")
    @classmethod
    def _years(cls, uplift: dict[str, float]) -> dict[str, float]:
        for year in uplift:
            financial_year_start(year)
        return uplift


class MarginalRate(StrictModel):
    """Emergency spells above a baseline-year count paid at ``rate`` of tariff.

    The threshold is derived from the run (see :func:`sim.finance.marginal_threshold`)
    unless ``threshold_spells`` fixes it.
    """

    enabled: bool = True
    rate: Probability
    baseline_year: str = "2008/09"
    growth_per_year: AnnualRate
    threshold_spells: NonNegativeFloat | None = None

    @field_validator("baseline_year")
    @classmethod
    def _year(cls, year: str) -> str:
        financial_year_start(year)
        return year


class ReadmissionRule(StrictModel):
    enabled: bool = True
    max_rate: Probability


class TrimPoints(StrictModel):
    """Trim point (days) of each admission group; the model's groups are age bands."""

    age_0_17: int
    age_18_64: int
    age_65_74: int
    age_75_84: int
    age_85_plus: int

    @field_validator("*")
    @classmethod
    def _recorded(cls, days: int) -> int:
        if days not in TRIM_POINTS_DAYS:
            raise ValueError(f"must be one of {TRIM_POINTS_DAYS} (the excess bed days recorded)")
        return days

    def by_band(self) -> dict[str, int]:
        return {band: int(getattr(self, band)) for band in AGE_BANDS}


class NonElectiveTariff(StrictModel):
    spell: NonNegativeFloat
    short_stay_spell: NonNegativeFloat
    excess_bed_day: NonNegativeFloat
    trim_point_days: TrimPoints
    marginal_rate: MarginalRate
    readmissions: ReadmissionRule


class AETariff(StrictModel):
    admitted: NonNegativeFloat
    not_admitted: NonNegativeFloat


class UCCTariff(StrictModel):
    attendance: NonNegativeFloat


class AmbulanceTariff(StrictModel):
    hear_and_treat: NonNegativeFloat
    see_and_treat: NonNegativeFloat
    see_treat_convey: NonNegativeFloat


class CommunityTariff(StrictModel):
    payment: Literal["block", "per_contact"]
    per_contact: NonNegativeFloat


class Reconciliation(StrictModel):
    method: Literal["report", "scale"] = "report"


class Tariffs(StrictModel):
    price_base: PriceBase
    non_elective: NonElectiveTariff
    ae: AETariff
    ucc: UCCTariff
    ambulance: AmbulanceTariff
    community: CommunityTariff
    reconciliation: Reconciliation = Reconciliation()


# Every price, by its dotted path in tariffs.toml: each must state its price year.
PRICE_PATHS: tuple[str, ...] = (
    "non_elective.spell",
    "non_elective.short_stay_spell",
    "non_elective.excess_bed_day",
    "ae.admitted",
    "ae.not_admitted",
    "ucc.attendance",
    "ambulance.hear_and_treat",
    "ambulance.see_and_treat",
    "ambulance.see_treat_convey",
    "community.per_contact",
)


@dataclass(frozen=True)
class Price:
    """One price as published and as converted to the price base."""

    path: str
    published: float
    price_year: str
    factor: float  # published x factor = price in the base year
    base_year: str

    @property
    def value(self) -> float:
        return self.published * self.factor


def uplift_factor(from_year: str, to_year: str, uplift: Mapping[str, float]) -> float:
    """Multiplier taking a price of ``from_year`` to ``to_year`` (cost uplift chained).

    Raises KeyError naming the first year whose uplift is missing.
    """
    start, end = financial_year_start(from_year), financial_year_start(to_year)
    factor = 1.0
    for year in range(min(start, end) + 1, max(start, end) + 1):
        label = financial_year_label(year)
        if label not in uplift:
            raise KeyError(label)
        factor *= 1.0 + uplift[label]
    return factor if end >= start else 1.0 / factor


@dataclass(frozen=True)
class FinanceInputs:
    book: ProviderBook
    tariffs: Tariffs
    notes: dict[str, ParameterNote]
    files: tuple[str, ...]
    prices: dict[str, Price]
    overrides: dict[str, Any] = field(default_factory=dict)  # applied to tariffs.toml

    def price(self, path: str) -> float:
        """The price at ``path`` in the price base."""
        return self.prices[path].value


def _prices(tariffs: Tariffs, notes: Mapping[str, ParameterNote], file: str) -> dict[str, Price]:
    tree = tariffs.model_dump()
    base = tariffs.price_base.financial_year
    prices = {}
    for path in PRICE_PATHS:
        note = notes.get(f"tariffs.{path}")
        year = note.price_year if note else ""
        if not year:
            raise InputError.single(
                file, f"{path}.price_year", "", "every price states the financial year it is in"
            )
        try:
            factor = uplift_factor(year, base, tariffs.price_base.cost_uplift)
        except ValueError as exc:
            raise InputError.single(file, f"{path}.price_year", year, str(exc)) from None
        except KeyError as missing:
            raise InputError.single(
                file,
                "price_base.cost_uplift",
                sorted(tariffs.price_base.cost_uplift),
                f"needs the uplift into {missing.args[0]} to take {path} from {year} to {base}",
            ) from None
        node: Any = tree
        for part in path.split("."):
            node = node[part]
        prices[path] = Price(path, float(node), year, factor, base)
    return prices


def tariff_paths(model: type[BaseModel] = Tariffs, prefix: str = "") -> list[str]:
    """Every settable dotted path of the tariffs (a dict field accepts any key below it)."""
    paths = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        options = get_args(annotation) or (annotation,)
        nested = [a for a in options if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested:
            paths += tariff_paths(nested[0], f"{prefix}{name}.")
        else:
            paths.append(f"{prefix}{name}")
    return paths


def _check_tariff_path(path: str, value: Any) -> None:
    """A --set path must name a tariff or rule; a typo gets the nearest valid one."""
    known = tariff_paths()
    if path in known or any(path.startswith(f"{k}.") for k in known if k.endswith("cost_uplift")):
        return
    close = difflib.get_close_matches(path, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise InputError.single(
        COMMAND_LINE, path, value, f"not a tariff or payment rule{hint} (see tariffs.toml)"
    )


def load_finance_inputs(
    providers_path: Path, tariffs_path: Path, tariff_overrides: dict[str, Any] | None = None
) -> FinanceInputs:
    book_tree, book_notes, _ = split_annotations(read_toml(providers_path), str(providers_path))
    tariff_tree, tariff_notes, _ = split_annotations(read_toml(tariffs_path), str(tariffs_path))
    for path, value in (tariff_overrides or {}).items():
        _check_tariff_path(path, value)
        tariff_tree = tree_with(tariff_tree, path, value)
    book = validated_file(ProviderBook, book_tree, providers_path)
    tariffs = validated_file(Tariffs, tariff_tree, tariffs_path)
    notes = {f"providers.{k}": v for k, v in book_notes.items()} | {
        f"tariffs.{k}": v for k, v in tariff_notes.items()
    }
    prices = _prices(tariffs, notes, str(tariffs_path))
    return FinanceInputs(
        book,
        tariffs,
        notes,
        (str(providers_path), str(tariffs_path)),
        prices,
        dict(tariff_overrides or {}),
    )


def with_tariff_changes(inputs: FinanceInputs, changes: dict[str, Any]) -> FinanceInputs:
    """The same finance inputs with more tariff overrides (for repricing sensitivity)."""
    providers, tariffs = (Path(f) for f in inputs.files)
    return load_finance_inputs(providers, tariffs, inputs.overrides | changes)
