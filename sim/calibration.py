"""Calibration: fit an area's baseline year to its published (or derived) activity.

A documented fixed-point scheme. Each free parameter group is scaled by a
multiplier ``k`` tied to one target metric that it drives most directly;
every iteration simulates the baseline year on the same random numbers
(common random numbers, so the fit does not chase noise) and updates each
multiplier by ``k <- k * (target / simulated) ** 0.6``. The groups interact
(more LTC episodes also mean more A&E attendances; the 999 share moves
conveyances too), so full steps overshoot; the damped step converges.
Held-out figures are reported, not fitted; refitting from another starting
point shows whether the multipliers are identifiable.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from sim.baseline_file import DERIVED_METRICS, Baseline, growth_factor
from sim.config import ACUITIES, ModelConfig
from sim.executors import Backend, Task, run_unordered
from sim.loading import with_overrides
from sim.metrics import metric
from sim.replication import run_replication
from sim.store import write_text
from sim.summary import t_interval

MIN_SHARE = 0.01
TOLERANCE = 0.02  # every fitted figure within 2%: converged
MAX_ITERATIONS = 30
K_BOUNDS = (0.2, 5.0)
DAMPING = 0.6  # k <- k * (target / simulated) ** DAMPING: groups interact, full steps overshoot


def _scaled(table: Any, k: float, cap: float | None = None) -> dict[str, float]:
    values = {name: float(v) * k for name, v in table.model_dump().items()}
    return {n: min(v, cap) for n, v in values.items()} if cap is not None else values


def _shifted_shares(table: Any, k_ucc: float, k_ambulance: float) -> dict[str, float]:
    """Scale the UCC and ambulance shares; A&E walk-in absorbs the difference (sum stays 1)."""
    shares = {n: float(v) for n, v in table.model_dump().items()}
    ucc = shares["ucc"] * k_ucc
    ambulance = shares["ambulance"] * k_ambulance
    ae = shares["ae"] + (shares["ucc"] - ucc) + (shares["ambulance"] - ambulance)
    if ae < MIN_SHARE:  # keep a little walk-in A&E: take the shortfall pro rata
        excess = MIN_SHARE - ae
        total = ucc + ambulance
        ucc -= excess * ucc / total
        ambulance -= excess * ambulance / total
        ae = MIN_SHARE
    shares.update(ucc=ucc, ambulance=ambulance, ae=ae)
    return shares


@dataclass(frozen=True)
class Knob:
    """A multiplier on a parameter group, paired with the metric it drives."""

    name: str
    metric: str
    description: str
    # Steer by the metric's ratio to another fitted metric: the composite's share of
    # admissions moves with the LTC episode rate but hardly with the admission knob, so
    # steering by the share stops the two knobs chasing each other.
    relative_to: str | None = None
    # The metric falls as the knob rises (more beds, lower occupancy).
    inverse: bool = False

    def step(self, targets: Mapping[str, float], means: pd.Series) -> float:
        """The factor this knob is moved by (before damping): ``target / simulated``, or its
        inverse for a knob whose metric falls as it rises."""
        ratio = targets[self.metric] / float(means[self.metric])
        if self.relative_to is not None and self.relative_to in targets:
            ratio /= targets[self.relative_to] / float(means[self.relative_to])
        return 1.0 / ratio if self.inverse else ratio


KNOBS: tuple[Knob, ...] = (
    Knob("background_rate", "ae_attendances", "demand.background_episode_rate (all age bands)"),
    Knob(
        "ltc_rate",
        "composite_emergency_admissions_per_100k",
        "demand.ltc_episode_rate (all age bands)",
        relative_to="emergency_admissions_per_100k",
    ),
    Knob("admit", "emergency_admissions_per_100k", "services.ae.admit_probability (all acuities)"),
    Knob("ucc_share", "ucc_attendances", "first-contact UCC shares (A&E walk-in absorbs)"),
    Knob(
        "ambulance_share", "ambulance_incidents", "first-contact 999 shares (A&E walk-in absorbs)"
    ),
    Knob("convey", "ambulance_conveyances", "1 - services.ambulance.see_and_treat"),
    Knob("los", "mean_length_of_stay", "services.wards.los_days_mean (all age bands)"),
    Knob("beds", "bed_occupancy", "services.wards.beds (core beds)", inverse=True),
    # Attendances and all admissions are fitted, so the conversion rate fixes the share
    # of admissions that do not come through A&E; the GP route's share follows from the
    # GP's own parameters, so the other routes take up the rest.
    Knob(
        "other_route",
        "ae_conversion_rate",
        "services.wards.other_route_share (admissions by routes outside the front doors)",
        inverse=True,
    ),
)
OTHER_ROUTE_SHARE_MAX = 0.6  # of episodes needing admission: the fit may not go beyond


def parameter_changes(base: ModelConfig, k: Mapping[str, float]) -> dict[str, Any]:
    """The dotted-path values that multipliers ``k`` imply, from the unfitted ``base``."""
    changes: dict[str, Any] = {
        "demand.background_episode_rate": _scaled(
            base.demand.background_episode_rate, k["background_rate"]
        ),
        "demand.ltc_episode_rate": _scaled(base.demand.ltc_episode_rate, k["ltc_rate"]),
        "services.ae.admit_probability": _scaled(
            base.services.ae.admit_probability, k["admit"], cap=1.0
        ),
        "services.wards.los_days_mean": _scaled(base.services.wards.los_days_mean, k["los"]),
        "services.ambulance.see_and_treat": {
            a: float(
                min(
                    1.0,
                    max(
                        0.0,
                        1 - (1 - getattr(base.services.ambulance.see_and_treat, a)) * k["convey"],
                    ),
                )
            )
            for a in ACUITIES
        },
    }
    changes["services.wards.beds"] = max(1, round(base.services.wards.beds * k["beds"]))
    changes["services.wards.other_route_share"] = min(
        OTHER_ROUTE_SHARE_MAX, base.services.wards.other_route_share * k["other_route"]
    )
    for table in ("preference", "when_gp_unavailable"):
        for acuity in ACUITIES:
            shares = getattr(base.first_contact, table)[acuity]
            shifted = _shifted_shares(shares, k["ucc_share"], k["ambulance_share"])
            changes[f"first_contact.{table}.{acuity}"] = shifted
    return changes


@dataclass
class FitIteration:
    iteration: int
    k: dict[str, float]
    relative_errors: dict[str, float]


@dataclass
class Fit:
    k: dict[str, float]
    config: ModelConfig
    changes: dict[str, Any]
    history: list[FitIteration] = field(default_factory=list)
    converged: bool = False


def simulate_baseline(
    config: ModelConfig,
    replications: int,
    seed: int,
    jobs: int = 1,
    backend: Backend = "loky",
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Baseline-year metrics, one row per replication (common random numbers: same seeds),
    run through the executors like every other study."""
    one_year = with_overrides(config, {"run.years": 1})
    tasks = [Task(one_year, r, seed, measure=baseline_row) for r in range(replications)]
    done = sorted(run_unordered(tasks, backend, jobs, scheduler), key=lambda t: t.replication)
    frame = pd.concat([t.rows for t in done], ignore_index=True)
    for name, derive in DERIVED_METRICS.items():
        frame[name] = frame.apply(derive, axis=1)
    return frame


