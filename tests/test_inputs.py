"""Bad input gets a clear error: file, field, value, rule, exit code 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.errors import InputError
from sim.loading import (
    ParameterNote,
    load_practices,
    project_root,
    read_toml,
    resolve,
    split_annotations,
)
from tests.conftest import SCENARIOS

runner = CliRunner()


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_INPUTS = {
    "unknown key": (
        f'extends = "{SCENARIOS / "do-nothing.toml"}"\n[interventions.case_managment]\nenabled = true\n',
        "interventions.case_managment",
        "did you mean 'case_management'",
    ),
    "wrong type": (
        '[services.rapid_response]\nstaff = "six"\n',
        "services.rapid_response.staff",
        "a number is needed here, not text",
    ),
    "probability above 1": (
        "[services.ae.admit_probability]\nlow = 1.2\nmedium = 0.2\nhigh = 0.5\n",
        "services.ae.admit_probability.low",
        "less than or equal to 1",
    ),
    "shares not summing to 1": (
        "[first_contact.preference.low]\ngp = 0.5\nnhs111 = 0.5\nambulance = 0.5\nucc = 0.0\nae = 0.0\n",
        "first_contact.preference.low",
        "sum to 1",
    ),
    "negative capacity": (
        '[services.wards]\nbeds = { value = -5, unit = "beds", source = "test" }\n',
        "services.wards.beds",
        "greater than or equal to 1",
    ),
    "a flag for a number": (
        "[services.wards]\nbeds = true\n",
        "services.wards.beds",
        "true/false is not accepted here",
    ),
    "infinite hours": (
        "[services.ae]\nstandard_hours = inf\n",
        "services.ae.standard_hours",
        "finite number",
    ),
    "missing parent": ('extends = "nowhere.toml"\n', "extends", "file not found"),
    "invalid toml": ("[scenario\nname = 1\n", "", "not valid TOML"),
    "unknown area": ('[scenario]\narea = "atlantis"\n', "area", "no such area"),
    "bad confidence code": (
        '[services.wards]\nbeds = { value = 5, unit = "beds", source = "x", confidence = "Q" }\n',
        "services.wards.beds.confidence",
        "must be one of S, P, E",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_scenario_is_exit_2_naming_file_and_field(tmp_path: Path, case: str) -> None:
    text, field, rule = BAD_INPUTS[case]
    path = write(tmp_path, text)
    result = runner.invoke(app, ["validate", str(path), "--no-show"])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert str(path) in message or "bad.toml" in message
    assert field in message
    assert rule in message
    assert "Traceback" not in result.output


def test_override_with_unknown_path_suggests_closest_name() -> None:
    result = runner.invoke(
        app,
        ["validate", str(SCENARIOS / "base-case.toml"), "--no-show", "--set", "services.ae.bedz=3"],
    )
    assert result.exit_code == 2
    assert "--set" in result.output and "services.ae.bedz" in result.output


def test_extends_cycle_is_reported(tmp_path: Path) -> None:
    write(tmp_path, 'extends = "b.toml"\n', "a.toml")
    write(tmp_path, 'extends = "a.toml"\n', "b.toml")
    result = runner.invoke(app, ["validate", str(tmp_path / "a.toml"), "--no-show"])
    assert result.exit_code == 2 and "cycle" in result.output


def test_extends_is_relative_to_the_file_and_absolute_paths_work(tmp_path: Path) -> None:
    sub = tmp_path / "nested"
    sub.mkdir()
    write(sub, 'extends = "../parent.toml"\n[scenario]\nname = "child"\n', "child.toml")
    write(tmp_path, f'extends = "{SCENARIOS / "base-case.toml"}"\n', "parent.toml")
    config = resolve(sub / "child.toml").config
    assert config.scenario.name == "child"
    assert config.interventions.case_management.enabled  # inherited through two levels


def test_bad_practices_row_names_line_and_column(tmp_path: Path) -> None:
    source = project_root() / "calibration" / "dudley" / "practices.csv"
    lines = source.read_text().splitlines()
    header, row = lines[0], lines[1].replace(",5578,", ",-3,")
    bad = write(tmp_path, "\n".join([header, row]) + "\n", "practices.csv")
    with pytest.raises(InputError) as info:
        load_practices(bad)
    problem = info.value.problems[0]
    assert problem.file.endswith("practices.csv")
    assert "line 2" in problem.field and "list_size" in problem.field
    shares = lines[1].replace(",0.2,0.6,", ",0.5,0.6,")
    write(tmp_path, "\n".join([header, shares]) + "\n", "practices.csv")
    with pytest.raises(InputError, match="sum to 1"):
        load_practices(bad)


def test_console_script_exits_2_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "[services.wards]\nbeds = -1\n")
    done = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "services.wards.beds" in done.stderr and "Traceback" not in done.stderr


def test_every_area_parameter_carries_unit_source_and_confidence() -> None:
    for area_file in sorted((project_root() / "calibration").glob("*/area.toml")):
        values, notes, _ = split_annotations(read_toml(area_file), str(area_file))
        for path in _leaf_paths(values):
            if path.startswith("area."):
                continue
            note = _covering_note(path, notes)
            assert note is not None, f"{area_file}: {path} has no unit/source annotation"
            assert note.unit and note.source and note.confidence, f"{area_file}: {path}"


def test_every_scenario_effect_carries_a_source() -> None:
    structural = {"enabled", "start_year", "ramp_years", "evidence"}
    for scenario in sorted(SCENARIOS.glob("*.toml")):
        values, notes, _ = split_annotations(read_toml(scenario), str(scenario))
        for path in _leaf_paths(values):
            if path.startswith(("scenario.", "extends")) or path.rsplit(".", 1)[-1] in structural:
                continue
            note = _covering_note(path, notes)
            assert note is not None and note.source and note.unit, f"{scenario}: {path}"


def test_validate_prints_resolved_parameters_with_sources() -> None:
    result = runner.invoke(app, ["validate", str(SCENARIOS / "best-case.toml")])
    assert result.exit_code == 0
    assert "interventions.self_management.low_acuity_rate_multiplier" in result.output.replace(
        "\n", ""
    )
    assert "valid" in result.output


def test_areas_lists_both_shipped_areas() -> None:
    result = runner.invoke(app, ["areas"])
    assert result.exit_code == 0 and "dudley" in result.output and "314,500" in result.output
    assert "bury" in result.output and "187,000" in result.output


def _leaf_paths(tree: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out.extend(_leaf_paths(value, f"{prefix}{key}."))
        else:
            out.append(f"{prefix}{key}")
    return out


def _covering_note(path: str, notes: dict[str, ParameterNote]) -> ParameterNote | None:
    while path:
        if path in notes:
            return notes[path]
        path = path.rpartition(".")[0]
    return None


def test_diff_lists_exactly_the_parameters_that_differ() -> None:
    from sim.loading import config_differences

    base = resolve(SCENARIOS / "base-case.toml").config
    best = resolve(SCENARIOS / "best-case.toml").config
    rows = {path: (a, b) for path, a, b in config_differences(base, best)}
    assert rows["interventions.self_management.enabled"] == (False, True)
    assert rows["interventions.rapid_response.virtual_ward_places"] == (0, 40)
    assert "services.wards.beds" not in rows
    result = runner.invoke(
        app, ["diff", str(SCENARIOS / "base-case.toml"), str(SCENARIOS / "best-case.toml")]
    )
    assert result.exit_code == 0 and f"{len(rows)} parameters differ" in result.output
    same = runner.invoke(
        app, ["diff", str(SCENARIOS / "base-case.toml"), str(SCENARIOS / "base-case.toml")]
    )
    assert "0 parameters differ" in same.output


def test_override_equals_editing_the_file(tmp_path: Path) -> None:
    edited = tmp_path / "edited.toml"
    edited.write_text(
        f'extends = "{SCENARIOS / "base-case.toml"}"\n[scenario]\nname = "base-case"\n'
        "[services.rapid_response]\nstaff = 9\n"
    )
    by_file = resolve(edited).config
    by_set = resolve(
        SCENARIOS / "base-case.toml", overrides=["services.rapid_response.staff=9"]
    ).config
    assert by_file == by_set


def test_a_seed_too_large_to_store_is_refused_before_simulating(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["run", str(SCENARIOS / "do-nothing.toml"), "--seed", str(2**64), "--out", str(out)]
    )
    assert result.exit_code == 2 and not out.exists()
    assert "--seed" in result.output and "Traceback" not in result.output
