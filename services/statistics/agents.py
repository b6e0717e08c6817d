"""The statistics service's place on the bus: it reads the four public topics
and publishes nothing of its own."""
from services.bus.runtime import ServiceSpec

from .application import Statistics
from .facts import INPUTS

SPEC = ServiceSpec(
    name="statistics",
    inputs=INPUTS,
    application=Statistics,
    handler=lambda app: app.handle,
    outbound=lambda app: (lambda event, aggregate: []),
    audited=False,
)
