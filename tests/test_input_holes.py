"""Bad inputs that used to be accepted, or fail for the wrong reason, now get exit 2 naming the
input; a user's own files are never overwritten; a property-based fuzz of --set keeps it so."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim.cli import app
from sim.errors import InputError
from sim.loading import project_root, resolve
from sim.target_file import load_targets

SCENARIO = str(project_root() / "scenarios" / "do-nothing.toml")


def _validate(*extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", SCENARIO, "--no-show", *extra])
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("services.ucc.close_hour=6", "UCC open_hour 8 to close_hour 6"),
        ("services.rapid_response.open_hour=23", "rapid response open_hour 23"),
        ("area.name=bury", "--area NAME"),
        ("scenario.area=bury", "--area NAME"),
        ("practices=[]", "practices.csv"),
        ("services.ambulance.vehicles=1000000000000", "services.ambulance.vehicles"),
        ("services.wards.beds=true", "true/false is not accepted"),
        ('services.wards.beds="600"', "a number is needed here, not text"),
        ("area.start_date=2015-04-01", "--area NAME"),
    ],
)
def test_each_hole_gets_exit_2_naming_the_input(override: str, named: str) -> None:
    code, output = _validate("--set", override)
    assert code == 2, output
    assert named in output and "Traceback" not in output


def test_user_text_is_never_read_as_markup() -> None:
    code, output = _validate("--set", "a:b:c=1")
    assert code == 2 and "a:b:c" in output


def test_an_empty_area_name_is_refused() -> None:
    code, output = _validate("--area", "")
    assert code == 2 and "--area" in output


def test_out_never_takes_a_folder_with_a_users_files(tmp_path: Path) -> None:
    mine = tmp_path / "notes.txt"
    mine.write_text("precious")
    result = CliRunner().invoke(
        app, ["run", SCENARIO, "--replications", "1", "--years", "1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "choose a new folder" in " ".join(result.output.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert mine.read_text() == "precious"


def test_resume_refuses_options_that_would_change_the_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--resume", str(tmp_path), "--years", "3"])
    assert result.exit_code == 2 and "--years would change it" in " ".join(result.output.split())


def test_damaged_results_are_input_errors_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{ not json")
    result = CliRunner().invoke(app, ["finance", str(tmp_path)])
    assert result.exit_code == 2 and "manifest.json" in " ".join(result.output.split())
    folder = tmp_path / "file-not-folder"
    folder.write_text("x")
    result = CliRunner().invoke(app, ["run", "--resume", str(folder)])
    assert result.exit_code == 2, result.output


def test_a_damaged_kpi_table_is_named(tmp_path: Path) -> None:
    from sim.store import ResultsFolder

    (tmp_path / "kpis.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match=r"kpis\.parquet"):
        ResultsFolder(tmp_path).read_kpis()


def _area_copy(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(project_root() / "calibration", root / "calibration")
    shutil.copytree(project_root() / "scenarios", root / "scenarios")
    return root


def test_files_with_a_byte_order_mark_are_read_and_bad_bytes_refused(tmp_path: Path) -> None:
    root = _area_copy(tmp_path)
    dudley = root / "calibration" / "dudley"
    for name in ("practices.csv", "area.toml"):
        path = dudley / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Excel saves it
    assert resolve(root / "scenarios" / "do-nothing.toml", root=root).config.practices
    (dudley / "area.toml").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(InputError, match="not UTF-8"):
        resolve(root / "scenarios" / "do-nothing.toml", root=root)
    (dudley / "area.toml").unlink()
    (dudley / "area.toml").mkdir()
    with pytest.raises(InputError):  # a folder where a file should be: exit 2, not 1
        resolve(root / "scenarios" / "do-nothing.toml", root=root)


def test_an_area_value_fitted_toml_replaces_is_still_checked(tmp_path: Path) -> None:
    root = _area_copy(tmp_path)
    area = root / "calibration" / "dudley" / "area.toml"
    text = area.read_text()
    assert "beds = { value = 560" in text or "\nbeds = " in text
    line = next(ln for ln in text.splitlines() if ln.startswith("beds = "))
    area.write_text(text.replace(line, 'beds = { value = -5, unit = "beds" }'))
    with pytest.raises(InputError) as caught:
        resolve(root / "scenarios" / "do-nothing.toml", root=root)
    assert "area.toml" in str(caught.value) and "services.wards.beds" in str(caught.value)
    resolved = resolve(project_root() / "scenarios" / "do-nothing.toml")
    assert "services.wards.beds" in resolved.shadowed  # and validate says so


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        (('id = "composite_per_100k_2530"', 'id = "composite_per_100k_2530_relative"'), "unique"),
        (('years = ["2018/19"]', 'years = ["2018-19"]'), "financial year"),
        (("green_at_least = 0.8", "green_at_least = 0.4"), "green_at_least"),
        (
            (
                'metric = "ae_attendances_all_types"',
                'metric = "ae_atendances_all_types"',
            ),
            "did you mean ae_attendances_all_types",
        ),
    ],
)
def test_target_files_are_validated_like_scenarios(tmp_path: Path, edit, rule) -> None:
    text = (project_root() / "calibration" / "dudley" / "targets.toml").read_text()
    old, new = edit
    assert old in text
    path = tmp_path / "targets.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError, match=rule):
        load_targets(path)


def test_a_baseline_figure_must_be_a_metric_the_model_reports(tmp_path: Path) -> None:
    from sim.baseline_file import load_baseline

    text = (project_root() / "calibration" / "dudley" / "baseline.toml").read_text()
    path = tmp_path / "baseline.toml"
    path.write_text(text.replace('metric = "ucc_attendances"', 'metric = "ucc_attendence"', 1))
    with pytest.raises(InputError, match="did you mean ucc_attendances"):
        load_baseline(path)  # before any fitting starts


def test_a_start_date_that_contradicts_the_baseline_year_is_refused() -> None:
    import datetime as dt

    from pydantic import ValidationError

    from sim.config import AreaInfo

    fields = {"name": "x", "display_name": "X", "baseline_year": "2014/15"}
    AreaInfo(**fields, start_date=dt.date(2014, 4, 1))
    with pytest.raises(ValidationError, match="mislabelled"):
        AreaInfo(**fields, start_date=dt.date(2015, 4, 1))


# ------------------------------------------------------------------ property-based fuzz

NUMERIC_PATHS = (
    "services.wards.beds",
    "services.ambulance.vehicles",
    "services.rapid_response.staff",
    "services.rapid_response.close_hour",
    "services.ucc.open_hour",
    "services.ucc.clinicians",
    "services.ae.triage_staff",
    "services.ae.standard_hours",
    "services.gp.sameday_slots_per_1000_per_day",
    "services.wards.los_sigma",
    "population.growth_per_year",
    "run.years",
    "run.seed",
    "run.warmup_days",
    "interventions.case_management.top_percent",
)
VALUES = st.one_of(
    st.integers(min_value=-(10**13), max_value=10**13),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from(["true", "false", "'abc'", "inf", "-inf", "nan", "[]", "{}", "1e400"]),
)


# A fast profile in the default tier; CI sets UCSIM_FUZZ_EXAMPLES (2,000 in .ci/run).
FUZZ_EXAMPLES = int(os.environ.get("UCSIM_FUZZ_EXAMPLES", "100"))


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(path=st.sampled_from(NUMERIC_PATHS), value=VALUES)
def test_fuzzed_overrides_are_refused_by_name_or_give_a_valid_config(path, value) -> None:
    """Every --set either resolves to a config whose value is finite and of its type, or
    raises InputError naming the path: never another exception."""
    text = value if isinstance(value, str) else repr(value)
    try:
        config = resolve(SCENARIO, overrides=[f"{path}={text}"]).config
    except InputError as exc:
        assert any(p.field.startswith(path.split(".")[0]) for p in exc.problems), str(exc)
        return
    node = config
    for part in path.split("."):
        node = getattr(node, part)
    assert not isinstance(node, bool) and isinstance(node, (int, float))
    assert math.isfinite(node)


def test_out_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = CliRunner().invoke(
        app, ["run", SCENARIO, "--replications", "1", "--out", str(blocker / "run")]
    )
    assert result.exit_code == 2 and "cannot be written" in " ".join(result.output.split())


def test_a_start_killed_while_preparing_leaves_nothing_behind(do_nothing, tmp_path: Path) -> None:
    from sim.batch import BatchOptions, run_batch
    from tests.conftest import scaled

    stale = tmp_path / ".run.preparing-abc123"
    stale.mkdir()
    (stale / "manifest.json").write_text("{}")
    config = scaled(do_nothing, 0.1, run__years=1, run__warmup_days=20)
    run_batch([config], tmp_path / "run", BatchOptions(replications=1, seed=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_rule_across_sections_names_the_file_and_field_it_is_about(tmp_path: Path) -> None:
    """Found by the 2,000-case fuzz on a clean clone: a lever's closing hour before the
    service's opening hour was reported as '<command line>: (whole file) = {the whole
    config}'. It now names the scenario file and the parameter, with its value."""
    folder = tmp_path / "scenarios"
    shutil.copytree(project_root() / "scenarios", folder)
    best = folder / "best-case.toml"
    text = best.read_text(encoding="utf-8")
    assert "close_hour = { value = 24.0" in text  # the value the fuzz edited
    edited = text.replace("close_hour = { value = 24.0", "close_hour = { value = 0")
    best.write_text(edited, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        resolve(best)
    (problem,) = caught.value.problems
    assert problem.file == str(best)
    assert problem.field == "interventions.rapid_response.close_hour"
    assert problem.value == 0


def test_a_rule_across_one_tables_fields_names_the_field_and_value() -> None:
    """A minors stream larger than the department's rota was reported against the whole
    ``services.ae`` table and its every value; it now names the field it is about."""
    from sim.loading import with_overrides

    config = resolve(project_root() / "scenarios" / "do-nothing.toml").config
    too_many = [30] * 24
    with pytest.raises(InputError) as caught:
        with_overrides(config, {"services.ae.minors_clinicians_by_hour": too_many})
    (problem,) = caught.value.problems
    assert problem.field == "services.ae.minors_clinicians_by_hour"
    assert problem.value == too_many
    assert "must leave majors at least one" in problem.rule
