"""Finance: each payment rule by hand, one price base, trim points per admission group,
the threshold derived from the run, the decomposition adding up, every provider listed,
reconciliation, the commissioner's net position, the plan's own row to the pound, and the
workbook's formulas recomputed by LibreOffice against the CSVs."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from sim.batch import BatchOptions, run_batch
from sim.cli import app
from sim.config import AGE_BANDS, ModelConfig
from sim.costs import INVESTMENT, NET_POSITION, SPEND_AVOIDED
from sim.errors import InputError
from sim.finance import (
    ADMISSIONS,
    EXCESS_BED_DAYS,
    MARGINAL_RATE,
    READMISSION_RULE,
    decompose_income_at_risk,
    income_at_risk,
    line_income,
    price_activity,
    reconcile,
    simulated_income,
)
from sim.loading import project_root
from sim.metrics import TRIM_POINTS_DAYS, excess_bed_days_metric
from sim.plan import plan_amounts, plan_discrepancies
from sim.pricing import _final_total, pricing_sensitivity, sensitivity_settings
from sim.tariffs import load_finance_inputs, uplift_factor, with_tariff_changes
from tests.conftest import scaled

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not

DUDLEY = project_root() / "calibration" / "dudley"
NO_UPLIFT = {f"price_base.cost_uplift.{y}": 0.0 for y in ("2014/15", "2015/16", "2016/17")}


def simple_inputs(**changes: object):
    """Dudley's files with round prices in the price base (no uplift) and a fixed threshold."""
    overrides = NO_UPLIFT | {
        "non_elective.spell": 1000,
        "non_elective.short_stay_spell": 400,
        "non_elective.excess_bed_day": 300,
        "non_elective.marginal_rate.threshold_spells": 90,
    }
    return load_finance_inputs(
        DUDLEY / "providers.toml", DUDLEY / "tariffs.toml", overrides | changes
    )


def kpi_frame(rows: dict[str, dict[str, float]], years: int = 1, reps: int = 1) -> pd.DataFrame:
    """Long KPI rows: {scenario: {metric: value}}, the same every replication and year."""
    every = {excess_bed_days_metric(t, b): 0.0 for t in TRIM_POINTS_DAYS for b in AGE_BANDS}
    base = every | {
        "ae_attendances": 0.0,
        "ae_conversion_rate": 0.0,
        "ucc_attendances": 0.0,
        "ambulance_hear_and_treat": 0.0,
        "ambulance_see_and_treat": 0.0,
        "ambulance_pathfinder_referrals": 0.0,
        "ambulance_conveyances": 0.0,
        "rrt_referrals": 0.0,
        "readmissions_30d": 0.0,
        "short_stay_discharges": 0.0,
    }
    out = []
    for scenario, metrics in rows.items():
        for rep in range(reps):
            for year in range(years):
                for metric, value in (base | metrics).items():
                    out.append(
                        (scenario, rep, 1, year, f"{2014 + year}/{15 + year}", metric, value)
                    )
    return pd.DataFrame(
        out,
        columns=["scenario", "replication", "seed", "year", "financial_year", "metric", "value"],
    )


NEL = {
    "emergency_admissions": 100.0,
    "short_stay_discharges": 20.0,
    excess_bed_days_metric(28, "age_75_84"): 10.0,
    "readmissions_30d": 10.0,
}


def nel_income(inputs) -> float:
    income = simulated_income(kpi_frame({"do-nothing": NEL}), inputs)
    rows = income[(income["provider"] == "dudley_group") & (income["line"] == "non_elective")]
    return float(rows["income"].iloc[0])


