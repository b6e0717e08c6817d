"""The statistics service's place on the bus: it reads the four public topics
and publishes nothing of its own."""
from services.bus.relay import NO_OUTBOUND
from services.bus.runtime import ServiceSpec, every_record_of

from .application import Statistics
from .facts import INPUTS

SPEC = ServiceSpec(
    name="statistics",
    reactions=every_record_of(INPUTS, Statistics.handle),
    application=Statistics,
    outbound=lambda app: NO_OUTBOUND,
    audited=False,
)
