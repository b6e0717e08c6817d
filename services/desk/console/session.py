"""Signing in: the person pastes the token their agency (or, in production,
its identity provider) gave them; the console keeps it in an HttpOnly cookie
and reads the caller from it on every page."""
from __future__ import annotations

from fastapi import Request

from services import auth
from services.casework import _key

COOKIE = "tousu_token"


class SignedOut(Exception):
    """No usable token in the cookie: the page sends the person to sign in."""


def who(request: Request) -> tuple[auth.Principal, str]:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignedOut()
    try:
        return auth.verify(token, _key()), token
    except auth.Unauthenticated:
        raise SignedOut() from None


def may_see_personal(principal: auth.Principal) -> bool:
    return principal.role in ("CASE_WORKER", "SUPERVISOR")


def may_act(principal: auth.Principal) -> bool:
    return principal.role in ("CASE_WORKER", "SUPERVISOR")


def may_read(principal: auth.Principal, agency_id: str | None, line: str | None) -> bool:
    if principal.role == "CASE_WORKER":
        return agency_id == principal.agency_id
    if principal.role in ("SUPERVISOR", "REGULATOR"):
        return bool(line) and f"/{principal.agency_id}/" in line
    return False
