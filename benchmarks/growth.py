"""How the model's cost grows: time and peak memory of one replication by list size and
run length, each in a fresh process (issue 21: linear in episodes).

The area is grown or shrunk with every capacity (``sim.area_scale``), so queues stay as
loaded as the real area's and the work per episode is comparable across sizes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

CELL = """
import json, resource, time
from pathlib import Path
from sim.area_scale import scaled_area
from sim.loading import default_scenario_paths, resolve
from sim.replication import run_replication
config = scaled_area(resolve(default_scenario_paths()[0]).config, {factor}, run__years={years})
started = time.perf_counter()
result = run_replication(config, 0, {seed})
seconds = time.perf_counter() - started
status = Path('/proc/self/status')
lines = status.read_text().splitlines() if status.exists() else []
hwm = [line for line in lines if line.startswith('VmHWM')]
peak_kib = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "episodes": result.episodes, "peak_mib": peak_kib / 1024,
    "list_size": sum(p.list_size for p in config.practices)}}))
"""


def cell(factor: float, years: int, seed: int) -> dict[str, Any]:
    """One replication of the default area at ``factor`` times its list, in a fresh process.

    Peak memory is the process's own high-water mark (VmHWM): ru_maxrss of a child would
    count the pages it was forked with.
    """
    code = CELL.format(factor=factor, years=years, seed=seed)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row.update(factor=factor, years=years, us_per_episode=row["seconds"] / row["episodes"] * 1e6)
    return row


def growth_table(
    factors: Sequence[float], years: Sequence[int], seed: int, echo: bool = True
) -> dict[str, Any]:
    """Every cell, the memory line (fixed MiB + bytes per episode, least squares) and the
    spread of microseconds per episode (1.0 would be exactly linear)."""
    rows = []
    for factor in factors:
        for length in years:
            row = cell(factor, length, seed)
            rows.append(row)
            if echo:
                print(
                    f"    {factor:>4}x list ({row['list_size']:>9,}), {length:>2} years: "
                    f"{row['seconds']:7.1f} s, {row['episodes']:>10,} episodes, "
                    f"{row['us_per_episode']:5.2f} us/episode, peak {row['peak_mib']:7.0f} MiB",
                    flush=True,
                )
    episodes = np.array([r["episodes"] for r in rows], dtype=float)
    peaks = np.array([r["peak_mib"] for r in rows], dtype=float)
    slope, intercept = np.polyfit(episodes, peaks, 1)
    worst = max(abs(p - (intercept + slope * e)) / p for p, e in zip(peaks, episodes, strict=True))
    per_episode = [r["us_per_episode"] for r in rows]
    return {
        "rows": rows,
        "memory_fixed_mib": round(float(intercept), 1),
        "memory_bytes_per_episode": round(float(slope) * 1024 * 1024, 1),
        "memory_fit_worst_relative_error": round(float(worst), 3),
        "us_per_episode_range": [round(min(per_episode), 2), round(max(per_episode), 2)],
    }
