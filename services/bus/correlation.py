"""The request a change came from, followed across services.

An HTTP request's X-Request-ID is kept on every event stored while serving
it; the relay puts it on the messages those events become (header
`request_id`), and a consumer keeps it on the events it stores in reaction to
such a message, and so on down the line. One id then finds a complaint's
receipt, decision, mediation and penalty case in every service's logs and on
every topic.

The id rides in the stored event's state as an extra attribute: the library
stores whatever an event holds and hands it back, and an aggregate's methods
take only the attributes they name, so no event class needs to know of it."""
from __future__ import annotations

import contextvars
import re
import uuid
from typing import Iterable

# The event attribute and the message header.
REQUEST_ID = "request_id"
# The event attribute naming the person who acted (a token's name claim).
PERSON = "by_person"

# The id of the request (or message) the code running now serves, if any.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# An id from outside is kept only if it is short and plain: it goes into every log line.
ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_for(given: str) -> str:
    """The caller's X-Request-ID if acceptable, else a new one."""
    return given if ACCEPTABLE_ID.fullmatch(given) else uuid.uuid4().hex
# The person whose token the request being served carries, if it names one.
person: contextvars.ContextVar[str | None] = contextvars.ContextVar("person", default=None)


def stamp(events: Iterable, rid: str | None, who: str | None = None) -> None:
    """Mark events not marked yet with the request they came from (and the
    person who made it)."""
    if not rid and not who:
        return
    for event in events:
        if rid:
            vars(event).setdefault(REQUEST_ID, rid)
        if who:
            vars(event).setdefault(PERSON, who)


def person_of(event) -> str | None:
    return vars(event).get(PERSON)


def of_event(event) -> str | None:
    return vars(event).get(REQUEST_ID)


def of_headers(headers: dict[str, bytes]) -> str | None:
    """A message's request id, kept as an HTTP one is only if short and plain:
    it is stored with what the message causes (a 2.5 MB one made a dead letter
    larger than the broker takes)."""
    raw = headers.get(REQUEST_ID)
    given = raw.decode("utf-8", "replace") if raw and len(raw) <= 128 else None
    return given if given and ACCEPTABLE_ID.fullmatch(given) else None
