"""The demonstrator's evaluation: a difference in differences, its noise and its power.

Checked on place rows built by hand, where the effect and the noise are known,
and end to end on Bury's Radcliffe demonstrator (slow tier).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config import Demonstrator, ModelConfig
from sim.demonstrator import Z_ALPHA, Z_POWER, evaluate_demonstrators
from sim.errors import InputError
from sim.loading import project_root, resolve, with_overrides

RADCLIFFE = "Radcliffe (Healthier Radcliffe demonstrator)"


def place_rows(scenario: str, effect: float, noise: np.ndarray) -> pd.DataFrame:
    """Two localities of 100,000 people; admissions 10,000 a year, the treated locality's
    year-1 count moved by ``effect`` plus replication ``r``'s ``noise[r]``."""
    rows = []
    for r, wobble in enumerate(noise):
        for locality, treated in (("Here", True), ("There", False)):
            for year in (0, 1):
                value = 10_000.0 + (effect + wobble if treated and year == 1 else 0.0)
                for metric, v in (
                    ("emergency_admissions", value),
                    ("ae_attendances_all_types", value),
                    ("urgent_episodes", value),
                    ("population", 100_000.0),
                ):
                    rows.append(
                        (scenario, r, year, f"201{4 + year}/1{5 + year}", locality, metric, v)
                    )
    return pd.DataFrame(
        rows,
        columns=[
            "scenario",
            "replication",
            "year",
            "financial_year",
            "locality",
            "metric",
            "value",
        ],
    )


def test_effect_noise_and_power_follow_from_the_replications(do_nothing: ModelConfig) -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 50.0, 400)
    places = pd.concat([place_rows("do-nothing", 0.0, noise), place_rows("pilot", -100.0, noise)])
    pilot = do_nothing.model_copy(
        update={
            "scenario": do_nothing.scenario.model_copy(
                update={"name": "pilot", "demonstrator": Demonstrator(localities=["Here"])}
            )
        }
    )
    table = evaluate_demonstrators(places, [do_nothing, pilot], "do-nothing").set_index("metric")
    row = table.loc["emergency_admissions"]
    # Paired on the same noise, the effect is exact; the null spread is the noise's.
    assert row["effect"] == pytest.approx(-100.0)
    assert row["effect_relative"] == pytest.approx(-0.01)
    assert row["null_sd"] == pytest.approx(noise.std(ddof=1))
    assert row["mde_80"] == pytest.approx((Z_ALPHA + Z_POWER) * noise.std(ddof=1))
    # |effect| / sd = 2: power = P(Z > 1.96 - 2) ~ 0.52
    assert row["power"] == pytest.approx(0.516, abs=0.03)
    assert row["before_financial_year"] == "2014/15"
    assert set(table.index) == {
        "emergency_admissions",
        "ae_attendances_all_types",
        "urgent_episodes",
    }


@pytest.mark.parametrize(
    ("demonstrator", "message"),
    [
        ({"localities": ["Atlantis"]}, "not localities of the area"),
        ({"localities": [RADCLIFFE], "after_year": 5}, "the run has 2 years"),
        ({"localities": [RADCLIFFE], "before_year": 1, "after_year": 1}, "after_year must come"),
    ],
)
def test_a_demonstrator_outside_the_area_or_the_run_is_refused(
    demonstrator: dict[str, object], message: str
) -> None:
    bury = resolve(project_root() / "scenarios" / "do-nothing.toml", area="bury").config
    with pytest.raises(InputError) as caught:
        with_overrides(bury, {"run.years": 2, "scenario.demonstrator": demonstrator})
    assert message in caught.value.problems[0].rule


@pytest.mark.slow
def test_the_radcliffe_demonstrator_runs_end_to_end(tmp_path: Path) -> None:
    """The documented command: the demonstrator alone, do nothing added as its control."""
    from typer.testing import CliRunner

    from sim.cli import app

    scenario = project_root() / "scenarios" / "bury-radcliffe.toml"
    out = tmp_path / "run"
    args = ["run", str(scenario), "--replications", "4", "--no-report", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "added do-nothing" in result.output
    table = pd.read_csv(out / "demonstrator.csv").set_index("metric")
    assert list(table["treated"].unique()) == [RADCLIFFE]
    assert list(table["reference"].unique()) == ["do-nothing"]
    # The levers bind: fewer urgent episodes in Radcliffe, paired on common random numbers.
    assert table.loc["urgent_episodes", "effect_ci_high"] < 0
    assert (table["mde_80"] > 0).all() and table["power"].between(0, 1).all()
