"""ucsim: discrete-event simulation of urgent care demand and integrated community models.

The stable Python API (see :mod:`sim.api` and docs/user-guide.md)::

    import sim
    config = sim.load_scenario("scenarios/base-case.toml")
    result = sim.run_one(sim.modify(config, {"services.wards.beds": 600}))
    result.annual

The names are imported on first use, so that a worker process which only needs
:mod:`sim.replication` does not pay for the batch, finance and report modules.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.api import (
        goal,
        intervention_costs,
        load_scenario,
        modify,
        rename,
        reprice,
        results,
        resume,
        run_many,
        run_one,
    )
    from sim.config import ModelConfig
    from sim.errors import InputError
    from sim.goal import GoalSettings

_HOME = {
    "InputError": "sim.errors",
    "GoalSettings": "sim.goal",
    "goal": "sim.api",
    "ModelConfig": "sim.config",
    "intervention_costs": "sim.api",
    "load_scenario": "sim.api",
    "modify": "sim.api",
    "rename": "sim.api",
    "reprice": "sim.api",
    "results": "sim.api",
    "resume": "sim.api",
    "run_many": "sim.api",
    "run_one": "sim.api",
}

__all__ = [
    "GoalSettings",
    "InputError",
    "ModelConfig",
    "goal",
    "intervention_costs",
    "load_scenario",
    "modify",
    "rename",
    "reprice",
    "results",
    "resume",
    "run_many",
    "run_one",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)
