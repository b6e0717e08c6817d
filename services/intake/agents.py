"""Intake's place on the bus: it follows decisions, mediation and cases for
the status view, and publishes every request it stores."""
from services.bus.runtime import ServiceSpec

from .application import Intake, integration_events
from .projection import INPUTS, project

SPEC = ServiceSpec(
    name="intake",
    inputs=INPUTS,
    application=Intake,
    handler=lambda app: project,
    outbound=lambda app: integration_events,
)
