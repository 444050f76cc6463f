"""What ``ucsim goal`` writes: the chosen mix as a scenario file a planner can run, the
candidates and their evidence as tables, the cost-probability frontier as a chart, and a
report section (goal.html) a board can read."""

from __future__ import annotations

import html
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from sim.formatting import money, pounds
from sim.goal import GoalOutcome, SimulationOracle
from sim.goal_search import Evaluation
from sim.loading import read_toml
from sim.store import atomic_write, write_csv, write_json, write_text

FILES = (
    "goal.html",
    "frontier.png",
    "candidates.csv",
    "goal_targets.csv",
    "inversions.csv",
    "goal.json",
)


def candidates_table(outcome: GoalOutcome) -> pd.DataFrame:
    """One row per evaluated candidate: its levels, cost, replications, verdict, p_met."""
    space, confidence = outcome.space, outcome.settings.confidence
    rows = []
    for order, found in enumerate(outcome.search.evaluations, start=1):
        row: dict[str, Any] = {
            "order": order,
            "phase": found.phase,
            "candidate": SimulationOracle.name(found.mix),
            "mix": space.describe(found.mix),
        }
        for lever, level in zip(space.levers, found.mix, strict=True):
            row[f"level_{lever.name}"] = space.fractions[level]
        row.update(
            cost=found.cost,
            replications=found.n,
            verdict=found.verdict,
            least_p_met=float(found.p_met.min()),
            least_p_met_lower_bound=found.lower_bound(confidence),
        )
        for key, p in zip(outcome.keys, found.p_met, strict=True):
            row[f"p_met {key.target_id} {key.year}"] = float(p)
        rows.append(row)
    return pd.DataFrame(rows)


def binding_targets(outcome: GoalOutcome) -> list[tuple[str, int]]:
    """Target-years by how many evaluated candidates failed them (most first): the
    targets that decide the answer."""
    counts = {f"{k.target_id} ({k.year})": 0 for k in outcome.keys}
    for found in outcome.search.evaluations:
        if found.feasible:
            continue
        for key, p in zip(outcome.keys, found.p_met, strict=True):
            if p < outcome.settings.required:
                counts[f"{key.target_id} ({key.year})"] += 1
    return sorted(counts.items(), key=lambda item: -item[1])


def scenario_toml(
    outcome: GoalOutcome, found: Evaluation, label: str, reference_file: str, file_label: str = ""
) -> str:
    """The mix as a scenario file over the reference: only changed values, each annotated
    with how it was found, its cost and its confirmed p_met."""
    confirmation = outcome.confirmations.get(label)
    checked = confirmation.evaluation if confirmation else found
    low = checked.lower_bound(outcome.settings.confidence)
    stamp = (
        f"found by ucsim goal on {outcome.created}, cost {money(found.cost)} a year in "
        f"{outcome.cost_year} (investment over {outcome.reference.scenario.name}), least-met "
        f"target p_met {checked.p_met.min():.2f} (one-sided "
        f"{outcome.settings.confidence:.0%} lower bound {low:.2f}, {checked.n} replications)"
    )
    reference = outcome.space.settings(tuple(0 for _ in found.mix))
    tree: dict[str, Any] = {
        "extends": reference_file,
        "scenario": {
            "name": f"goal-{file_label or label}",
            "description": f"{label} mix from ucsim goal: {outcome.space.describe(found.mix)}",
        },
    }
    for path, value in outcome.space.settings(found.mix).items():
        if value == reference[path] or value is None:
            continue
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if leaf in ("enabled", "evidence"):
            node[leaf] = value
        else:
            node[leaf] = {"value": value, "source": stamp, "confidence": "E"}
    header = (
        f"# {(file_label or label).capitalize()} mix found by `ucsim goal` on {outcome.created}; "
        f"extends the reference scenario.\n# Run it: ucsim run {reference_file} "
        f"{file_label or label}.toml --replications {checked.n} --seed "
        f"{confirmation.seed if confirmation else outcome.seed}\n"
    )
    return header + tomli_w.dumps(tree)


