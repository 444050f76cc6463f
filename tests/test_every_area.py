"""Every shipped area runs end to end from the command line: results, targets, report and
board paper (a small, fast run: one report year, two replications, a short warm-up)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.loading import project_root

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not

AREAS = sorted(
    p.name for p in (project_root() / "calibration").iterdir() if (p / "area.toml").exists()
)


@pytest.mark.parametrize("area", AREAS)
def test_ucsim_run_completes_for_every_area(area: str, tmp_path: Path) -> None:
    out = tmp_path / area
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--area",
            area,
            "--years",
            "1",
            "--replications",
            "2",
            "--jobs",
            "1",
            "--set",
            "run.warmup_days=10",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    for name in ("summary.csv", "targets.csv", "report.html", "board_paper.docx"):
        assert (out / name).exists(), name
    targets = pd.read_csv(out / "targets.csv")
    stated = set(targets["target_id"])
    from sim.target_file import load_targets

    assert stated == {t.id for t in load_targets(out / "targets.toml").target}  # none dropped
    html = (out / "report.html").read_text()
    if not (out / "finance.csv").exists():
        assert "Finance is not configured for this area" in html
