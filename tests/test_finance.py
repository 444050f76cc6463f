"""Finance: each payment rule by hand, the plan's own row to the pound, metamorphic pricing,
the workbook read back, and re-pricing an existing run without re-simulating."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from sim.batch import BatchOptions, run_batch
from sim.cli import app
from sim.config import ModelConfig
from sim.finance import (
    MarginalRate,
    NonElectiveTariff,
    ReadmissionRule,
    activity_income,
    income_at_risk,
    load_finance_inputs,
    non_elective_income,
    simulated_income,
)
from sim.loading import project_root
from sim.plan import plan_amounts, plan_discrepancies
from tests.conftest import scaled

DUDLEY = project_root() / "calibration" / "dudley"


def nel_tariff(marginal: bool = True, readmissions: bool = True) -> NonElectiveTariff:
    return NonElectiveTariff(
        spell=1000,
        short_stay_spell=400,
        excess_bed_day=300,
        trim_point_days=14,
        marginal_rate=MarginalRate(enabled=marginal, rate=0.3, threshold_spells=90),
        readmissions=ReadmissionRule(enabled=readmissions, max_rate=0.07),
    )


def nel_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "emergency_admissions": [100.0],
            "short_stay_discharges": [20.0],
            "excess_bed_days_over_14d": [10.0],
            "readmissions_30d": [10.0],
        }
    )


def test_non_elective_rules_by_hand() -> None:
    # base 80 x 1000 + 20 x 400 = 88,000 (average 880); excess 10 x 300 = 3,000
    assert non_elective_income(nel_frame(), nel_tariff(False, False))[0] == pytest.approx(91_000)
    # marginal: 880 x (90 + 0.3 x 10) = 81,840
    assert non_elective_income(nel_frame(), nel_tariff(True, False))[0] == pytest.approx(84_840)
    # readmissions above 7 per 100 unpaid: 3 x 880 = 2,640
    assert non_elective_income(nel_frame(), nel_tariff(False, True))[0] == pytest.approx(88_360)
    assert non_elective_income(nel_frame(), nel_tariff(True, True))[0] == pytest.approx(82_200)


def test_marginal_rate_only_bites_above_the_threshold() -> None:
    below = nel_frame().assign(emergency_admissions=[80.0], short_stay_discharges=[0.0])
    with_rule = non_elective_income(below, nel_tariff(True, False))[0]
    without = non_elective_income(below, nel_tariff(False, False))[0]
    assert with_rule == without == pytest.approx(80 * 1000 + 3000)


def test_other_activity_prices_by_hand() -> None:
    inputs = load_finance_inputs(DUDLEY / "providers.toml", DUDLEY / "tariffs.toml")
    t = inputs.tariffs
    w = pd.DataFrame(
        {
            "ae_attendances": [1000.0],
            "ae_conversion_rate": [0.25],
            "ucc_attendances": [500.0],
            "ambulance_hear_and_treat": [10.0],
            "ambulance_see_and_treat": [20.0],
            "ambulance_pathfinder_referrals": [5.0],
            "ambulance_conveyances": [100.0],
            "rrt_referrals": [50.0],
        }
    )
    assert activity_income(w, "ae", t)[0] == pytest.approx(250 * 138 + 750 * 114)
    assert activity_income(w, "ucc", t)[0] == pytest.approx(500 * 67)
    assert activity_income(w, "ambulance", t)[0] == pytest.approx(10 * 40 + 25 * 180 + 100 * 231)
    assert activity_income(w, "community", t)[0] == 0.0  # block contract
    per_contact = t.model_copy(
        update={"community": t.community.model_copy(update={"payment": "per_contact"})}
    )
    assert activity_income(w, "community", per_contact)[0] == pytest.approx(50 * 128)


def test_plan_method_reproduces_the_dudley_group_row_to_the_pound() -> None:
    inputs = load_finance_inputs(DUDLEY / "providers.toml", DUDLEY / "tariffs.toml")
    amounts = plan_amounts(inputs.book).set_index(["provider", "line"])["plan_amount"]
    assert amounts[("dudley_group", "non_elective")] == 6_221_850
    assert amounts[("dudley_group", "elective")] == 6_635_764
    assert amounts[("dudley_group", "reprocured")] == 44_226_619
    assert amounts[("dudley_group", "cquin")] == 1_427_106
    issues = plan_discrepancies(inputs.book).set_index("item")["difference"]
    assert issues["Dudley Group NHS FT (acute + community): total value at risk"] == pytest.approx(
        -1
    )
    assert issues["All providers: grand total value at risk"] == pytest.approx(604_000, abs=0.1)
    assert len(issues) == 2  # every other published row and column total reconciles


def synthetic_kpis(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    metrics = {
        "emergency_admissions": 30000,
        "short_stay_discharges": 9000,
        "readmissions_30d": 2500,
        "ae_attendances": 100000,
        "ae_conversion_rate": 0.27,
        "ucc_attendances": 40000,
        "ambulance_hear_and_treat": 3000,
        "ambulance_see_and_treat": 8000,
        "ambulance_pathfinder_referrals": 0,
        "ambulance_conveyances": 27000,
        "rrt_referrals": 1500,
    } | {f"excess_bed_days_over_{d}d": 20000 for d in (5, 7, 10, 14, 21, 28)}
    rows = []
    for scenario, factor in (("do-nothing", 1.0), ("plan", 0.9)):
        for rep in range(5):
            noise = rng.normal(1, 0.01)
            for metric, value in metrics.items():
                scale = 1.0 if metric == "ae_conversion_rate" else factor * noise
                rows.append((scenario, rep, 1, 0, "2014/15", metric, value * scale))
    return pd.DataFrame(
        rows,
        columns=["scenario", "replication", "seed", "year", "financial_year", "metric", "value"],
    )


@pytest.mark.parametrize(
    ("line", "tariff_path"),
    [("ae", ("ae", ("admitted", "not_admitted"))), ("ucc", ("ucc", ("attendance",)))],
)
def test_halving_a_tariff_halves_that_lines_income_at_risk(line, tariff_path) -> None:
    inputs = load_finance_inputs(DUDLEY / "providers.toml", DUDLEY / "tariffs.toml")
    section, fields = tariff_path
    original = getattr(inputs.tariffs, section)
    halved_section = original.model_copy(update={f: getattr(original, f) / 2 for f in fields})
    halved = inputs.__class__(
        inputs.book,
        inputs.tariffs.model_copy(update={section: halved_section}),
        inputs.notes,
        inputs.files,
    )
    kpis = synthetic_kpis()
    full = income_at_risk(simulated_income(kpis, inputs), "do-nothing")
    half = income_at_risk(simulated_income(kpis, halved), "do-nothing")

    def at_risk(frame: pd.DataFrame, which: str) -> float:
        rows = frame[(frame["scenario"] == "plan") & (frame["line"] == which)]
        return float(rows["income_at_risk"].iloc[0])

    assert at_risk(half, line) == pytest.approx(at_risk(full, line) / 2)
    assert at_risk(full, line) > 0
    assert at_risk(half, "non_elective") == pytest.approx(at_risk(full, "non_elective"))


@pytest.fixture(scope="module")
def priced_run(do_nothing: ModelConfig, best_case: ModelConfig, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fin") / "run"
    settings = {"run__years": 2, "run__warmup_days": 30}
    run_batch(
        [scaled(do_nothing, 0.1, **settings), scaled(best_case, 0.1, **settings)],
        out,
        BatchOptions(replications=3, seed=2),
    )
    return out


def test_batch_writes_finance_outputs_and_workbook_reads_back(priced_run: Path) -> None:
    finance = pd.read_csv(priced_run / "finance.csv")
    assert {
        "scenario",
        "year",
        "provider",
        "line",
        "baseline_income",
        "scenario_income",
        "income_at_risk",
        "ci_low",
        "ci_high",
    } <= set(finance.columns)
    reference = finance[finance["scenario"] == "do-nothing"]
    assert (reference["income_at_risk"] == 0).all()
    assert set(pd.read_csv(priced_run / "plan_comparison.csv").columns) >= {
        "provider",
        "line",
        "plan_amount",
        "simulated_mean",
        "ci_low",
        "ci_high",
    }
    assert len(pd.read_csv(priced_run / "plan_discrepancies.csv")) == 2
    book = load_workbook(priced_run / "income_at_risk.xlsx")
    assert {
        "Summary",
        "best-case",
        "Plan comparison",
        "Plan discrepancies",
        "Tariffs and rules",
        "Assumptions",
    } <= set(book.sheetnames)
    sheet = book["best-case"]
    header = [c.value for c in sheet[5]]
    assert header[:2] == ["provider", "line"] and "2015/16" in header
    values = {}
    for r in sheet.iter_rows(min_row=6):  # the first table only: mean income at risk
        if r[0].value is None:
            break
        values[(r[0].value, r[1].value)] = r
    row = values[("Dudley Group NHS FT (acute + community)", "total simulated")]
    year_col = header.index("2015/16")
    expected = finance[
        (finance["scenario"] == "best-case")
        & (finance["provider"] == "dudley_group")
        & (finance["line"] == "total_simulated")
        & (finance["financial_year"] == "2015/16")
    ]
    assert row[year_col].value == pytest.approx(expected["income_at_risk"].iloc[0])
    assert "£" in row[year_col].number_format


def test_finance_command_reprices_without_resimulating(priced_run: Path) -> None:
    kpis_mtime = (priced_run / "kpis.parquet").stat().st_mtime
    before = pd.read_csv(priced_run / "finance.csv")
    result = CliRunner().invoke(
        app, ["finance", str(priced_run), "--set", "ae.admitted=0", "--set", "ae.not_admitted=0"]
    )
    assert result.exit_code == 0, result.output
    after = pd.read_csv(priced_run / "finance.csv")

    def ae(frame: pd.DataFrame) -> pd.Series:
        return frame[(frame["line"] == "ae") & (frame["scenario"] == "best-case")]["income_at_risk"]

    assert (ae(after) == 0).all() and (ae(before) != 0).any()
    assert (priced_run / "kpis.parquet").stat().st_mtime == kpis_mtime
    manifest = json.loads((priced_run / "manifest.json").read_text())
    assert manifest["finance_recomputed"]
    bad = CliRunner().invoke(app, ["finance", str(priced_run), "--set", "ae.admitted=-5"])
    assert bad.exit_code == 2 and "ae.admitted" in bad.output