def test_non_elective_rules_by_hand() -> None:
    off = {"non_elective.marginal_rate.enabled": False, "non_elective.readmissions.enabled": False}
    # 80 x 1000 + 20 x 400 = 88,000 (average 880); excess 10 x 300 = 3,000
    assert nel_income(simple_inputs(**off)) == pytest.approx(91_000)
    # marginal: 10 spells above 90 paid at 30%: 88,000 - 10 x 880 x 0.7 = 81,840 (+3,000)
    marginal_only = {"non_elective.readmissions.enabled": False}
    assert nel_income(simple_inputs(**marginal_only)) == pytest.approx(84_840)
    # readmissions above 7 per 100 unpaid: 3 x 880 = 2,640
    readmission_only = {"non_elective.marginal_rate.enabled": False}
    assert nel_income(simple_inputs(**readmission_only)) == pytest.approx(88_360)
    assert nel_income(simple_inputs()) == pytest.approx(82_200)


def test_trim_point_is_per_admission_group() -> None:
    """The 75-84 band's 10 bed days count only at that band's trim point (28 days)."""
    off = {"non_elective.marginal_rate.enabled": False, "non_elective.readmissions.enabled": False}
    assert nel_income(simple_inputs(**off)) == pytest.approx(91_000)
    moved = off | {"non_elective.trim_point_days.age_75_84": 21}
    assert nel_income(simple_inputs(**moved)) == pytest.approx(88_000)  # nothing beyond 21 days
    with pytest.raises(InputError, match="trim_point_days"):
        simple_inputs(**{"non_elective.trim_point_days.age_75_84": 12})


def test_prices_are_converted_to_one_price_base() -> None:
    inputs = load_finance_inputs(DUDLEY / "providers.toml", DUDLEY / "tariffs.toml")
    uplift = inputs.tariffs.price_base.cost_uplift
    assert inputs.tariffs.price_base.financial_year == "2014/15"
    spell = inputs.prices["non_elective.spell"]
    assert spell.price_year == "2016/17"
    assert spell.value == pytest.approx(1590 / ((1 + uplift["2015/16"]) * (1 + uplift["2016/17"])))
    assert inputs.price("ae.admitted") == pytest.approx(138 * (1 + uplift["2014/15"]))
    assert inputs.price("ambulance.see_treat_convey") == 231  # already 2014/15
    assert uplift_factor("2014/15", "2016/17", uplift) * uplift_factor(
        "2016/17", "2014/15", uplift
    ) == pytest.approx(1.0)


def test_a_price_without_a_year_or_uplift_is_refused(tmp_path: Path) -> None:
    text = (DUDLEY / "tariffs.toml").read_text(encoding="utf-8")
    no_year = tmp_path / "no_year.toml"
    no_year.write_text(text.replace('value = 67, price_year = "2013/14", ', "value = 67, "))
    with pytest.raises(InputError, match=r"ucc\.attendance\.price_year"):
        load_finance_inputs(DUDLEY / "providers.toml", no_year)
    with pytest.raises(InputError, match="cost_uplift"):
        load_finance_inputs(
            DUDLEY / "providers.toml",
            DUDLEY / "tariffs.toml",
            {"non_elective.spell": 1} | {"price_base.financial_year": "2019/20"},
        )


def test_marginal_threshold_is_derived_from_the_runs_first_year() -> None:
    inputs = load_finance_inputs(DUDLEY / "providers.toml", DUDLEY / "tariffs.toml")
    kpis = kpi_frame({"do-nothing": NEL | {"emergency_admissions": 31_000.0}}, years=2, reps=2)
    threshold = price_activity(kpis, inputs).threshold
    assert threshold.years == 6 and threshold.derived
    assert threshold.spells == pytest.approx(31_000 / 1.026**6)
    assert "31,000" in threshold.derivation() and "2008/09" in threshold.derivation()


def test_block_contract_pays_its_line_whatever_the_activity() -> None:
    inputs = simple_inputs()
    kpis = kpi_frame(
        {"do-nothing": NEL | {"rrt_referrals": 50.0}, "plan": NEL | {"rrt_referrals": 500.0}}
    )
    income = simulated_income(kpis, inputs)
    block = income[income["line"] == "rapid_response"].set_index("scenario")["income"]
    assert block["do-nothing"] == block["plan"] == 600_000
    per_contact = simple_inputs(**{"community.payment": "per_contact"})
    income = simulated_income(kpis, per_contact)
    paid = income[income["line"] == "rapid_response"].set_index("scenario")["income"]
    assert paid["plan"] == pytest.approx(500 * per_contact.price("community.per_contact"))