def baseline_row(config: ModelConfig, replication: int, seed: int) -> pd.DataFrame:
    """The baseline year's metrics of one replication (a one-row frame)."""
    return run_replication(config, replication, seed).annual.iloc[[0]]


def fit(
    base: ModelConfig,
    targets: Mapping[str, float],
    replications: int = 3,
    seed: int = 1,
    jobs: int = 1,
    start: Mapping[str, float] | None = None,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
    on_iteration: Callable[[FitIteration], None] | None = None,
    backend: Backend = "loky",
    scheduler: str | None = None,
) -> Fit:
    """Iterate the multipliers until every fitted metric is within ``tolerance``.

    ``on_iteration`` sees each iteration as it ends (the CLI prints progress with it).
    """
    knobs = [knob for knob in KNOBS if knob.metric in targets]
    k = {knob.name: 1.0 for knob in KNOBS} | dict(start or {})
    history: list[FitIteration] = []
    converged = False
    for iteration in range(max_iterations):
        changes = parameter_changes(base, k)
        config = with_overrides(base, changes)
        baseline = simulate_baseline(config, replications, seed, jobs, backend, scheduler)
        means = baseline.mean(numeric_only=True)
        errors = {kn.metric: float(means[kn.metric] / targets[kn.metric] - 1) for kn in knobs}
        history.append(FitIteration(iteration, dict(k), errors))
        if on_iteration is not None:
            on_iteration(history[-1])
        if max(abs(e) for e in errors.values()) <= tolerance:
            converged = True
            break
        for knob in knobs:
            ratio = knob.step(targets, means)
            k[knob.name] = float(np.clip(k[knob.name] * ratio**DAMPING, *K_BOUNDS))
    changes = parameter_changes(base, k)
    return Fit(k, with_overrides(base, changes), changes, history, converged)


