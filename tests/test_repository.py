"""The repository tracks sources, data and documentation, never what a run or a build makes."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess

import pytest

from sim.loading import project_root

# What runs, builds and tools write; none of it belongs in git.
GENERATED = (
    "*.pdf",
    "*.parquet",
    "*.pyc",
    "*.whl",
    "*.egg-info/*",
    "build/*",
    "dist/*",
    "results/*",
    ".hypothesis/*",
    "*.docx",
    "*.xlsx",
    "report.html",
)
ALLOWED = ("results/README.md",)


def test_no_generated_file_is_tracked() -> None:
    if shutil.which("git") is None or not (project_root() / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=project_root(), capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert len(tracked) > 50
    generated = [
        path
        for path in tracked
        if path not in ALLOWED and any(fnmatch.fnmatch(path, pattern) for pattern in GENERATED)
    ]
    assert generated == [], f"generated files are tracked: {generated}"
