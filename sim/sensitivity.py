"""Which assumptions drive the answer: one-way (tornado) analysis and Morris screening.

Every variant runs in one batch on common random numbers, so the effect of a
parameter is estimated replication by replication against the base. Outputs
are measured in the final simulated year: emergency admissions, and the
income at risk of the area's first provider (do-nothing income minus
scenario income, where do-nothing runs with the same parameter value unless
the parameter is an intervention lever, which do-nothing does not use).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.batch import (
    PROVIDERS_FILE,
    TARIFFS_FILE,
    BatchOptions,
    EstimateCallback,
    Progress,
    run_batch,
)
from sim.config import ModelConfig
from sim.errors import InputError
from sim.finance import simulated_income
from sim.loading import OPTION, parse_override, with_overrides
from sim.store import write_csv
from sim.tariffs import load_finance_inputs

OUTPUTS = ("emergency_admissions", "income_at_risk")

# The documented default set: (path, low multiplier, high multiplier, upper cap or None)
# applied around the scenario's own value; the cap keeps probabilities within [0, 1].
DEFAULT_PARAMETERS: tuple[tuple[str, float, float, float | None], ...] = (
    ("demand.rate_trend_per_year", 0.0, 2.0, None),
    ("population.growth_per_year", 0.0, 2.0, None),
    ("interventions.case_management.episode_rate_multiplier", 0.9, 1.06, 1.0),
    ("interventions.case_management.top_percent", 0.5, 2.0, 100.0),
    ("interventions.ambulance_pathfinder.referral_share", 0.0, 2.0, 1.0),
    ("interventions.front_door_streaming.streamed_share_low", 0.5, 1.5, 1.0),
    ("interventions.enhanced_discharge.los_multiplier", 0.95, 1.05, None),
    ("services.rapid_response.managed_at_home.medium", 0.8, 1.2, 1.0),
    ("services.ae.admit_probability.medium", 0.8, 1.2, 1.0),
    ("services.ae.admit_multiplier_65_plus", 0.8, 1.2, None),
    ("services.gp.sameday_slots_per_1000_per_day", 0.8, 1.2, None),
    ("services.wards.beds", 0.9, 1.1, None),
)


@dataclass(frozen=True)
class ParameterRange:
    path: str
    low: float
    high: float


def _base_value(config: ModelConfig, path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part, None)
        if node is None:
            raise InputError.single(OPTION, "--param", path, "no such parameter")
    return node


def _typed(base: Any, value: float) -> Any:
    if isinstance(base, bool):
        raise ValueError("switches are not varied")
    return round(value) if isinstance(base, int) else float(value)


def default_ranges(config: ModelConfig) -> list[ParameterRange]:
    """The default set as absolute ranges around ``config``'s own values."""
    ranges = []
    for path, low, high, cap in DEFAULT_PARAMETERS:
        base = float(_base_value(config, path))
        lo, hi = (base * low, base * high) if base else (0.0, 0.1)
        if cap is not None:
            lo, hi = min(lo, cap), min(hi, cap)
        ranges.append(ParameterRange(path, lo, hi))
    return ranges


def parse_range(text: str) -> ParameterRange:
    path, raw = parse_override(text)
    try:
        low, high = (float(x) for x in str(raw).split(":"))
    except ValueError:
        raise InputError.single(OPTION, "--param", text, "expected path=low:high") from None
    if high <= low:
        raise InputError.single(OPTION, "--param", text, "high must exceed low")
    return ParameterRange(path, low, high)


def _final_year_outputs(
    kpis: pd.DataFrame, pairs: dict[str, str], providers: Path, tariffs: Path
) -> pd.DataFrame:
    """Per (scenario, replication): admissions and the first provider's income at risk."""
    last = kpis["year"].max()
    final = kpis[kpis["year"] == last]
    admissions = final[final["metric"] == "emergency_admissions"].set_index(
        ["scenario", "replication"]
    )["value"]
    inputs = load_finance_inputs(providers, tariffs)
    # The whole run is priced (the marginal-rate threshold comes from its first year).
    income = simulated_income(kpis, inputs)
    income = income[income["year"] == last]
    first = inputs.book.provider[0].id
    total = income[(income["provider"] == first) & (income["line"] == "total_simulated")]
    total = total.set_index(["scenario", "replication"])["income"]
    rows = []
    for scenario, reference in pairs.items():
        for rep in sorted(final["replication"].unique()):
            rows.append(
                (
                    scenario,
                    rep,
                    float(admissions[(scenario, rep)]),
                    float(total[(reference, rep)] - total[(scenario, rep)]),
                )
            )
    return pd.DataFrame(rows, columns=["scenario", "replication", *OUTPUTS])


def _variants(
    scenario: ModelConfig, reference: ModelConfig, settings: Sequence[dict[str, Any]], tag: str
) -> tuple[list[ModelConfig], dict[str, str]]:
    """A scenario variant per setting, and a do-nothing variant where the setting affects it."""
    configs: list[ModelConfig] = []
    pairs: dict[str, str] = {}
    for index, values in enumerate(settings):
        name = f"{scenario.scenario.name}--{tag}{index:03d}"
        variant = with_overrides(scenario, values, origin="--param").renamed(name)
        configs.append(variant)
        if all(path.startswith("interventions.") for path in values):
            pairs[name] = reference.scenario.name
        else:
            ref_name = f"{reference.scenario.name}--{tag}{index:03d}"
            configs.append(with_overrides(reference, values, origin="--param").renamed(ref_name))
            pairs[name] = ref_name
    return configs, pairs