FIT_REPORT_COLUMNS = [
    "metric",
    "basis",
    "stated_year",
    "stated_value",
    "target",
    "simulated_mean",
    "ci_low",
    "ci_high",
    "relative_error",
    "model_in_stated_year",
    "fitted",
    "source",
    "confidence",
]


def fit_targets(baseline: Baseline, config: ModelConfig) -> dict[str, float]:
    """The fitted figures, each rolled to the baseline year."""
    return {figure.metric: figure.rolled(config) for figure in baseline.fitted}


def fit_report(
    fitted: ModelConfig,
    baseline: Baseline,
    replications: int,
    seed: int,
    jobs: int = 1,
    backend: Backend = "loky",
    scheduler: str | None = None,
) -> pd.DataFrame:
    """One row per figure: the stated value and year, the value rolled to the baseline year
    (``target``), the model's mean and interval there, and the model back-cast to the
    year the figure was stated for (``model_in_stated_year``)."""
    frame = simulate_baseline(fitted, replications, seed, jobs, backend, scheduler)
    baseline_year = fitted.area.baseline_year
    rows = []
    for figures, is_fitted in ((baseline.fitted, True), (baseline.held_out, False)):
        for figure in figures:
            mean, _, low, high = t_interval(frame[figure.metric].to_numpy(dtype=float))
            target = figure.rolled(fitted)
            back = growth_factor(figure.metric, figure.years_to(baseline_year), fitted)
            rows.append(
                (
                    figure.metric,
                    figure.basis,
                    figure.year or baseline_year,
                    figure.value,
                    target,
                    mean,
                    low,
                    high,
                    mean / target - 1,
                    mean / back,
                    is_fitted,
                    figure.source,
                    figure.confidence,
                )
            )
    return pd.DataFrame(rows, columns=FIT_REPORT_COLUMNS)


