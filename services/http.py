"""One HTTP face over whichever services run in this process: every route on
one address for `tousu up`, a service's own routes for `tousu worker`."""
from __future__ import annotations

import importlib

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.bus.runtime import ServiceRunner
from services.bus.topics import EVERYTHING

PROBLEM = "application/problem+json"


class Problem(Exception):
    """An RFC 9457 problem: raised by a route, rendered as problem+json."""

    def __init__(self, status: int, title: str, detail: str, field: str | None = None,
                 headers: dict | None = None, slug: str | None = None, **extra):
        super().__init__(detail)
        self.status, self.title, self.detail, self.field, self.extra = status, title, detail, field, extra
        self.headers = headers
        self.slug = slug or title.lower().replace(" ", "-")

    def body(self, instance: str | None = None) -> dict:
        body = {"type": f"https://tousu.example/problems/{self.slug}",
                "title": self.title, "status": self.status, "detail": self.detail}
        # An empty field is the body as a whole, and is said.
        if self.field is not None:
            body["field"] = self.field
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


# A request's body, on every route but a bulk's: a text of megabytes would make
# an event larger than the broker takes, and its service could publish nothing
# after it.
MAX_BODY = 1024 * 1024


def too_large(limit: int, size: int | None = None) -> Problem:
    what = f"the body is {size} bytes" if size is not None else "the body is too large"
    return Problem(413, "Request too large", f"{what}; at most {limit} bytes are accepted", slug="too-large",
                   limit=limit)


class BodyLimit:
    """Refuses (413) a body over its route's limit, declared or as it arrives:
    read whole first, then handed on."""

    def __init__(self, app):
        from services.intake import bulk

        self.app = app
        self.limits = {"/complaints/bulk": bulk.MAX_BYTES}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        limit = self.limits.get(scope["path"], MAX_BODY)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        size = int(declared) if declared.isdigit() else None
        chunks, received, more = [], 0, size is None or size <= limit
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            more = message.get("more_body", False) and received <= limit
        if size is not None and size > limit or received > limit:
            response = problem_response(too_large(limit, size), Request(scope))
            return await response(scope, receive, send)
        body, given = b"".join(chunks), False

        async def replay():
            nonlocal given
            if given:
                return await receive()  # after the body: a disconnect, when it comes
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(problem.body(request.url.path), status_code=problem.status, media_type=PROBLEM,
                        headers=problem.headers)


def build_app(runners: dict[str, ServiceRunner]) -> FastAPI:
    app = FastAPI(title="tousu", version="0.1.0", docs_url=None, redoc_url=None,
                  description="The consumer-complaint bus: intake, case work for mediation and enforcement.")

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            # Not JSON is a malformed request, not an invalid field: as intake answers it.
            return problem_response(Problem(400, "Not JSON", f"the body is not JSON: {exc.errors()[0]['msg']}",
                                            slug="not-json"), request)
        errors = [{"field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path", "header")),
                   "message": e["msg"]} for e in exc.errors()]
        problem = Problem(422, "Invalid request", errors[0]["message"] if errors else "invalid request",
                          field=(errors[0]["field"] or None) if errors else None, errors=errors)
        return problem_response(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return problem_response(Problem(exc.status_code, "Not found" if exc.status_code == 404 else "HTTP error",
                                        str(exc.detail)), request)

    from services.observability import observe

    app.add_middleware(BodyLimit)
    observe(app, runners)
    from services.asyncapi_cli import router as asyncapi_router

    app.include_router(asyncapi_router())
    for name, runner in runners.items():
        # Every service has an HTTP face; an unknown name (a test's own runner) has none.
        if name in EVERYTHING:
            app.include_router(importlib.import_module(f"services.{name}.api").router(runner))
    if "desk" in runners:
        from services.desk.console import mount

        mount(app, runners["desk"].app)
    from services.openapi import install

    install(app)
    return app
