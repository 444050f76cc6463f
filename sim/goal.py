"""``ucsim goal``: which mix of levers, at what scale, meets the targets, and at what cost.

The search space is built from two scenarios: the reference (do nothing) and an ambition
(by default the best case). Each lever that differs between them becomes one dimension
with a few levels between "off" (the reference's values) and "full" (the ambition's),
each effect size held within its published evidence (``calibration/evidence.toml``). A
candidate is the reference with each lever set to one level; it is simulated on the same
random numbers as the reference (replication r of every candidate shares its draws), its
targets are scored on their own indicators (:mod:`sim.targets`), and its cost is the
investment the levers add over the reference (:mod:`sim.costs`) in the last target year.
The search itself is in :mod:`sim.goal_search`.

Every simulated replication is stored in the goal folder, so an interrupted search
resumes where it stopped and gives the same answer (the search is deterministic given
the seed, whatever the number of workers).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config import ModelConfig
from sim.cost_file import CostInputs, load_area_cost_inputs
from sim.costs import investment
from sim.errors import InputError
from sim.estimate import duration
from sim.executors import Backend, Task, run_unordered
from sim.goal_search import (
    Budget,
    Evaluation,
    Mix,
    SearchResult,
    SequentialRule,
    cheapest_feasible,
)
from sim.loading import OPTION, area_dir, flatten, project_root, read_toml, tree_with
from sim.store import ResultsFolder, whole_area
from sim.target_file import RAG, TargetSet
from sim.targets import Growth, evaluate_targets

EVIDENCE_FILE = "evidence.toml"
# Settings that switch with a lever rather than scale with it: when the lever is on at
# any level they take the ambition's value (a ramp, a start year, a text).
SWITCHED = ("enabled", "start_year", "ramp_years", "evidence")
DEFAULT_LEVELS = (0.0, 0.5, 1.0)


@dataclass(frozen=True)
class LeverRange:
    """One lever's settings from off (the reference) to full (the ambition, bounded by
    its evidence), by dotted config path."""

    name: str
    settings: Mapping[str, tuple[Any, Any]]
    notes: tuple[str, ...] = ()

    def at(self, fraction: float) -> dict[str, Any]:
        values = {}
        for path, (off, full) in self.settings.items():
            key = path.rsplit(".", 1)[-1]
            if fraction == 0:
                values[path] = off
            elif _scalable(off, full) and key not in SWITCHED:
                value = off + fraction * (full - off)
                values[path] = round(value) if isinstance(full, int) else value
            else:
                values[path] = full
        return values


def _scalable(off: Any, full: Any) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (off, full))


@dataclass(frozen=True)
class GoalSpace:
    """The levers searched and the fractions of full each may take."""

    levers: tuple[LeverRange, ...]
    fractions: tuple[float, ...] = DEFAULT_LEVELS
    dropped: tuple[str, ...] = ()  # levers left out, each with the reason

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(len(self.fractions) for _ in self.levers)

    def settings(self, mix: Mix) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for lever, level in zip(self.levers, mix, strict=True):
            values.update(lever.at(self.fractions[level]))
        return values

    def describe(self, mix: Mix) -> str:
        parts = [
            f"{lever.name} {self.fractions[level]:.0%}"
            for lever, level in zip(self.levers, mix, strict=True)
            if level
        ]
        return ", ".join(parts) or "no levers"

    def config(self, reference: ModelConfig, mix: Mix, name: str) -> ModelConfig:
        tree = reference.model_dump()
        for path, value in self.settings(mix).items():
            tree = tree_with(tree, path, value)
        tree = tree_with(tree, "scenario.name", name)
        tree = tree_with(
            tree, "scenario.description", f"ucsim goal candidate: {self.describe(mix)}"
        )
        return ModelConfig.model_validate(tree)


def evidence_bounds(path: Path | None = None) -> dict[tuple[str, str], tuple[float, str]]:
    """(lever, parameter) -> (bound, summary) for each published effect-size bound."""
    tree = read_toml(path or project_root() / "calibration" / EVIDENCE_FILE)
    return {
        (item["lever"], item["parameter"]): (float(item["bound"]), str(item.get("summary", "")))
        for item in tree.get("evidence", [])
        if "bound" in item
    }


def default_space(
    reference: ModelConfig,
    ambition: ModelConfig,
    fractions: Sequence[float] = DEFAULT_LEVELS,
    bounds: Mapping[tuple[str, str], tuple[float, str]] | None = None,
    only: Sequence[str] = (),
) -> GoalSpace:
    """A lever for each intervention (or other setting) in which ``ambition`` differs from
    ``reference``; an effect beyond its published bound is cut back to the bound, and a
    lever whose bound allows no effect at all is left out (it could only add cost)."""
    bounds = evidence_bounds() if bounds is None else bounds
    off = flatten(reference.model_dump(mode="json", exclude={"practices", "scenario"}))
    full = flatten(ambition.model_dump(mode="json", exclude={"practices", "scenario"}))
    grouped: dict[str, dict[str, tuple[Any, Any]]] = {}
    for path in sorted(set(off) | set(full)):
        if off.get(path) == full.get(path):
            continue
        parts = path.split(".")
        name = parts[1] if parts[0] == "interventions" else parts[-1]
        grouped.setdefault(name, {})[path] = (off.get(path), full.get(path))
    levers, dropped = [], []
    for name, settings in grouped.items():
        notes = []
        for path, (low, high) in list(settings.items()):
            bound = bounds.get((name, path.rsplit(".", 1)[-1]))
            if bound is not None and _scalable(low, high) and high < bound[0] <= low:
                settings[path] = (low, bound[0])
                notes.append(
                    f"{path} held at the published bound {bound[0]:g} (the ambition assumes "
                    f"{high:g}): {bound[1]}"
                )
        effect = [
            p
            for p, (low, high) in settings.items()
            if _scalable(low, high) and low != high and p.rsplit(".", 1)[-1] not in SWITCHED
        ]
        if notes and all(bounds.get((name, p.rsplit(".", 1)[-1])) is None for p in effect):
            # only sizes (cohort, staff) remain free; the effect itself is bounded to none
            dropped.append(f"{name}: the published evidence bounds its effect at none")
            continue
        if not effect:
            dropped.append(f"{name}: nothing in it scales")
            continue
        levers.append(LeverRange(name, settings, tuple(notes)))
    if only:
        unknown = sorted(set(only) - {lever.name for lever in levers})
        if unknown:
            known = ", ".join(lever.name for lever in levers)
            raise InputError.single(
                OPTION, "--lever", unknown, f"not a lever of this search (levers: {known})"
            )
        dropped += [
            f"{lever.name}: not chosen (--lever)" for lever in levers if lever.name not in only
        ]
        levers = [lever for lever in levers if lever.name in only]
    if not levers:
        raise InputError.single(
            OPTION,
            "--ambition",
            ambition.scenario.name,
            "has no lever that differs from the reference",
        )
    return GoalSpace(tuple(levers), tuple(fractions), tuple(dropped))


@dataclass(frozen=True)
class TargetKey:
    target_id: str
    year: str


class SimulationOracle:
    """Simulates candidates (and the reference) on common random numbers, stores each
    replication in the goal folder, and scores the targets."""

    def __init__(
        self,
        folder: Path,
        reference: ModelConfig,
        space: GoalSpace,
        targets: TargetSet,
        growth: Growth,
        seed: int,
        jobs: int = 1,
        backend: Backend = "loky",
        on_simulated: Callable[[int], None] | None = None,
        scheduler: str | None = None,
    ):
        self.store = ResultsFolder(folder)
        self.reference = reference
        self.space = space
        self.targets = targets
        self.growth = growth
        self.seed = seed
        self.jobs = jobs
        self.backend: Backend = backend
        self.scheduler = scheduler
        self.on_simulated = on_simulated
        self.keys: list[TargetKey] | None = None  # fixed at the first evaluation
        self.excluded: list[dict[str, str]] = []
        self.simulated = 0

    @staticmethod
    def name(mix: Mix) -> str:
        return "goal-" + "-".join(str(level) for level in mix)

    def config(self, mix: Mix) -> ModelConfig:
        return self.space.config(self.reference, mix, self.name(mix))

    def kpis(self, configs: Sequence[ModelConfig], replications: range) -> pd.DataFrame:
        """Long KPI rows of each config's replications, simulating those not stored."""
        missing = [
            Task(config, r, self.seed)
            for config in configs
            for r in replications
            if not self.store.replication_path(config.scenario.name, r).exists()
        ]
        for result in run_unordered(missing, self.backend, self.jobs, self.scheduler):
            self.store.write_replication(result.scenario, result.replication, result.rows)
            self.simulated += 1
            if self.on_simulated is not None:
                self.on_simulated(self.simulated)
        frames = [
            whole_area(pd.read_parquet(self.store.replication_path(config.scenario.name, r)))
            for config in configs
            for r in replications
        ]
        return pd.concat(frames, ignore_index=True)

    def scored(self, mix: Mix, replications: range) -> pd.DataFrame:
        """The targets table of a candidate against the reference over ``replications``."""
        kpis = self.kpis([self.reference, self.config(mix)], replications)
        table = evaluate_targets(kpis, self.targets, self.reference.scenario.name, self.growth)
        return table[table["scenario"] == self.name(mix)]

    def met(self, mix: Mix, replications: range) -> np.ndarray:
        if not len(replications):
            return np.zeros((0, len(self.keys or [])), dtype=bool)
        rows = []
        for r in replications:  # one replication at a time: which targets it met
            table = self.scored(mix, range(r, r + 1))
            if self.keys is None:
                self._fix_keys(table)
            assert self.keys is not None
            by_key = table.set_index(["target_id", "year"])["p_met"]
            rows.append([by_key.get((k.target_id, k.year), 0.0) >= 1.0 for k in self.keys])
        return np.asarray(rows, dtype=bool)

    def _fix_keys(self, table: pd.DataFrame) -> None:
        """The targets the search must meet: every target-year the model can score."""
        keys = []
        for row in table.itertuples():
            if row.status in RAG:
                keys.append(TargetKey(str(row.target_id), str(row.year)))
            else:
                self.excluded.append(
                    {
                        "target_id": str(row.target_id),
                        "year": str(row.year),
                        "status": str(row.status),
                        "reason": str(row.note),
                    }
                )
        if not keys:
            raise InputError.single(
                OPTION,
                "--target",
                [r["target_id"] for r in self.excluded],
                "no target the model can score",
            )
        self.keys = keys