def plot_frontier(outcome: GoalOutcome, path: Path) -> None:
    """Cost against the least-met target's p_met for every evaluated candidate, with the
    frontier (the best p_met reached at or below each cost) and the requirement."""
    import matplotlib.pyplot as plt

    evaluations = outcome.search.evaluations
    cost = np.array([e.cost for e in evaluations]) / 1e6
    least = np.array([e.p_met.min() for e in evaluations])
    feasible = np.array([e.feasible for e in evaluations])
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=150)
    order = np.argsort(cost, kind="stable")
    ax.step(
        cost[order],
        np.maximum.accumulate(least[order]),
        where="post",
        color="#555555",
        linewidth=1,
        label="frontier: best p_met at or below this cost",
    )
    ax.scatter(cost[~feasible], least[~feasible], marker="x", color="#c0392b", label="fails")
    ax.scatter(cost[feasible], least[feasible], marker="o", color="#1e8449", label="meets")
    ax.axhline(outcome.settings.required, color="#2c3e50", linestyle="--", linewidth=1)
    ax.annotate(
        f"required p_met {outcome.settings.required:.2f}",
        (0, outcome.settings.required),
        xytext=(2, 3),
        textcoords="offset points",
        fontsize=8,
    )
    for label, found in (
        ("chosen", outcome.search.chosen),
        ("runner-up", outcome.search.runner_up),
    ):
        if found is not None:
            ax.annotate(
                label,
                (found.cost / 1e6, found.p_met.min()),
                xytext=(4, -10),
                textcoords="offset points",
                fontsize=8,
            )
    ax.set_xlabel(
        f"annual investment over {outcome.reference.scenario.name}, {outcome.cost_year} (£m)"
    )
    ax.set_ylabel("p_met of the least-met target")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()

    def save(target: Path) -> None:
        fig.savefig(target, format="png")

    atomic_write(path, save)
    plt.close(fig)


def _confirmed_rows(outcome: GoalOutcome) -> pd.DataFrame:
    frames = []
    for label, confirmation in outcome.confirmations.items():
        table = confirmation.table.copy()
        table.insert(0, "mix", label)
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def statements(outcome: GoalOutcome) -> list[str]:
    """The answer in sentences: the chosen mix, or for each target no mix meets, how close
    the top mix comes."""
    required = outcome.settings.required
    if outcome.search.chosen is not None:
        found = outcome.search.chosen
        checked = outcome.confirmations["chosen"].evaluation
        low = checked.lower_bound(outcome.settings.confidence)
        return [
            f"The cheapest mix found that meets every target with p_met of at least "
            f"{required:.2f} is: {outcome.space.describe(found.mix)}, at {money(found.cost)} a "
            f"year in {outcome.cost_year}. On {checked.n} fresh replications its least-met "
            f"target has p_met {checked.p_met.min():.2f} (one-sided "
            f"{outcome.settings.confidence:.0%} lower bound {low:.2f})."
        ]
    lines = []
    top = outcome.confirmations.get("top")
    table = top.table.set_index(["target_id", "year"]) if top else None
    for key, p in zip(outcome.keys, outcome.search.top.p_met, strict=True):
        if p >= required:
            continue
        reached = ""
        if table is not None and (key.target_id, key.year) in table.index:
            row = table.loc[(key.target_id, key.year)]
            delivered, needed = row["delivered"], row["required_vs_reference"]
            if isinstance(delivered, float) and math.isfinite(delivered) and math.isfinite(needed):
                reached = f"; the closest (every lever at its bound) reaches {delivered:,.0f} of {needed:,.0f} against {outcome.reference.scenario.name}"
            reached += f" (p_met {row['p_met']:.2f})"
        lines.append(f"No mix within the evidence meets {key.target_id} in {key.year}{reached}.")
    return lines


