"""An area grown or shrunk: every practice's list and every capacity scaled together.

Used where a smaller area keeps a test fast and where the benchmark measures how the
model's cost grows with the list size (issue 21): with capacities scaled too, the
queues stay as loaded as the real area's, so the work per episode is comparable.
"""

from __future__ import annotations

from typing import Any

from sim.config import ModelConfig
from sim.loading import with_overrides


def scaled_area(config: ModelConfig, factor: float, **overrides: Any) -> ModelConfig:
    """``config``'s area shrunk (or grown) by ``factor``: list sizes and every capacity
    scale together (at least one of each). ``overrides``: further settings, with ``__``
    for the dots (``run__years=2``)."""
    s = config.services
    practices = [
        p.model_copy(update={"list_size": max(1, round(p.list_size * factor))})
        for p in config.practices
    ]
    clinicians = [max(1, round(c * factor)) for c in s.ae.clinicians_by_hour]
    minors = [
        max(0, min(round(m * factor), c - 1))
        for m, c in zip(s.ae.minors_clinicians_by_hour, clinicians, strict=True)
    ]
    teams = {name: max(1, round(n * factor)) for name, n in s.rapid_response.teams.items()}
    changes: dict[str, Any] = {
        "services.wards.beds": max(1, round(s.wards.beds * factor)),
        "services.wards.onward_care_places": max(1, round(s.wards.onward_care_places * factor)),
        "services.ae.clinicians_by_hour": clinicians,
        "services.ae.minors_clinicians_by_hour": minors,
        "services.ae.triage_staff": max(1, round(s.ae.triage_staff * factor)),
        "services.ucc.clinicians": max(1, round(s.ucc.clinicians * factor)),
        "services.ambulance.vehicles": max(1, round(s.ambulance.vehicles * factor)),
        "services.rapid_response.staff": sum(teams.values())
        if teams
        else max(1, round(s.rapid_response.staff * factor)),
        "services.rapid_response.teams": teams,
    }
    changes.update({k.replace("__", "."): v for k, v in overrides.items()})
    grown = with_overrides(config, changes)
    return grown.model_copy(update={"practices": tuple(practices)})
