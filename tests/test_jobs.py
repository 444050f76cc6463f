"""The app's job layer: a finished request is served from the store, a cancelled job
stops and leaves nothing half-written, and two jobs at once both finish."""

from __future__ import annotations

import pytest

from sim.jobs import JobManager, JobStore, request_for
from tests.conftest import scaled

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not


@pytest.fixture()
def tiny(do_nothing):
    return scaled(do_nothing, 0.05, run__years=1, run__warmup_days=20)


def test_a_finished_request_is_served_from_the_store(tiny, tmp_path) -> None:
    manager = JobManager(JobStore(tmp_path / "store"))
    request = request_for([tiny], replications=2, seed=5)
    first = manager.submit(request)
    assert manager.wait(first, timeout=120).state == "done" and not first.cached
    again = manager.submit(request)
    assert again.cached and again.state == "done" and again.process is None
    assert again.folder == first.folder and (again.folder / "summary.csv").exists()
    other = manager.submit(request_for([tiny], replications=2, seed=6))
    assert not other.cached and other.key != request.key
    manager.cancel(other)


def test_a_cancelled_job_stops_and_leaves_no_folder(tiny, tmp_path) -> None:
    store = JobStore(tmp_path / "store")
    manager = JobManager(store)
    long = scaled(tiny, 1.0, run__years=3)
    job = manager.submit(request_for([long], replications=20, seed=1))
    assert manager.progress(job).state == "running"
    manager.cancel(job)
    assert job.state == "cancelled" and not job.process.is_alive()
    assert list(store.root.iterdir()) == []  # no staging folder, nothing in the store


def test_two_jobs_at_once_both_finish(tiny, tmp_path) -> None:
    manager = JobManager(JobStore(tmp_path / "store"))
    jobs = [manager.submit(request_for([tiny], replications=2, seed=s)) for s in (1, 2)]
    assert all(manager.progress(j).state == "running" for j in jobs)
    for job in jobs:
        found = manager.wait(job, timeout=180)
        assert found.state == "done" and found.done == found.total == 2


def test_cancelling_a_job_mid_run_stops_its_workers_too(tiny, tmp_path) -> None:
    import time

    store = JobStore(tmp_path / "store")
    manager = JobManager(store, jobs_per_run=2)
    long = scaled(tiny, 1.0, run__years=3)
    job = manager.submit(request_for([long], replications=20, seed=1))
    limit = time.monotonic() + 60
    while manager.progress(job).done < 1 and time.monotonic() < limit:
        time.sleep(0.2)  # workers started and a replication written
    assert manager.progress(job).done >= 1
    group = job.process.pid
    assert _alive_in_group(group) >= 2  # the job's process and its workers
    manager.cancel(job)
    assert _alive_in_group(group) == 0  # (zombies awaiting a reaper are not alive)
    assert list(store.root.iterdir()) == []


def _alive_in_group(group: int) -> int:
    import subprocess

    listing = subprocess.run(["ps", "-eo", "pgid=,stat="], capture_output=True, text=True)
    rows = [line.split() for line in listing.stdout.splitlines() if line.strip()]
    return sum(1 for pgid, stat in rows if int(pgid) == group and not stat.startswith("Z"))


def test_a_goal_search_runs_as_a_job_and_is_served_from_the_store(tmp_path) -> None:
    """The app's "What would it take?" tab: a goal search (Bury, 2 years, one lever, one
    target) as a job, then the same request from the store."""
    from sim.goal import GoalSettings
    from sim.jobs import GoalJobRequest
    from sim.loading import project_root

    scenarios = project_root() / "scenarios"
    settings = GoalSettings(
        fractions=(0.0, 1.0),
        first=2,
        step=2,
        most=4,
        confirm=2,
        levers=("self_management",),
        targets=("composite_per_100k_2015_16",),
    )
    request = GoalJobRequest(
        scenarios / "do-nothing.toml",
        scenarios / "best-case.toml",
        "bury",
        settings,
        ("run.years=2", "run.warmup_days=30"),
    )
    manager = JobManager(JobStore(tmp_path / "store"), jobs_per_run=2)
    job = manager.submit(request)
    found = manager.wait(job, timeout=300)
    assert found.state == "done", job.error
    assert (job.folder / "goal.html").exists() and (job.folder / "frontier.png").exists()
    again = manager.submit(request)
    assert again.cached and again.folder == job.folder


def test_a_new_server_sweeps_only_folders_whose_server_is_gone(tmp_path) -> None:
    import os

    root = tmp_path / "store"
    root.mkdir()
    mine = root / f".running-{os.getpid()}-abc-1"
    gone = root / ".running-999999999-abc-2"
    for folder in (mine, gone):
        folder.mkdir()
    JobStore(root)
    assert mine.exists() and not gone.exists()
