"""The terminal as a person meets it: 80 columns, progress in a log, errors that name the
option at fault, runs that say when there is nothing to do, and files left alone."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import _plain_progress, app
from tests.conftest import small_run_args

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, str]:
    """Two shipped scenarios, one year, two replications, three patients followed; the
    terminal output at 80 columns."""
    out = tmp_path_factory.mktemp("cli") / "run"
    result = CliRunner().invoke(
        app,
        [*small_run_args(out), "--trace", "3"],
        env={"COLUMNS": "80"},
        terminal_width=80,
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_the_summary_fits_80_columns_and_ends_with_the_files(small_run) -> None:
    out, output = small_run
    lines = [line for line in output.splitlines() if line.strip()]
    assert max(len(line) for line in lines) <= 80
    assert "Key figures" in output and "Emergency admissions" in output
    tail = "\n".join(lines[-14:])
    for name in ("report.html", "board_paper.docx", "income_at_risk.xlsx", "summary.csv"):
        assert str(out / name) in tail
    assert "…" not in output  # nothing cut short


def test_followed_patients_are_written_for_every_scenario(small_run) -> None:
    out, output = small_run
    trace = pd.read_csv(out / "trace.csv")
    assert str(out / "trace.csv") in output
    assert set(trace["scenario"]) == {"do-nothing", "best-case"}
    first = trace[trace["service"] == "routing"].groupby("scenario")["episode"].apply(set)
    assert len(first["do-nothing"]) == 3 and first["do-nothing"] == first["best-case"]
    assert list(trace.columns[:4]) == ["scenario", "time", "clock", "episode"]


def test_resuming_a_finished_run_does_nothing(small_run) -> None:
    out, _ = small_run
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    result = CliRunner().invoke(app, ["run", "--resume", str(out)])
    assert result.exit_code == 0 and "nothing to do" in result.output
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_a_log_gets_progress_lines_however_slow_the_work(monkeypatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    with _plain_progress(interval=0.05) as update:
        update(1, 4, "replications")
        time.sleep(0.3)  # no replication finishes for a while: the heartbeat still writes
        update(4, 4, "replications")
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 4
    assert re.match(r"\[\d\d:\d\d:\d\d\] replications: 1/4 done", lines[0])
    assert "4/4 done" in lines[-1]


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["run", "--replications", "0"], "--replications"),
        (["run", "--years", "0"], "--years"),
        (["run", "scenarios/base.toml"], "did you mean scenarios/base-case.toml"),
        (["run", "best-case"], "did you mean scenarios/best-case.toml"),
        (["sweep", "scenarios/base-case.toml", "--vary", "nothing.here=1:2:1"], "--vary"),
    ],
)
def test_each_mistake_names_the_input_at_fault(arguments, named, tmp_path) -> None:
    result = CliRunner().invoke(app, [*arguments, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert named in flat
    assert "--set:" not in flat and "Traceback" not in flat
    assert "0/?" not in flat  # no progress bar before the inputs are checked
    assert not (tmp_path / "x").exists()


def test_a_repricing_typo_suggests_the_tariff(small_run) -> None:
    out, _ = small_run
    result = CliRunner().invoke(app, ["finance", str(out), "--set", "ae.admited=3"])
    assert result.exit_code == 2
    assert "did you mean 'ae.admitted'" in " ".join(result.output.split())


def test_warmup_will_not_overwrite_an_analysis_without_force(tmp_path) -> None:
    (tmp_path / "warmup_series.csv").write_text("kept\n")
    result = CliRunner().invoke(app, ["warmup", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--force" in result.output
    assert (tmp_path / "warmup_series.csv").read_text() == "kept\n"


def test_areas_reads_at_80_columns() -> None:
    result = CliRunner().invoke(app, ["areas"], terminal_width=80, env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "dudley: Dudley CCG" in result.output and "finance" in result.output


def test_a_run_stopped_while_writing_its_report_is_finished_by_resume(small_run, tmp_path) -> None:
    import json
    import shutil

    out, _ = small_run
    copy = Path(shutil.copytree(out, tmp_path / "run"))
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["report"] == "written"
    manifest["report"] = "pending"  # as a kill during the report phase leaves it
    (copy / "manifest.json").write_text(json.dumps(manifest))
    (copy / "board_paper.docx").unlink()
    result = CliRunner().invoke(app, ["run", "--resume", str(copy)])
    assert result.exit_code == 0, result.output
    assert (copy / "board_paper.docx").exists()
    assert json.loads((copy / "manifest.json").read_text())["report"] == "written"
