"""The goal search: exact on small synthetic problems with a known optimum, sound
sequential decisions, and on the model the same answer whatever the workers, resumable."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from sim.goal_search import (
    Budget,
    Mix,
    SequentialRule,
    all_mixes,
    cheapest_feasible,
    wilson_bounds,
)

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not


def test_wilson_bounds_hold_the_proportion_and_tighten_with_n() -> None:
    low, high = wilson_bounds(np.array([20]), 20, 0.95)
    assert 0.87 < low[0] < 0.89 and high[0] == 1.0  # 20 of 20: at least ~0.88
    low, high = wilson_bounds(np.array([0, 5, 10]), 10, 0.95)
    assert np.all(low <= np.array([0, 0.5, 1.0])) and np.all(high >= np.array([0, 0.5, 1.0]))
    wide = np.diff(wilson_bounds(np.array([5]), 10, 0.95), axis=0)
    narrow = np.diff(wilson_bounds(np.array([50]), 100, 0.95), axis=0)
    assert narrow[0][0] < wide[0][0]


class CommonNumbersOracle:
    """Target met in replication r when u_r < p(mix): the same u_r for every mix (common
    random numbers), so a mix with a higher p meets it in every replication a lower does."""

    def __init__(self, p, seed: int = 7):
        self.p = p
        self.u = np.random.default_rng(seed).random(10_000)
        self.calls: list[Mix] = []

    def met(self, mix: Mix, replications: range) -> np.ndarray:
        self.calls.append(mix)
        return (self.u[replications.start : replications.stop] < self.p(mix))[:, None]


def test_one_lever_with_a_monotone_effect_and_linear_cost_finds_the_optimum() -> None:
    """p(level) = level / 10 and cost = level: the cheapest level with p >= 0.65 is 7,
    found by the sequential test on common random numbers."""
    oracle = CommonNumbersOracle(lambda mix: mix[0] / 10)
    rule = SequentialRule(required=0.65, first=20, step=20, most=400)
    result = cheapest_feasible([11], oracle, lambda mix: float(mix[0]), rule)
    assert result.chosen is not None and result.chosen.mix == (7,)
    assert result.runner_up is None  # 8, 9 and 10 are level 7 and more: no alternative
    assert result.chosen.p_met[0] >= 0.65


def test_two_levers_match_brute_force_and_pruning_saves_evaluations() -> None:
    """Met when a + 2b >= 5 (deterministic); cost 3a + 5b: the optimum is (1, 2) at 13,
    the runner-up (3, 1) at 14."""
    oracle = CommonNumbersOracle(lambda mix: 1.0 if mix[0] + 2 * mix[1] >= 5 else 0.0)
    cost = lambda mix: 3.0 * mix[0] + 5.0 * mix[1]  # noqa: E731
    result = cheapest_feasible([6, 4], oracle, cost, SequentialRule(first=20, most=20))
    brute = sorted(
        (m for m in itertools.product(range(6), range(4)) if m[0] + 2 * m[1] >= 5),
        key=lambda m: (cost(m), m),
    )
    assert result.chosen is not None and result.chosen.mix == brute[0] == (1, 2)
    assert result.runner_up is not None and result.runner_up.mix == brute[1] == (3, 1)
    assert len(result.evaluations) < len(list(all_mixes([6, 4])))


def test_a_failed_probe_rules_out_every_mix_below_it() -> None:
    """Met only with lever 2 at its top level and lever 1 at 2 or more: the probe with lever
    2 one level down fails, so no mix with lever 2 below the top is simulated."""
    oracle = CommonNumbersOracle(lambda mix: 1.0 if mix[1] == 3 and mix[0] >= 2 else 0.0)
    cost = lambda mix: 3.0 * mix[0] + 5.0 * mix[1]  # noqa: E731
    result = cheapest_feasible([6, 4], oracle, cost, SequentialRule(first=20, most=20))
    assert result.chosen is not None and result.chosen.mix == (2, 3)
    assert result.pruned > 0
    assert not [m for m in oracle.calls if m[1] < 2]  # only the probe went below the top


def test_when_even_the_top_mix_fails_no_mix_is_chosen() -> None:
    oracle = CommonNumbersOracle(lambda mix: 0.3)
    result = cheapest_feasible([3, 3], oracle, lambda m: float(sum(m)), SequentialRule())
    assert result.chosen is None and result.top.mix == (2, 2)
    assert result.top.verdict == "infeasible" and len(result.evaluations) == 1
    assert "no mix" in result.notes[0]


def test_a_clear_failure_stops_early_and_a_near_miss_gets_more_replications() -> None:
    rule = SequentialRule(required=0.8, first=5, step=5, most=40)
    clear = cheapest_feasible([2], CommonNumbersOracle(lambda m: 0.0), lambda m: 0.0, rule)
    near = cheapest_feasible([2], CommonNumbersOracle(lambda m: 0.78), lambda m: 0.0, rule)
    assert clear.top.n == 5 and near.top.n > 5


def test_the_budget_stops_the_search_and_says_so() -> None:
    oracle = CommonNumbersOracle(lambda mix: 1.0 if sum(mix) >= 5 else 0.0)
    result = cheapest_feasible(
        [3, 3, 3], oracle, lambda m: float(sum(m)), SequentialRule(first=5), Budget(20)
    )
    assert result.stopped_by_budget and result.replications_used <= 20 + 5 * 3
    assert any("not proven the cheapest" in note for note in result.notes)


# ------------------------------------------------------------------ on the model


@pytest.fixture(scope="module")
def small_goal(do_nothing, tmp_path_factory):
    """A small Dudley (10%), two levers, one reachable target: the answer must be found,
    the same with 1 or 2 workers, and a rerun into the same folder simulates nothing."""
    from sim.batch import model_growth
    from sim.goal import GoalSettings, run_goal
    from sim.loading import project_root, resolve
    from sim.target_file import Target, TargetSet
    from tests.conftest import scaled

    shrink = {"run__warmup_days": 30, "run__years": 2}
    reference = scaled(do_nothing, 0.1, **shrink)
    best = resolve(project_root() / "scenarios" / "best-case.toml").config
    ambition = scaled(best, 0.1, **shrink)
    target = Target(
        id="fewer_low_acuity_ae",
        description="A&E attendances 1% below do nothing",
        metric="ae_attendances",
        kind="relative_difference_from_reference",
        value=-0.01,
        years=["2015/16"],
        source="test",
        confidence="E",
    )
    targets = TargetSet(target=[target])
    settings = GoalSettings(
        fractions=(0.0, 0.5, 1.0),
        first=4,
        step=4,
        most=8,
        confirm=4,
        required=0.75,
        levers=("self_management", "front_door_streaming"),
    )
    runs = {}
    for label, jobs, folder in (("one", 1, "a"), ("two", 2, "b"), ("again", 2, "a")):
        outcome = run_goal(
            reference,
            ambition,
            targets,
            model_growth(reference),
            tmp_path_factory.getbasetemp() / "goal" / folder,
            GoalSettings(**{**settings.__dict__, "jobs": jobs}),
        )
        runs[label] = outcome
    runs["targets"] = targets
    return runs


def test_the_model_search_finds_a_mix_and_confirms_it(small_goal) -> None:
    outcome = small_goal["one"]
    assert outcome.search.chosen is not None, outcome.search.notes
    assert "chosen" in outcome.confirmations
    confirmed = outcome.confirmations["chosen"].evaluation
    assert confirmed.n == 4 and confirmed.phase == "confirmation"


def test_the_answer_does_not_depend_on_the_number_of_workers(small_goal) -> None:
    one, two = small_goal["one"].search, small_goal["two"].search
    assert [(e.mix, e.n, e.met_counts.tolist()) for e in one.evaluations] == [
        (e.mix, e.n, e.met_counts.tolist()) for e in two.evaluations
    ]


def test_a_rerun_into_the_same_folder_resumes_without_simulating(small_goal) -> None:
    again, first = small_goal["again"], small_goal["one"]
    assert first.simulated > 0 and again.simulated == 0
    assert [e.mix for e in again.search.evaluations] == [e.mix for e in first.search.evaluations]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--target", "no_such_target"], "--target"),
        (["--lever", "teleporter"], "--lever"),
        (["--probability", "1.5"], "--probability"),
        (["--levels", "1"], "--levels"),
    ],
)
def test_goal_options_are_checked_before_anything_is_written(args, named, tmp_path) -> None:
    from typer.testing import CliRunner

    from sim.cli import app

    out = tmp_path / "goal"
    result = CliRunner().invoke(app, ["goal", "--out", str(out), *args])
    assert result.exit_code == 2 and named in " ".join(result.output.split())
    assert not out.exists()


def test_goal_never_writes_into_a_folder_with_a_users_files(tmp_path) -> None:
    from typer.testing import CliRunner

    from sim.cli import app

    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(app, ["goal", "--out", str(tmp_path), "--quick"])
    assert result.exit_code == 2 and "other files" in " ".join(result.output.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_plain_batch_of_the_chosen_mix_reproduces_its_confirmed_p_met(small_goal, tmp_path):
    """Run the chosen mix as an ordinary batch with the confirmation's seed and count:
    the same p_met, replication for replication (common random numbers)."""
    from sim.batch import BatchOptions, model_growth, run_batch
    from sim.targets import evaluate_targets

    outcome = small_goal["one"]
    confirmation = outcome.confirmations["chosen"]
    mix = confirmation.evaluation.mix
    chosen = outcome.space.config(outcome.reference, mix, "chosen")
    batch = run_batch(
        [outcome.reference, chosen],
        tmp_path / "run",
        BatchOptions(replications=confirmation.evaluation.n, seed=confirmation.seed),
    )
    table = evaluate_targets(
        batch.kpis, small_goal["targets"], "do-nothing", model_growth(outcome.reference)
    )
    p_met = table.loc[table["scenario"] == "chosen", "p_met"].to_numpy()
    assert p_met.tolist() == confirmation.evaluation.p_met.tolist()


def test_a_mix_costs_the_sum_of_its_levers(do_nothing, tmp_path) -> None:
    """Each costed item belongs to one lever, so pricing levers one at a time and adding
    equals pricing the whole mix (what lets the search price 6,561 mixes cheaply)."""
    from sim.cost_file import load_area_cost_inputs
    from sim.goal import GoalCosts, SimulationOracle, default_space
    from sim.loading import area_dir, project_root, resolve
    from sim.target_file import TargetSet
    from sim.targets import Growth

    best = resolve(project_root() / "scenarios" / "best-case.toml").config
    space = default_space(do_nothing, best)
    oracle = SimulationOracle(tmp_path, do_nothing, space, TargetSet(), Growth(), seed=1)
    kpis = pd.DataFrame(
        {
            "scenario": "do-nothing",
            "replication": 0,
            "year": [0, 1, 2, 3, 4] * 2,
            "financial_year": ["2014/15", "2015/16", "2016/17", "2017/18", "2018/19"] * 2,
            "metric": ["population"] * 5 + ["ltc_population"] * 5,
            "value": [314_500.0] * 5 + [60_000.0] * 5,
        }
    )
    costs = GoalCosts(oracle, load_area_cost_inputs(area_dir("dudley")), "2018/19", kpis)
    levels = space.levels
    for mix in (
        tuple(k - 1 for k in levels),
        tuple((i % 2) * (k - 1) for i, k in enumerate(levels)),
    ):
        assert costs(mix) == pytest.approx(costs.priced(mix), rel=1e-12)
    assert costs(tuple(k - 1 for k in levels)) > 0
