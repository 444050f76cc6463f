"""A run killed outright (SIGKILL, no clean-up) at any moment is finished by --resume, with
every output written and nothing partial left; killed before it starts, --out is untouched."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import small_run_args

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not

OUTPUTS = (
    "summary.csv",
    "targets.csv",
    "finance.csv",
    "income_at_risk.xlsx",
    "report.html",
    "board_paper.docx",
)


def _start(out: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "sim", *small_run_args(out), "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _manifest(out: Path) -> dict:
    try:
        return json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def _kill_when(process: subprocess.Popen[bytes], ready, limit: float = 120.0) -> None:
    started = time.monotonic()
    while not ready() and process.poll() is None and time.monotonic() - started < limit:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


# Random moments over the whole run (about 15 s here, report included); the seed is in the
# test id, so a failure can be replayed with UCSIM_KILL_SEED.
KILL_SEED = int(os.environ.get("UCSIM_KILL_SEED", random.SystemRandom().randrange(10**6)))
RANDOM_MOMENTS = [
    f"after {random.Random(KILL_SEED + i).uniform(0.5, 18.0):.2f} s (seed {KILL_SEED})"
    for i in range(2)
]


@pytest.mark.parametrize(
    "moment",
    ["while simulating", "while writing the report", "before it starts", *RANDOM_MOMENTS],
)
def test_a_killed_run_is_finished_by_resume(tmp_path: Path, moment: str) -> None:
    out = tmp_path / "run"
    process = _start(out)
    if moment.startswith("after"):
        delay = float(moment.split()[1])
        _kill_when(process, lambda: False, limit=delay)
    elif moment == "while simulating":
        _kill_when(process, lambda: bool(_manifest(out).get("runs")))
    elif moment == "while writing the report":
        _kill_when(process, lambda: _manifest(out).get("report") == "pending")
    else:
        _kill_when(process, lambda: True, limit=0)
    if not (out / "manifest.json").exists():
        # killed before the run existed: --out is absent or empty, so it can be used again
        assert not out.exists() or not any(out.iterdir())
        return
    resumed = subprocess.run(
        [sys.executable, "-m", "sim", "run", "--resume", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    manifest = _manifest(out)
    assert manifest["status"] == "complete"
    for name in OUTPUTS:
        assert (out / name).exists() and (out / name).stat().st_size > 0, name
    if moment == "while writing the report":
        assert manifest["report"] == "written"
    assert not list(out.rglob(".*.tmp"))  # no partial file left behind
