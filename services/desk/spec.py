"""The desk's place on the bus: it reads the public topics, publishes nothing
of its own, and keeps its SQL tables close behind its store."""
from services.bus.relay import NO_OUTBOUND
from services.bus.runtime import ServiceSpec, every_record_of, Timer

from .application import Desk
from .facts import INPUTS

SPEC = ServiceSpec(
    name="desk",
    reactions=every_record_of(INPUTS, Desk.handle),
    application=Desk,
    outbound=lambda app: NO_OUTBOUND,
    # Queries bring the tables up to date themselves; this keeps them close
    # behind the store, so that a query seldom has much to do.
    timers=lambda app, clock: [Timer(0.5, app.refresh, "desk-tables", after_stores=True)],
    audited=False,
)
