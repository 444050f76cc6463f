"""Levers aimed at places, and results by place.

A lever scoped to a locality must leave every episode outside it exactly as it
was (same arrivals, same attributes, same first contact: common random numbers),
so any difference outside comes only through capacity the places share.
Localities' results come from the same run and add up to the area's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.config import ModelConfig
from sim.errors import InputError
from sim.loading import with_overrides
from sim.replication import run_replication
from tests.conftest import scaled

PLACE = "Halesowen and Quarry Bank"
COMPARED = ["arrival_hours", "practice", "age_band", "ltc", "acuity", "care_home", "first_contact"]


def scoped_levers(scope: list[dict[str, Any]]) -> dict[str, Any]:
    """Every place lever on from year 1 at once, aimed at ``scope``."""
    levers: dict[str, Any] = {}
    for name, effect in (
        ("case_management", {"episode_rate_multiplier": 0.7, "top_percent": 5.0}),
        ("self_management", {"low_acuity_rate_multiplier": 0.7}),
        ("care_home_gp_cover", {"episode_rate_multiplier": 0.7}),
        ("extended_gp_access", {"extra_slots_per_1000_per_day": 2.0}),
    ):
        for key, value in {"enabled": True, "ramp_years": 0.0, "scopes": scope, **effect}.items():
            levers[f"interventions.{name}.{key}"] = value
    return levers


@pytest.fixture(scope="module")
def small(do_nothing: ModelConfig) -> ModelConfig:
    return scaled(do_nothing, 0.25, run__years=2, run__warmup_days=30)


def episodes(config: ModelConfig) -> pd.DataFrame:
    log = run_replication(config, 0, 5, event_log=True).event_log
    assert log is not None
    return log[log["report_year"] >= 0]


def test_a_lever_scoped_to_one_locality_leaves_every_episode_outside_it_unchanged(
    small: ModelConfig,
) -> None:
    base = episodes(small)
    scoped = episodes(with_overrides(small, scoped_levers([{"localities": [PLACE]}])))
    locality = np.array([p.locality for p in small.practices])
    inside_base = locality[base["practice"].to_numpy()] == PLACE
    inside_scoped = locality[scoped["practice"].to_numpy()] == PLACE

    outside_base = base.loc[~inside_base, COMPARED].reset_index(drop=True)
    outside_scoped = scoped.loc[~inside_scoped, COMPARED].reset_index(drop=True)
    pd.testing.assert_frame_equal(outside_base, outside_scoped)
    # Inside, the levers bind: fewer episodes in the lever years, none before.
    year1_base = (base["report_year"] == 1) & inside_base
    year1_scoped = (scoped["report_year"] == 1) & inside_scoped
    assert year1_scoped.sum() < 0.97 * year1_base.sum()
    assert ((base["report_year"] == 0) & inside_base).sum() == (
        (scoped["report_year"] == 0) & inside_scoped
    ).sum()


def test_the_same_levers_area_wide_change_episodes_everywhere(small: ModelConfig) -> None:
    """The control for the test above: unscoped, the levers reach the other localities."""
    base = episodes(small)
    everywhere = episodes(with_overrides(small, scoped_levers([])))
    locality = np.array([p.locality for p in small.practices])
    outside = locality[base["practice"].to_numpy()] != PLACE
    outside_everywhere = locality[everywhere["practice"].to_numpy()] != PLACE
    assert outside_everywhere.sum() < outside.sum()


def test_localities_add_up_to_the_area(small: ModelConfig) -> None:
    result = run_replication(with_overrides(small, scoped_levers([{"localities": [PLACE]}])), 0)
    assert result.places is not None
    places = result.places.pivot_table(index=["year", "metric"], values="value", aggfunc="sum")
    for metric in ("ae_attendances", "ucc_attendances", "emergency_admissions", "population"):
        for year in range(2):
            area = float(result.annual.loc[result.annual["year"] == year, metric].iloc[0])
            assert places.loc[(year, metric), "value"] == pytest.approx(area, rel=1e-9)


def test_scopes_start_each_in_their_own_year(small: ModelConfig) -> None:
    """A roll-out: the first locality from year 1, a second from year 2 (3-year run)."""
    localities = sorted({p.locality for p in small.practices})
    first, second = localities[0], localities[1]
    config = with_overrides(
        small,
        {
            "run.years": 3,
            **scoped_levers(
                [
                    {"localities": [first], "start_year": 1},
                    {"localities": [second], "start_year": 2},
                ]
            ),
        },
    )
    base = run_replication(with_overrides(small, {"run.years": 3}), 0).places
    rolled = run_replication(config, 0).places
    assert base is not None and rolled is not None

    def episodes_in(places: pd.DataFrame, locality: str, year: int) -> float:
        row = places[
            (places["locality"] == locality)
            & (places["year"] == year)
            & (places["metric"] == "urgent_episodes")
        ]
        return float(row["value"].iloc[0])

    assert episodes_in(rolled, first, 1) < 0.97 * episodes_in(base, first, 1)
    assert episodes_in(rolled, second, 1) == episodes_in(base, second, 1)
    assert episodes_in(rolled, second, 2) < 0.97 * episodes_in(base, second, 2)


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ([{"localities": ["Atlantis"]}], "localities ['Atlantis'] that the area does not have"),
        ([{"practices": ["Z99"]}], "practices ['Z99'] that the area does not have"),
        ([{"localities": [PLACE]}, {"localities": [PLACE]}], "in more than one scope"),
        ([{}], "a scope names at least one locality or practice"),
    ],
)
def test_a_scope_naming_no_real_place_is_refused(
    small: ModelConfig, scope: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(InputError) as caught:
        with_overrides(small, {"interventions.case_management.scopes": scope})
    (problem,) = caught.value.problems
    assert problem.field.startswith("interventions.case_management.scopes")
    assert message in problem.rule
    if "does not have" in message:
        assert PLACE in problem.rule or "D01" in problem.rule  # the names that exist


def test_hospital_levers_cannot_be_scoped(small: ModelConfig) -> None:
    with pytest.raises(InputError) as caught:
        with_overrides(
            small, {"interventions.front_door_streaming.scopes": [{"localities": [PLACE]}]}
        )
    assert "unknown parameter" in caught.value.problems[0].rule


TEAMS = {
    "Kingswinford, Amblecote and Brierley Hill": 1,
    "Stourbridge, Wollescote and Lye": 1,
    "Sedgley, Coseley and Gornal": 1,
    "Dudley and Netherton": 1,
    "Halesowen and Quarry Bank": 1,
}


def with_teams(config: ModelConfig, **lever: Any) -> ModelConfig:
    changes: dict[str, Any] = {
        "services.rapid_response.staff": sum(TEAMS.values()),
        "services.rapid_response.teams": TEAMS,
    }
    if lever:
        changes.update({f"interventions.rapid_response.{k}": v for k, v in lever.items()})
        changes["interventions.rapid_response.enabled"] = True
    return with_overrides(config, changes)


def test_one_locality_team_expanded_alone(small: ModelConfig) -> None:
    """A lever scoped to one locality team adds staff there only, and only that team's
    utilisation falls; the others' staffing and referrals are untouched."""
    from sim.interventions import rapid_response_teams
    from sim.timeline import timeline_for

    base = with_teams(small)
    grown = with_teams(small, extra_staff=2, ramp_years=0.0, scopes=[{"localities": [PLACE]}])
    tl = timeline_for(base)
    year = tl.year_fraction_of_day(np.arange(tl.total_days))
    before, after = rapid_response_teams(base, year), rapid_response_teams(grown, year)
    here = before.names.index(PLACE)
    last_day = tl.total_days - 1
    for team in range(len(before.names)):
        expected = before.staff[team][last_day] + (2 if team == here else 0)
        assert after.staff[team][last_day] == expected
    a, b = run_replication(base, 0).places, run_replication(grown, 0).places
    assert a is not None and b is not None

    def value(places: pd.DataFrame, locality: str, metric: str) -> float:
        row = places[
            (places["locality"] == locality) & (places["year"] == 1) & (places["metric"] == metric)
        ]
        return float(row["value"].iloc[0])

    assert value(b, PLACE, "rrt_utilisation") < 0.7 * value(a, PLACE, "rrt_utilisation")
    for locality in TEAMS:
        assert value(b, locality, "rrt_referrals") == value(a, locality, "rrt_referrals")


