"""The search behind ``ucsim goal``: the cheapest mix of lever levels whose probability of
meeting every target is at least a required level, for a noisy simulation.

Nothing here knows the model. A mix is a tuple of level indexes, one per lever (0 = off);
an :class:`Oracle` gives, for a mix and a range of replications, which targets each
replication met (replication r of every mix shares its random numbers: common random
numbers), and a cost function prices a mix before it is simulated.

The search is exhaustive cheapest-first enumeration, made affordable by two facts a board
can check: a lever turned up never costs less, and (the model's levers reduce demand or
length of stay) never meets fewer targets. So a mix below one that failed also fails, and
a mix above one that passed cannot be cheaper. Each candidate gets replications in steps
until a one-sided Wilson bound on every target's p_met is clearly above the requirement,
or one is clearly below, or the most replications allowed are spent.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from scipy.special import ndtri

Mix = tuple[int, ...]
Verdict = Literal["feasible", "infeasible", "likely feasible", "likely infeasible"]
FEASIBLE: frozenset[str] = frozenset({"feasible", "likely feasible"})


class Oracle(Protocol):
    """Which targets each replication of a mix met: a bool array (replications x targets)."""

    def met(self, mix: Mix, replications: range) -> np.ndarray: ...


def wilson_bounds(
    successes: np.ndarray, n: int, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Wilson score bounds (lower, upper) on a binomial proportion, each at
    ``confidence``: better behaved than the normal interval at 0 or n successes."""
    z = float(ndtri(confidence))
    p = np.asarray(successes, dtype=float) / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


@dataclass(frozen=True)
class SequentialRule:
    """How many replications a candidate gets: ``first``, then ``step`` more while any
    target's interval for p_met straddles ``required``, up to ``most``."""

    required: float = 0.8
    confidence: float = 0.95
    first: int = 5
    step: int = 5
    most: int = 20

    def verdict(self, met_counts: np.ndarray, n: int) -> Verdict | None:
        """None while undecided and more replications are allowed."""
        low, high = wilson_bounds(met_counts, n, self.confidence)
        if np.all(low >= self.required):
            return "feasible"
        if np.any(high < self.required):
            return "infeasible"
        if n + 1 > self.most:
            p = np.asarray(met_counts) / n
            return "likely feasible" if np.all(p >= self.required) else "likely infeasible"
        return None


@dataclass
class Evaluation:
    """One candidate as far as it was simulated."""

    mix: Mix
    cost: float
    met_counts: np.ndarray  # per target
    n: int
    verdict: Verdict
    phase: str

    @property
    def p_met(self) -> np.ndarray:
        return self.met_counts / self.n

    def lower_bound(self, confidence: float) -> float:
        """The one-sided lower confidence bound on the least-met target's p_met."""
        return float(np.min(wilson_bounds(self.met_counts, self.n, confidence)[0]))

    @property
    def feasible(self) -> bool:
        return self.verdict in FEASIBLE


@dataclass
class SearchResult:
    """The candidates evaluated, in order; the chosen (cheapest feasible) mix and the
    runner-up (the cheapest feasible alternative that does not contain the chosen)."""

    evaluations: list[Evaluation]
    chosen: Evaluation | None
    runner_up: Evaluation | None
    top: Evaluation
    replications_used: int
    candidates: int
    pruned: int
    stopped_by_budget: bool
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Budget:
    """Replications and wall time the search may spend (None: unbounded)."""

    replications: int | None = None
    seconds: float | None = None
    clock: Callable[[], float] = field(default=lambda: 0.0, compare=False)

    def spent(self, used: int, started: float) -> bool:
        if self.replications is not None and used >= self.replications:
            return True
        return self.seconds is not None and self.clock() - started >= self.seconds


def dominates(high: Mix, low: Mix) -> bool:
    """Every lever of ``high`` at least as far up as in ``low``."""
    return all(h >= lo for h, lo in zip(high, low, strict=True))


def all_mixes(levels: Sequence[int]) -> Iterator[Mix]:
    """Every combination of level indexes (``levels[i]`` levels for lever i)."""
    return itertools.product(*(range(k) for k in levels))


