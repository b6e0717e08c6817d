"""RFC 9457 problem details for the intake routes, raised as they are or, for a
line of a bulk submission, given as its body.

A 422 names every failing field by its JSON path in the body the caller sent
(`prior_handling.0.body`), so a web form can mark the box and a hotline
operator can read which entry to retype. Messages never repeat the value sent:
it may be an identity number or a phone.
"""
from __future__ import annotations

from pydantic import ValidationError

from services.http import Problem, too_large  # noqa: F401 (a bulk line's limit is said the same way)

KINDS = frozenset({"COMPLAINT", "REPORT", "CONSULTATION"})
# Errors raised before any field was read: the whole body, or its `kind`.
_ROOT_FIELDS = {"union_tag_invalid": "kind", "union_tag_not_found": "kind"}
_ROOT_MESSAGES = {
    "union_tag_not_found": "kind is required: one of COMPLAINT, REPORT, CONSULTATION",
    "union_tag_invalid": "kind must be one of COMPLAINT, REPORT, CONSULTATION",
    "model_attributes_type": "the body must be a JSON object",
}
_MESSAGES = {"extra_forbidden": "unknown field: check its spelling against the schema"}
# Fields of the events' schemas that the system fills in, never the caller.
ASSIGNED = {"event_id", "occurred_at", "complaint_id", "linked_request_id"}


def problem(status: int, slug: str, title: str, detail: str, **extra) -> Problem:
    return Problem(status, title, detail, slug=slug, **{key: value for key, value in extra.items() if value is not None})


def field_path(loc: tuple) -> str:
    """Pydantic's location of an error as the dotted JSON path of the body.

    The discriminated union puts the matching kind first (`COMPLAINT`); that
    is pydantic's bookkeeping, not part of anything the caller wrote.
    """
    parts = list(loc)
    if len(parts) > 1 and parts[0] in KINDS:
        parts = parts[1:]
    return ".".join(str(part) for part in parts if not _internal(part))


_INTERNAL_PREFIXES = ("function-", "tagged-union[", "union[", "lax-or-strict[", "json-or-python[", "chain[",
                      "nullable[", "constrained-")


def _internal(part) -> bool:
    # Schema steps pydantic names inside plain unions and validators, e.g.
    # "function-after[...]"; none of the current models produce them, a future
    # field typed as a union would.
    return isinstance(part, str) and part.startswith(_INTERNAL_PREFIXES)


def _message(error: dict) -> str:
    if error["type"] in _MESSAGES:
        return _MESSAGES[error["type"]]
    message = error["msg"]
    return message.removeprefix("Value error, ")


def field_errors(exc: ValidationError) -> list[dict]:
    errors = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        path = field_path(error["loc"])
        if not path:
            path = _ROOT_FIELDS.get(error["type"], "")
            message = _ROOT_MESSAGES.get(error["type"], _message(error))
        elif error["type"] == "extra_forbidden" and path in ASSIGNED:
            message = f"{path} is assigned by the system when the request is stored: leave it out"
        else:
            message = _message(error)
        errors.append({"field": path, "message": message})
    return errors


MAX_LISTED_ERRORS = 50


def invalid(exc: ValidationError) -> Problem:
    """422: the body is JSON but not a well-formed request. At most 50 errors
    are listed, so a hostile body cannot make the answer larger than itself."""
    errors = field_errors(exc)
    first = errors[0] if errors else {"field": "", "message": "the body is not a well-formed request"}
    detail = f"{first['field'] or 'body'}: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem(422, "malformed-request", "Malformed request", detail, errors=errors[:MAX_LISTED_ERRORS],
                   field=first["field"])


def not_json(reason: str | None = None) -> Problem:
    detail = "the body is not JSON" + (f": {reason}" if reason else "")
    return problem(400, "not-json", "Not JSON", detail)