def synthetic_kpis(seed: int = 0, reps: int = 5, years: int = 2) -> pd.DataFrame:
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
    } | {excess_bed_days_metric(t, b): 4000 / t for t in TRIM_POINTS_DAYS for b in AGE_BANDS}
    rows = []
    for scenario, factor in (("do-nothing", 1.0), ("plan", 0.9)):
        for rep in range(reps):
            for year in range(years):
                noise = rng.normal(1, 0.01)
                for metric, value in metrics.items():
                    scale = 1.0 if metric == "ae_conversion_rate" or year == 0 else factor * noise
                    rows.append(
                        (
                            scenario,
                            rep,
                            1,
                            year,
                            f"{2014 + year}/{15 + year}",
                            metric,
                            value * scale,
                        )
                    )
    return pd.DataFrame(
        rows,
        columns=["scenario", "replication", "seed", "year", "financial_year", "metric", "value"],
    )


def test_decomposition_adds_up_to_each_providers_income_at_risk() -> None:
    inputs = load_finance_inputs(DUDLEY / "providers.toml", DUDLEY / "tariffs.toml")
    pricing = price_activity(synthetic_kpis(), inputs, "do-nothing")
    at_risk = income_at_risk(line_income(pricing.components), "do-nothing")
    parts = decompose_income_at_risk(pricing.components, "do-nothing")
    final = parts[(parts["scenario"] == "plan") & (parts["year"] == 1)]
    assert {ADMISSIONS, EXCESS_BED_DAYS, MARGINAL_RATE, READMISSION_RULE} <= set(final["effect"])
    for provider, group in final.groupby("provider"):
        total = at_risk[
            (at_risk["scenario"] == "plan")
            & (at_risk["year"] == 1)
            & (at_risk["provider"] == provider)
            & (at_risk["line"] == "total_simulated")
        ]["income_at_risk"].iloc[0]
        assert group["income_at_risk"].sum() == pytest.approx(total)
        assert (group["ci_low"] <= group["income_at_risk"] + 1e-6).all()
    # fewer spells above the threshold: the marginal rule gives back part of the admissions'
    rule = final[(final["provider"] == "dudley_group") & (final["effect"] == MARGINAL_RATE)]
    assert rule["income_at_risk"].iloc[0] < 0


def test_pricing_sensitivity_prices_the_first_and_final_years_only_with_the_same_figures() -> None:
    # Four years that differ (the plan's activity falls further each year): a year that
    # read another's activity would show here.
    kpis = synthetic_kpis(reps=3, years=4)
    falling = (kpis["scenario"] == "plan") & (kpis["metric"] != "ae_conversion_rate")
    kpis.loc[falling, "value"] *= 1 - 0.03 * kpis.loc[falling, "year"]
    inputs = load_finance_inputs(DUDLEY / "providers.toml", DUDLEY / "tariffs.toml")
    table = pricing_sensitivity(kpis, inputs, "do-nothing")
    settings = sensitivity_settings(inputs)
    assert len(table) == len(settings) and set(table["financial_year"]) == {"2017/18"}
    for (parameter, setting, changes), row in zip(settings, table.itertuples(), strict=True):
        assert (row.parameter, row.setting) == (parameter, setting)
        every_year = _final_total(kpis, with_tariff_changes(inputs, changes), "do-nothing")
        assert row.income_at_risk == pytest.approx(every_year["plan"], rel=1e-12)
    assert table["change"].abs().max() > 0  # the settings do move the figure