@dataclass(frozen=True)
class GoalCosts:
    """A candidate's cost: the annual investment its levers add over the reference in
    ``year`` (£, price base), from its settings and the reference's population. Known
    before a candidate is simulated, so candidates can be taken cheapest first."""

    oracle: SimulationOracle
    inputs: CostInputs
    year: str
    reference_kpis: pd.DataFrame = field(repr=False)
    by_lever: dict[tuple[int, int], float] = field(default_factory=dict, repr=False)

    def __call__(self, mix: Mix) -> float:
        """The sum of each lever's own cost at its level: every costed item belongs to one
        lever and reads only that lever's settings (tested), so 8 levers x 3 levels need
        24 pricings, not 6,561."""
        return sum(self._lever_cost(index, level) for index, level in enumerate(mix) if level)

    def _lever_cost(self, index: int, level: int) -> float:
        if (index, level) not in self.by_lever:
            alone = tuple(level if i == index else 0 for i in range(len(self.oracle.space.levers)))
            self.by_lever[(index, level)] = self.priced(alone)
        return self.by_lever[(index, level)]

    def priced(self, mix: Mix) -> float:
        """The mix priced as a whole (what the sum of its levers must equal)."""
        name = self.oracle.name(mix)
        mine = self.reference_kpis.assign(scenario=name)
        configs = {
            self.oracle.reference.scenario.name: self.oracle.reference,
            name: self.oracle.config(mix),
        }
        table = investment(
            configs,
            pd.concat([self.reference_kpis, mine]),
            self.inputs,
            self.oracle.reference.scenario.name,
        )
        mine_now = table[(table["scenario"] == name) & (table["financial_year"] == self.year)]
        return float(mine_now["investment"].sum())

    def items(self, mix: Mix) -> pd.DataFrame:
        name = self.oracle.name(mix)
        configs = {
            self.oracle.reference.scenario.name: self.oracle.reference,
            name: self.oracle.config(mix),
        }
        kpis = pd.concat([self.reference_kpis, self.reference_kpis.assign(scenario=name)])
        table = investment(configs, kpis, self.inputs, self.oracle.reference.scenario.name)
        return table[(table["scenario"] == name) & (table["financial_year"] == self.year)]