def fitted_toml(result: Fit, area: str) -> str:
    """The fitted parameter values, each annotated with how it was fitted."""
    when = dt.date.today().isoformat()
    by_path = {
        "demand.background_episode_rate": "background_rate",
        "demand.ltc_episode_rate": "ltc_rate",
        "services.ae.admit_probability": "admit",
        "services.wards.los_days_mean": "los",
        "services.ambulance.see_and_treat": "convey",
        "services.wards.beds": "beds",
        "services.wards.other_route_share": "other_route",
    }
    tree: dict[str, Any] = {}
    for path, value in result.changes.items():
        knob_name = by_path.get(path, "ucc_share and ambulance_share")
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        multipliers = ", ".join(f"{n}={result.k[n]:.4f}" for n in knob_name.split(" and "))
        node[leaf] = {
            "value": value,
            "unit": "as in area.toml",
            "source": f"fitted by ucsim calibrate on {when} ({multipliers} on the area.toml value) "
            "to calibration/" + area + "/baseline.toml",
            "confidence": "E",
        }
    header = (
        f"# Fitted by `ucsim calibrate --area {area}` on {when}; layered over area.toml.\n"
        f"# Converged: {result.converged} after {len(result.history)} iterations.\n"
        "# Do not edit by hand: rerun the calibration, or delete this file to return to the\n"
        "# unfitted estimates.\n"
    )
    return header + tomli_w.dumps(tree)


def identifiability(
    base: ModelConfig,
    targets: Mapping[str, float],
    reference: Fit,
    replications: int,
    seed: int,
    jobs: int,
    start_multiplier: float = 0.7,
    on_iteration: Callable[[FitIteration], None] | None = None,
    backend: Backend = "loky",
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Refit from every multiplier at ``start_multiplier``; compare with the reference fit."""
    other = fit(
        base,
        targets,
        replications,
        seed,
        jobs,
        start={n.name: start_multiplier for n in KNOBS},
        on_iteration=on_iteration,
        backend=backend,
        scheduler=scheduler,
    )
    rows = [
        (name, reference.k[name], other.k[name], other.k[name] / reference.k[name] - 1)
        for name in reference.k
        if any(kn.name == name and kn.metric in targets for kn in KNOBS)
    ]
    return pd.DataFrame(
        rows,
        columns=["multiplier", "fit_from_1", f"fit_from_{start_multiplier}", "relative_difference"],
    )


def fit_label(name: str) -> str:
    """A board-readable name for a baseline metric (the CSV keeps the metric name)."""
    return metric(name).label


def fit_status(folder: Path) -> str:
    """One line for ``ucsim areas``: whether the area is calibrated, and how closely."""
    report_path = folder / "fit_report.csv"
    if not (folder / "fitted.toml").exists() or not report_path.exists():
        return "not calibrated"
    report = pd.read_csv(report_path)
    fitted = report[report["fitted"]]
    worst = float(fitted["relative_error"].abs().max())
    return f"{len(fitted)} figures fitted, worst error {worst:.1%}"


# A run date in a written file: two fits that differ only in it are the same fit.
RUN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless the file already says the same apart from run dates."""
    if path.exists() and RUN_DATE.sub("", path.read_text(encoding="utf-8")) == RUN_DATE.sub(
        "", text
    ):
        return False
    write_text(path, text)
    return True


def write_outputs(
    folder: Path, result: Fit, report: pd.DataFrame, ident: pd.DataFrame | None, area: str
) -> list[Path]:
    """Write the fit's files, leaving any whose content is unchanged (tracked files stay
    clean when a refit reproduces the committed one); returns the files written."""
    history = pd.DataFrame(
        [
            {
                "iteration": h.iteration,
                **{f"k_{n}": v for n, v in h.k.items()},
                **{f"error_{m}": e for m, e in h.relative_errors.items()},
            }
            for h in result.history
        ]
    )
    outputs = {
        "fitted.toml": fitted_toml(result, area),
        "fit_report.csv": report.to_csv(index=False),
        "fit_history.csv": history.to_csv(index=False),
    }
    if ident is not None:
        outputs["fit_identifiability.csv"] = ident.to_csv(index=False)
    return [
        folder / name for name, text in outputs.items() if _write_if_changed(folder / name, text)
    ]


__all__: Sequence[str] = (
    "KNOBS",
    "Fit",
    "FitIteration",
    "fit",
    "fit_label",
    "fit_report",
    "fit_status",
    "fit_targets",
    "identifiability",
    "parameter_changes",
    "write_outputs",
)
