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

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.api import (
        areas,
        calibrate,
        decompose,
        diff,
        finance,
        follow,
        goal,
        intervention_costs,
        load_scenario,
        modify,
        rename,
        report,
        reprice,
        results,
        resume,
        run_many,
        run_one,
        sensitivity,
        sweep,
        validate,
        warmup,
    )
    from sim.config import ModelConfig
    from sim.errors import InputError
    from sim.goal import GoalSettings

_HOME = {
    "finance": "sim.api",
    "warmup": "sim.api",
    "validate": "sim.api",
    "sweep": "sim.api",
    "sensitivity": "sim.api",
    "report": "sim.api",
    "follow": "sim.api",
    "diff": "sim.api",
    "decompose": "sim.api",
    "calibrate": "sim.api",
    "areas": "sim.api",
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
    "areas",
    "calibrate",
    "decompose",
    "diff",
    "finance",
    "follow",
    "goal",
    "intervention_costs",
    "load_scenario",
    "modify",
    "rename",
    "report",
    "reprice",
    "results",
    "resume",
    "run_many",
    "run_one",
    "sensitivity",
    "sweep",
    "validate",
    "warmup",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)


class _Package(ModuleType):
    """``sim`` itself: some API functions share a name with the module that does the work
    (``sim.goal``, ``sim.report``, ``sim.sweep``, ``sim.sensitivity``, ``sim.warmup``,
    ``sim.finance``).
    Importing such a module must not replace the function on the package, so the API
    name always means the function (the module stays importable as ``sim.goal``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOME and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