def test_every_provider_of_the_plan_is_listed() -> None:
    inputs = load_finance_inputs(DUDLEY / "providers.toml", DUDLEY / "tariffs.toml")
    income = simulated_income(synthetic_kpis(), inputs)
    table = income_at_risk(income, "do-nothing", inputs)
    assert set(table["provider"]) == {p.id for p in inputs.book.provider}
    unpriced = table[table["status"] == "not simulated"]
    assert {"dudley_walsall_mh", "black_country_partnership"} <= set(unpriced["provider"])
    assert unpriced["income_at_risk"].isna().all()


def test_reconciliation_reports_the_gap_and_scale_closes_it() -> None:
    inputs = load_finance_inputs(DUDLEY / "providers.toml", DUDLEY / "tariffs.toml")
    kpis = synthetic_kpis()
    full = reconcile(price_activity(kpis, inputs, "do-nothing"), inputs)
    every_line = [(p.id, ln.id) for p in inputs.book.provider for ln in p.line]
    assert list(zip(full["provider"], full["line"], strict=True)) == every_line
    unpriced = full[full["simulated_income"].isna()]
    assert len(unpriced) == 8 and unpriced["note"].str.startswith("not simulated").all()
    table = full.set_index("line")
    ae = table.loc["ae"]
    expected = 100000 * (
        0.27 * inputs.price("ae.admitted") + 0.73 * inputs.price("ae.not_admitted")
    )
    assert ae["simulated_income"] == pytest.approx(expected)
    assert ae["difference"] == pytest.approx(expected - 12_700_000)
    assert ae["contract_volume"] == 96_000 and ae["simulated_volume"] == pytest.approx(100_000)
    scaled_inputs = load_finance_inputs(
        DUDLEY / "providers.toml", DUDLEY / "tariffs.toml", {"reconciliation.method": "scale"}
    )
    pricing = price_activity(kpis, scaled_inputs, "do-nothing")
    income = line_income(pricing.components)
    first = income[(income["scenario"] == "do-nothing") & (income["year"] == 0)]
    per_line = first.groupby("line")["income"].mean()
    assert per_line["ae"] == pytest.approx(12_700_000)
    assert per_line["ucc"] == pytest.approx(2_520_000)
    # the gap reported is the one before scaling
    assert reconcile(pricing, scaled_inputs).set_index("line").loc["ae", "difference"] == (
        pytest.approx(expected - 12_700_000)
    )


@pytest.mark.parametrize(
    ("line", "paths"),
    [("ae", ("ae.admitted", "ae.not_admitted")), ("ucc", ("ucc.attendance",))],
)
def test_halving_a_tariff_halves_that_lines_income_at_risk(line, paths) -> None:
    inputs = load_finance_inputs(DUDLEY / "providers.toml", DUDLEY / "tariffs.toml")
    halved = load_finance_inputs(
        DUDLEY / "providers.toml",
        DUDLEY / "tariffs.toml",
        {p: inputs.prices[p].published / 2 for p in paths},
    )
    kpis = synthetic_kpis()
    full = income_at_risk(simulated_income(kpis, inputs), "do-nothing")
    half = income_at_risk(simulated_income(kpis, halved), "do-nothing")

    def at_risk(frame: pd.DataFrame, which: str) -> float:
        rows = frame[
            (frame["scenario"] == "plan") & (frame["line"] == which) & (frame["year"] == 1)
        ]
        return float(rows["income_at_risk"].iloc[0])

    assert at_risk(half, line) == pytest.approx(at_risk(full, line) / 2)
    assert at_risk(full, line) > 0
    assert at_risk(half, "non_elective") == pytest.approx(at_risk(full, "non_elective"))


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


# ------------------------------------------------------------------ a priced run, end to end


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


