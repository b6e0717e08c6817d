"""Who did what: every change made with a token through this process's HTTP
(the console's forms included, which call the same routes) is recorded with
the person the token names, their agency and role. Domain events carry the
agency and role; the person, who changes more often than the rules, is kept
here, beside the desk's tables, and shown on the complaint's page."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from services import auth

SCHEMA = ("CREATE TABLE IF NOT EXISTS desk_actions (at TEXT NOT NULL, person TEXT, agency_id TEXT NOT NULL, "
          "role TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, subject TEXT, status BIGINT NOT NULL)")
INDEX = "CREATE INDEX IF NOT EXISTS desk_actions_subject ON desk_actions (subject, at)"
CHANGES = ("POST", "PUT", "PATCH", "DELETE")
SUBJECT = re.compile(r"^/(?:complaints|cases)/([^/]+)/")


class Journal:
    def __init__(self, db):
        self.db = db
        with db.transaction():
            db.execute(SCHEMA)
            db.execute(INDEX)

    def record(self, who: auth.Principal, method: str, path: str, status: int, at: datetime | None = None) -> None:
        match = SUBJECT.match(path)
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO desk_actions (at, person, agency_id, role, method, path, subject, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((at or datetime.now(timezone.utc)).isoformat(), who.person, who.agency_id, who.role, method, path,
                 match[1] if match else None, status))

    def of(self, subject: str) -> list[dict]:
        return self.db.query("SELECT * FROM desk_actions WHERE subject = ? ORDER BY at", (subject,))


async def note(journal: Journal, method: str, path: str, authorization: str | None, status: int) -> None:
    """Record an accepted change made under a token (anything else is not a change, or not anyone's)."""
    from starlette.concurrency import run_in_threadpool

    from services.casework import _key

    if method not in CHANGES or status >= 400 or not authorization:
        return
    try:
        who = auth.bearer(authorization, _key())
    except auth.Unauthenticated:
        return
    await run_in_threadpool(journal.record, who, method, path, status)


def install(app, desk) -> None:
    """A middleware recording each accepted change made under a token. (Under
    `tousu up`, whose services are processes of their own, its one address
    records the changes the other services serve: services/up.py.)"""

    @app.middleware("http")
    async def journal(request, call_next):
        response = await call_next(request)
        if request.method in CHANGES:
            await note(desk.journal, request.method, request.url.path, request.headers.get("authorization"),
                       response.status_code)
        return response
