"""An area's input files beyond its parameters (targets, providers, tariffs, intervention
costs, baseline), checked together before anything runs.

A run reads the targets and prices only after simulating; without this check a bad file
would fail after the simulation, naming the copy in the results folder instead of the
file the user edited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sim.baseline_file import load_baseline
from sim.cost_file import costs_file, load_cost_inputs
from sim.errors import InputError, InputProblem
from sim.target_file import load_targets
from sim.tariffs import PROVIDERS_FILE, TARIFFS_FILE, load_finance_inputs

TARGETS_FILE = "targets.toml"
BASELINE_FILE = "baseline.toml"


@dataclass(frozen=True)
class AreaInputs:
    """What was found valid in one area folder (for ``ucsim validate`` to list)."""

    checked: tuple[str, ...]


def check_area_inputs(folder: Path) -> AreaInputs:
    """Every input file of an area folder, each validated as its loader would; every
    problem in every file is reported at once (an InputError), not only the first."""
    problems: list[InputProblem] = []
    checked: list[str] = []

    def attempt(name: str, load: Callable[[], object]) -> bool:
        try:
            load()
        except InputError as exc:
            problems.extend(exc.problems)
            return False
        checked.append(name)
        return True

    if (folder / TARGETS_FILE).exists():
        attempt(TARGETS_FILE, lambda: load_targets(folder / TARGETS_FILE))
    if (folder / BASELINE_FILE).exists():
        attempt(BASELINE_FILE, lambda: load_baseline(folder / BASELINE_FILE))
    providers, tariffs = folder / PROVIDERS_FILE, folder / TARIFFS_FILE
    if providers.exists() != tariffs.exists():
        present, missing = (providers, tariffs) if providers.exists() else (tariffs, providers)
        problems.append(
            InputProblem(
                str(present),
                "",
                missing.name,
                f"finance needs both {PROVIDERS_FILE} and {TARIFFS_FILE}: add {missing.name} "
                f"or remove {present.name}",
            )
        )
    elif providers.exists():
        try:
            finance = load_finance_inputs(providers, tariffs)
        except InputError as exc:
            problems.extend(exc.problems)
        else:
            checked.append(f"{PROVIDERS_FILE}, {TARIFFS_FILE}")
            base = finance.tariffs.price_base
            costs = costs_file(folder)
            if costs.exists():
                label = costs.name if costs.parent == folder else f"../{costs.name}"
                attempt(
                    label, lambda: load_cost_inputs(costs, base.financial_year, base.cost_uplift)
                )
    if problems:
        raise InputError(problems)
    return AreaInputs(tuple(checked))
