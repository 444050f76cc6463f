"""Property-based fuzz of the input files and of the run command's flags.

For every case: exit 2 (an InputError) naming the file or option, or a valid result; never
another exception, never an accepted value that is plainly invalid (a number given as
text or true/false, a non-finite number, an unknown key). CI runs thousands of cases
(UCSIM_FUZZ_EXAMPLES); the default tier runs a fast profile.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import tomllib
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim import api as sim_api
from sim import cli
from sim.area_inputs import check_area_inputs
from sim.batch import check_options
from sim.config import MAX_SEED
from sim.errors import InputError
from sim.loading import project_root, resolve

FUZZ_EXAMPLES = int(os.environ.get("UCSIM_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Every kind of file a user edits: the area's layers, a scenario, targets, finance, costs,
# the calibration baseline and the practice list.
TOML_FILES = (
    "calibration/dudley/area.toml",
    "calibration/dudley/fitted.toml",
    "scenarios/base-case.toml",
    "scenarios/best-case.toml",
    "calibration/dudley/targets.toml",
    "calibration/dudley/providers.toml",
    "calibration/dudley/tariffs.toml",
    "calibration/dudley/baseline.toml",
    "calibration/intervention_costs.toml",
)
PRACTICES = "calibration/dudley/practices.csv"

NEW_VALUES = st.one_of(
    st.integers(min_value=-(10**13), max_value=10**13),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.booleans(),
    st.sampled_from(["", "abc", "1", "0.5", "inf", "nan", "true", "2014/15", ":x:", "[b]"]),
    st.lists(st.integers(-5, 5), max_size=3),
)


@pytest.fixture(scope="module")
def copy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the shipped inputs: the fuzz edits these, never the checkout's."""
    root = tmp_path_factory.mktemp("inputs")
    for folder in ("calibration", "scenarios"):
        shutil.copytree(project_root() / folder, root / folder)
    return root


def _leaves(tree: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, (*prefix, key))
    elif isinstance(tree, list) and tree and all(isinstance(v, dict) for v in tree):
        for index, value in enumerate(tree):
            yield from _leaves(value, (*prefix, index))
    else:
        yield prefix, tree


def _parent(tree: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        tree = tree[part]
    return tree


def _plainly_invalid(old: Any, new: Any) -> bool:
    """A replacement no loader may accept: it changes a number, a flag or a text into
    another kind of value, or gives a number that is not finite."""
    number = (int, float)
    if isinstance(old, bool):
        return not isinstance(new, bool)
    if isinstance(old, number):
        return isinstance(new, (bool, str, list)) or (
            isinstance(new, float) and not math.isfinite(new)
        )
    if isinstance(old, str):
        return not isinstance(new, str)
    return False


def _load_everything(root: Path) -> None:
    for scenario in ("base-case", "best-case"):
        config = resolve(root / "scenarios" / f"{scenario}.toml", root=root).config
        for value in _numbers(config.model_dump()):
            assert math.isfinite(value), value
    check_area_inputs(root / "calibration" / "dudley")


def _numbers(tree: Any) -> Iterator[float]:
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _numbers(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _numbers(value)
    elif isinstance(tree, (int, float)) and not isinstance(tree, bool):
        yield float(tree)


def _outcome(root: Path, edited: str) -> str:
    """ "refused" (naming the edited file) or "accepted"; anything else fails the test."""
    try:
        _load_everything(root)
    except InputError as exc:
        assert any(Path(edited).name in str(p.file) + p.rule for p in exc.problems), str(exc)
        assert "Traceback" not in str(exc)
        event("refused, naming the file")
        return "refused"
    event("accepted, valid")
    return "accepted"


@FUZZ
@given(data=st.data())
def test_fuzzed_files_are_refused_by_name_or_load_valid(copy_root: Path, data) -> None:
    name = data.draw(st.sampled_from(TOML_FILES), label="file")
    path = copy_root / name
    original = path.read_bytes()
    tree = tomllib.loads(original.decode("utf-8"))
    leaves = list(_leaves(tree))
    leaf, old = data.draw(st.sampled_from(leaves), label="leaf")
    action = data.draw(st.sampled_from(["replace", "delete", "unknown key"]), label="action")
    parent = _parent(tree, leaf)
    if action == "replace":
        new = data.draw(NEW_VALUES, label="value")
        parent[leaf[-1]] = new
        must_refuse = _plainly_invalid(old, new)
    elif action == "delete":
        del parent[leaf[-1]]
        must_refuse = False  # a default may apply, or a lower layer's value
    else:
        parent[f"{leaf[-1]}_typo"] = old
        must_refuse = True
    try:
        path.write_text(tomli_w.dumps(tree), encoding="utf-8")
        outcome = _outcome(copy_root, name)
    finally:
        path.write_bytes(original)
    if must_refuse:
        assert outcome == "refused", f"{name}: {leaf} {action} accepted"


@FUZZ
@given(data=st.data())
def test_fuzzed_practice_lists_are_refused_by_name_or_load_valid(copy_root: Path, data) -> None:
    path = copy_root / PRACTICES
    original = path.read_bytes()
    rows = list(csv.reader(io.StringIO(original.decode("utf-8-sig"))))
    row = data.draw(st.integers(0, len(rows) - 1), label="row")
    column = data.draw(st.integers(0, len(rows[0]) - 1), label="column")
    new = data.draw(NEW_VALUES, label="value")
    old = rows[row][column]
    rows[row][column] = str(new)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    try:
        path.write_text(out.getvalue(), encoding="utf-8")
        outcome = _outcome(copy_root, PRACTICES)
    finally:
        path.write_bytes(original)
    if row == 0 and str(new) != old:
        assert outcome == "refused", f"header {old!r} -> {new!r} accepted"


# ------------------------------------------------------------------ the run command's flags

FLAG_VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "auto", "abc", "1", "0", "-1", "1e3", "true", "dask", "loky"]),
)
FLAGS = (
    "--replications",
    "--years",
    "--seed",
    "--jobs",
    "--precision",
    "--max-replications",
    "--backend",
    "--scheduler",
    "--area",
)


class _WouldRun(Exception):
    pass


@FUZZ
@given(chosen=st.dictionaries(st.sampled_from(FLAGS), FLAG_VALUES, min_size=1, max_size=4))
def test_fuzzed_run_flags_are_refused_by_name_or_start_a_valid_run(
    chosen: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A stand-in for the batch records what the command would run, so every accepted
    combination is checked without simulating."""
    started: list[tuple[Any, ...]] = []

    def stand_in(configs, out, options, on_progress=None, on_estimate=None):
        check_options(options)  # as run_batch does first
        started.append((configs, out, options))
        raise _WouldRun

    monkeypatch.setattr(sim_api, "run_batch", stand_in)
    args = ["run", "--out", str(tmp_path / "run"), "--quiet"]
    for flag, value in chosen.items():
        args += [flag, value]
    result = CliRunner().invoke(cli.app, args)
    if started:
        event("accepted, valid")
        configs, _, options = started[0]
        assert options.replications is None or options.replications >= 1
        assert options.seed is None or 0 <= options.seed <= MAX_SEED
        assert options.jobs >= 1 and 0 < options.precision <= 0.5
        assert options.scheduler is None or options.backend == "dask"
        if "--years" in chosen:
            assert all(c.run.years == float(chosen["--years"]) for c in configs)
        return
    output = " ".join(result.output.split())
    assert result.exit_code == 2, (args, output)
    assert "Traceback" not in output
    assert any(flag in output for flag in chosen), (args, output)
    event("refused, naming the option")
