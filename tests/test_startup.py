"""`ucsim --help` and `ucsim validate` load only what they need (issue 21: under a second).

Not a timing test (timings live in benchmarks/): it checks which modules a fresh
interpreter has imported, the cause of a slow start. pandas, scipy, the simulation and
the report libraries took 0.8 s of the 1.2-1.5 s these commands used to take.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sim.loading import project_root

HEAVY = ("pandas", "scipy", "simpy", "matplotlib", "docx", "xlsxwriter", "sim.replication")

PROBE = """
import json, sys
from sim.cli import app
try:
    app({args}, standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(name for name in {heavy} if name in sys.modules)))
"""


def loaded_after(args: list[str]) -> list[str]:
    script = PROBE.format(args=repr(args), heavy=repr(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project_root(),
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args",
    [["--help"], ["validate", "--no-show", "scenarios/best-case.toml"], ["run", "--help"]],
    ids=["help", "validate", "run-help"],
)
def test_quick_commands_do_not_load_the_simulation_or_the_analysis_libraries(args) -> None:
    assert loaded_after(args) == []


def test_the_probe_sees_a_heavy_import_when_a_command_makes_one() -> None:
    # `ucsim areas` reads each area's fit status through the calibration module, which
    # imports the simulation: the probe must report it, or the test above proves nothing.
    assert "sim.replication" in loaded_after(["areas"])


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_workers_default_to_the_cores_this_process_may_use_not_the_hosts() -> None:
    # Pinned to one core (as a container or `taskset -c 0` would), the default is one
    # worker, whatever the host has.
    done = subprocess.run(
        [sys.executable, "-c", "from sim.cli import usable_cores; print(usable_cores())"],
        cwd=project_root(),
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}),
    )
    assert done.stdout.strip() == "1"
