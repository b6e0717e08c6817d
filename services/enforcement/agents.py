"""Enforcement's place on the bus: violations and reports in, penalty cases out."""
from services.bus.runtime import ServiceSpec

from .application import Enforcement
from .integration import integration_events

SPEC = ServiceSpec(
    name="enforcement",
    inputs=("violations.found", "complaints.received"),
    application=Enforcement,
    handler=lambda app: app.handle,
    outbound=lambda app: integration_events,
)
