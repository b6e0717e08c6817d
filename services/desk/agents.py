"""The desk's place on the bus: it reads the public topics, publishes nothing
of its own, and keeps its SQL tables close behind its store."""
from services.bus.runtime import ServiceSpec, Timer

from .application import Desk
from .facts import INPUTS

SPEC = ServiceSpec(
    name="desk",
    inputs=INPUTS,
    application=Desk,
    handler=lambda app: app.handle,
    outbound=lambda app: (lambda event, aggregate: []),
    timers=lambda app, clock: [Timer(0.5, app.refresh, "desk-tables")],
    audited=False,
)