def write_goal_outputs(outcome: GoalOutcome, reference_file: Path) -> list[Path]:
    """Every output file of a goal search, into its folder."""
    root = outcome.folder
    # A copy beside the results keeps the folder self-contained; a reference that itself
    # extends another file is referred to where it is instead (its parent would be missing).
    if "extends" in read_toml(reference_file):
        extends = str(reference_file.resolve())
    else:
        shutil.copyfile(reference_file, root / reference_file.name)
        extends = reference_file.name
    written = []
    candidates = candidates_table(outcome)
    write_csv(root / "candidates.csv", candidates)
    write_csv(root / "goal_targets.csv", _confirmed_rows(outcome))
    write_csv(root / "inversions.csv", outcome.inversions)
    answers = {"chosen": outcome.search.chosen, "runner-up": outcome.search.runner_up}
    if outcome.search.chosen is None:
        answers = {"nearest-miss": outcome.search.top}
    for label, found in answers.items():
        if found is not None:
            key = "top" if label == "nearest-miss" else label
            text = scenario_toml(outcome, found, key, extends, label)
            write_text(root / f"{label}.toml", text)
            written.append(root / f"{label}.toml")
    plot_frontier(outcome, root / "frontier.png")
    write_text(root / "goal.html", goal_html(outcome, candidates))
    write_json(root / "goal.json", summary(outcome))
    return [*written, *(root / name for name in FILES)]


def summary(outcome: GoalOutcome) -> dict[str, Any]:
    search = outcome.search

    def described(found: Evaluation | None, label: str) -> dict[str, Any] | None:
        if found is None:
            return None
        checked = outcome.confirmations.get(label)
        evaluation = checked.evaluation if checked else found
        return {
            "mix": outcome.space.describe(found.mix),
            "levels": dict(
                zip(
                    [lever.name for lever in outcome.space.levers],
                    [outcome.space.fractions[i] for i in found.mix],
                    strict=True,
                )
            ),
            "cost": found.cost,
            "cost_year": outcome.cost_year,
            "least_p_met": float(evaluation.p_met.min()),
            "least_p_met_lower_bound": evaluation.lower_bound(outcome.settings.confidence),
            "replications": evaluation.n,
        }

    return {
        "tool": "ucsim goal",
        "status": "complete",
        "created": outcome.created,
        "area": outcome.reference.area.name,
        "reference": outcome.reference.scenario.name,
        "ambition": outcome.ambition_name,
        "seed": outcome.seed,
        "required_p_met": outcome.settings.required,
        "confidence": outcome.settings.confidence,
        "targets": [f"{k.target_id} {k.year}" for k in outcome.keys],
        "excluded_targets": outcome.excluded,
        "levers": {lever.name: list(lever.settings) for lever in outcome.space.levers},
        "levels": list(outcome.space.fractions),
        "dropped_levers": list(outcome.space.dropped),
        "candidates_in_space": search.candidates,
        "candidates_evaluated": len(search.evaluations),
        "candidates_pruned": search.pruned,
        "replications": search.replications_used,
        "stopped_by_budget": search.stopped_by_budget,
        "notes": search.notes,
        "chosen": described(search.chosen, "chosen"),
        "runner_up": described(search.runner_up, "runner-up"),
        "top": described(search.top, "top"),
        "statements": statements(outcome),
    }