@dataclass(frozen=True)
class GoalSettings:
    required: float = 0.8
    confidence: float = 0.95
    fractions: tuple[float, ...] = DEFAULT_LEVELS
    first: int = 5
    step: int = 5
    most: int = 20
    confirm: int = 20
    seed: int | None = None
    budget_replications: int | None = None
    max_seconds: float | None = None
    jobs: int = 1
    backend: Backend = "loky"
    scheduler: str | None = None  # a Dask scheduler's address (where it runs: not recorded)
    targets: tuple[str, ...] = ()
    levers: tuple[str, ...] = ()

    @classmethod
    def recorded(
        cls,
        values: Mapping[str, Any],
        jobs: int = 1,
        backend: Backend = "loky",
        scheduler: str | None = None,
    ) -> GoalSettings:
        """Settings as goal.json records them (lists for tuples), with where this run runs."""
        fields: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in values.items()
        }
        return cls(**fields, jobs=jobs, backend=backend, scheduler=scheduler)

    @property
    def rule(self) -> SequentialRule:
        return SequentialRule(self.required, self.confidence, self.first, self.step, self.most)


@dataclass
class Confirmation:
    """A mix rerun on fresh random numbers (another seed), with its reference."""

    evaluation: Evaluation
    table: pd.DataFrame
    seed: int


