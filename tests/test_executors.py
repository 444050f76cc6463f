"""Every study runs its replications through the executors: the same results on every backend."""

from __future__ import annotations

import os
import signal

import pandas as pd
import pytest

from sim.calibration import simulate_baseline
from sim.config import ModelConfig
from sim.executors import Task, batch_size, run_unordered
from sim.warmup import analyse_warmup
from tests.conftest import scaled

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not


@pytest.fixture(scope="module")
def tiny(do_nothing: ModelConfig) -> ModelConfig:
    return scaled(do_nothing, 0.05, run__warmup_days=20)


def test_calibration_and_warm_up_give_the_same_on_dask_as_in_process(tiny: ModelConfig) -> None:
    here = simulate_baseline(tiny, 3, seed=5, jobs=1, backend="sequential")
    dask = simulate_baseline(tiny, 3, seed=5, jobs=2, backend="dask")
    pd.testing.assert_frame_equal(here, dask)
    warm_here = analyse_warmup([tiny], days=40, replications=2, seed=5, backend="sequential")
    warm_dask = analyse_warmup([tiny], days=40, replications=2, seed=5, backend="dask", jobs=2)
    pd.testing.assert_frame_equal(warm_here.daily, warm_dask.daily)
    assert warm_here.suggested_days == warm_dask.suggested_days


def test_short_tasks_go_to_dask_in_batches_that_keep_every_worker_busy() -> None:
    assert batch_size(5.0, 100, 4) == 1  # long enough alone
    assert batch_size(0.5, 100, 4) == 4  # 2 s of work a batch
    assert batch_size(0.01, 100, 4) == 12  # capped: still two batches per worker
    assert batch_size(0.01, 8, 4) == 1  # too few left to batch
    assert batch_size(0.0, 1000, 2) == 250


def test_a_lost_dask_worker_s_tasks_run_again_with_the_same_results(tiny: ModelConfig) -> None:
    from dask.distributed import Client, LocalCluster

    config = scaled(tiny, 2.0, run__years=2)  # tasks long enough to be killed mid-run
    tasks = [Task(config, r, 11) for r in range(8)]
    expected = {r.replication: r.rows for r in run_unordered(tasks, "sequential")}
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    killed: list[str] = []
    try:
        pids = client.run(os.getpid)
        got = {}
        for result in run_unordered(tasks, "dask", 2, scheduler=cluster.scheduler_address):
            got[result.replication] = result.rows
            if not killed:
                busy = [w for w, keys in client.processing().items() if keys]
                assert busy, "no worker was running a task: the kill would prove nothing"
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
    finally:
        client.close()
        cluster.close()
    assert killed and sorted(got) == list(range(8))
    for replication, rows in expected.items():
        pd.testing.assert_frame_equal(got[replication], rows)
