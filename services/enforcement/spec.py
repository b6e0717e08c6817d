"""Enforcement's place on the bus: violations and reports in, penalty cases out."""
from services.bus.runtime import ServiceSpec, Timer

from .application import Enforcement
from .integration import integration_events


def timers(app: Enforcement, clock) -> list[Timer]:
    return [Timer(60.0, app.flag_overdue, "enforcement-overdue")]


SPEC = ServiceSpec(
    name="enforcement",
    reactions={
        "ViolationFound": Enforcement.violation_found,
        "ReportReceived": Enforcement.report_received,
    },
    application=Enforcement,
    directory=True,
    outbound=lambda app: integration_events,
    timers=timers,
)