def _table(frame: pd.DataFrame, formats: dict[str, Any] | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            shown = formats[column](value) if column in formats else value
            if isinstance(shown, float):
                shown = f"{shown:,.3g}" if math.isfinite(shown) else ""
            cells.append(f"<td>{html.escape(str(shown))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def goal_html(outcome: GoalOutcome, candidates: pd.DataFrame) -> str:
    """The report section: question, answer, binding targets, frontier, inversions."""
    esc = html.escape
    s, search = outcome.settings, outcome.search
    space_rows = pd.DataFrame(
        [
            {
                "lever": lever.name,
                "settings, off to full": "; ".join(
                    f"{p.split('.', 1)[-1]}: {off} to {full}"
                    for p, (off, full) in lever.settings.items()
                    if p.rsplit(".", 1)[-1] not in ("evidence",)
                ),
                "evidence": " ".join(lever.notes)
                or "no published bound: up to the ambition's value",
            }
            for lever in outcome.space.levers
        ]
    )
    answer = "".join(f"<p>{esc(line)}</p>" for line in statements(outcome))
    mixes = []
    for label, found in (("chosen", search.chosen), ("runner-up", search.runner_up)):
        if found is None:
            continue
        checked = outcome.confirmations[label].evaluation
        low = checked.lower_bound(s.confidence)
        mixes.append(
            {
                "mix": label,
                "levers": outcome.space.describe(found.mix),
                "annual cost": pounds(found.cost),
                "least-met p_met (fresh replications)": f"{checked.p_met.min():.2f}",
                f"one-sided {s.confidence:.0%} lower bound": f"{low:.2f}",
                "replications": checked.n,
            }
        )
    if search.chosen is not None and search.runner_up is None:
        answer += (
            "<p>No alternative mix (one that is not the chosen mix with more added) was found.</p>"
        )
    binding = pd.DataFrame(
        binding_targets(outcome), columns=["target (year)", "candidates failing it"]
    )
    excluded = pd.DataFrame(outcome.excluded)
    inversions = outcome.inversions
    inversion_html = ""
    if len(inversions):
        rows = []
        for (target_id, year), part in inversions.groupby(["target_id", "year"], sort=False):
            best = part.sort_values("needed_multiple_of_full", na_position="last").iloc[0]
            rows.append(
                {
                    "target (year)": f"{target_id} ({year})",
                    "every lever full delivers": f"{best['top_delivered']:,.0f} of {best['required_vs_reference']:,.0f}",
                    "closest single lever": best["lever"],
                    "times its full range": best["needed_multiple_of_full"],
                    "it would need": best["needed_setting"],
                }
            )
        inversion_html = (
            "<h3>What a single lever would need</h3><p>For each target no mix meets: the lever "
            "that comes closest alone, and the setting it would need, on top of every other "
            "lever at its bound, if its effect kept growing in proportion beyond anything "
            "simulated. A linear extrapolation, not a simulation: it shows the size of the "
            "gap, not a plan. Every lever's figure is in inversions.csv.</p>"
            + _table(pd.DataFrame(rows))
        )
    notes = "".join(f"<li>{esc(n)}</li>" for n in search.notes)
    dropped = "".join(f"<li>{esc(d)}</li>" for d in outcome.space.dropped)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What would it take? {esc(outcome.reference.area.display_name)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}}
table{{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1rem}}td,th{{border:1px solid #ccc;padding:.25rem .4rem;text-align:left;vertical-align:top}}
th{{background:#f2f2f2}}figcaption{{font-size:.85rem;color:#444}}</style></head><body>
<h2>What would it take? {esc(outcome.reference.area.display_name)}</h2>
<p>The cheapest mix of levers whose probability of meeting <strong>every</strong> target below is at
least {s.required:.2f}, searched between <em>{esc(outcome.reference.scenario.name)}</em> (every lever off)
and <em>{esc(outcome.ambition_name)}</em> (every lever at its full value, each effect held within its
published evidence), at levels {", ".join(f"{f:.0%}" for f in outcome.space.fractions)} of each lever.
Cost is the annual investment the levers add over {esc(outcome.reference.scenario.name)} in
{esc(outcome.cost_year)} (£, 2014/15 price base). Seed {outcome.seed}; ucsim goal, {esc(outcome.created)}.</p>
<h3>The answer</h3>{answer}
{_table(pd.DataFrame(mixes)) if mixes else ""}
<figure><img src="frontier.png" alt="Cost against the p_met of the least-met target for each candidate mix evaluated; crosses fail, dots meet; a step line shows the best p_met reached at or below each cost, a dashed line the required p_met." style="max-width:100%">
<figcaption>Figure: the cost-probability frontier. Each point is a candidate mix evaluated; the
dashed line is the required p_met. Source: candidates.csv.</figcaption></figure>
<h3>Which targets bind</h3>{_table(binding)}
{"<h3>Targets the model cannot score (left out)</h3>" + _table(excluded) if len(excluded) else ""}
{inversion_html}
<h3>The levers searched</h3>{_table(space_rows)}
{"<p>Left out:</p><ul>" + dropped + "</ul>" if dropped else ""}
<h3>How the search ran</h3>
<p>{search.candidates:,} mixes in the space; {len(search.evaluations)} evaluated,
{search.pruned} ruled out without simulating (below a mix that failed, or above one that met);
{search.replications_used} replications. Each candidate had {s.first} replications, then {s.step}
more while its interval for p_met straddled {s.required:.2f}, up to {s.most}; the answer was then
rerun on {s.confirm} fresh replications (seed {outcome.seed + 1}).</p>
{"<ul>" + notes + "</ul>" if notes else ""}
<h3>Every candidate evaluated</h3>{_table(candidates.drop(columns=[c for c in candidates.columns if c.startswith("level_")]), {"cost": pounds})}
</body></html>
"""
