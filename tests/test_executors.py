"""Every study runs its replications through the executors: the same results on every backend."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.calibration import simulate_baseline
from sim.config import ModelConfig
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
