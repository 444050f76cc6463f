"""The board report builds from a small run; its numbers are the run's own numbers."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

import pandas as pd
import pytest
from docx import Document
from typer.testing import CliRunner

from sim.batch import BatchOptions, run_batch
from sim.board_paper import TARGET_HEADER
from sim.calibration import fit_label
from sim.cli import app
from sim.config import ModelConfig
from sim.documents import write_report
from sim.formatting import pounds
from sim.loading import with_overrides
from sim.report import _calibration_note, whole
from sim.target_file import STATUSES
from tests.conftest import scaled

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not


@pytest.fixture(scope="module")
def reported(do_nothing: ModelConfig, best_case: ModelConfig, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    settings = {"run__years": 2, "run__warmup_days": 30}
    run_batch(
        [scaled(do_nothing, 0.1, **settings), scaled(best_case, 0.1, **settings)],
        out,
        BatchOptions(replications=2, seed=9),
    )
    write_report(out)
    return out


def test_html_is_self_contained_with_no_broken_images(reported: Path) -> None:
    html = (reported / "report.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', html)
    # activity, localities, capacity, income at risk, pricing sensitivity
    assert len(sources) == 5
    assert all(s.startswith("data:image/png;base64,") and len(s) > 5_000 for s in sources)
    for heading in (
        "Executive summary",
        "Targets",
        "Activity",
        "Income at risk",
        "Capacity",
        "Assumptions beside the published evidence",
        "Calibration",
        "Methods",
    ):
        assert heading in html
    assert (reported / "figures" / "activity_trajectories.png").exists()
    assert (reported / "figures" / "activity_trajectories.svg").exists()
    assert (reported / "figures" / "places.png").exists()
    assert "Results by locality" in html


def test_docx_opens_and_contains_the_target_table(reported: Path) -> None:
    document = Document(str(reported / "board_paper.docx"))
    headers = [[c.text for c in t.rows[0].cells] for t in document.tables]
    assert TARGET_HEADER in headers
    targets = pd.read_csv(reported / "targets.csv")
    unmodelled = targets["status"] == "not modelled"
    table = document.tables[headers.index(TARGET_HEADER)]
    assert len(table.rows) == (~unmodelled).sum() + 1  # every scored scenario-year
    statuses = {row.cells[6].text.split(":")[0] for row in table.rows[1:]}
    assert statuses <= set(STATUSES) - {"not modelled"}
    listed = document.tables[headers.index(["Target", "Year(s)", "Why not modelled"])]
    assert len(listed.rows) == targets.loc[unmodelled, "target_id"].nunique() + 1  # once each
    first = [c.text for c in document.tables[0].rows[0].cells]  # the summary opens with the gap
    assert first[:2] == ["Target", "Year"] and first[2].startswith("Required vs")
    assert first[3:] == ["best-case"]  # one column per scenario compared
    assert len(document.inline_shapes) == 5  # with the localities and pricing sensitivity


def test_summary_numbers_match_the_tables(reported: Path) -> None:
    facts = json.loads((reported / "report_facts.json").read_text())
    summary = pd.read_csv(reported / "summary.csv")
    differences = pd.read_csv(reported / "differences.csv")
    finance = pd.read_csv(reported / "finance.csv")
    html = (reported / "report.html").read_text()
    assert facts
    for fact in facts:
        if fact["source"] == "summary":
            rows = summary[
                (summary["scenario"] == fact["scenario"])
                & (summary["metric"] == fact["metric"])
                & (summary["financial_year"] == fact["year"])
            ]
            assert rows["mean"].iloc[0] == pytest.approx(fact["value"])
        elif fact["source"] == "differences":
            rows = differences[
                (differences["scenario"] == fact["scenario"])
                & (differences["metric"] == fact["metric"])
                & (differences["financial_year"] == fact["year"])
            ]
            assert rows["mean_difference"].iloc[0] == pytest.approx(fact["value"])
        else:
            parts = fact["metric"].split(":")
            provider, line = parts[1], parts[2] if len(parts) > 2 else "total_simulated"
            rows = finance[
                (finance["scenario"] == fact["scenario"])
                & (finance["provider"] == provider)
                & (finance["line"] == line)
                & (finance["financial_year"] == fact["year"])
            ]
            assert rows["income_at_risk"].iloc[0] == pytest.approx(fact["value"])
        if fact["metric"] == "emergency_admissions":
            assert whole(abs(fact["value"])) in html


def test_report_command_rebuilds_and_rejects_unknown_formats(reported: Path) -> None:
    (reported / "report.html").unlink()
    done = CliRunner().invoke(app, ["report", str(reported), "--format", "html"])
    assert done.exit_code == 0, done.output
    assert (reported / "report.html").exists()
    bad = CliRunner().invoke(app, ["report", str(reported), "--format", "pdf"])
    assert bad.exit_code == 2 and "pdf" in bad.output


def test_calibration_section_shows_the_shipped_fit(reported: Path) -> None:
    fit = pd.read_csv(reported / "fit_report.csv")  # copied from calibration/dudley
    fitted = int(fit["fitted"].sum())
    html = (reported / "report.html").read_text()
    assert f"fitted to {fitted} activity figures" in html
    labels = {
        fit_label(r["metric"]) + ("" if r["stated_year"] == "2014/15" else f" ({r['stated_year']})")
        for r in fit.to_dict("records")
    }
    assert len(labels) == len(fit)
    for label in labels:
        assert escape(label) in html
    document = Document(str(reported / "board_paper.docx"))
    rows = [[cell.text for cell in row.cells] for t in document.tables for row in t.rows]
    calibration = [r for r in rows if r and r[0] in labels]
    assert len(calibration) == len(fit)
    assert {r[1] for r in calibration} == {"fitted", "held out"}


def test_calibration_note_names_held_out_figures_that_miss() -> None:
    fit = pd.DataFrame(
        {
            "metric": ["ae_attendances", "bed_occupancy", "ae_conversion_rate"],
            "target": [100.0, 0.88, 0.27],
            "simulated_mean": [101.0, 0.90, 0.35],
            "ci_low": [99.0, 0.89, 0.34],
            "ci_high": [103.0, 0.91, 0.36],
            "relative_error": [0.01, 0.023, 0.296],
            "fitted": [True, False, False],
            "source": ["s", "s", "s"],
            "confidence": ["E", "E", "P"],
        }
    )
    note = _calibration_note(fit)
    assert "fitted to 1 activity figures" in note and "within 1.0%" in note
    assert "A&E conversion rate +30%" in note and "Bed occupancy" not in note


def test_income_at_risk_table_has_a_column_per_scenario_and_no_empty_lines(
    reported: Path,
) -> None:
    finance = pd.read_csv(reported / "finance.csv")
    final = finance[
        (finance["year"] == finance["year"].max()) & (finance["scenario"] != "do-nothing")
    ]
    simulated = final[final["status"] == "simulated"]
    moved = simulated.groupby(["provider", "line"])["income_at_risk"].apply(lambda v: v.abs().max())
    not_simulated = final[final["status"] == "not simulated"][["provider", "line"]]
    document = Document(str(reported / "board_paper.docx"))
    header = ["Provider", "Line", "best-case"]
    tables = [t for t in document.tables if [c.text for c in t.rows[0].cells] == header]
    assert len(tables) == 1
    # every line that moves, and every line the model cannot price, named as such
    assert len(tables[0].rows) == 1 + int((moved >= 0.5).sum()) + len(not_simulated)
    totals = final[final["line"] == "total_simulated"]["income_at_risk"]
    shown = [row.cells[2].text.split("\n")[0] for row in tables[0].rows[1:]]
    assert {pounds(v) for v in totals} <= set(shown)  # whole pounds in every table cell
    assert shown.count("not simulated") == len(not_simulated) > 0
    lines = [(row.cells[0].text, row.cells[1].text) for row in tables[0].rows[1:]]
    first_provider = lines[0][0]
    assert [ln for p, ln in lines if p == first_provider][-1] == "total of simulated lines"


def _text(html_path: Path) -> str:
    html = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html_path.read_text())
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_run_without_do_nothing_names_its_reference_and_never_says_doing_nothing(
    best_case: ModelConfig, tmp_path: Path
) -> None:
    settings = {"run__years": 1, "run__warmup_days": 30}
    base = scaled(best_case, 0.1, **settings)
    other = with_overrides(base, {"services.rapid_response.staff": 2}).renamed("more-rrt")
    out = tmp_path / "run"
    run_batch([base, other], out, BatchOptions(replications=2, seed=3))
    write_report(out)
    text = _text(out / "report.html")
    assert "no do-nothing scenario" in text and "than the best-case scenario" in text
    assert "Doing nothing" not in text and "than doing nothing" not in text
    targets = pd.read_csv(out / "targets.csv")
    against = targets[targets["kind"].str.contains("reference")]
    assert len(against) and (against["status"] == "not evaluated").all()
    words = " ".join(p.text for p in Document(str(out / "board_paper.docx")).paragraphs)
    assert "Doing nothing" not in words


def test_one_scenario_says_there_is_nothing_to_compare_and_shows_no_empty_tables(
    do_nothing: ModelConfig, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    config = scaled(do_nothing, 0.1, run__years=1, run__warmup_days=30)
    run_batch([config], out, BatchOptions(replications=1, seed=3))
    write_report(out)
    text = _text(out / "report.html")
    assert "Only one scenario ran (do-nothing)" in text
    assert not re.search(r"\bnan\b", text, flags=re.IGNORECASE)
    html = (out / "report.html").read_text()
    assert "Provider Line </tr>" not in re.sub(r"<[^>]+>", " ", html).replace("  ", " ")
    assert len(re.findall(r'<img src="', html)) == 3  # activity, localities and capacity only


def test_board_paper_is_structured_for_pasting(reported: Path) -> None:
    """Numbered captions with a source line, repeated header rows that never split, alt
    text on every figure, page numbers in the footer, and the run's own properties."""
    from docx.oxml.ns import qn

    write_report(reported)  # with this code's numbering
    document = Document(str(reported / "board_paper.docx"))
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    tables = [c for c in captions if c.startswith("Table ")]
    figures = [c for c in captions if c.startswith("Figure ")]
    assert [int(c.split(":")[0].split()[1]) for c in tables] == list(range(1, len(tables) + 1))
    assert len(tables) == len(document.tables)
    assert len(figures) == len(document.inline_shapes) >= 3
    sources = [p.text for p in document.paragraphs if p.text.startswith("Source: ucsim")]
    assert len(sources) == len(tables) + len(figures)
    for table in document.tables:
        first = table.rows[0]._tr.trPr
        assert first is not None and first.find(qn("w:tblHeader")) is not None
        assert all(row._tr.trPr.find(qn("w:cantSplit")) is not None for row in table.rows)
    for shape in document.inline_shapes:
        assert len(shape._inline.docPr.get("descr", "")) > 40
    footer = document.sections[0].footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and "NUMPAGES" in footer
    manifest = json.loads((reported / "manifest.json").read_text())
    properties = document.core_properties
    assert properties.author == "ucsim" and properties.title.startswith(manifest["area_name"])
    assert properties.created.isoformat()[:19] == manifest["created"][:19]
    first_page = []
    for block in document.element.body.iterchildren():
        if block.xpath(".//w:br[@w:type='page']"):
            break
        first_page.append(block)
    text = " ".join("".join(b.itertext()) for b in first_page)
    assert "Executive summary" in text and "Table 1" in text and "net position" in text


