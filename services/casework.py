"""What every case-work route shares: the caller's token, the acting agency,
`at` defaulting to now, and domain refusals as problem+json."""
from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from functools import lru_cache, partial
from typing import Annotated

from fastapi import Header
from starlette.concurrency import run_in_threadpool
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict

from services import auth
from services.bus import correlation
from services.agencies.authority import Forbidden, may_act, may_do_case_work
from services.agencies.directory import Directory
from services.http import Problem
from services.routing.rulebook import CHINA_STANDARD_TIME


# How far a caller's clock may run ahead of the service's before an `at` counts
# as the future: a desk machine's clock a few minutes fast is not a forged date.
CLOCK_SKEW = timedelta(minutes=5)


def _written_instant(value: object) -> object:
    # Lax pydantic would read 1700000000 as seconds since 1970: an instant is written.
    if value is not None and not isinstance(value, datetime) and not (
            isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}[T ]", value)):
        raise ValueError("not an instant: write it ISO 8601 with its offset, e.g. 2026-03-02T09:30:00+08:00")
    return value


def _in_utc(value: datetime) -> datetime:
    # 0001-01-01T00:00+14:00 is written well but falls before the first instant there is.
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("out of range: an instant between the years 1 and 9999 in UTC") from None


# An instant in a case-work body: ISO 8601 text with its offset, nothing else.
Instant = Annotated[AwareDatetime, BeforeValidator(_written_instant), AfterValidator(_in_utc)]


class CaseCommand(BaseModel):
    """Fields every case-work body may carry."""

    model_config = ConfigDict(extra="forbid")
    at: Instant | None = None
    by: str | None = None

    def when(self, clock=None) -> datetime:
        """`at`, or now by the service's clock (the one its timers use). Case
        work records what happened: a consent, a session, a decision dated after
        now has not happened, and would move the limits it is checked against."""
        now = clock.now() if clock is not None else datetime.now(timezone.utc)
        if self.at is None:
            return now
        if self.at > now + CLOCK_SKEW:
            raise Problem(422, "Invalid request", f"at ({self.at.isoformat()}) is in the future: case work is "
                          f"recorded once it has happened (now is {now.isoformat()})", field="at")
        return self.at


@lru_cache(maxsize=1)
def _key() -> bytes:
    return auth.signing_key()


async def principal(authorization: str | None = Header(default=None)) -> auth.Principal:
    """The caller. Async, so that the person it names stays in the request's
    context: what the request stores records who acted (a token from the
    identity provider may need its keys fetched, hence the thread)."""
    try:
        who = await run_in_threadpool(auth.bearer, authorization, _key())
    except auth.Unauthenticated as exc:
        raise Problem(401, "Unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    correlation.person.set(who.person)
    return who


def check_by(command: CaseCommand, who: auth.Principal) -> None:
    if command.by is not None and command.by != who.agency_id:
        raise Problem(403, "Forbidden", f"'by' says {command.by} but the token is {who.agency_id}'s", field="by")


def is_superior(upper: str, lower: str) -> bool:
    return Directory.load().is_superior(upper, lower)


def permitted(check, *args) -> None:
    """Run one of `authority`'s checks; its refusal becomes a 403 naming what was missing."""
    try:
        check(*args)
    except Forbidden as exc:
        raise Problem(403, "Forbidden", str(exc)) from None


def authorise(who: auth.Principal, agency_id: str) -> None:
    permitted(may_act, who, agency_id, is_superior)


def authorise_role(who: auth.Principal) -> None:
    permitted(may_do_case_work, who)


@contextmanager
def refusals(not_found: type[Exception], illegal: type[Exception]):
    """Domain errors as the HTTP answers a case worker expects."""
    try:
        yield
    except not_found as exc:
        raise Problem(404, "Not found", str(exc)) from None
    except illegal as exc:
        raise Problem(409, "Conflict", str(exc), current_state=getattr(exc, "current_state", None)) from None
    except ValueError as exc:
        raise Problem(422, "Invalid request", str(exc), field=getattr(exc, "field", None)) from None


def in_china_time(value):
    """A case-work answer's instants as `GET /complaints/{id}` shows them: in
    China time (+08:00), the clock the deadlines are counted on."""
    if isinstance(value, datetime):
        return value.astimezone(CHINA_STANDARD_TIME)
    if isinstance(value, dict):
        return {k: in_china_time(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [in_china_time(v) for v in value]
    return value


def handling_agency(case) -> str:
    return case.agency_id


async def act_on_case(runner, key: str, body: CaseCommand, who: auth.Principal, command, *args,
                      not_found: type[Exception], illegal: type[Exception],
                      acting_for: Callable[[object], str] = handling_agency, **kwargs):
    """The one way a case-work command runs: `by` agrees with the token, the
    caller may act for the agency `acting_for(case)` names (the case's own
    agency unless a command is another agency's to give), and the application's
    named command runs as the caller: `command(key, *args, at, by_agency=,
    by_role=, **kwargs)`. The service's application has `case(key)` to say
    whose case it is."""
    check_by(body, who)
    at = body.when(runner.clock)
    with refusals(not_found, illegal):
        case = await runner.run_in_store(runner.app.case, key)
        authorise(who, acting_for(case))
        return await runner.run_in_store(partial(command, key, *args, at, by_agency=who.agency_id,
                                                 by_role=who.role, **kwargs))