@dataclass(frozen=True)
class Tornado:
    table: pd.DataFrame  # output, parameter, low, high, at_low, at_high, base, swing, rank
    seconds: float


def one_way(
    scenario: ModelConfig,
    reference: ModelConfig,
    ranges: Sequence[ParameterRange],
    out: Path,
    options: BatchOptions,
    on_progress: Progress | None = None,
    on_estimate: EstimateCallback | None = None,
) -> Tornado:
    settings: list[dict[str, Any]] = []
    for r in ranges:
        base = _base_value(scenario, r.path)
        settings += [{r.path: _typed(base, r.low)}, {r.path: _typed(base, r.high)}]
    configs, pairs = _variants(scenario, reference, settings, "ow")
    all_configs = [reference, scenario, *configs]
    pairs[scenario.scenario.name] = reference.scenario.name
    outcome = run_batch(all_configs, out, options, on_progress, on_estimate)
    results = _final_year_outputs(outcome.kpis, pairs, out / PROVIDERS_FILE, out / TARIFFS_FILE)
    by = results.set_index(["scenario", "replication"])
    base_name = scenario.scenario.name
    rows = []
    for k, r in enumerate(ranges):
        low_name = f"{base_name}--ow{2 * k:03d}"
        high_name = f"{base_name}--ow{2 * k + 1:03d}"
        for output in OUTPUTS:
            base_values = by.loc[base_name, output]
            at_low = float((by.loc[low_name, output] - base_values).mean())
            at_high = float((by.loc[high_name, output] - base_values).mean())
            rows.append(
                (
                    output,
                    r.path,
                    r.low,
                    r.high,
                    at_low,
                    at_high,
                    float(base_values.mean()),
                    abs(at_high - at_low),
                )
            )
    table = pd.DataFrame(
        rows,
        columns=[
            "output",
            "parameter",
            "low",
            "high",
            "effect_at_low",
            "effect_at_high",
            "base",
            "swing",
        ],
    )
    table["rank"] = (
        table.groupby("output")["swing"].rank(ascending=False, method="first").astype(int)
    )
    table = table.sort_values(["output", "rank"]).reset_index(drop=True)
    write_csv(out / "tornado.csv", table)
    return Tornado(table, float(outcome.manifest.get("wall_seconds", 0.0)))


def morris(
    scenario: ModelConfig,
    reference: ModelConfig,
    ranges: Sequence[ParameterRange],
    out: Path,
    options: BatchOptions,
    trajectories: int = 6,
    seed: int = 1,
    on_progress: Progress | None = None,
    on_estimate: EstimateCallback | None = None,
) -> pd.DataFrame:
    """Morris elementary effects (SALib): mu*, mu and sigma for each output."""
    from SALib.analyze import morris as analyse
    from SALib.sample import morris as sample

    problem = {
        "num_vars": len(ranges),
        "names": [r.path for r in ranges],
        "bounds": [[r.low, r.high] for r in ranges],
    }
    points = sample.sample(problem, trajectories, num_levels=4, seed=seed)
    settings = [
        {r.path: _typed(_base_value(scenario, r.path), x) for r, x in zip(ranges, row, strict=True)}
        for row in points
    ]
    configs, pairs = _variants(scenario, reference, settings, "mo")
    outcome = run_batch([reference, *configs], out, options, on_progress, on_estimate)
    results = _final_year_outputs(outcome.kpis, pairs, out / PROVIDERS_FILE, out / TARIFFS_FILE)
    means = results.groupby("scenario")[list(OUTPUTS)].mean()
    names = [c.scenario.name for c in configs if c.scenario.name in pairs]
    rows = []
    for output in OUTPUTS:
        y = means.loc[names, output].to_numpy(dtype=float)
        analysis = analyse.analyze(problem, points, y, num_levels=4, seed=seed)
        for i, r in enumerate(ranges):
            rows.append(
                (
                    output,
                    r.path,
                    float(analysis["mu_star"][i]),
                    float(analysis["mu"][i]),
                    float(analysis["sigma"][i]),
                )
            )
    table = pd.DataFrame(rows, columns=["output", "parameter", "mu_star", "mu", "sigma"])
    table["rank"] = (
        table.groupby("output")["mu_star"].rank(ascending=False, method="first").astype(int)
    )
    table = table.sort_values(["output", "rank"]).reset_index(drop=True)
    write_csv(out / "morris.csv", table)
    return table


def plot_tornado(table: pd.DataFrame, path: Path, title: str, top: int = 10) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outputs = list(dict.fromkeys(table["output"]))
    fig, axes = plt.subplots(1, len(outputs), figsize=(11.7, 0.45 * top + 1.8))
    for ax, output in zip(np.atleast_1d(axes), outputs, strict=True):
        rows = table[table["output"] == output].head(top).iloc[::-1]
        y = np.arange(len(rows))
        ax.barh(y, rows["effect_at_low"], color="#0072B2", label="parameter at low")
        ax.barh(y, rows["effect_at_high"], color="#E69F00", label="parameter at high")
        ax.set_yticks(
            y,
            [p.replace("interventions.", "").replace("services.", "") for p in rows["parameter"]],
            fontsize=7,
        )
        ax.axvline(0, color="black", linewidth=0.8)
        if output == "income_at_risk":
            ax.xaxis.set_major_formatter(
                matplotlib.ticker.FuncFormatter(
                    lambda v, _: f"{'-' if v < 0 else ''}£{abs(v) / 1e6:,.1f}m"
                )
            )
            unit = "£"
        else:
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
            unit = "admissions"
        ax.set_xlabel(f"change in {output.replace('_', ' ')} vs base ({unit})")
        ax.grid(axis="x", alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
