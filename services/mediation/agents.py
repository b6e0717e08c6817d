"""Mediation's place on the bus: accepted complaints in, the case's life out,
and the timer that ends cases at their time limit."""
from services.bus.runtime import ServiceSpec, Timer

from .application import Mediation
from .integration import integration_events


def timers(app: Mediation, clock) -> list[Timer]:
    return [Timer(30.0, app.expire_due, "mediation-time-limit")]


SPEC = ServiceSpec(
    name="mediation",
    inputs=("complaints.decisions",),
    application=Mediation,
    handler=lambda app: app.handle,
    outbound=lambda app: integration_events,
    timers=timers,
)
