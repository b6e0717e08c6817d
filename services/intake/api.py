"""Intake's HTTP face: the public front door and the status a consumer asks for."""
from __future__ import annotations

import asyncio
import json
import logging

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError

from services.bus.runtime import ServiceRunner
from services.agencies.authority import may_hand_over_in_bulk
from services.casework import authorise, permitted, principal
from services.http import MAX_BODY, Problem  # noqa: F401 (MAX_BODY: the front door's limit)

from . import bulk, problems, submission
from .application import ComplaintNotFound, IdempotencyKeyReused
from .groupcommit import GroupCommit

log = logging.getLogger(__name__)


def _key_checked(key: str | None) -> None:
    """An Idempotency-Key as long as a bulk line's own may be: it is stored, and
    derived ids are made of it."""
    if key is not None and not 0 < len(key) <= bulk.MAX_KEY:
        raise Problem(422, "Invalid request", f"Idempotency-Key must be 1 to {bulk.MAX_KEY} characters, "
                      f"not {len(key)}", field="Idempotency-Key")


def router(runner: ServiceRunner, committer: GroupCommit | None = None) -> APIRouter:
    api = APIRouter(tags=["intake"])
    app = runner.app
    committer = committer or GroupCommit(runner.run_in_store, app.submit_many)

    @api.post("/complaints", status_code=202, summary="Submit a complaint, report or consultation",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": submission.json_schema()}}}},
              responses={202: {"description": "Stored; the id to follow it by"},
                         400: {"description": "Not JSON"}, 413: {"description": "Body over 1 MiB"},
                         422: {"description": "Malformed (the failing field is named), or an "
                                              "Idempotency-Key reused for a different request"},
                         503: {"description": "Could not be stored; nothing was kept"}})
    async def submit(request: Request, idempotency_key: str | None = Header(default=None)):
        _key_checked(idempotency_key)
        raw = await request.body()  # at most MAX_BODY (services.http.BodyLimit)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise problems.not_json(str(exc)) from None
        except RecursionError:
            # Arrays or objects nested past the parser's stack: JSON no request is
            # shaped like, and an unhandled RecursionError would be a 500.
            raise problems.not_json("nested too deeply") from None
        try:
            # Validation and address lookup are CPU work: keep them off the event loop.
            kind, record = await asyncio.get_running_loop().run_in_executor(None, submission.parse, data)
        except ValidationError as exc:
            raise submission.problem(exc) from None
        try:
            answer = await committer.submit(kind, record, idempotency_key)
        except IdempotencyKeyReused:
            raise Problem(422, "Idempotency key reused", "this Idempotency-Key came with a different request; "
                          "a new request needs a new key", field="Idempotency-Key") from None
        except PersistenceError:
            # The store's own message may name hosts, users or paths: logged, not shown.
            log.exception("intake could not store a request")
            raise Problem(503, "Not stored", "the request could not be stored, nothing was kept; "
                          "retry later with the same Idempotency-Key", headers={"Retry-After": "5"}) from None
        return JSONResponse(answer, status_code=202)

    @api.post("/complaints/bulk", summary="Submit many requests in one call: one JSON request per line (NDJSON)",
              description="For systems that hand complaints over in batches. Each line is what `POST /complaints` "
                          f"takes; at most {bulk.MAX_LINES} lines and {bulk.MAX_BYTES} bytes (413 beyond). Each "
                          "line is answered on its own, by its line number: 202 with its id, or its problem "
                          "(RFC 9457, naming the failing field). Bad lines never stop good ones. Idempotency: a "
                          f"line's own `{bulk.KEY_FIELD}` field, or an `Idempotency-Key: K` header that gives "
                          "line N the key `K:N`, so a retried batch stores nothing twice. Needs a bearer token "
                          "(an AGENCY_SYSTEM token of the handing-over system).",
              # Also as octet-stream: the same bytes, in a type code generators can send.
              openapi_extra={"requestBody": {"required": True, "content": {
                  media: {"schema": {"type": "string", "format": "binary", "description":
                                     "one JSON request per line, as `POST /complaints` takes"}}
                  for media in ("application/x-ndjson", "application/octet-stream")}}},
              responses={200: {"description": "Every line answered, in order",
                               "content": {"application/json": {"schema": bulk.RESPONSE_SCHEMA}}},
                         400: {"description": "No line, or a JSON array instead of lines"},
                         401: {"description": "No valid bearer token"},
                         403: {"description": "A regulator's token: it changes nothing"},
                         413: {"description": f"Over {bulk.MAX_LINES} lines or {bulk.MAX_BYTES} bytes"}})
    async def submit_bulk(request: Request, idempotency_key: str | None = Header(default=None),
                          authorization: str | None = Header(default=None)):
        who = await principal(authorization)
        permitted(may_hand_over_in_bulk, who)
        _key_checked(idempotency_key)
        raw = await request.body()  # at most bulk.MAX_BYTES (services.http.BodyLimit)
        lines = await asyncio.get_running_loop().run_in_executor(None, bulk.read, raw, idempotency_key)
        good = [line for line in lines if line.submission is not None]
        outcomes = await asyncio.gather(*committer.submit_all([line.submission for line in good]),
                                        return_exceptions=True)
        if any(isinstance(outcome, PersistenceError) for outcome in outcomes):
            log.error("intake could not store a bulk from %s", who.agency_id,
                      exc_info=next(o for o in outcomes if isinstance(o, PersistenceError)))
        for line, outcome in zip(good, outcomes):
            line.answer(outcome)
        return JSONResponse(bulk.answer(lines), status_code=200)

    @api.get("/complaints/{complaint_id}",
             summary="The status of a complaint: open to whoever holds the id, with no personal data; "
                     "with a token of the handling agency (or above it) also the full record as received",
             responses={404: {"description": "No complaint with this id"}},
             openapi_extra={"x-token-optional": True})
    async def status(complaint_id: str, authorization: str | None = Header(default=None)):
        try:
            document = await runner.run_in_store(app.status, complaint_id)
            if authorization is not None:
                # A token that is not valid is refused (401); a valid one that may
                # not see the record still sees what anyone holding the id sees.
                who = await principal(authorization)
                request = await runner.run_in_store(app.record, complaint_id)
                try:
                    authorise(who, document["agency_id"] or request.record.get("receiving_agency_id") or "")
                    document = {**document, "record": request.record}
                except Problem:  # 403: not this caller's to see
                    pass
        except ComplaintNotFound:
            raise Problem(404, "Not found", f"no complaint {complaint_id}", field="complaint_id") from None
        return JSONResponse(json.loads(json.dumps(document, default=_iso, ensure_ascii=False)))

    return api


def _iso(value):
    return value.isoformat()
