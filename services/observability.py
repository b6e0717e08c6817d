"""What an operator sees of a running service: `/healthz` (the process answers),
`/readyz` (its store and broker answer and its consumers have joined their
group), `/metrics` (Prometheus text, see services/metrics.py), and a request id
on every HTTP request and every log line written while serving it."""
from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from services.bus.runtime import ServiceRunner
from services.bus.correlation import request_id, request_id_for
from services.metrics import EndOffsets, RunnerCollector, instrument

log = logging.getLogger("tousu.http")
REQUEST_ID = "X-Request-ID"


async def readiness(runners: dict[str, ServiceRunner]) -> dict[str, dict[str, str]]:
    """For each service: store, broker and consumers, each "ok" or what is wrong."""
    checks = {}
    for name, runner in runners.items():
        checks[name] = {"store": await _store_ok(runner), "broker": await _broker_ok(runner),
                        "consumers": _consumers_ok(runner), "publishing": _publishing_ok(runner)}
    return checks


# A broker's hiccup, a leader's change, a page or a batch tried again takes less.
STALLED_SECONDS = 30.0


def _stalled_for(since: float | None) -> float | None:
    """Seconds a failure has lasted, once it is past STALLED_SECONDS."""
    lasted = None if since is None else asyncio.get_running_loop().time() - since
    return lasted if lasted is not None and lasted >= STALLED_SECONDS else None


def _publishing_ok(runner: ServiceRunner) -> str:
    relay = runner.relay
    lasted = _stalled_for(relay.failing_since) if relay.leading else None
    if lasted is None:
        return "ok"
    return f"nothing published for {lasted:.0f} s, at position {relay.position}: {relay.failure}"


async def _store_ok(runner: ServiceRunner) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(runner.app.recorder.max_notification_id), 3)
        return "ok"
    except asyncio.TimeoutError:
        return "the event store did not answer within 3 s"
    except Exception as exc:
        return f"the event store fails: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


async def _broker_ok(runner: ServiceRunner) -> str:
    producer = runner.relay.producer
    if producer is None:
        return "not connected yet"
    try:
        await asyncio.wait_for(producer.client.fetch_all_metadata(), 3)
        return "ok"
    except Exception:
        return f"no broker answers at {runner.bus.bootstrap_servers}"


def _consumers_ok(runner: ServiceRunner) -> str:
    if not runner.spec.inputs:
        return "ok"
    since, why = getattr(runner, "storing_failure", None) or (None, "")
    if (lasted := _stalled_for(since)) is not None:
        return f"nothing consumed for {lasted:.0f} s: a batch cannot be stored ({why})"
    app = runner.faust_app
    if app is None or getattr(app, "_consumer", None) is None:
        return "not started"
    if app.rebalancing:
        return "joining the consumer group"
    return "ok"


class RequestContext:
    """ASGI middleware: the request's id (the caller's X-Request-ID or a new one)
    for every log line written while serving it and on the answer; a count and a
    duration per route; one log line per request. Plain ASGI, not Starlette's
    BaseHTTPMiddleware, which would copy every body through a task of its own."""

    def __init__(self, app, requests: Counter, seconds: Histogram):
        self.app, self.requests, self.seconds = app, requests, seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = request_id_for(given)
        token = request_id.set(rid)
        started, status = time.perf_counter(), 500

        async def answer(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            elapsed = time.perf_counter() - started
            # The router leaves the matched route in the scope: a label per route, not per id.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self.requests.labels(method, route, str(status)).inc()
            self.seconds.labels(method, route).observe(elapsed)
            log.info("%s %s %s", method, scope["path"], status,
                     extra={"status": status, "route": route, "duration_ms": round(elapsed * 1000, 1)})
            request_id.reset(token)


def observe(app, runners: dict[str, ServiceRunner]) -> None:
    """Health, readiness, metrics and request ids on a FastAPI app."""
    from fastapi.responses import JSONResponse, Response

    registry = CollectorRegistry()
    ends = EndOffsets(runners)
    registry.register(RunnerCollector(runners, ends))
    instrument(runners, registry)
    requests = Counter("tousu_http_requests", "HTTP requests answered", ["method", "route", "status"],
                       registry=registry)
    seconds = Histogram("tousu_http_request_seconds", "Time to answer an HTTP request", ["method", "route"],
                        registry=registry)

    app.add_middleware(RequestContext, requests=requests, seconds=seconds)

    # Kept out of the OpenAPI document, which describes the API that callers use
    # (and whose every route but the front door asks for a token).
    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok", "services": list(runners)}

    @app.get("/readyz", include_in_schema=False)
    async def readyz():
        checks = await readiness(runners)
        ready = all(v == "ok" for check in checks.values() for v in check.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "services": checks},
                            status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics():
        await ends.refresh()
        # Collectors read the stores: off the event loop.
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
