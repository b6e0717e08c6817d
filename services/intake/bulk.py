"""Bulk intake: many requests in one call, for systems that hand complaints
over in batches (the national platform, a hotline centre).

The body is NDJSON: one JSON request per line, each exactly what `POST
/complaints` takes, optionally with an `idempotency_key` field of its own.
Each line is answered on its own, in order, by its line number: its id, or
its problem. A bad line never stops the good ones from being stored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError

from services.http import Problem

from . import problems, submission
from .application import IdempotencyKeyReused, Submission

MAX_LINES = 1000
MAX_BYTES = 16 * 1024 * 1024
MAX_LINE = 1024 * 1024  # what `POST /complaints` takes in one body
KEY_FIELD = "idempotency_key"
MAX_KEY = 255


@dataclass
class Line:
    number: int
    submission: Submission | None = None
    result: dict | None = None
    own_key: bool = False

    def answer(self, outcome) -> None:
        """What storing this line's request came to."""
        if isinstance(outcome, IdempotencyKeyReused):
            field = KEY_FIELD if self.own_key else "Idempotency-Key"
            self.refuse(Problem(422, "Idempotency key reused", "this idempotency key came with a different "
                                "request; a new request needs a new key", field=field).body())
        elif isinstance(outcome, PersistenceError):
            self.refuse(Problem(503, "Not stored", "the request could not be stored, nothing of it was kept; "
                                "retry later with the same idempotency key").body())
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            self.result = {"line": self.number, "status": 202, **outcome}

    def refuse(self, problem: dict) -> None:
        self.submission = None
        self.result = {"line": self.number, **problem}


def read(body: bytes, header_key: str | None) -> list[Line]:
    """Every non-blank line, parsed and validated (CPU work: run it off the
    event loop). Raises Problem when the body as a whole cannot be taken."""
    if body.lstrip()[:1] == b"[" and _is_array(body):
        raise Problem(400, "Not NDJSON", "the body is a JSON array; send one JSON request per line "
                      "(application/x-ndjson)")
    raw_lines = body.split(b"\n")
    numbered = [(number, raw) for number, raw in enumerate(raw_lines, 1) if raw.strip()]
    if not numbered:
        raise Problem(400, "No requests", "the body holds no request: send one JSON request per line")
    if len(numbered) > MAX_LINES:
        raise Problem(413, "Too many requests in one call", f"the body holds {len(numbered)} requests; at most "
                      f"{MAX_LINES} are taken in one call: split the batch", limit=MAX_LINES)
    return [_line(number, raw, header_key) for number, raw in numbered]


def _json_kind(value) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _is_array(body: bytes) -> bool:
    """The whole body one JSON array (a common mistake, answered as such);
    a first line that is an array is only that line's problem."""
    try:
        return isinstance(json.loads(body), list)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False


def _line(number: int, raw: bytes, header_key: str | None) -> Line:
    line = Line(number)
    if len(raw) > MAX_LINE:
        line.refuse(problems.too_large(MAX_LINE, len(raw)).body())
        return line
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        line.refuse(problems.not_json(str(exc)).body())
        return line
    except RecursionError:
        line.refuse(problems.not_json("nested too deeply").body())
        return line
    if not isinstance(data, dict):
        line.refuse(Problem(422, "Malformed request", f"line {number} is a JSON {_json_kind(data)}: each line is "
                            "one JSON object, a request as `POST /complaints` takes").body())
        return line
    key = f"{header_key}:{number}" if header_key else None
    if KEY_FIELD in data:
        data = dict(data)
        own = data.pop(KEY_FIELD)
        if not isinstance(own, str) or not 0 < len(own) <= MAX_KEY or not _utf8(own):
            line.refuse(Problem(422, "Malformed request", f"{KEY_FIELD}: a string of 1 to {MAX_KEY} characters",
                                field=KEY_FIELD, errors=[{"field": KEY_FIELD, "message":
                                                          f"a string of 1 to {MAX_KEY} characters"}]).body())
            return line
        key, line.own_key = own, True
    try:
        kind, record = submission.parse(data)
    except ValidationError as exc:
        line.refuse(problems.invalid(exc).body())
        return line
    line.submission = (kind, record, key)
    return line


def _utf8(text: str) -> bool:
    """Not a lone surrogate ("\\ud800" in JSON), which no key can be made of."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def answer(lines: list[Line]) -> dict:
    accepted = sum(1 for line in lines if line.result.get("status") == 202)
    return {"accepted": accepted, "refused": len(lines) - accepted, "results": [line.result for line in lines]}


RESPONSE_SCHEMA = {
    "type": "object", "required": ["accepted", "refused", "results"],
    "properties": {
        "accepted": {"type": "integer", "description": "lines stored"},
        "refused": {"type": "integer", "description": "lines not stored"},
        "results": {"type": "array", "description": "one per non-blank line, in order", "items": {
            "type": "object", "required": ["line", "status"],
            "description": "status 202: `complaint_id`, `kind`, `status_url` (and `linked_request_id`), as "
                           "`POST /complaints` answers; otherwise an RFC 9457 problem (`type`, `title`, "
                           "`detail`, `field`, `errors`) for this line alone",
            "properties": {"line": {"type": "integer", "description": "1-based line number in the body"},
                           "status": {"type": "integer"}, "complaint_id": {"type": "string"},
                           "field": {"type": "string"}, "type": {"type": "string"},
                           "title": {"type": "string"}, "detail": {"type": "string"}}}},
    },
}
