"""The shared prefix: scenarios identical until their first lever are simulated once up
to it, then each on its own, with exactly the results of running each from the start."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.config import ModelConfig
from sim.loading import default_scenario_paths, project_root, resolve, with_overrides
from sim.prefix import can_fork, prefix_groups, run_sharing_prefix, shared_years
from sim.replication import run_replication
from tests.conftest import scaled

pytestmark = pytest.mark.skipif(not can_fork(), reason="the shared prefix needs os.fork")


def small(path: Path, years: int = 3, factor: float = 0.2) -> ModelConfig:
    return scaled(resolve(path).config, factor, run__years=years, run__warmup_days=60)


def assert_same(shared: list, alone: list) -> None:
    assert [r.scenario for r in shared] == [r.scenario for r in alone]
    for a, b in zip(shared, alone, strict=True):
        pd.testing.assert_frame_equal(a.annual, b.annual)
        pd.testing.assert_frame_equal(a.places, b.places)
        assert a.outcome_counts == b.outcome_counts and a.episodes == b.episodes


def test_the_shipped_scenarios_match_running_each_from_the_start() -> None:
    configs = [small(p, years=2, factor=0.1) for p in default_scenario_paths()]
    assert prefix_groups(configs) == [[0, 1, 2]]
    assert shared_years(configs) == 1
    shared = run_sharing_prefix(configs, 0, 3)
    assert_same(shared, [run_replication(c, 0, 3) for c in configs])
    # The levers bind after the prefix: the scenarios do differ in the lever years.
    last = configs[0].run.years - 1
    admissions = [r.annual.loc[last, "emergency_admissions"] for r in shared]
    assert admissions[1] != admissions[0]


@pytest.mark.slow
def test_locality_teams_and_scoped_levers_match_too() -> None:
    scenarios = project_root() / "scenarios"
    configs = [
        small(scenarios / "dudley-locality-teams.toml", 2),
        small(scenarios / "dudley-locality-team-expanded.toml", 2),
    ]
    # The expanded team's rota is sized for one more clinician than the prefix's own.
    configs = [with_overrides(c, {"services.rapid_response.staff": 5}) for c in configs]
    assert shared_years(configs) == 1
    assert_same(run_sharing_prefix(configs, 1, 4), [run_replication(c, 1, 4) for c in configs])


def test_a_later_start_shares_more_years_and_a_service_change_shares_none(
    do_nothing: ModelConfig,
) -> None:
    late = with_overrides(
        do_nothing,
        {
            "interventions.self_management.enabled": True,
            "interventions.self_management.start_year": 3,
        },
    ).renamed("late")
    assert shared_years([do_nothing, late]) == 3
    # A scenario that changes a service, not a lever, differs from day 0: its own group.
    beds = with_overrides(do_nothing, {"services.wards.beds": 500}).renamed("beds")
    assert prefix_groups([do_nothing, beds]) == [[0], [1]]
    assert shared_years([do_nothing, do_nothing.renamed("same")]) == do_nothing.run.years


@pytest.mark.slow
def test_a_batch_sharing_prefixes_writes_the_same_results(tmp_path: Path) -> None:
    from sim.batch import BatchOptions, run_batch

    configs = [small(p) for p in default_scenario_paths()]
    options = {"replications": 3, "seed": 5}
    run_batch(configs, tmp_path / "a", BatchOptions(jobs=2, backend="loky", **options))
    run_batch(configs, tmp_path / "b", BatchOptions(share_prefix=False, **options))
    a, b = (
        pd.read_parquet(tmp_path / name / "kpis.parquet").drop(columns="config_sha256")
        for name in ("a", "b")
    )
    pd.testing.assert_frame_equal(a, b)


def test_a_failing_scenario_is_reported_by_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child never returns into its caller: its error is raised in the parent."""
    import sim.prefix

    def broken(*_: object) -> None:
        raise ValueError("this scenario cannot switch")

    monkeypatch.setattr(sim.prefix, "switch", broken)
    configs = [small(p, years=2, factor=0.05) for p in default_scenario_paths()[:2]]
    with pytest.raises(ValueError, match="cannot switch"):
        run_sharing_prefix(configs, 0, 3)
