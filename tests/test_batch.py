"""Batches: identical across backends, resumable after a kill, auto replication count."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.batch import BatchOptions, run_batch
from sim.cli import app
from sim.config import ModelConfig
from sim.precision import ReplicationRule, relative_precision
from sim.store import ResultsFolder, config_from_toml, config_to_toml, whole_area
from sim.target_file import STATUSES
from tests.conftest import scaled

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not


@pytest.fixture(scope="module")
def tiny_pair(do_nothing: ModelConfig, best_case: ModelConfig) -> list[ModelConfig]:
    """A tenth of Dudley, two years: about 1 s a replication."""
    settings = {"run__years": 2, "run__warmup_days": 30}
    return [scaled(do_nothing, 0.1, **settings), scaled(best_case, 0.1, **settings)]


@pytest.fixture(scope="module")
def sequential(tiny_pair: list[ModelConfig], tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("seq") / "run"
    outcome = run_batch(tiny_pair, out, BatchOptions(replications=4, seed=5))
    pd.testing.assert_frame_equal(whole_area(pd.read_parquet(out / "kpis.parquet")), outcome.kpis)
    return outcome.kpis


def test_results_folder_is_complete(sequential: pd.DataFrame, tiny_pair, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_batch(tiny_pair, out, BatchOptions(replications=2, seed=5))
    for name in ("manifest.json", "kpis.parquet", "summary.csv", "differences.csv", "targets.csv"):
        assert (out / name).exists(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["seed"] == 5
    assert set(manifest["scenarios"]) == {"do-nothing", "best-case"}
    assert all(r["status"] == "done" and r["seconds"] > 0 for r in manifest["runs"].values())
    assert len(manifest["runs"]) == 4 and manifest["command"]
    kpis = pd.read_parquet(out / "kpis.parquet")
    assert {"scenario", "replication", "seed", "config_sha256"} <= set(kpis.columns)
    assert (kpis["seed"] == 5).all()
    targets = pd.read_csv(out / "targets.csv")
    assert set(targets["status"]) <= set(STATUSES)
    assert (targets.loc[targets["status"] == "not modelled", "note"].str.len() > 0).all()
    assert len(targets) > 0


def test_the_tables_are_built_from_the_saved_frames_without_reading_them_back(
    tiny_pair, tmp_path: Path
) -> None:
    outcome = run_batch(tiny_pair, tmp_path / "run", BatchOptions(replications=2, seed=5))
    fresh = ResultsFolder(outcome.folder.root)  # knows only the files
    names = [c.scenario.name for c in tiny_pair]
    read = {(n, p): fresh.read_replications(n, range(2), p) for n in names for p in (False, True)}
    for saved in (outcome.folder.root / "replications").rglob("*.parquet"):
        saved.unlink()  # the batch's own folder object still has every frame, typed alike
    for (name, places), frame in read.items():
        pd.testing.assert_frame_equal(
            outcome.folder.read_replications(name, range(2), places), frame
        )


def test_resolved_config_reloads_exactly(tiny_pair: list[ModelConfig], tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(config_to_toml(tiny_pair[1]))
    assert config_from_toml(path) == tiny_pair[1]


def test_loky_workers_give_bit_identical_results(sequential, tiny_pair, tmp_path: Path) -> None:
    outcome = run_batch(
        tiny_pair, tmp_path / "loky", BatchOptions(replications=4, seed=5, jobs=2, backend="loky")
    )
    pd.testing.assert_frame_equal(outcome.kpis, sequential)


def test_finance_written_on_idle_workers_matches_finance_written_here(
    tiny_pair, tmp_path: Path
) -> None:
    # Two workers: the pricing sensitivity and the workbook are written on the batch's
    # pool while the main process builds the other tables; one worker: all here.
    here = run_batch(tiny_pair, tmp_path / "here", BatchOptions(replications=2, seed=5))
    pool = run_batch(
        tiny_pair, tmp_path / "pool", BatchOptions(replications=2, seed=5, jobs=2, backend="loky")
    )
    csvs = sorted(p.name for p in here.folder.root.glob("*.csv"))
    assert {"finance.csv", "finance_sensitivity.csv", "priced_activity.csv"} <= set(csvs)
    assert csvs == sorted(p.name for p in pool.folder.root.glob("*.csv"))
    for name in csvs:
        assert (here.folder.root / name).read_bytes() == (pool.folder.root / name).read_bytes(), (
            name
        )
    from openpyxl import load_workbook

    books = [load_workbook(f.root / "income_at_risk.xlsx") for f in (here.folder, pool.folder)]
    assert books[0].sheetnames == books[1].sheetnames
    created = re.compile(r"created \S+")  # each run's own creation time

    def shown(value: object) -> object:
        return created.sub("created", value) if isinstance(value, str) else value

    for sheet in books[0].sheetnames:
        cells = [
            [[shown(c.value) for c in row] for row in book[sheet].iter_rows()] for book in books
        ]
        assert cells[0] == cells[1], sheet


def test_dask_local_cluster_gives_bit_identical_results(
    sequential, tiny_pair, tmp_path: Path
) -> None:
    outcome = run_batch(
        tiny_pair, tmp_path / "dask", BatchOptions(replications=4, seed=5, jobs=2, backend="dask")
    )
    pd.testing.assert_frame_equal(outcome.kpis, sequential)


def test_killed_batch_resumes_to_identical_results(sequential, tiny_pair, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    configs = tmp_path / "configs"
    configs.mkdir()
    for config in tiny_pair:
        (configs / f"{config.scenario.name}.toml").write_text(config_to_toml(config))
    script = (
        "import sys; from pathlib import Path; from sim.batch import BatchOptions, run_batch;"
        "from sim.store import config_from_toml;"
        f"cs = [config_from_toml(Path(r'{configs}') / n) for n in ('do-nothing.toml', 'best-case.toml')];"
        f"run_batch(cs, Path(r'{out}'), BatchOptions(replications=4, seed=5))"
    )
    process = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    manifest_path = out / "manifest.json"
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and process.poll() is None:
        if manifest_path.exists():
            try:
                runs = json.loads(manifest_path.read_text())["runs"]
                done = sum(r["status"] == "done" for r in runs.values())
            except (json.JSONDecodeError, KeyError):
                done = 0
            if done >= 3:
                break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    manifest = json.loads(manifest_path.read_text())
    assert manifest["status"] == "running"  # killed: no chance to record anything
    finished = {k for k, r in manifest["runs"].items() if r["status"] == "done"}
    assert 3 <= len(finished) < 8, "kill should land part-way through the batch"
    before = {k: manifest["runs"][k]["finished"] for k in finished}

    result = CliRunner().invoke(app, ["run", "--resume", str(out), "--quiet", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    resumed = json.loads(manifest_path.read_text())
    assert resumed["status"] == "complete" and resumed["resumed"]
    assert {k: resumed["runs"][k]["finished"] for k in finished} == before  # not rerun
    pd.testing.assert_frame_equal(whole_area(pd.read_parquet(out / "kpis.parquet")), sequential)


def test_auto_replications_follow_the_precision_rule(tiny_pair, tmp_path: Path) -> None:
    outcome = run_batch(
        tiny_pair[:1], tmp_path / "auto", BatchOptions(replications=None, seed=5, precision=0.05)
    )
    reps = outcome.manifest["replications"]
    assert reps["mode"] == "auto" and reps["used"] >= 3 + 5
    assert "Hoad" in reps["reason"]
    assert outcome.summary["n"].max() == reps["used"]
    # Replaying the rule one replication at a time stops at the same count.
    kpis = whole_area(pd.read_parquet(tmp_path / "auto" / "kpis.parquet"))
    rule, n = ReplicationRule(precision=0.05), 3
    while rule.next_count(relative_precision(kpis, n)) is not None:
        n += 1
    assert n == reps["used"]


def test_existing_results_folder_is_never_overwritten(tiny_pair, tmp_path: Path) -> None:
    out = tmp_path / "once"
    run_batch(tiny_pair[:1], out, BatchOptions(replications=1, seed=5))
    result = CliRunner().invoke(app, ["run", "--out", str(out), "--replications", "1", "--quiet"])
    assert result.exit_code == 2 and "--resume" in result.output


def test_resume_refuses_an_edited_config(tiny_pair, tmp_path: Path) -> None:
    out = tmp_path / "edited"
    run_batch(tiny_pair[:1], out, BatchOptions(replications=1, seed=5))
    folder = ResultsFolder(out)
    path = folder.scenario_path("do-nothing")
    path.write_text(path.read_text().replace("beds = ", "beds = 1", 1))
    result = CliRunner().invoke(app, ["run", "--resume", str(out), "--quiet"])
    assert result.exit_code == 2 and "sha256" in result.output
