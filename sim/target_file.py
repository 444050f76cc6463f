"""The targets file (``calibration/<area>/targets.toml``): what each target states and
the rules that score it, validated before anything runs.

Kept apart from the scoring (:mod:`sim.targets`), which needs pandas, so that ``ucsim
validate`` checks an area's targets without loading the analysis libraries.
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim.config import Probability, StrictModel
from sim.errors import InputError, InputProblem
from sim.loading import read_toml, validated_file
from sim.metrics import metric_names

MET_WITHOUT_PLAN = "met without the plan"
BECAUSE_OF_PLAN = "met because of the scenario"
RAG = ("green", "amber", "red")
STATUSES = (*RAG, "baseline mismatch", "beyond the run", "not modelled", "not evaluated")
RELATIVE_KINDS = ("change_from_stated_baseline", "relative_to_stated_baseline")
REFERENCE_KINDS = ("difference_from_reference", "relative_difference_from_reference")
TargetKind = Literal[
    "absolute",
    "change_from_baseline",
    "change_from_stated_baseline",
    "relative_to_stated_baseline",
    "difference_from_reference",
    "relative_difference_from_reference",
    "not_modelled",
]
YEAR = r"^\d{4}/\d{2}$"


class StatedBaseline(StrictModel):
    """The indicator's baseline as the source states it (value absent: only a change is stated)."""

    year: str = Field(pattern=YEAR)
    value: float | None = None


class Target(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str
    reading: str = ""  # which reading of an ambiguous statement this row encodes
    metric: str = ""
    kind: TargetKind
    direction: Literal["at_most", "at_least"] = "at_most"
    value: float | None = None
    years: list[str] = Field(min_length=1)
    baseline: StatedBaseline | None = None
    reason: str = ""  # why a not_modelled target cannot be evaluated
    source: str
    confidence: Literal["S", "P", "E"]

    @field_validator("years")
    @classmethod
    def _financial_years(cls, years: list[str]) -> list[str]:
        for year in years:
            if not re.fullmatch(r"\d{4}/\d{2}", year) or (int(year[:4]) + 1) % 100 != int(year[5:]):
                raise ValueError(f"{year!r} is not a financial year such as 2018/19")
        if len(set(years)) != len(years):
            raise ValueError(f"a year is listed twice: {years}")
        return years

    @model_validator(mode="after")
    def _complete_for_its_kind(self) -> Target:
        if self.kind == "not_modelled":
            if not self.reason:
                raise ValueError("a not_modelled target needs a reason")
            return self
        if not self.metric or self.value is None:
            raise ValueError(f"a {self.kind} target needs a metric and a value")

        if self.kind in RELATIVE_KINDS and self.baseline is None:
            raise ValueError(f"a {self.kind} target needs baseline = {{ year = ..., value = ... }}")
        if self.kind == "relative_to_stated_baseline" and (
            self.baseline is None or not self.baseline.value
        ):
            raise ValueError("a relative_to_stated_baseline target needs a non-zero baseline.value")
        return self


class RAGRule(StrictModel):
    green_at_least: Probability = 0.8
    amber_at_least: Probability = 0.5
    baseline_tolerance: Probability = 0.10

    @model_validator(mode="after")
    def _green_above_amber(self) -> RAGRule:
        if self.green_at_least < self.amber_at_least:
            raise ValueError(
                f"green_at_least ({self.green_at_least}) must not be below amber_at_least "
                f"({self.amber_at_least})"
            )
        return self

    def status(self, p_met: float) -> str:
        if math.isnan(p_met):
            return "n/a"
        if p_met >= self.green_at_least:
            return "green"
        return "amber" if p_met >= self.amber_at_least else "red"


class Discrepancy(StrictModel):
    """Two targets of one plan that ask for different levels of one metric in one year.

    Declared so that the run states the arithmetic (plan_discrepancies.csv, the
    report) instead of a reader having to notice it.
    """

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str
    targets: tuple[str, str]
    year: str = Field(pattern=YEAR)
    source: str


class TargetSet(StrictModel):
    rag: RAGRule = RAGRule()
    target: list[Target] = Field(default_factory=list)
    discrepancy: list[Discrepancy] = Field(default_factory=list)

    @model_validator(mode="after")
    def _discrepancies_name_comparable_targets(self) -> TargetSet:
        ids = [t.id for t in self.target]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"target ids must be unique: {repeated} appear more than once")
        by_id = {t.id: t for t in self.target}
        for d in self.discrepancy:
            for name in d.targets:
                if name not in by_id:
                    raise ValueError(
                        f"discrepancy {d.id!r} names target {name!r}; targets: {sorted(by_id)}"
                    )
                if by_id[name].kind == "not_modelled" or d.year not in by_id[name].years:
                    raise ValueError(
                        f"discrepancy {d.id!r}: target {name!r} is not scored in {d.year}"
                    )
            first, second = (by_id[name] for name in d.targets)
            if first.metric != second.metric:
                raise ValueError(
                    f"discrepancy {d.id!r} compares {first.metric} with {second.metric}: "
                    "only targets on one metric can be compared"
                )
        return self

    def by_id(self, target_id: str) -> Target:
        return next(t for t in self.target if t.id == target_id)


def load_targets(path: Path) -> TargetSet:
    """An area's targets; each metric must be one the model reports (checked against the
    registry before anything runs), or the target marked not_modelled with a reason."""
    if not path.exists():
        return TargetSet()
    targets: TargetSet = validated_file(TargetSet, read_toml(path), path)
    known = metric_names()
    problems = []
    for index, target in enumerate(targets.target):
        if target.kind == "not_modelled" or target.metric in known:
            continue
        close = difflib.get_close_matches(target.metric, sorted(known), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        problems.append(
            InputProblem(
                str(path),
                f"target.{index}.metric ({target.id})",
                target.metric,
                f"not a metric the model reports{hint} (or kind = not_modelled with a reason)",
            )
        )
    if problems:
        raise InputError(problems)
    return targets
