"""The board report: content built once from a results folder, rendered as HTML and Word.

Sections in the order a board reads them: executive summary (sentences
generated from the numbers), targets (RAG), activity trajectories, paired
difference from do nothing, income at risk, capacity and performance,
assumptions beside the published evidence, calibration fit, and a methods
annex following STRESS-DES. Every number comes from the run's own tables.
"""

from __future__ import annotations

import base64
import functools
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from sim import charts
from sim.calibration import fit_label
from sim.costs import INVESTMENT, NET_POSITION, SPEND_AVOIDED
from sim.decomposition import DECOMPOSITION_FILE, INCOME_METRIC
from sim.finance_report import FinanceSection, build_finance_section, sensitivity_with_levers
from sim.formatting import money, pounds
from sim.loading import project_root, read_toml
from sim.metrics import HIGH_RISK_PERCENT, format_value
from sim.metrics import metric as registered
from sim.places_report import TABLE_METRICS, PlacesSection, build_places_section
from sim.plan import DISCREPANCY_COLUMNS, TARGETS, VALUE_AT_RISK
from sim.store import ResultsFolder, by_place, whole_area
from sim.target_file import BECAUSE_OF_PLAN, MET_WITHOUT_PLAN, RAG

KEY_METRICS = ("emergency_admissions", "ae_attendances", "ucc_attendances", "bed_days")
# The charts in the order the report shows them (their numbers follow it).
FIGURE_ORDER = (
    "activity",
    "contributions",
    "places",
    "income",
    "finance_sensitivity",
    "capacity",
)
CAPACITY_METRICS = (
    "ae_4h_performance",
    "ae_mean_time_hours",
    "bed_occupancy",
    "escalation_bed_days",
    "trolley_wait_mean_hours",
    "trolley_waits_over_12h",
    "delayed_discharge_days",
    "rrt_utilisation",
    "rrt_mean_response_hours",
    "ambulance_response_minutes",
)
HOUR_METRICS = ("ae_mean_time_hours", "trolley_wait_mean_hours", "rrt_mean_response_hours")
COUNT_METRICS = ("escalation_bed_days", "trolley_waits_over_12h", "delayed_discharge_days")
OCCUPANCY_FLAG = 0.95  # above this, bed occupancy is flagged: beds cannot flex
EVIDENCE_FILE = project_root() / "calibration" / "evidence.toml"
FIT_REPORT = "fit_report.csv"
NOT_CALIBRATED = (
    "This area has not been calibrated: its rates and capacities are estimates set to "
    "reproduce national activity rates per 1,000 population (docs/model.md, 3.4). "
    "Differences between scenarios are more reliable than absolute levels."
)
LINE_LABELS = {
    "total_simulated": "total of simulated lines",
    "non_elective": "non-elective",
    "ae": "A&E",
    "ucc": "UCC",
    "rapid_response": "rapid response",
    "cquin": "CQUIN",
    "reprocured": "re-procured services",
}
RAG_COLOURS = {"green": "#007F3B", "amber": "#FFB81C", "red": "#DA291C", "n/a": "#768692"}


DO_NOTHING = "do-nothing"


def comparison_name(reference: str) -> str:
    """How the text names the reference: "doing nothing", or the scenario by name."""
    return "doing nothing" if reference == DO_NOTHING else f"the {reference} scenario"


ONE_REPLICATION = "needs 2 or more replications"


def span(low: float, high: float, shown: Callable[[float], str]) -> str:
    """An interval as text, or why there is none (one replication gives no interval)."""
    if pd.isna(low) or pd.isna(high):
        return ONE_REPLICATION
    return f"{shown(low)} to {shown(high)}"


def whole(value: float) -> str:
    return f"{value:,.0f}"