def evaluate(oracle: Oracle, mix: Mix, cost: float, rule: SequentialRule, phase: str) -> Evaluation:
    """Replications in steps until the rule decides."""
    n = min(rule.first, rule.most)
    met = oracle.met(mix, range(n)).sum(axis=0)
    while (verdict := rule.verdict(met, n)) is None:
        more = min(rule.step, rule.most - n)
        met = met + oracle.met(mix, range(n, n + more)).sum(axis=0)
        n += more
    return Evaluation(mix, cost, np.asarray(met), n, verdict, phase)


def cheapest_feasible(
    levels: Sequence[int],
    oracle: Oracle,
    cost: Callable[[Mix], float],
    rule: SequentialRule,
    budget: Budget = Budget(),
    on_evaluation: Callable[[Evaluation, SearchResult], None] | None = None,
) -> SearchResult:
    """The cheapest feasible mix and the runner-up (the next cheapest feasible one).

    First the top mix (every lever at its highest level): if it fails, no mix does and
    the search stops there. Then, for each lever, the top mix with that lever one level
    down (a failure there rules out, at a stroke, every mix with that lever that low).
    Then every remaining mix, cheapest first, skipping those below a failure or above a
    success, until two feasible mixes are found or the budget is spent.
    """
    started = budget.clock()
    top = tuple(k - 1 for k in levels)
    first = evaluate(oracle, top, cost(top), rule, "top")
    evaluations = [first]
    result = SearchResult(
        evaluations,
        chosen=None,
        runner_up=None,
        top=first,
        replications_used=first.n,
        candidates=math.prod(levels),
        pruned=0,
        stopped_by_budget=False,
    )
    if on_evaluation is not None:
        on_evaluation(first, result)

    def run(mix: Mix, phase: str) -> Evaluation:
        found = evaluate(oracle, mix, cost(mix), rule, phase)
        evaluations.append(found)
        result.replications_used += found.n
        if on_evaluation is not None:
            on_evaluation(found, result)
        return found

    if not first.feasible:
        result.notes.append("no mix within the bounds meets every target: the top mix fails")
        return result
    for lever, count in enumerate(levels):
        if count > 1 and not budget.spent(result.replications_used, started):
            run((*top[:lever], count - 2, *top[lever + 1 :]), "probe")
    failed = [e.mix for e in evaluations if not e.feasible]
    passed = [e.mix for e in evaluations if e.feasible]
    done = {e.mix for e in evaluations}
    feasible: list[Evaluation] = sorted(
        (e for e in evaluations if e.feasible), key=lambda e: (e.cost, e.mix)
    )
    for mix in sorted(all_mixes(levels), key=lambda m: (cost(m), m)):
        if _settled(feasible, cost(mix)):
            break  # the cheapest feasible mix and its cheapest alternative are known
        if mix in done:
            continue
        if any(dominates(bad, mix) for bad in failed) or any(
            dominates(mix, good) and mix != good for good in passed
        ):
            result.pruned += 1
            continue
        if budget.spent(result.replications_used, started):
            result.stopped_by_budget = True
            result.notes.append(
                "the budget ran out before every cheaper mix was ruled out: the answer is "
                "the cheapest feasible mix found, not proven the cheapest"
            )
            break
        found = run(mix, "search")
        done.add(mix)
        (passed if found.feasible else failed).append(mix)
        if found.feasible:
            feasible = sorted([*feasible, found], key=lambda e: (e.cost, e.mix))
    result.chosen = feasible[0] if feasible else None
    result.runner_up = _alternative(feasible)
    return result


def _alternative(feasible: Sequence[Evaluation]) -> Evaluation | None:
    """The runner-up: the cheapest other feasible mix that is not the chosen one with
    more added (that would be no alternative, only a dearer version of the same)."""
    if not feasible:
        return None
    return next((e for e in feasible[1:] if not dominates(e.mix, feasible[0].mix)), None)


def _settled(feasible: Sequence[Evaluation], next_cost: float) -> bool:
    """No mix from ``next_cost`` up can change the chosen mix or its runner-up."""
    runner_up = _alternative(feasible)
    return runner_up is not None and runner_up.cost <= next_cost