def test_run_writes_every_finance_output(priced_run: Path) -> None:
    finance = pd.read_csv(priced_run / "finance.csv")
    assert (finance.loc[finance["scenario"] == "do-nothing", "income_at_risk"].fillna(0) == 0).all()
    assert set(finance["status"]) == {"simulated", "not simulated"}
    for name in ("finance_decomposition", "reconciliation", "investment", "net_position"):
        assert len(pd.read_csv(priced_run / f"{name}.csv")), name
    assert len(pd.read_csv(priced_run / "plan_discrepancies.csv")) == 2
    net = pd.read_csv(priced_run / "net_position.csv")
    final = net[(net["scenario"] == "best-case") & (net["year"] == 1)].set_index("measure")
    assert final.loc[INVESTMENT, "value"] > 0  # best case pays for its levers
    assert final.loc[NET_POSITION, "value"] == pytest.approx(
        final.loc[SPEND_AVOIDED, "value"] - final.loc[INVESTMENT, "value"]
    )
    investment = pd.read_csv(priced_run / "investment.csv")
    assert (investment.loc[investment["scenario"] == "do-nothing", "investment"] == 0).all()


def test_workbook_caches_the_csv_figures_and_is_laid_out_for_print(priced_run: Path) -> None:
    finance = pd.read_csv(priced_run / "finance.csv")
    book = load_workbook(priced_run / "income_at_risk.xlsx", data_only=True)
    assert book.sheetnames[:4] == ["Summary", "Inputs", "Activity", "Lines"]
    assert {"At risk", "Decomposition", "Reconciliation", "Net position"} <= set(book.sheetnames)
    summary = book["Summary"]
    rows = {r[0].value: r for r in summary.iter_rows() if r[0].value}
    header = [c.value for c in summary[6]]
    dudley = rows["Dudley Group NHS FT (acute + community)"]
    expected = finance[
        (finance["scenario"] == "best-case")
        & (finance["provider"] == "dudley_group")
        & (finance["line"] == "total_simulated")
        & (finance["financial_year"] == "2015/16")
    ]["income_at_risk"].iloc[0]
    assert dudley[header.index("2015/16")].value == pytest.approx(expected)
    assert (
        rows["Black Country Partnership NHS FT"][header.index("2015/16")].value == "not simulated"
    )
    formulas = load_workbook(priced_run / "income_at_risk.xlsx")
    assert str(formulas["Summary"][dudley[0].row][header.index("2015/16")].value).startswith("=")
    activity = formulas["Activity"]
    assert activity.print_title_rows and activity.page_setup.orientation == "landscape"
    assert "Activity" in activity.tables
    assert formulas["Activity"].freeze_panes


def _libreoffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.skip("LibreOffice not installed: apt-get install libreoffice-calc-nogui to enable")
    return found


def _recalculated(soffice: str, source: Path, out: Path) -> Path:
    """LibreOffice's own recalculation of a workbook whose cached values were dropped."""
    stripped = out / "stripped" / source.name
    stripped.parent.mkdir(parents=True, exist_ok=True)
    load_workbook(source).save(stripped)  # openpyxl keeps formulas, drops cached values
    subprocess.run(
        [
            soffice,
            "--headless",
            "--calc",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out / "lo"),
            str(stripped),
        ],
        check=True,
        capture_output=True,
        timeout=180,
        env={"HOME": str(out), "PATH": "/usr/bin:/bin"},
    )
    return out / "lo" / source.name


def test_libreoffice_recomputes_every_formula_to_the_cached_value(
    priced_run: Path, tmp_path: Path
) -> None:
    soffice = _libreoffice()
    source = priced_run / "income_at_risk.xlsx"
    cached = load_workbook(source, data_only=True)
    formulas = load_workbook(source)
    recomputed = load_workbook(_recalculated(soffice, source, tmp_path), data_only=True)
    checked = 0
    for name in formulas.sheetnames:
        for row in formulas[name].iter_rows():
            for cell in row:
                if not (isinstance(cell.value, str) and cell.value.startswith("=")):
                    continue
                want = cached[name][cell.coordinate].value
                got = recomputed[name][cell.coordinate].value
                checked += 1
                assert isinstance(got, (int, float)), (name, cell.coordinate, cell.value, got)
                assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-6), (
                    name,
                    cell.coordinate,
                    cell.value,
                    want,
                    got,
                )
    assert checked > 500


