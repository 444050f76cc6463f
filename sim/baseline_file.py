"""The baseline file (``calibration/<area>/baseline.toml``): the published or derived
figures an area is fitted to and checked against, each with its year, unit, source and
confidence.

Kept apart from the fitting (:mod:`sim.calibration`) so that ``ucsim validate`` checks
the file without loading the simulation.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from sim.config import ModelConfig, StrictModel
from sim.loading import read_toml, validated_file
from sim.metrics import metric_names, roll_factor, years_between

if TYPE_CHECKING:  # annotations only: a row of the baseline-year metrics
    import pandas as pd

# Figures that are ratios or sums of reported metrics, computed per replication.
DERIVED_METRICS: dict[str, Callable[[pd.Series], float]] = {
    "readmissions_per_admission": lambda row: row["readmissions_30d"] / row["emergency_admissions"],
    "ucc_transfer_share": lambda row: row["ucc_transfers_to_ae"] / row["ucc_attendances"],
    "gp_sameday_consultations": lambda row: (
        row["gp_urgent_appointments"] + row["gp_routine_sameday_served"]
    ),
    "acs_share_of_admissions": lambda row: row["acs_admissions"] / row["emergency_admissions"],
    "direct_admission_share": lambda row: row["direct_admissions"] / row["emergency_admissions"],
    "not_through_ae_share": lambda row: (
        (row["direct_admissions"] + row["other_route_admissions"]) / row["emergency_admissions"]
    ),
    "gp_no_slot_share": lambda row: (
        (row["gp_access_failures"] - row["gp_access_failures_closed"])
        / (
            row["gp_access_failures"]
            - row["gp_access_failures_closed"]
            + row["gp_urgent_appointments"]
        )
    ),
}


class BaselineFigure(StrictModel):
    """A published or derived figure. ``value`` is as stated for ``year`` (the area's
    baseline year when absent); a figure stated for another year is rolled to the
    baseline year at the model's own growth (:func:`sim.indicators.roll_factor`)."""

    metric: str
    value: float = Field(gt=0)
    year: str | None = Field(default=None, pattern=r"^\d{4}/\d{2}$")
    unit: str
    source: str
    confidence: Literal["S", "P", "E"]
    # 'local': from the area's own documents (also when an estimate derives from one);
    # 'national': a national rate applied to the area. Default: local for S, else national.
    basis: Literal["local", "national"]

    @model_validator(mode="before")
    @classmethod
    def _basis_from_confidence(cls, data: Any) -> Any:
        if isinstance(data, dict) and "basis" not in data:
            return {**data, "basis": "local" if data.get("confidence") == "S" else "national"}
        return data

    @field_validator("metric")
    @classmethod
    def _reported(cls, metric: str) -> str:
        known = metric_names() | set(DERIVED_METRICS)
        if metric not in known:
            close = difflib.get_close_matches(metric, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ValueError(f"{metric!r} is not a metric the model reports{hint}")
        return metric

    def years_to(self, baseline_year: str) -> int:
        return 0 if self.year is None else years_between(self.year, baseline_year)

    def rolled(self, config: ModelConfig) -> float:
        """The figure carried to the config's baseline year."""
        years = self.years_to(config.area.baseline_year)
        return self.value * growth_factor(self.metric, years, config)


def growth_factor(metric: str, years: int, config: ModelConfig) -> float:
    """:func:`sim.indicators.roll_factor` at ``config``'s list growth and per-capita trend."""
    return roll_factor(
        metric, years, config.population.growth_per_year, config.demand.rate_trend_per_year
    )


class Baseline(StrictModel):
    fitted: list[BaselineFigure] = Field(min_length=1)
    held_out: list[BaselineFigure] = Field(default_factory=list)


def load_baseline(path: Path) -> Baseline:
    return validated_file(Baseline, read_toml(path), path)
