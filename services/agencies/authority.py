"""Who may act for which agency: a rule of the regulation's chain of command,
not of how a caller proved who it is. HTTP checks it against the token's
agency and role; mediation against whoever recorded a withdrawal."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol


class Forbidden(Exception):
    """The actor's agency or role does not allow this."""


class Actor(Protocol):
    agency_id: str
    role: str


@dataclass(frozen=True)
class Recorded:
    """An actor as a stored event names it."""

    agency_id: str
    role: str


def may_do_case_work(actor: Actor) -> None:
    """The role alone, for when no case exists yet to name its agency."""
    if actor.role not in ("CASE_WORKER", "SUPERVISOR"):
        raise Forbidden(f"role {actor.role} cannot do case work; a CASE_WORKER or SUPERVISOR token is needed")


def may_act(actor: Actor, agency_id: str, is_superior: Callable[[str, str], bool]) -> None:
    """A case worker acts on its own agency's cases; a supervisor also on the
    agencies below its own. Raises Forbidden naming what was missing."""
    if actor.role == "CASE_WORKER" and actor.agency_id == agency_id:
        return
    if actor.role == "SUPERVISOR" and (actor.agency_id == agency_id or is_superior(actor.agency_id, agency_id)):
        return
    may_do_case_work(actor)
    if actor.role == "CASE_WORKER" and is_superior(actor.agency_id, agency_id):
        raise Forbidden(f"a case worker acts on its own agency's cases: {agency_id} handles this one; "
                        f"a SUPERVISOR of {actor.agency_id}, above it, may act on it")
    raise Forbidden(f"{actor.agency_id} is not the handling agency {agency_id} nor above it")


def may_oversee(actor: Actor, agency_id: str, is_superior: Callable[[str, str], bool]) -> None:
    """A regulator reads what the agencies of its area hold, as the desk lists
    them for it: its own agency's and those below it."""
    if actor.agency_id == agency_id or is_superior(actor.agency_id, agency_id):
        return
    raise Forbidden(f"a regulator of {actor.agency_id} reads its own area's cases; {agency_id}'s is outside it")


def may_hand_over_in_bulk(actor: Actor) -> None:
    """A batch of requests comes from a system handing them over (AGENCY_SYSTEM)
    or a bureau's staff; a regulator changes nothing."""
    if actor.role not in ("AGENCY_SYSTEM", "CASE_WORKER", "SUPERVISOR"):
        raise Forbidden(f"role {actor.role} cannot hand over requests; a token of the handing-over system "
                        "(AGENCY_SYSTEM) or of a bureau's staff (CASE_WORKER, SUPERVISOR) is needed")


def may_answer_referral(actor: Actor, addressees: set[str]) -> None:
    """An agency answers referrals addressed to it: its system or its case
    workers, never another agency and never a regulator."""
    if actor.role not in ("AGENCY_SYSTEM", "CASE_WORKER", "SUPERVISOR"):
        raise Forbidden(f"role {actor.role} cannot answer referrals; a token of the addressed agency "
                        "(AGENCY_SYSTEM, CASE_WORKER or SUPERVISOR) is needed")
    if actor.agency_id not in addressees:
        raise Forbidden(f"no referral of this complaint is addressed to {actor.agency_id}")