@dataclass
class GoalOutcome:
    folder: Path
    space: GoalSpace
    settings: GoalSettings
    search: SearchResult
    keys: list[TargetKey]
    excluded: list[dict[str, str]]
    cost_year: str
    seed: int
    confirmations: dict[str, Confirmation]
    inversions: pd.DataFrame
    cost_items: dict[str, pd.DataFrame]
    reference: ModelConfig
    ambition_name: str
    simulated: int  # replications simulated by this call (0 when all were stored)
    created: str = field(default_factory=lambda: dt.date.today().isoformat())


def last_target_year(targets: TargetSet, chosen: Sequence[str]) -> str:
    years = [y for t in targets.target if not chosen or t.id in chosen for y in t.years]
    if not years:
        raise InputError.single(OPTION, "--target", list(chosen), "no such target in targets.toml")
    return max(years)


def choose_targets(targets: TargetSet, chosen: Sequence[str]) -> TargetSet:
    known = [t.id for t in targets.target]
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise InputError.single(
            OPTION, "--target", unknown, f"not a target of this area (targets: {', '.join(known)})"
        )
    kept = [
        t for t in targets.target if (not chosen or t.id in chosen) and t.kind != "not_modelled"
    ]
    return targets.model_copy(update={"target": kept})


def pace(one_replication: float, settings: GoalSettings) -> str:
    """How long the search's steps should take, from one replication's wall time."""
    each = one_replication / max(1, settings.jobs)  # the workers share a candidate's
    text = (
        f"one replication took {duration(one_replication)}; with {settings.jobs} "
        f"worker{'s' if settings.jobs != 1 else ''} a candidate's {settings.first} to "
        f"{settings.most} replications take about {duration(settings.first * each)} to "
        f"{duration(settings.most * each)}"
    )
    if settings.budget_replications is not None:
        text += (
            f"; the budget of {settings.budget_replications:,} replications about "
            f"{duration(settings.budget_replications * each)}"
        )
    if settings.max_seconds is not None:
        text += f"; the search stops after {duration(settings.max_seconds)}"
    return text + f", then confirms on {settings.confirm} fresh replications"


