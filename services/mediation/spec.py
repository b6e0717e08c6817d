"""Mediation's place on the bus: accepted complaints in, the case's life out,
and the timer that ends cases at their time limit."""
import os

from services.bus.runtime import ServiceSpec, Timer

from .application import Mediation
from .integration import integration_events


def timers(app: Mediation, clock) -> list[Timer]:
    # A limit counted in days needs no finer round than 30 s; end-to-end tests
    # that move the clock by TOUSU_CLOCK_OFFSET_SECONDS shorten it to see the effect.
    every_s = float(os.environ.get("TOUSU_TIMER_SECONDS", "30"))
    return [Timer(every_s, app.expire_due, "mediation-time-limit"),
            Timer(every_s, app.honour_withdrawals, "mediation-early-withdrawals"),
            Timer(every_s, app.flag_late_notices, "mediation-termination-notices"),
            Timer(every_s, app.recompute_dues, "mediation-due-recomputed")]


SPEC = ServiceSpec(
    name="mediation",
    reactions={
        "ComplaintAccepted": Mediation.complaint_accepted,
        "ComplaintRejected": Mediation.complaint_rejected,
        "ComplaintTransferred": Mediation.complaint_transferred,
    },
    application=Mediation,
    directory=True,
    outbound=lambda app: integration_events,
    timers=timers,
)
