"""The fixed cost of a command: a whole `ucsim` process against the simulation it runs.

A whole `ucsim run` of one replication pays for the interpreter, imports, checks, the
tables, finance and the process's teardown around the replication itself; issue 21
asks for at most 1.3 times the replication's in-process time, and `ucsim --help` and
`ucsim validate` under a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sim.loading import default_scenario_paths, resolve, with_overrides
from sim.replication import run_replication

# Runs the command in a child and says when the child's own code began and ended, so
# interpreter start-up and teardown are measured apart from the command.
WHOLE = """
import json, sys, time
began = time.time()
sys.argv = ["ucsim", *{args!r}]
from sim.cli import entry_point
imported = time.time()
try:
    entry_point()
except SystemExit:
    pass
ended = time.time()
print(json.dumps({{"began": began, "imported": imported, "ended": ended}}), file=sys.stderr)
"""


def whole_process(args: list[str]) -> dict[str, float]:
    """Wall time of ``ucsim ARGS`` as a new process, split into start-up, import, the
    command and teardown."""
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", WHOLE.format(args=args)],
        capture_output=True,
        text=True,
        check=True,
    )
    finished = time.time()
    stamps = json.loads(done.stderr.strip().splitlines()[-1])
    return {
        "wall_s": finished - started,
        "interpreter_start_s": stamps["began"] - started,
        "import_s": stamps["imported"] - stamps["began"],
        "command_s": stamps["ended"] - stamps["imported"],
        "teardown_s": finished - stamps["ended"],
    }


def one_run(years: int, seed: int, repeats: int) -> dict[str, float]:
    """A whole `ucsim run` process of one do-nothing replication against the same
    replication in this process, interleaved (this machine's speed drifts by a third over
    minutes), the best of ``repeats`` of each."""
    config = with_overrides(resolve(default_scenario_paths()[0]).config, {"run.years": years})
    best: dict[str, float] | None = None
    inside: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        run_replication(config, 0, seed)
        inside.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as folder:
            args = [
                "run",
                str(default_scenario_paths()[0]),
                "--years",
                str(years),
                "--replications",
                "1",
                "--seed",
                str(seed),
                "--no-report",
                "--quiet",
                "--out",
                str(Path(folder) / "run"),
            ]
            timing = whole_process(args)
        if best is None or timing["wall_s"] < best["wall_s"]:
            best = timing
    assert best is not None
    return {**best, "in_process_s": min(inside)}


def ucsim_command() -> list[str]:
    """The installed `ucsim` script beside this interpreter, else `python -m sim`."""
    script = Path(sys.executable).parent / "ucsim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sim"]


def quick_commands(repeats: int = 3) -> dict[str, Any]:
    """Best wall time of `ucsim --help` and `ucsim validate` as new processes."""
    out = {}
    for name, args in (
        ("help", ["--help"]),
        ("validate", ["validate", "--no-show", str(default_scenario_paths()[0])]),
    ):
        walls = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, check=True)
            walls.append(time.perf_counter() - started)
        out[name] = round(min(walls), 3)
    return out
