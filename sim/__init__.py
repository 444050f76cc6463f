"""ucsim: discrete-event simulation of urgent care demand and integrated community models.

The stable Python API (see :mod:`sim.api` and docs/user-guide.md)::

    import sim
    config = sim.load_scenario("scenarios/base-case.toml")
    result = sim.run_one(sim.modify(config, {"services.wards.beds": 600}))
    result.annual
"""

from sim.api import load_scenario, modify, rename, results, resume, run_many, run_one
from sim.config import ModelConfig
from sim.errors import InputError

__all__ = [
    "InputError",
    "ModelConfig",
    "load_scenario",
    "modify",
    "rename",
    "results",
    "resume",
    "run_many",
    "run_one",
]