def run_goal(
    reference: ModelConfig,
    ambition: ModelConfig,
    targets: TargetSet,
    growth: Growth,
    out: Path,
    settings: GoalSettings,
    on_progress: Callable[[str], None] | None = None,
) -> GoalOutcome:
    """Search, confirm the answer on fresh replications, and invert each unmet target."""
    say = on_progress or (lambda _: None)
    seed = reference.run.seed if settings.seed is None else settings.seed
    chosen_targets = choose_targets(targets, settings.targets)
    last_year = last_target_year(chosen_targets, ())
    space = default_space(reference, ambition, settings.fractions, only=settings.levers)
    oracle = SimulationOracle(
        out,
        reference,
        space,
        chosen_targets,
        growth,
        seed,
        settings.jobs,
        settings.backend,
        scheduler=settings.scheduler,
    )
    inputs = load_area_cost_inputs(area_dir(reference.area.name))
    started = time.monotonic()
    reference_kpis = oracle.kpis([reference], range(1))
    if oracle.simulated:  # not when resuming with it stored
        say(pace(time.monotonic() - started, settings))
    # the last target year the run reaches (a target beyond the run has no cost to weigh)
    simulated = sorted(set(reference_kpis["financial_year"].astype(str)))
    cost_year = max((y for y in simulated if y <= last_year), default=simulated[-1])
    costs = GoalCosts(oracle, inputs, cost_year, reference_kpis)

    def progress(found: Evaluation, result: SearchResult) -> None:
        best = min((e.cost for e in result.evaluations if e.feasible), default=math.nan)
        frontier, reached = [], -1.0  # the best least-met p_met at or below each cost
        for e in sorted(result.evaluations, key=lambda e: e.cost):
            if e.p_met.min() > reached:
                reached = float(e.p_met.min())
                frontier.append(f"£{e.cost / 1e6:.2f}m: {reached:.2f}")
        say(
            f"{len(result.evaluations)} candidates, {result.replications_used} replications; "
            f"{space.describe(found.mix)}: {found.verdict} (least-met p {found.p_met.min():.2f}, "
            f"£{found.cost:,.0f}); cheapest feasible so far "
            + ("none" if math.isnan(best) else f"£{best:,.0f}")
            + f"; frontier {', '.join(frontier[-4:])}"
        )

    budget = Budget(settings.budget_replications, settings.max_seconds, time.monotonic)
    search = cheapest_feasible(space.levels, oracle, costs, settings.rule, budget, progress)
    assert oracle.keys is not None
    confirmations = {}
    confirm_seed = seed + 1  # fresh random numbers, still common to the mix and reference
    confirm = SimulationOracle(
        out / "confirmation",
        reference,
        space,
        chosen_targets,
        growth,
        confirm_seed,
        settings.jobs,
        settings.backend,
        scheduler=settings.scheduler,
    )
    confirm.keys = oracle.keys
    for label, found in (
        ("chosen", search.chosen),
        ("runner-up", search.runner_up),
        ("top", search.top),
    ):
        if found is None or (label == "top" and search.chosen is not None):
            continue
        say(f"confirming the {label} mix on {settings.confirm} fresh replications")
        met = confirm.met(found.mix, range(settings.confirm))
        evaluation = Evaluation(
            found.mix, found.cost, met.sum(axis=0), settings.confirm, found.verdict, "confirmation"
        )
        confirmations[label] = Confirmation(
            evaluation, confirm.scored(found.mix, range(settings.confirm)), confirm_seed
        )
    inversions = invert_unmet(oracle, costs, space, search, settings, say)
    items = {label: costs.items(c.evaluation.mix) for label, c in confirmations.items()}
    return GoalOutcome(
        out,
        space,
        settings,
        search,
        oracle.keys,
        oracle.excluded,
        cost_year,
        seed,
        confirmations,
        inversions,
        items,
        reference,
        ambition.scenario.name,
        oracle.simulated + confirm.simulated,
    )


