"""The service registry: adding a service is one class plus one registration.

The example is the recipe of docs/architecture.md ("Add a service") followed in a
test: an ambulance handover bay between the ambulance and A&E, where a conveyed
patient waits for one of a few handover nurses. It has its own stream, steps,
records and metrics; the ambulance hands patients to it by name (one name
changed), and it hands them on to A&E by name.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.annual import count_by_year, ratio, sum_by_year
from sim.care import SERVICES, SYSTEM_METRICS, CareContext, CareService, EpisodeBlock
from sim.care.ambulance import Ambulance
from sim.config import ModelConfig
from sim.demand import exponential
from sim.metrics import metric_names
from sim.recorder import floats
from sim.replication import run_replication, simulate
from sim.resources import BookedServers
from tests.conftest import scaled


@dataclass
class HandoverRecords:
    arrived: array[float] = field(default_factory=floats)
    wait: array[float] = field(default_factory=floats)


class HandoverBay(CareService):
    """Conveyed patients wait for a handover nurse, then go into A&E."""

    name = "handover"
    stream = "handover"  # a new stream: no other service's draws move
    uniforms = ("u_handover",)
    variate_inputs = ("u_handover",)
    metrics = ("handover_patients", "handover_mean_wait_minutes")
    Records = HandoverRecords

    def __init__(self, ctx: CareContext, system: Any, nurses: int = 1, mean_hours: float = 0.25):
        super().__init__(ctx, system)
        self.nurses = BookedServers(nurses)
        self.mean_hours = mean_hours
        self.rec: HandoverRecords = self.records

    def connect(self) -> None:
        self.to_ae = self.hand_to("ae")

    def variates(
        self,
        u: Mapping[str, np.ndarray],
        acuity: np.ndarray,
        age_band: np.ndarray,
        ltc: np.ndarray,
    ) -> dict[str, np.ndarray]:
        return {"handover_h": exponential(self.mean_hours, u["u_handover"])}

    def receive(self, b: EpisodeBlock, j: int, episode: int, source: int) -> int:
        arrived, hours = self.env.now, b.handover_h[j]
        start = self.nurses.book(arrived, hours)
        self.rec.arrived.append(arrived)
        self.rec.wait.append(start - arrived)
        self.env.call_in(start + hours - arrived, self.to_ae, b, j, episode, source)
        return -1

    def report(self, records: Mapping[str, Any], ctx: CareContext) -> dict[str, np.ndarray]:
        rec: HandoverRecords = records[self.name]
        tl = ctx.timeline
        arrived, wait = np.asarray(rec.arrived), np.asarray(rec.wait)
        patients = count_by_year(arrived, tl)
        return {
            "handover_patients": patients,
            "handover_mean_wait_minutes": 60 * ratio(sum_by_year(arrived, wait, tl), patients),
        }


class AmbulanceToHandover(Ambulance):
    """The one change upstream: conveyed patients go to the handover bay, not A&E."""

    def connect(self) -> None:
        super().connect()
        self.to_ae = self.hand_to("handover")


WITH_HANDOVER = (*(AmbulanceToHandover if s is Ambulance else s for s in SERVICES), HandoverBay)


@pytest.fixture(scope="module")
def config(do_nothing: ModelConfig) -> ModelConfig:
    return scaled(do_nothing, 0.2, run__years=1, run__warmup_days=30)


def test_registered_metrics_are_the_metric_registry() -> None:
    """Every metric name is declared by exactly one service or by the system."""
    declared = [m for s in SERVICES for m in s.metrics] + list(SYSTEM_METRICS)
    assert len(declared) == len(set(declared)), "a metric is declared twice"
    assert set(declared) == set(metric_names())


def test_each_service_draws_from_its_own_stream() -> None:
    streams = [s.stream for s in SERVICES if s.stream]
    assert len(streams) == len(set(streams))
    columns = [u for s in SERVICES for u in s.uniforms]
    assert len(columns) == len(set(columns))
    for s in SERVICES:
        assert set(s.decisions) | set(s.variate_inputs) <= set(s.uniforms), s.name


def test_a_new_service_plugs_in_by_name(config: ModelConfig) -> None:
    plain = run_replication(config, 0).annual
    run = simulate(config, 0, services=WITH_HANDOVER)
    annual = run.system.annual_metrics()
    # Its metrics are reported beside everyone else's.
    assert {"handover_patients", "handover_mean_wait_minutes"} <= set(annual.columns)
    conveyed = annual["ambulance_conveyances"].iloc[0]
    assert 0 <= conveyed - annual["handover_patients"].iloc[0] <= 5  # bar those in transit
    assert annual["handover_mean_wait_minutes"].iloc[0] > 0  # one nurse: some wait
    # Upstream of the bay nothing moved: its stream is new, so no other draw shifted.
    upstream = [
        "urgent_episodes",
        "gp_urgent_appointments",
        "nhs111_calls",
        "ambulance_incidents",
        "ambulance_conveyances",
        "ucc_attendances",
    ]
    pd.testing.assert_frame_equal(annual[upstream], plain[upstream])
    # Downstream it binds: handover waits delay A&E, so A&E times move.
    assert not np.isclose(annual["ae_mean_time_hours"].iloc[0], plain["ae_mean_time_hours"].iloc[0])


def test_a_pass_through_service_changes_nothing_downstream(config: ModelConfig) -> None:
    """With no wait and no handover time, the bay is invisible: every metric is unchanged."""

    class InstantHandover(HandoverBay):
        def __init__(self, ctx: CareContext, system: Any):
            super().__init__(ctx, system, nurses=10_000, mean_hours=0.0)

    services = tuple(InstantHandover if s is HandoverBay else s for s in WITH_HANDOVER)
    plain = run_replication(config, 0).annual
    annual = simulate(config, 0, services=services).system.annual_metrics()
    assert (annual["handover_mean_wait_minutes"].fillna(0) == 0).all()
    pd.testing.assert_frame_equal(annual[plain.columns], plain)


def test_every_metric_has_one_label_unit_and_format() -> None:
    """The registry is complete: a readable label (unique) and a unit for every metric."""
    from sim.metrics import METRICS, format_value

    labels = [m.label for m in METRICS.values()]
    assert len(labels) == len(set(labels)), "two metrics share a label"
    for m in METRICS.values():
        assert m.label and not m.label[0].islower() and "_" not in m.label, m.name
        assert m.unit, m.name
    # Shares read as percentages wherever they are shown (tables, report, terminal).
    assert format_value("delayed_discharge_share", 0.1234) == "12.3%"
    assert format_value("ae_clinician_utilisation", 0.8) == "80.0%"
    assert format_value("trolley_wait_mean_hours", 3.14159) == "3.14"
    assert format_value("emergency_admissions", 12345.6) == "12,346"


def test_the_design_vocabulary_is_registered() -> None:
    from sim.metrics import DESIGN_METRICS, HEADLINE_METRICS, METRICS

    assert set(DESIGN_METRICS) <= set(METRICS)
    assert set(DESIGN_METRICS) <= set(HEADLINE_METRICS)
