"""The services an urgent episode can reach: one module each, and the registry.

``SERVICES`` lists them in the order they are built, report their metrics and
start their processes. Each is a :class:`~sim.care.base.CareService`: it owns
its parameters' use, its own random stream, its steps, its records and its
metrics, and hands patients on by name (``self.hand_to("ae")``), never by
importing another service.

Adding a service (docs/architecture.md, "Add a service", has the full recipe):

1. write ``sim/care/<name>.py`` with a ``CareService`` subclass: ``name``,
   ``stream`` and ``uniforms`` (a new stream name, so no other service's draws
   move), ``variates``, ``receive`` and the steps after it, a ``Records``
   dataclass, ``metrics`` and ``report``;
2. register it here, in ``SERVICES``;
3. send patients to it by name from the service before it (one name changed),
   and add its parameters to the config and the area files.

``tests/test_care_registry.py`` does exactly this with a small test service.
"""

from __future__ import annotations

from sim.care.ae import AccidentAndEmergency
from sim.care.ambulance import Ambulance
from sim.care.base import CareContext, CareService, EpisodeBlock
from sim.care.gp import GeneralPractice
from sim.care.nhs111 import NHS111
from sim.care.rapid_response import RapidResponse
from sim.care.system import SYSTEM_METRICS, CareSystem, uniform_layout
from sim.care.ucc import UrgentCareCentre
from sim.care.wards import Wards

SERVICES: tuple[type[CareService], ...] = (
    GeneralPractice,
    NHS111,
    Ambulance,
    RapidResponse,
    UrgentCareCentre,
    AccidentAndEmergency,
    Wards,
)

__all__ = [
    "SERVICES",
    "SYSTEM_METRICS",
    "CareContext",
    "CareService",
    "CareSystem",
    "EpisodeBlock",
    "uniform_layout",
]