def test_changing_a_tariff_cell_moves_the_totals(priced_run: Path, tmp_path: Path) -> None:
    soffice = _libreoffice()
    source = priced_run / "income_at_risk.xlsx"
    edited = tmp_path / "edited" / source.name
    edited.parent.mkdir()
    book = load_workbook(source)
    inputs = book["Inputs"]
    row = next(r for r in inputs.iter_rows() if r[0].value == "ae.admitted")
    row[1].value = row[1].value * 2
    row = next(r for r in inputs.iter_rows() if r[0].value == "ae.not_admitted")
    row[1].value = row[1].value * 2
    book.save(edited)
    before = pd.read_csv(priced_run / "finance.csv")
    result = load_workbook(_recalculated(soffice, edited, tmp_path), data_only=True)["At risk"]
    header = [c.value for c in result[5]]
    rows = [r for r in result.iter_rows(min_row=6, values_only=True) if r[0] == "best-case"]
    ae = next(r for r in rows if r[header.index("line")] == "A&E attendances" and r[2] == 1)
    original = before[
        (before["scenario"] == "best-case") & (before["line"] == "ae") & (before["year"] == 1)
    ]
    want = 2 * float(original["baseline_income"].iloc[0] - original["scenario_income"].iloc[0])
    assert ae[header.index("income at risk")] == pytest.approx(want, rel=1e-9)
    assert want != 0


def test_repricing_is_a_new_pricing_and_every_output_agrees(priced_run: Path) -> None:
    kpis_mtime = (priced_run / "kpis.parquet").stat().st_mtime
    before = pd.read_csv(priced_run / "finance.csv")
    root_book = (priced_run / "income_at_risk.xlsx").read_bytes()
    result = CliRunner().invoke(
        app,
        [
            "finance",
            str(priced_run),
            "--set",
            "non_elective.marginal_rate.enabled=false",
            "--name",
            "no-marginal-rate",
        ],
    )
    assert result.exit_code == 0, result.output
    folder = priced_run / "finance" / "no-marginal-rate"
    repriced = pd.read_csv(folder / "finance.csv")
    # the run's own pricing is untouched; the new one differs where the rule bites
    pd.testing.assert_frame_equal(pd.read_csv(priced_run / "finance.csv"), before)
    assert (priced_run / "income_at_risk.xlsx").read_bytes() == root_book
    assert (priced_run / "kpis.parquet").stat().st_mtime == kpis_mtime
    assert json.loads((folder / "pricing.json").read_text())["overrides"] == [
        "non_elective.marginal_rate.enabled=false"
    ]
    # a later `ucsim report` recomputes nothing and lists both pricings
    assert CliRunner().invoke(app, ["report", str(priced_run)]).exit_code == 0
    pd.testing.assert_frame_equal(pd.read_csv(priced_run / "finance.csv"), before)
    html = (priced_run / "report.html").read_text(encoding="utf-8")
    assert "no-marginal-rate" in html and "default" in html
    from sim.formatting import pounds

    for frame, book_path in ((before, priced_run), (repriced, folder)):
        total = frame[
            (frame["scenario"] == "best-case")
            & (frame["year"] == frame["year"].max())
            & (frame["line"] == "total_simulated")
        ]["income_at_risk"].sum()
        assert pounds(total) in html
        summary = load_workbook(book_path / "income_at_risk.xlsx", data_only=True)["Summary"]
        values = [c.value for r in summary.iter_rows() for c in r if isinstance(c.value, float)]
        one = frame[
            (frame["scenario"] == "best-case")
            & (frame["year"] == frame["year"].max())
            & (frame["line"] == "total_simulated")
            & (frame["provider"] == "dudley_group")
        ]["income_at_risk"].iloc[0]
        assert any(math.isclose(v, one, rel_tol=1e-9) for v in values)
    again = CliRunner().invoke(
        app, ["finance", str(priced_run), "--set", "ae.admitted=1", "--name", "no-marginal-rate"]
    )
    assert again.exit_code == 2 and "exists" in again.output
    bad = CliRunner().invoke(app, ["finance", str(priced_run), "--set", "ae.admitted=-5"])
    assert bad.exit_code == 2 and "ae.admitted" in bad.output