def test_area_wide_extra_staff_is_shared_by_list_size(small: ModelConfig) -> None:
    from sim.interventions import rapid_response_teams, share_out
    from sim.timeline import timeline_for

    grown = with_teams(small, extra_staff=7, ramp_years=0.0)
    tl = timeline_for(grown)
    teams = rapid_response_teams(grown, tl.year_fraction_of_day(np.arange(tl.total_days)))
    extra = [staff[-1] - staff[0] for staff in teams.staff]
    assert sum(extra) == 7
    assert list(share_out(3, np.array([1.0, 1.0, 1.0]))) == [1, 1, 1]
    assert share_out(5, np.array([3.0, 1.0])).sum() == 5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"services.rapid_response.teams": {PLACE: 1}}, "needs one team per locality"),
        (
            {"services.rapid_response.teams": {**TEAMS, PLACE: 2}},
            "adds up to 6 staff on duty",
        ),
        (
            {
                "interventions.rapid_response.enabled": True,
                "interventions.rapid_response.scopes": [{"localities": [PLACE]}],
            },
            "has one rapid response team",
        ),
    ],
)
def test_rapid_response_teams_must_cover_the_area(
    small: ModelConfig, changes: dict[str, Any], message: str
) -> None:
    staff = (
        {"services.rapid_response.staff": 5} if "services.rapid_response.teams" in changes else {}
    )
    with pytest.raises(InputError) as caught:
        with_overrides(small, {**staff, **changes})
    assert message in caught.value.problems[0].rule
