"""Calibration: recovers known multipliers from targets the model itself produced, and the
shipped fits reproduce their areas' baselines."""

from __future__ import annotations

import pytest

from sim.baseline_file import load_baseline
from sim.calibration import (
    KNOBS,
    fit,
    fit_status,
    parameter_changes,
    simulate_baseline,
)
from sim.config import ModelConfig
from sim.loading import area_dir, default_scenario_paths, resolve, with_overrides
from tests.conftest import scaled

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not

TRUE_K = {
    "background_rate": 1.15,
    "ltc_rate": 0.9,
    "admit": 1.1,
    "ucc_share": 1.2,
    "ambulance_share": 0.85,
    "convey": 0.95,
    "los": 1.1,
    "beds": 1.1,
    "other_route": 0.8,
}


def test_parameter_changes_keep_shares_summing_to_one(do_nothing: ModelConfig) -> None:
    changed = with_overrides(do_nothing, parameter_changes(do_nothing, TRUE_K | {"ucc_share": 3.0}))
    for table in (changed.first_contact.preference, changed.first_contact.when_gp_unavailable):
        for shares in table.values():
            assert sum(shares.as_tuple()) == pytest.approx(1.0)
            assert min(shares.as_tuple()) >= 0


def test_round_trip_recovers_known_multipliers(do_nothing: ModelConfig) -> None:
    base = scaled(do_nothing, 0.1, run__years=1, run__warmup_days=40)
    truth = with_overrides(base, parameter_changes(base, TRUE_K))
    simulated = simulate_baseline(truth, 2, 5).mean(numeric_only=True)
    targets = {knob.metric: float(simulated[knob.metric]) for knob in KNOBS}
    result = fit(base, targets, replications=2, seed=5, tolerance=0.02, max_iterations=15)
    # The composite's share of admissions moves only ~0.2% per 1% of LTC episode rate
    # (the admission multiplier takes up the rest), so that multiplier is weakly identified
    # within the 2% tolerance: checked more loosely (fit_identifiability.csv reports it).
    # Conveyances: crews see and treat only patients who do not need admission, so the
    # conveyance multiplier acts on part of the incidents and is identified to about 7%.
    # The other-route share moves the conversion rate about 0.3% per 1% (only the
    # admissions needing a bed that would have come through A&E move), so within the
    # 2% tolerance it is identified to about 10% (fit_identifiability.csv: Dudley 13%).
    loose = {"ltc_rate": 0.15, "convey": 0.08, "other_route": 0.12}
    for name, value in TRUE_K.items():
        assert result.k[name] == pytest.approx(value, rel=loose.get(name, 0.06)), name
    assert max(abs(e) for e in result.history[-1].relative_errors.values()) < 0.03


def test_figures_stated_for_another_year_are_rolled_at_the_model_growth(
    do_nothing: ModelConfig,
) -> None:
    baseline = load_baseline(area_dir("dudley") / "baseline.toml")
    figures = {(f.metric, f.year): f for f in baseline.fitted + baseline.held_out}
    trend = do_nothing.demand.rate_trend_per_year
    composite = figures[("composite_emergency_admissions_per_100k", "2013/14")]
    assert composite.basis == "local"
    assert composite.rolled(do_nothing) == pytest.approx(2448 * (1 + trend))  # a rate: trend only
    share = figures[("acs_share_of_admissions", "2009/10")]
    assert share.basis == "national"
    assert share.rolled(do_nothing) == share.value  # a share is not rolled
    admissions = figures[("emergency_admissions_per_100k", "2012/13")]
    assert admissions.rolled(do_nothing) == pytest.approx(10_000 * (1 + trend) ** 2)


def test_shipped_baselines_are_valid() -> None:
    for area in ("dudley", "bury"):
        baseline = load_baseline(area_dir(area) / "baseline.toml")
        assert {f.metric for f in baseline.fitted} == {k.metric for k in KNOBS}
        assert all(f.source and f.unit for f in baseline.fitted + baseline.held_out)


@pytest.mark.parametrize("area", ["dudley", "bury"])
def test_shipped_fit_reproduces_the_baseline(area: str) -> None:
    """The committed fitted.toml, run on a seed the fit never saw, stays within 5%."""
    folder = area_dir(area)
    assert (folder / "fitted.toml").exists(), f"{area} is not calibrated"
    config = resolve(default_scenario_paths()[0], area=area).config
    baseline = load_baseline(folder / "baseline.toml")
    simulated = simulate_baseline(config, replications=2, seed=97).mean(numeric_only=True)
    for figure in baseline.fitted:
        error = simulated[figure.metric] / figure.rolled(config) - 1
        assert abs(error) <= 0.05, f"{area} {figure.metric}: {error:+.1%}"
    assert all(figure.metric in simulated.index for figure in baseline.held_out)
    assert fit_status(folder).startswith(f"{len(baseline.fitted)} figures fitted")


def test_same_seed_reproduces_the_fit(do_nothing: ModelConfig) -> None:
    """Same seed, same multipliers and errors, whether replications run on 1 or 2 workers."""
    base = scaled(do_nothing, 0.05, run__years=1, run__warmup_days=20)
    simulated = simulate_baseline(base, 1, 3).mean(numeric_only=True)
    targets = {knob.metric: 1.1 * float(simulated[knob.metric]) for knob in KNOBS}
    first = fit(base, targets, replications=2, seed=3, max_iterations=2, jobs=2)
    second = fit(base, targets, replications=2, seed=3, max_iterations=2, jobs=1)
    assert first.k == second.k
    assert [h.relative_errors for h in first.history] == [h.relative_errors for h in second.history]


def test_a_refit_that_only_changes_the_date_leaves_the_file_alone(tmp_path) -> None:
    from sim.calibration import _write_if_changed

    path = tmp_path / "fitted.toml"
    assert _write_if_changed(path, 'source = "fitted by ucsim calibrate on 2026-11-27"\nk = 1\n')
    before = path.read_text()
    assert not _write_if_changed(
        path, 'source = "fitted by ucsim calibrate on 2026-12-01"\nk = 1\n'
    )
    assert path.read_text() == before  # the committed file keeps its own date
    assert _write_if_changed(path, 'source = "fitted by ucsim calibrate on 2026-12-01"\nk = 2\n')
    assert "k = 2" in path.read_text()
