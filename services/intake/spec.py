"""Intake's place on the bus: it follows decisions, mediation and cases for
the status view, and publishes every request it stores."""
from services.bus.runtime import ServiceSpec, every_record_of

from .application import Intake, integration_events
from .projection import INPUTS, project

SPEC = ServiceSpec(
    name="intake",
    # Every record of these topics moves the status view (projection.py).
    reactions=every_record_of(INPUTS, project),
    application=Intake,
    outbound=lambda app: integration_events,
)