def percent(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%"


def signed_amount(value: float, fewer: str = "fewer", more: str = "more") -> str:
    """A change in words: '1,178 fewer', '646 more', 'no change'."""
    if round(value) == 0:
        return "no change"
    return f"{whole(abs(value))} {fewer if value < 0 else more}"


def signed_range(low: float, high: float, fewer: str = "fewer", more: str = "more") -> str:
    """An interval of changes with each end worded by its own sign.

    '646 to 1,178 fewer' when both ends fall, '1,178 fewer to 646 more' when the
    interval crosses zero (never '646 to 1,178 fewer' for an interval that includes a rise).
    """
    if pd.isna(low) or pd.isna(high):
        return "interval needs 2 or more replications"
    if low < 0 and high < 0:
        return f"{whole(abs(high))} to {whole(abs(low))} {fewer}"
    if low > 0 and high > 0:
        return f"{whole(low)} to {whole(high)} {more}"
    return f"{signed_amount(low, fewer, more)} to {signed_amount(high, fewer, more)}"


@dataclass
class Fact:
    """A number quoted in the executive summary, kept so tests can check it against the tables."""

    scenario: str
    metric: str
    year: str
    source: str  # summary, differences or finance
    value: float


@dataclass
class ReportContent:
    title: str
    area: str
    run_id: str
    created: str  # the run's creation time (ISO 8601)
    tool_version: str
    reference: str
    final_year: str
    first_year: str
    finance_configured: bool
    summary_points: list[str]
    facts: list[Fact]
    targets: list[dict[str, Any]]  # grouped by target: the first row of a group has `span`
    not_modelled: list[dict[str, Any]]  # once per target: what the plan states, and why not
    gap: list[dict[str, Any]]
    differences: list[dict[str, Any]]
    scenarios: list[str]  # the scenarios compared with the reference, in run order
    finance: list[dict[str, Any]]
    plan_comparison: list[dict[str, Any]]
    contributions: list[dict[str, Any]]  # each lever's part (ucsim decompose), if run
    regression: list[dict[str, Any]]  # the high-risk cohort: do nothing's fall, each effect
    contradictions: list[dict[str, Any]]  # targets that ask for different things
    discrepancies: list[dict[str, Any]]  # the value-at-risk table against its inputs
    capacity: list[dict[str, Any]]
    finance_section: FinanceSection
    places: PlacesSection
    assumptions: list[dict[str, Any]]
    calibration: list[dict[str, str]] | None
    calibration_note: str
    methods: list[tuple[str, str]]
    figures: dict[str, Path] = field(default_factory=dict)


def _scenario_configs(folder: ResultsFolder, names: list[str]) -> dict[str, dict[str, Any]]:
    return {name: read_toml(folder.scenario_path(name)) for name in names}


def _lever_value(config: dict[str, Any], lever: str, parameter: str) -> Any:
    block = config.get("interventions", {}).get(lever, {})
    return block.get(parameter) if block.get("enabled") else None


def _assumptions(configs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    evidence = read_toml(EVIDENCE_FILE).get("evidence", []) if EVIDENCE_FILE.exists() else []
    rows = []
    for item in evidence:
        values = {s: _lever_value(c, item["lever"], item["parameter"]) for s, c in configs.items()}
        flags = []
        for scenario, value in values.items():
            if value is None or value == 0:
                continue
            bound = item.get("bound")
            if bound is not None and isinstance(value, (int, float)) and value < bound:
                flags.append(f"{scenario}: {value} claims more than the published effect ({bound})")
            elif bound is None:
                flags.append(f"{scenario}: effect size not established by published evidence")
        rows.append(
            {
                "lever": item["lever"].replace("_", " "),
                "parameter": item["parameter"],
                "values": {s: ("off" if v is None else v) for s, v in values.items()},
                "evidence": item["summary"],
                "flag": "; ".join(flags),
            }
        )
    return rows


def build_content(root: Path) -> ReportContent:
    folder = ResultsFolder(root)
    manifest = folder.read_manifest()
    names = list(manifest["scenarios"])
    reference = manifest["reference_scenario"]
    others = [n for n in names if n != reference]
    summary = whole_area(pd.read_csv(root / "summary.csv"))
    differences = whole_area(pd.read_csv(root / "differences.csv"))
    targets = pd.read_csv(root / "targets.csv")
    finance = (
        pd.read_csv(root / "finance.csv") if (root / "finance.csv").exists() else pd.DataFrame()
    )
    plan = (
        pd.read_csv(root / "plan_comparison.csv")
        if (root / "plan_comparison.csv").exists()
        else pd.DataFrame()
    )
    issues = (
        pd.read_csv(root / "plan_discrepancies.csv")
        if (root / "plan_discrepancies.csv").exists()
        else pd.DataFrame()
    )
    if "kind" not in issues.columns:  # absent, or written before targets were checked
        issues = pd.DataFrame(columns=DISCREPANCY_COLUMNS)
    providers = read_toml(root / "providers.toml") if (root / "providers.toml").exists() else {}
    provider_names = {p["id"]: p["name"] for p in providers.get("provider", [])}
    last_year = int(summary["year"].max())
    final = summary[summary["year"] == last_year]
    final_label = str(final["financial_year"].iloc[0])
    first_label = str(summary.loc[summary["year"] == 0, "financial_year"].iloc[0])
    reps = manifest["replications"]["used"]
    created = manifest["created"][:10]
    run_id = f"{manifest['area_name']} · seed {manifest['seed']} · {reps} replications · {created}"

    points: list[str] = []
    facts: list[Fact] = []

    def value(frame: pd.DataFrame, scenario: str, metric: str, column: str = "mean") -> float:
        row = frame[(frame["scenario"] == scenario) & (frame["metric"] == metric)]
        return float(row[column].iloc[0])

    base0 = summary[(summary["year"] == 0) & (summary["scenario"] == reference)]
    start = value(base0, reference, "emergency_admissions")
    end = value(final, reference, "emergency_admissions")
    facts += [
        Fact(reference, "emergency_admissions", first_label, "summary", start),
        Fact(reference, "emergency_admissions", final_label, "summary", end),
    ]
    compared = comparison_name(reference)
    if reference != DO_NOTHING:
        points.append(
            f"This run has no do-nothing scenario: every comparison below is with "
            f"{reference}, and targets defined against doing nothing are not evaluated."
        )
    if not others:
        points.append(
            f"Only one scenario ran ({reference}): there is nothing to compare it with, so no "
            "differences, targets against a reference or income at risk are reported."
        )
    trend = "rise" if end >= start else "fall"
    points.append(
        f"{compared[0].upper()}{compared[1:]}, emergency admissions {trend} from "
        f"{whole(start)} in {first_label} to {whole(end)} in {final_label} "
        f"({percent(end / start - 1, 1)}), with demographic growth and the per-capita trend "
        "in the scenario files."
    )
    final_diff = differences[differences["year"] == last_year]
    for scenario in others:
        d = final_diff[
            (final_diff["scenario"] == scenario) & (final_diff["metric"] == "emergency_admissions")
        ]
        if d.empty:
            continue
        mean, low, high = (float(d[c].iloc[0]) for c in ("mean_difference", "ci_low", "ci_high"))
        facts.append(Fact(scenario, "emergency_admissions", final_label, "differences", mean))
        points.append(
            f"In {final_label} the {scenario} scenario has {signed_amount(mean)} "
            f"emergency admissions than {compared} ({percent(abs(mean) / end, 1)}; "
            f"95% interval {signed_range(low, high)})."
        )
        mine = targets[(targets["scenario"] == scenario) & targets["status"].isin(RAG)]
        if len(mine):
            own = mine[mine["attribution"] == BECAUSE_OF_PLAN]
            free = mine[mine["attribution"] == MET_WITHOUT_PLAN]
            points.append(
                f"Because of what it changes, it meets {len(own)} of {len(mine)} scored "
                f"target-years with at least 80% probability (green where {compared} is "
                f"not); {len(free)} more are met by {compared} too."
            )
        if not finance.empty:
            rows = finance[
                (finance["scenario"] == scenario)
                & (finance["year"] == last_year)
                & (finance["line"] == "total_simulated")
            ]
            if len(rows):
                top = rows.sort_values("income_at_risk", ascending=False).iloc[0]
                facts.append(
                    Fact(
                        scenario,
                        f"income_at_risk:{top['provider']}",
                        final_label,
                        "finance",
                        float(top["income_at_risk"]),
                    )
                )
                nel = finance[
                    (finance["scenario"] == scenario)
                    & (finance["year"] == last_year)
                    & (finance["provider"] == top["provider"])
                    & (finance["line"] == "non_elective")
                ]
                flat = (
                    plan[
                        (plan["scenario"] == scenario)
                        & (plan["provider"] == top["provider"])
                        & (plan["line"] == "non_elective")
                    ]
                    if len(plan)
                    else plan
                )
                flat_text = ""
                if len(nel) and len(flat):
                    nel_value = float(nel["income_at_risk"].iloc[0])
                    facts.append(
                        Fact(
                            scenario,
                            f"income_at_risk:{top['provider']}:non_elective",
                            final_label,
                            "finance",
                            nel_value,
                        )
                    )
                    flat_text = (
                        f"; of which non-elective {money(nel_value)}, against "
                        f"{money(float(flat['plan_amount'].iloc[0]))} under the plan's flat "
                        "percentage method for that line"
                    )
                provider = provider_names.get(top["provider"], top["provider"])
                points.append(
                    f"Simulated income at risk for {provider} "
                    f"in {final_label}: {money(top['income_at_risk'])} (95% interval "
                    f"{span(top['ci_low'], top['ci_high'], money)}){flat_text}."
                )
                net_point = _net_point(root, scenario, last_year, final_label)
                if net_point:
                    points.append(net_point)
    unscored = targets.drop_duplicates(["target_id", "year"])
    mismatched = unscored[unscored["status"] == "baseline mismatch"]
    if len(mismatched):
        points.append(
            f"{len(mismatched)} target-year(s) get no RAG status because the model's baseline "
            "for their indicator is more than 10% from the stated one (see 'Targets')."
        )
    beyond = unscored[unscored["status"] == "beyond the run"]
    if len(beyond):
        latest = max(str(y) for y in beyond["year"])
        needed = int(latest[:4]) - int(first_label[:4]) + 1
        points.append(
            f"{len(beyond)} target-year(s) fall after the last simulated year ({final_label}) "
            f"and are listed as 'beyond the run', not scored: run with --years {needed} to "
            f"reach {latest}."
        )
    not_modelled = unscored[unscored["status"] == "not modelled"]
    if len(not_modelled):
        points.append(
            f"{len(not_modelled)} target(s) the plan states are not modelled and are listed, "
            "with the reason, under 'Targets'."
        )
    contradicting = issues[issues["kind"] == TARGETS]
    if len(contradicting):
        points.append(
            f"The plan's targets contradict each other in {len(contradicting)} place(s); "
            "the arithmetic is under 'Targets'."
        )
    unreconciled = issues[issues["kind"] == VALUE_AT_RISK]
    if len(unreconciled):
        points.append(
            f"The plan's own value-at-risk table does not reconcile in {len(unreconciled)} "
            "place(s); see 'Income at risk'."
        )

    regression_rows = _regression_rows(summary, differences, reference)
    if regression_rows:
        first = regression_rows[0]
        points.append(
            f"Regression to the mean: the {HIGH_RISK_PERCENT:.0f}% of the LTC cohort with the most "
            f"urgent episodes in {first['from_year']} have {first['reference_change']} episodes "
            f"in {first['to_year']} under {reference}, with no intervention; a before/after "
            "evaluation of case management would credit that fall to it (see section 4)."
        )
    target_rows = _target_rows(targets[targets["status"] != "not modelled"])
    unmodelled_rows = _unmodelled_rows(targets[targets["status"] == "not modelled"])
    gap_rows = _gap_rows(targets, reference)
    diff_rows = [
        {
            "scenario": r["scenario"],
            "metric": registered(r["metric"]).label,
            "difference": f"{r['mean_difference']:+,.0f} ({100 * r['relative_difference']:+.1f}%)",
            "paired": span(r["ci_low"], r["ci_high"], "{:+,.0f}".format),
            "unpaired": span(r["unpaired_ci_low"], r["unpaired_ci_high"], "{:+,.0f}".format),
        }
        for r in final_diff[final_diff["metric"].isin(KEY_METRICS)].to_dict("records")
    ]
    finance_rows = _finance_rows(finance, last_year, others, provider_names)
    plan_rows = _plan_rows(plan, others, provider_names)
    contradiction_rows = [
        {"item": r["item"], "arithmetic": r["arithmetic"], "source": r["source"]}
        for r in contradicting.to_dict("records")
    ]
    issue_rows = [
        {
            "item": r["item"],
            "published": money(r["first_value"]),
            "computed": money(r["second_value"]),
            "difference": money(r["difference"]),
            "arithmetic": r["arithmetic"],
        }
        for r in unreconciled.to_dict("records")
    ]
    capacity_rows = []
    in_order = final[final["metric"].isin(CAPACITY_METRICS)].assign(
        order=lambda f: f["metric"].map(CAPACITY_METRICS.index)
    )
    for r in in_order.sort_values(["order", "scenario"], kind="stable").to_dict("records"):
        shown = _capacity_format(r["metric"])
        flagged = r["metric"] == "bed_occupancy" and r["mean"] > OCCUPANCY_FLAG
        capacity_rows.append(
            {
                "scenario": r["scenario"],
                "metric": registered(r["metric"]).label,
                "mean": shown(r["mean"]),
                # Shares and waits cannot be negative: the interval is truncated at zero.
                "interval": span(max(r["ci_low"], 0.0), r["ci_high"], shown)
                if pd.notna(r["ci_low"])
                else ONE_REPLICATION,
                "flag": f"above {percent(OCCUPANCY_FLAG, 0)}: no room to flex" if flagged else "",
            }
        )
    crowded = final[(final["metric"] == "bed_occupancy") & (final["mean"] > OCCUPANCY_FLAG)]
    for r in crowded.to_dict("records"):
        points.append(
            f"In {final_label} the {r['scenario']} scenario runs its core beds at "
            f"{percent(r['mean'])} occupancy (above {percent(OCCUPANCY_FLAG, 0)}): see "
            "'Capacity and performance' for escalation beds and waits for a bed."
        )
    fit = root / FIT_REPORT
    fit_frame = pd.read_csv(fit) if fit.exists() else None
    calibration = (
        _calibration_rows(fit_frame, manifest["baseline_year"]) if fit_frame is not None else None
    )
    calibration_note = _calibration_note(fit_frame) if fit_frame is not None else NOT_CALIBRATED
    methods = _methods(manifest)
    return ReportContent(
        title=f"{manifest['area_name']}: urgent care scenarios {first_label} to {final_label}",
        area=manifest["area_name"],
        run_id=run_id,
        created=str(manifest.get("created", "")),
        tool_version=str(manifest.get("version", "")),
        reference=reference,
        final_year=final_label,
        first_year=first_label,
        finance_configured=(root / "finance.csv").exists(),
        summary_points=points,
        facts=facts,
        targets=target_rows,
        not_modelled=unmodelled_rows,
        gap=gap_rows,
        differences=diff_rows,
        scenarios=others,
        finance=finance_rows,
        plan_comparison=plan_rows,
        contributions=_contribution_rows(root, last_year),
        regression=regression_rows,
        contradictions=contradiction_rows,
        discrepancies=issue_rows,
        capacity=capacity_rows,
        finance_section=build_finance_section(root, last_year, others, provider_names),
        places=build_places_section(root, reference, others, last_year),
        assumptions=_assumptions(_scenario_configs(folder, names)),
        calibration=calibration,
        calibration_note=calibration_note,
        methods=methods,
    )


REGRESSION_METRICS = {
    "high_risk_cohort_episodes": "Urgent episodes",
    "high_risk_cohort_admissions": "Their emergency admissions",
}


def _regression_rows(
    summary: pd.DataFrame, differences: pd.DataFrame, reference: str
) -> list[dict[str, Any]]:
    """The high-risk cohort's year 0 -> year 1 fall under the reference beside each
    scenario's own (paired) effect on the same people in year 1."""
    if summary["year"].max() < 1 or "high_risk_cohort_episodes" not in set(summary["metric"]):
        return []
    rows = []
    for metric, label in REGRESSION_METRICS.items():
        mine = summary[(summary["scenario"] == reference) & (summary["metric"] == metric)]
        before = mine[mine["year"] == 0].iloc[0]
        after = mine[mine["year"] == 1].iloc[0]
        change = float(after["mean"] - before["mean"])
        share = percent(abs(change) / before["mean"], 0) if before["mean"] else "n/a"
        effects = differences[(differences["metric"] == metric) & (differences["year"] == 1)]
        rows.append(
            {
                "measure": label,
                "from_year": str(before["financial_year"]),
                "to_year": str(after["financial_year"]),
                "before": whole(before["mean"]),
                "after": whole(after["mean"]),
                "reference_change": f"{signed_amount(change)} ({share})",
                "effects": [
                    (
                        str(r["scenario"]),
                        _effect_text(r["mean_difference"], r["ci_low"], r["ci_high"]),
                    )
                    for r in effects.to_dict("records")
                ],
            }
        )
    return rows


def _effect_text(mean: float, low: float, high: float) -> str:
    """'401 fewer (355 to 447 fewer)'; just 'no change' when nothing moved at all."""
    if round(low) == round(high) == 0:
        return signed_amount(mean)
    return f"{signed_amount(mean)} ({signed_range(low, high)})"


CONTRIBUTION_METRICS = (
    "emergency_admissions",
    "ae_attendances_all_types",
    "ae_attendances",
    INCOME_METRIC,
)


def _contribution_rows(root: Path, year: int) -> list[dict[str, Any]]:
    """Each lever's contribution in the final year (decomposition.csv), or none."""
    path = root / DECOMPOSITION_FILE
    if not path.exists():
        return []
    table = pd.read_csv(path)
    final = table[(table["year"] == year) & table["metric"].isin(CONTRIBUTION_METRICS)]
    rows = []
    for (scenario, lever), group in final.groupby(["scenario", "lever"], sort=False):
        cells = {}
        for r in group.to_dict("records"):
            if r["metric"] == INCOME_METRIC:  # £: shown as the lever's income at risk
                cells[r["metric"]] = (
                    money(-r["contribution"]),
                    f"{money(-r['ci_high'])} to {money(-r['ci_low'])}",
                )
                continue
            cells[r["metric"]] = (
                f"{r['contribution']:+,.0f}",
                f"{r['ci_low']:+,.0f} to {r['ci_high']:+,.0f}",
            )
        rows.append(
            {
                "scenario": scenario,
                "lever": str(lever).replace("_", " "),
                "cells": [cells.get(m, ("", "")) for m in CONTRIBUTION_METRICS],
            }
        )
    return rows


def _capacity_format(metric: str) -> Callable[[float], str]:
    """How a capacity metric reads: a share as %, a time in hours, a count whole."""
    if metric in charts.SHARES:
        return lambda v: percent(v)
    if metric in HOUR_METRICS:
        return lambda v: f"{v:.1f} h" if v >= 0.1 else f"{60 * v:.0f} min"
    if metric in COUNT_METRICS:
        return lambda v: f"{v:,.0f}"
    if metric.endswith("_minutes"):
        return lambda v: f"{v:.0f} min"
    return lambda v: f"{v:.2f}"


def _number(value: Any) -> str:
    return "" if value is None or pd.isna(value) else whole(float(value))


def _status_text(r: dict[str, Any]) -> str:
    status = str(r["status"])
    return f"{status}: {r['attribution']}" if r.get("attribution") == MET_WITHOUT_PLAN else status


def _target_title(r: dict[str, Any]) -> str:
    reading = r.get("reading")
    return r["description"] + (f" [{reading}]" if isinstance(reading, str) and reading else "")


def _target_rows(targets: pd.DataFrame) -> list[dict[str, Any]]:
    """Targets-table rows grouped by target: the group's first row carries the target, its
    baseline (stated and model) and notes, with ``span`` = rows in the group (0 after)."""
    rows: list[dict[str, Any]] = []
    for _, group in targets.groupby("target_id", sort=False):
        records = group.to_dict("records")
        first = records[0]
        notes = list(dict.fromkeys(n for n in group["note"] if isinstance(n, str) and n))
        for i, r in enumerate(records):
            row = _target_row(r)
            row.update(
                span=len(records) if i == 0 else 0,
                target=_target_title(first),
                baseline=_baseline_text(first),
                notes=notes,
            )
            rows.append(row)
    return rows


def _unmodelled_rows(targets: pd.DataFrame) -> list[dict[str, Any]]:
    """Targets the model cannot evaluate, once each (not once per scenario)."""
    return [
        {
            "target": _target_title(r),
            "years": ", ".join(
                sorted(set(targets.loc[targets["target_id"] == r["target_id"], "year"]))
            ),
            "reason": r["note"] if isinstance(r["note"], str) else "",
        }
        for r in targets.drop_duplicates("target_id").to_dict("records")
    ]


def _baseline_text(r: dict[str, Any]) -> str:
    """'Baseline 2012/13: stated 2,596; model 2,456 (-5%)'; for a target without a stated
    baseline, the run's first year; '' for a target that needs none."""
    if pd.isna(r["model_baseline"]):
        return ""
    model = whole(r["model_baseline"])
    year = r.get("stated_baseline_year")
    if not isinstance(year, str) or not year:
        return f"Baseline: the run's first year, model {model}"
    stated = f"stated {whole(r['stated_baseline'])}; " if pd.notna(r["stated_baseline"]) else ""
    ratio = f" ({percent(r['baseline_ratio'] - 1, 0)})" if pd.notna(r["baseline_ratio"]) else ""
    return f"Baseline {year}: {stated}model {model}{ratio}"


def _target_row(r: dict[str, Any]) -> dict[str, Any]:
    """One scenario and year of a target: value, simulated, p_met and status."""
    if pd.isna(r["mean"]):
        simulated = ""
    elif pd.notna(r["ci_low"]):
        simulated = f"{whole(r['mean'])} ({whole(r['ci_low'])} to {whole(r['ci_high'])})"
    else:
        simulated = whole(r["mean"])
    return {
        "scenario": r["scenario"],
        "year": r["year"],
        "target_value": _number(r["target"]),
        "simulated": simulated,
        "p_met": "" if pd.isna(r["p_met"]) else f"{r['p_met']:.2f}",
        "status": _status_text(r),
        "colour": RAG_COLOURS.get(str(r["status"]), "#768692"),
    }


def share_of_requirement(share: float) -> str:
    """Delivered / required as a reader can take it: a negative share is a move the wrong
    way, and a share far above 100% (a tiny requirement) says nothing more than 'over'."""
    if pd.isna(share):
        return ""
    if share < 0:
        return "none: moves the wrong way"
    return "over 200%" if share > 2 else percent(share, 0)


def _net_point(root: Path, scenario: str, year: int, label: str) -> str:
    """The commissioner's net position in one sentence (investment costs are estimates)."""
    path = root / "net_position.csv"
    if not path.exists():
        return ""
    net = pd.read_csv(path)
    mine = net[(net["scenario"] == scenario) & (net["year"] == year)].set_index("measure")
    if mine.empty:
        return ""
    value = mine["value"]
    return (
        f"The commissioner's net position for {scenario} in {label}: "
        f"{money(value[NET_POSITION])} (investment {money(value[INVESTMENT])}, mostly "
        f"estimated unit costs, against {money(value[SPEND_AVOIDED])} of spend avoided)."
    )


def _gap_rows(targets: pd.DataFrame, reference: str) -> list[dict[str, Any]]:
    """The gap table: each target's last year in the run, per scenario compared with the
    reference: change required, delivered (95% interval) and delivered / required."""
    scored = targets[(targets["scenario"] != reference) & targets["target"].notna()]
    if scored.empty:
        return []
    last_year = scored.groupby("target_id")["year"].transform("max")
    rows = []
    for r in scored[scored["year"] == last_year].to_dict("records"):
        required = r["required_vs_reference"]
        share = r["delivered_share"]
        rows.append(
            {
                "target": _target_title(r),
                "year": r["year"],
                "scenario": r["scenario"],
                "required": f"already met by {comparison_name(reference)}"
                if pd.notna(required) and pd.isna(share)
                else ("" if pd.isna(required) else signed_amount(required)),
                "delivered": ""
                if pd.isna(r["delivered"])
                else f"{signed_amount(r['delivered'])} "
                f"({signed_range(r['delivered_ci_low'], r['delivered_ci_high'])})",
                "share": share_of_requirement(share),
                "status": _status_text(r),
                "colour": RAG_COLOURS.get(str(r["status"]), "#768692"),
            }
        )
    return rows


def _cell(mean: float, low: float, high: float) -> tuple[str, str]:
    """(mean, interval) as money, or 'not simulated' for a plan line the model lacks."""
    if pd.isna(mean):
        return ("not simulated", "")
    return (pounds(mean), f"{pounds(low)} to {pounds(high)}" if pd.notna(low) else "")


def _finance_rows(
    finance: pd.DataFrame, year: int, scenarios: list[str], names: dict[str, str]
) -> list[dict[str, Any]]:
    """One row per provider and line, a (mean, interval) cell per scenario; all-zero lines
    (a block contract that no scenario moves) are left out."""
    if finance.empty:
        return []
    final = finance[(finance["year"] == year) & finance["scenario"].isin(scenarios)]
    rows = []
    for (provider, line), group in final.groupby(["provider", "line"], sort=False):
        values = group.set_index("scenario").reindex(scenarios)[
            ["income_at_risk", "ci_low", "ci_high"]
        ]
        not_simulated = "status" in group and (group["status"] == "not simulated").all()
        if not not_simulated and (values.fillna(0).abs() < 0.5).all(axis=None):
            continue
        rows.append(
            {
                "provider": names.get(provider, provider),
                "line": LINE_LABELS.get(line, str(line).replace("_", " ")),
                "cells": [_cell(*values.loc[s]) for s in scenarios],
                "total": line == "total_simulated",
            }
        )
    providers = list(dict.fromkeys(row["provider"] for row in rows))
    return sorted(rows, key=lambda row: (providers.index(row["provider"]), row["total"]))


def _plan_rows(
    plan: pd.DataFrame, scenarios: list[str], names: dict[str, str]
) -> list[dict[str, Any]]:
    """The plan's amount per provider and line (the same for every scenario) beside each
    scenario's simulated income at risk."""
    if plan.empty:
        return []
    rows = []
    for (provider, line), group in plan.groupby(["provider", "line"], sort=False):
        amount = float(group["plan_amount"].iloc[0])
        values = group.set_index("scenario").reindex(scenarios)[
            ["simulated_mean", "ci_low", "ci_high"]
        ]
        if amount == 0 and (values.fillna(0).abs() < 0.5).all(axis=None):
            continue
        rows.append(
            {
                "provider": names.get(provider, provider),
                "line": LINE_LABELS.get(line, str(line).replace("_", " ")),
                "plan": pounds(amount),
                "cells": [_cell(*values.loc[s]) for s in scenarios],
            }
        )
    return rows


def _calibration_rows(fit: pd.DataFrame, baseline_year: str) -> list[dict[str, str]]:
    """One row per baseline figure; a figure stated for another year is named with it."""
    return [
        {
            "measure": fit_label(str(r["metric"]))
            + (
                f" ({r['stated_year']})"
                if isinstance(r.get("stated_year"), str) and r["stated_year"] != baseline_year
                else ""
            ),
            "role": "fitted" if r["fitted"] else "held out",
            "target": format_value(r["metric"], r["target"]),
            "simulated": format_value(r["metric"], r["simulated_mean"]),
            "interval": span(
                r["ci_low"], r["ci_high"], functools.partial(format_value, r["metric"])
            ),
            "error": f"{100 * r['relative_error']:+.1f}%",
            "source": f"{r['source']} ({r['confidence']}, {r.get('basis', 'national')})",
        }
        for r in fit.to_dict("records")
    ]


def _calibration_note(fit: pd.DataFrame) -> str:
    fitted = fit[fit["fitted"].astype(bool)]
    held = fit[~fit["fitted"].astype(bool)]
    worst = float(fitted["relative_error"].abs().max())
    text = (
        f"The area's baseline year was fitted to {len(fitted)} activity figures "
        f"(ucsim calibrate); every one is reproduced within {worst:.1%} on replications the "
        "fit never saw."
    )
    if len(held):
        off = held[held["relative_error"].abs() > 0.10]
        text += f" {len(held)} published or derived figures were held out as a check"
        if len(off):
            listed = "; ".join(
                f"{fit_label(str(r['metric']))} {100 * r['relative_error']:+.0f}%"
                for r in off.to_dict("records")
            )
            text += (
                f"; these differ from their reference by more than 10%: {listed}. "
                "Read absolute levels of those measures with care."
            )
        else:
            text += ", and all are within 10%."
    return text


def _methods(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    def ver(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "?"

    reps = manifest["replications"]
    runs = [r for r in manifest["runs"].values() if r.get("status") == "done"]
    git = str(manifest.get("git_commit") or "n/a")[:10]
    simulated = sum(r.get("seconds", 0) for r in runs)
    return [
        ("Model", "discrete-event simulation of urgent care (ucsim); docs/model.md (STRESS-DES)"),
        ("Scenarios", ", ".join(manifest["scenarios"])),
        ("Replications", f"{reps['used']} per scenario: {reps['reason']}"),
        (
            "Warm-up",
            f"{manifest['warmup_days']} days from an empty system, excluded from every result "
            "(evidence: ucsim warmup, MSER-5)",
        ),
        ("Run length", f"{manifest['years']} report years from {manifest['baseline_year']}"),
        (
            "Random numbers",
            f"master seed {manifest['seed']}; one named stream per source of randomness; "
            "common random numbers across scenarios",
        ),
        ("Intervals", "95% t-intervals across replications; differences paired by replication"),
        (
            "Software",
            f"ucsim {manifest['version']} (git {git}), Python {platform.python_version()}, "
            f"SimPy {ver('simpy')}, NumPy {ver('numpy')}, pandas {ver('pandas')}",
        ),
        (
            "Run time",
            f"{manifest.get('wall_seconds', 0):,.0f} s wall; {simulated:,.0f} s of simulation "
            f"in {len(runs)} replications",
        ),
        (
            "Configuration",
            "; ".join(
                f"{k} sha256 {v['config_sha256'][:12]}" for k, v in manifest["scenarios"].items()
            ),
        ),
        ("Command", " ".join(manifest.get("command", []))),
    ]


BANDS = "Bands: 95% intervals across replications."
WHISKERS = "Whiskers: 95% intervals across replications."


def make_figures(root: Path, content: ReportContent) -> dict[str, Path]:
    """Each chart with a source line and, where it has them, what its bands or whiskers are."""
    summary = whole_area(pd.read_csv(root / "summary.csv"))
    source = f"Source: ucsim, {content.run_id}."
    folder = root / "figures"
    lines = _target_lines(root, summary)
    figures = {
        "activity": charts.trajectories(summary, KEY_METRICS, folder, f"{source} {BANDS}", lines),
        "capacity": charts.performance(summary, folder, f"{source} {WHISKERS}"),
    }
    place_summary = by_place(pd.read_csv(root / "summary.csv"))
    if not place_summary.empty:
        figures["places"] = charts.places(
            place_summary, TABLE_METRICS[0], folder, f"{source} {BANDS}"
        )
    if (root / DECOMPOSITION_FILE).exists():
        figures["contributions"] = charts.contributions(
            pd.read_csv(root / DECOMPOSITION_FILE), folder, f"{source} {WHISKERS}"
        )
    if (root / "finance.csv").exists() and content.scenarios:
        providers = read_toml(root / "providers.toml") if (root / "providers.toml").exists() else {}
        names = {p["id"]: p["name"] for p in providers.get("provider", [])}
        figures["income"] = charts.income_at_risk(
            pd.read_csv(root / "finance.csv"),
            names,
            folder,
            f"{source} {WHISKERS}",
            content.reference,
        )
        if (root / "finance_sensitivity.csv").exists():
            sensitivity = sensitivity_with_levers(root)
            if not sensitivity.empty:
                figures["finance_sensitivity"] = charts.finance_tornado(
                    sensitivity,
                    folder,
                    f"{source} Each bar: one assumption changed, the run "
                    "repriced (the length-of-stay row from ucsim decompose re-runs).",
                )
    return figures


def figure_labels(figures: dict[str, Path]) -> dict[str, tuple[int, str, str]]:
    """Figure number, caption and alt text of each chart, in the order the report shows them."""
    order = [name for name in FIGURE_ORDER if name in figures]
    return {name: (number, *charts.FIGURE_TEXT[name]) for number, name in enumerate(order, start=1)}


def _target_lines(root: Path, summary: pd.DataFrame) -> dict[str, pd.Series]:
    """Target trajectories to draw: change-from-baseline targets, baseline to target."""
    targets = pd.read_csv(root / "targets.csv")
    lines: dict[str, pd.Series] = {}
    relative = targets[(targets["kind"] == "change_from_baseline")]
    for metric, rows in relative.groupby("metric"):
        reference = rows["scenario"].iloc[0]
        mine = rows[rows["scenario"] == reference]
        base = summary[
            (summary["metric"] == metric)
            & (summary["year"] == 0)
            & (summary["scenario"] == reference)
        ]
        if base.empty:
            continue
        points = {str(base["financial_year"].iloc[0]): float(base["mean"].iloc[0])}
        points.update({str(r["year"]): float(r["target"]) for r in mine.to_dict("records")})
        lines[str(metric)] = pd.Series(points)
    return lines


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_html(content: ReportContent) -> str:
    env = Environment(
        loader=PackageLoader("sim", "templates"), autoescape=select_autoescape(["html", "html.j2"])
    )
    template = env.get_template("report.html.j2")
    images = {name: _data_uri(path) for name, path in content.figures.items()}
    return template.render(c=content, images=images, labels=figure_labels(content.figures))