def test_python_api_reprices_in_memory_and_costs_levers(priced_run: Path) -> None:
    import sim
    from sim.store import ResultsFolder

    same = sim.reprice(priced_run)
    on_disk = pd.read_csv(priced_run / "finance.csv")
    simulated = same.finance[same.finance["status"] == "simulated"]
    assert simulated["income_at_risk"].to_numpy() == pytest.approx(
        on_disk.loc[on_disk["status"] == "simulated", "income_at_risk"].to_numpy()
    )
    free = sim.reprice(priced_run, {"ae.admitted": 0, "ae.not_admitted": 0})
    assert (free.finance.loc[free.finance["line"] == "ae", "scenario_income"] == 0).all()
    folder = ResultsFolder(priced_run)
    configs = {name: folder.read_config(name) for name in ("do-nothing", "best-case")}
    kpis = pd.read_parquet(priced_run / "kpis.parquet")
    costs = sim.intervention_costs(
        configs,
        kpis,
        "do-nothing",
        priced_run / "intervention_costs.toml",
        priced_run / "tariffs.toml",
    )
    by_item = costs[(costs["scenario"] == "best-case") & (costs["year"] == 1)].set_index("item")
    staff_hours = by_item.loc["clinician-hours on duty"]
    assert staff_hours["investment"] == pytest.approx(
        staff_hours["quantity"] * staff_hours["unit_cost"]
    )
    assert staff_hours["quantity"] > 0  # best case adds rapid response staff and hours
    assert (costs.loc[costs["scenario"] == "do-nothing", "investment"] == 0).all()


def test_decompose_prices_each_lever_and_adds_the_length_of_stay_row(
    priced_run: Path, tmp_path: Path
) -> None:
    from sim.decomposition import INCOME_METRIC, WHOLE, run_decomposition
    from sim.finance_report import LOS_LEVER, sensitivity_with_levers
    from sim.pricing import income_pricer
    from sim.store import ResultsFolder, write_csv

    folder = ResultsFolder(shutil.copytree(priced_run, tmp_path / "run"))
    configs = [folder.read_config(name) for name in ("do-nothing", "best-case")]
    kpis = pd.read_parquet(folder.root / "kpis.parquet")
    kpis = kpis[kpis["replication"] < 2]
    pricer = income_pricer(folder.root, "do-nothing")
    table = run_decomposition(configs, kpis, "do-nothing", 2, 2, income=pricer)
    income = table[(table["metric"] == INCOME_METRIC) & (table["year"] == 1)]
    assert LOS_LEVER in set(income["lever"])
    # all levers together = minus the income at risk of the same replications
    priced = pd.read_csv(folder.root / "priced_activity.csv")
    priced = priced[(priced["year"] == 1) & (priced["replication"] < 2)]
    per_rep = priced.groupby(["scenario", "replication"])["amount"].sum()
    at_risk = (per_rep["do-nothing"] - per_rep["best-case"]).mean()
    whole = income[(income["lever"] == WHOLE) & (income["scenario"] == "best-case")]
    assert whole["contribution"].iloc[0] == pytest.approx(-at_risk)
    write_csv(folder.root / "decomposition.csv", table)
    rows = sensitivity_with_levers(folder.root)
    lever_row = rows[rows["parameter"].str.startswith("length-of-stay lever")]
    los = income[(income["lever"] == LOS_LEVER) & (income["scenario"] == "best-case")]
    assert lever_row["change"].iloc[0] == pytest.approx(los["contribution"].iloc[0])
