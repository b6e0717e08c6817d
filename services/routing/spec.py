"""Routing's place on the bus: what it reads, what it publishes, its timers."""
from functools import partial

from services.bus.runtime import ServiceSpec, Timer

from .application import Routing
from .integration import integration_events


def timers(app: Routing, clock) -> list[Timer]:
    return [Timer(60.0, app.flag_overdue, "routing-overdue")]


SPEC = ServiceSpec(
    name="routing",
    reactions={
        "ComplaintReceived": Routing.complaint_received,
        "ReferralAcknowledged": Routing.referral_acknowledged,
        "ReferralDeclined": Routing.referral_declined,
    },
    application=Routing,
    directory=True,
    outbound=lambda app: partial(integration_events, directory=app.directory),
    timers=timers,
)