def _browser():
    from tests.conftest import browser_or_skip

    return browser_or_skip("render the report")


@pytest.mark.parametrize(
    ("media", "width", "height"),
    [("screen", 1280, 900), ("screen", 800, 900), ("print", 794, 1123)],
)
def test_report_renders_in_a_real_browser(reported: Path, media, width, height) -> None:
    playwright, executable = _browser()
    write_report(reported)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.emulate_media(media=media)
        page.goto((reported / "report.html").as_uri())
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{overflow}px of horizontal overflow at {width}px ({media})"
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.complete && i.naturalWidth > 0, i.alt])"
        )
        assert images and all(loaded and len(alt) > 40 for loaded, alt in images)
        captions = page.evaluate(
            "Array.from(document.querySelectorAll('figure')).map("
            "f => f.querySelector('figcaption') ? f.querySelector('figcaption').innerText : '')"
        )
        assert len(captions) == len(images)
        assert [c.split(":")[0] for c in captions] == [
            f"Figure {n}" for n in range(1, len(captions) + 1)
        ]
        headers = page.evaluate(
            "Array.from(document.querySelectorAll('table')).map(t => t.tHead ? "
            "getComputedStyle(t.tHead).display : 'none')"
        )
        assert headers and all(display == "table-header-group" for display in headers)
        text = page.inner_text("body")
        assert not re.search(r"\bnan\b", text, flags=re.IGNORECASE)
        if media == "print":
            pdf = page.pdf(format="A4")
            assert pdf.count(b"/Type /Page") > 3 or pdf.count(b"/Type/Page") > 3
        browser.close()
