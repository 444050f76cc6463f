"""NHS 111: calls, the advice given, and out-of-hours GP contacts.

Like the GP, NHS 111 answers every call without a queue the model follows:
:mod:`sim.care.routing` decides each call's outcome for a whole period at once
and writes these records.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.annual import count_by_year
from sim.care.base import CareContext, CareService, Report
from sim.recorder import floats


@dataclass
class NHS111Records:
    """Times (hours) of calls, and of contacts with the out-of-hours GP service."""

    calls: array[float] = field(default_factory=floats)
    out_of_hours_gp: array[float] = field(default_factory=floats)


class NHS111(CareService):
    name = "nhs111"
    stream = "nhs111"
    uniforms = ("u_111",)
    metrics = ("nhs111_calls", "out_of_hours_gp_contacts")
    Records = NHS111Records

    def report(self, records: Mapping[str, Any], ctx: CareContext) -> Report:
        rec: NHS111Records = records[self.name]
        return {
            "nhs111_calls": count_by_year(rec.calls, ctx.timeline),
            "out_of_hours_gp_contacts": count_by_year(rec.out_of_hours_gp, ctx.timeline),
        }