def invert_unmet(
    oracle: SimulationOracle,
    costs: GoalCosts,
    space: GoalSpace,
    search: SearchResult,
    settings: GoalSettings,
    say: Callable[[str], None],
) -> pd.DataFrame:
    """For each target-year the top mix fails: how far the top mix gets, and for each lever
    the setting it would need (on top of the others at full) if its effect kept scaling
    linearly — an extrapolation beyond anything simulated, labelled as such."""
    assert oracle.keys is not None
    top = search.top
    failing = [k for k, p in zip(oracle.keys, top.p_met, strict=True) if p < settings.required]
    if not failing:
        return pd.DataFrame()
    n = min(settings.first, top.n)
    top_table = oracle.scored(top.mix, range(n)).set_index(["target_id", "year"])
    alone_mixes = [
        tuple(len(space.fractions) - 1 if i == index else 0 for i in range(len(space.levers)))
        for index in range(len(space.levers))
    ]
    say(f"one-lever runs: each of {len(alone_mixes)} levers alone at full ({n} replications)")
    oracle.kpis([oracle.config(mix) for mix in alone_mixes], range(n))  # one parallel batch
    rows = []
    for index, lever in enumerate(space.levers):
        alone = alone_mixes[index]
        table = oracle.scored(alone, range(n)).set_index(["target_id", "year"])
        for key in failing:
            where = (key.target_id, key.year)
            share_top = float(top_table.at[where, "delivered_share"])
            share_alone = float(table.at[where, "delivered_share"])
            needed = math.nan
            if share_alone > 0 and math.isfinite(share_top):
                needed = 1 + (1 - share_top) / share_alone  # multiples of the lever's full range
            rows.append(
                {
                    "target_id": key.target_id,
                    "year": key.year,
                    "required_vs_reference": float(top_table.at[where, "required_vs_reference"]),
                    "top_delivered": float(top_table.at[where, "delivered"]),
                    "top_delivered_share": share_top,
                    "top_p_met": float(top_table.at[where, "p_met"]),
                    "lever": lever.name,
                    "lever_alone_delivered_share": share_alone,
                    "needed_multiple_of_full": needed,
                    "needed_setting": _needed_setting(lever, needed),
                }
            )
    return pd.DataFrame(rows)


def _needed_setting(lever: LeverRange, multiple: float) -> str:
    """The lever's scaled settings at ``multiple`` x its full range, as text."""
    if not math.isfinite(multiple):
        return "no effect in the runs: no setting of this lever alone closes the gap"
    parts = []
    for path, (off, full) in lever.settings.items():
        if _scalable(off, full) and path.rsplit(".", 1)[-1] not in SWITCHED and off != full:
            value = off + multiple * (full - off)
            impossible = (
                ("multiplier" in path or "share" in path) and not 0 <= value <= 1
            ) or value < 0
            shown = f"{value:,.3g}" + (" (impossible)" if impossible else "")
            parts.append(f"{path.split('.', 1)[-1]} = {shown}")
    return "; ".join(parts)
