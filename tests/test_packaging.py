"""A wheel (``pip install .``, not editable) carries the shipped areas and scenarios and runs
outside the checkout: the wheel is built, unpacked into a temporary folder, and run from
another folder with the unpacked package first on the path."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sim.loading import project_root

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"),
            *("-w", str(build), str(project_root())),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = build.glob("ucsim-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "sim/_data/calibration/dudley/area.toml",
        "sim/_data/calibration/bury/practices.csv",
        "sim/_data/calibration/evidence.toml",
        "sim/_data/scenarios/best-case.toml",
        "sim/templates/report.html.j2",
    ):
        assert needed in names, f"{needed} is not in the wheel"
    target = build / "site"
    zipfile.ZipFile(wheel).extractall(target)
    return target


def test_an_installed_package_runs_the_shipped_scenarios(
    unpacked_wheel: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(unpacked_wheel)}
    env.pop("UCSIM_DATA", None)
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sim.loading as l; print(l.project_root(), l.results_root())",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert Path(where[0]) == unpacked_wheel / "sim" / "_data"
    assert Path(where[1]) == tmp_path / "results"
    run = subprocess.run(
        [
            *(sys.executable, "-m", "sim", "run", "--replications", "2", "--years", "1"),
            *("--jobs", "1", "--no-report", "--quiet"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    (folder,) = (tmp_path / "results").iterdir()
    assert (folder / "summary.csv").stat().st_size > 0
    assert (folder / "targets.csv").stat().st_size > 0
