"""`tousu up`: the whole system on one machine as production runs it, each
service a process of its own (so every core is used), behind one HTTP address.

The parent starts the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS names
one), creates the topics, starts `tousu worker SERVICE` for every service
(TOUSU_WORKERS of each on PostgreSQL), restarts one that dies, and forwards each
HTTP request to the worker that serves its route, as the reverse proxy does in
production. Ctrl-C stops the workers, then the broker."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import time
from dataclasses import dataclass

import aiohttp
from aiokafka.errors import KafkaError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.bus.broker import BrokerError, EmbeddedBroker, create_topics
from services.bus.settings import EMBEDDED_SESSION_TIMEOUT_S, store_settings
from services import launch
from services.bus.correlation import request_id_for
from services.desk import journal

log = logging.getLogger(__name__)

# Routes that are pages rather than API operations (not in any OpenAPI document).
PAGES = ("/console", "/public", "/static", "/docs", "/redoc")
STOP_SECONDS = 8.0
# Not forwarded either way: they describe one connection, not the message.
# Host is forwarded: the links a worker writes (a page's next, in its Link
# header) then point at the address the caller used, not at the worker.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "content-length", "proxy-authorization", "proxy-authenticate"}


@dataclass
class Answer:
    """A worker's answer, read whole."""
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Worker:
    service: str
    instance: int
    env: dict
    log_level: str
    port: int = 0  # a new one at each start
    process: launch.Command | None = None
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        return self.service if self.instance == 1 else f"{self.service}-{self.instance}"

    def start(self) -> None:
        # The worker is handed its socket, bound here: a port chosen here and
        # bound by the worker later could be taken meanwhile (by any
        # connection's own port). It listens only once the worker serves, so a
        # worker still starting refuses connections and the proxy passes it
        # over; a new one at each start, so that a dead worker's does too.
        from services.commands import bound_socket

        with bound_socket("127.0.0.1", 0) as bound:
            self.port = bound.getsockname()[1]
            self.process = launch.start(
                ["--log-level", self.log_level, "worker", self.service],
                # Its name on its log lines: two workers of a service write to one terminal.
                {**self.env, "TOUSU_WORKER_NAME": self.name}, listen=bound,
                # Ctrl-C in a terminal reaches the whole foreground group: the parent
                # alone handles it, and stops the workers in order.
                own_session=True, name=f"tousu-{self.name}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Routes:
    """Which worker serves a request: the services' OpenAPI paths, compiled."""

    def __init__(self):
        self.table: list[tuple[re.Pattern, str, str]] = []
        self.documents: dict[str, dict] = {}

    def add(self, service: str, document: dict) -> None:
        self.documents[service] = document
        for path, operations in document.get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$")
            for method in operations:
                self.table.append((pattern, method.upper(), service))
        # Literal paths before templated ones: /complaints/bulk is not /complaints/{id}.
        self.table.sort(key=lambda row: row[0].pattern.count("[^/]+"))

    def service_for(self, method: str, path: str) -> str | None:
        for pattern, allowed, service in self.table:
            if allowed == method and pattern.match(path):
                return service
        if path.startswith(PAGES):
            return "desk" if "desk" in self.documents else next(iter(self.documents), None)
        return None

    def methods_for(self, path: str) -> list[str]:
        """The methods some service serves at this path (for a 405's Allow)."""
        return sorted({allowed for pattern, allowed, _ in self.table if pattern.match(path)})

    def merged(self) -> dict:
        """One OpenAPI document of every service's routes."""
        merged: dict = {}
        for document in self.documents.values():
            if not merged:
                merged = {k: v for k, v in document.items() if k not in ("paths", "components")}
                merged["paths"], merged["components"] = {}, {}
            for path, operations in document.get("paths", {}).items():
                merged["paths"].setdefault(path, {}).update(operations)
            for kind, entries in document.get("components", {}).items():
                merged["components"].setdefault(kind, {}).update(entries)
        return merged


class Up:
    def __init__(self, host: str, port: int, env=os.environ, log_level: str = "WARNING"):
        from services.bus.topics import EVERYTHING

        self.host, self.port, self.log_level = host, port, log_level
        self.env = dict(env)
        self.services = EVERYTHING
        self.broker: EmbeddedBroker | None = None
        self.workers: list[Worker] = []
        self.routes = Routes()
        # Every worker of each service, taking requests in turn: with TOUSU_WORKERS
        # above one, the others share the store and take HTTP as production's do.
        self.pool: dict[str, list[Worker]] = {}  # by service
        self.by_worker: dict[str, Worker] = {}  # by name: intake, intake-2...
        self._session: aiohttp.ClientSession | None = None
        self._turn: dict[str, int] = {}
        self.stopping = False
        self.journal: journal.Journal | None = None
        self.recorded = None

    async def start(self) -> None:
        count = instances(self.env)
        bootstrap = self.env.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            from services.commands import record_broker

            self.broker = EmbeddedBroker().start()
            bootstrap = self.broker.bootstrap_servers
            self.recorded = record_broker(bootstrap)
        await create_topics(bootstrap)
        env = {**self.env, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
        if self.broker:
            env.setdefault("TOUSU_SESSION_TIMEOUT_S", EMBEDDED_SESSION_TIMEOUT_S)
        # The console acts through the one address, as behind production's proxy.
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        env.setdefault("TOUSU_CONSOLE_API_URL", f"http://{host}:{self.port}")
        self.workers = [Worker(s, i, env, self.log_level) for s in self.services for i in range(1, count + 1)]
        for worker in self.workers:
            worker.start()
        first = [w for w in self.workers if w.instance == 1]
        for worker, document in zip(first, await asyncio.gather(*(self._wait_ready(w) for w in first))):
            self.routes.add(worker.service, document)
        if "desk" in self.services:
            from services.desk.tables import Database

            self.journal = journal.Journal(Database(store_settings(env).for_service("desk")))
        for worker in self.workers:
            self.pool.setdefault(worker.service, []).append(worker)
            self.by_worker[worker.name] = worker

    def session(self) -> aiohttp.ClientSession:
        """The one pool of kept-alive connections to every worker. aiohttp, not
        httpx: with it the whole system spends a third less CPU per complaint
        (bench/bench_e2e.py), most of httpx's being its client's own."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # As many connections as callers need, up to 100 to each worker: one
                # busy service must not hold up the others. Idle ones are dropped
                # before uvicorn's 5 s would close them under a request.
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=100, keepalive_timeout=4),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=60, sock_read=60),
                # A proxy keeps no cookies: each caller's travel with its own requests only.
                cookie_jar=aiohttp.DummyCookieJar(),
                # Only the caller's own headers go on, and the answer comes back as sent.
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                auto_decompress=False)
        return self._session

    @property
    def bootstrap_servers(self) -> str:
        return self.workers[0].env["KAFKA_BOOTSTRAP_SERVERS"]

    async def _wait_ready(self, worker: Worker, timeout: float = 120.0) -> dict:
        """The worker's OpenAPI document, once it serves one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not worker.alive():
                raise SystemExit(f"tousu up: the {worker.name} worker exited with {worker.process.returncode} "
                                 "while starting: its reason is the line it printed above")
            try:
                async with self.session().get(f"{worker.url}/openapi.json",
                                              timeout=aiohttp.ClientTimeout(total=2)) as answer:
                    if answer.status == 200:
                        return await answer.json()
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.2)
        raise SystemExit(f"tousu up: the {worker.name} worker did not answer within {timeout:.0f}s")

    async def supervise(self) -> None:
        """A worker that dies is started again, as compose's restart policy does;
        so is the embedded broker, on its own port, where the workers find it."""
        while not self.stopping:
            await asyncio.sleep(1)
            if self.broker and not self.broker.alive() and not self.stopping:
                await self._restart_broker()
            for worker in self.workers:
                if not worker.alive() and not self.stopping:
                    worker.restarts += 1
                    log.warning("the %s worker exited with %s; starting it again", worker.name,
                                worker.process.returncode)
                    worker.start()

    async def _restart_broker(self) -> None:
        """Its topics were in its memory: the relays see the broker lost its data
        and publish their history again, as after any broker loss."""
        code = self.broker.process.returncode if self.broker.process else None
        log.warning("the embedded broker exited with %s; starting it again on %s (its topics were in memory: "
                    "the services publish their history again)", code, self.broker.bootstrap_servers)
        try:
            await asyncio.to_thread(self.broker.start)
            await create_topics(self.broker.bootstrap_servers)
        except (BrokerError, KafkaError, OSError) as exc:
            log.error("the embedded broker could not be started again (%s); trying again in a second", exc)

    async def stop(self) -> None:
        self.stopping = True
        if self._session is not None:
            await self._session.close()
        for worker in self.workers:
            if worker.alive():
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for worker in self.workers:
            while worker.alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if worker.alive():
                log.warning("the %s worker did not stop in time; killing it", worker.name)
                worker.process.kill()
                worker.process.wait()
        if self.broker:
            self.broker.stop()
        if self.recorded:
            self.recorded.unlink(missing_ok=True)

    async def _each(self, path: str) -> dict[str, Answer | None]:
        """Every worker's answer (None for none), by worker name: `intake`, `intake-2`..."""
        async def ask(name, url):
            try:
                return name, await self._ask(url, "GET", path)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return name, None
        return dict(await asyncio.gather(*(ask(name, worker.url) for name, worker in self.by_worker.items())))

    async def _ask(self, url: str, method: str, path: str, **request) -> Answer:
        async with self.session().request(method, url + path, allow_redirects=False, **request) as answer:
            return Answer(answer.status, list(answer.headers.items()), await answer.read())

    async def _forward(self, service: str, method: str, path: str, **request) -> Answer:
        """To the service's workers in turn. A worker that cannot be reached
        (starting, or being restarted) was sent nothing, so the next one is
        asked; any other failure is the caller's to retry."""
        workers = self.pool[service]
        turn = self._turn[service] = (self._turn.get(service, -1) + 1) % len(workers)
        order = workers[turn:] + workers[:turn]
        for worker in order[:-1]:
            try:
                return await self._ask(worker.url, method, path, **request)
            except aiohttp.ClientConnectorError:
                continue
        return await self._ask(order[-1].url, method, path, **request)

    def app(self) -> Starlette:
        async def openapi(request: Request):
            return JSONResponse(self.routes.merged())

        async def healthz(request: Request):
            return JSONResponse({"status": "ok", "services": list(self.pool)})

        async def readyz(request: Request):
            answers = await self._each("/readyz")
            checks = {}
            for name, answer in answers.items():
                document = answer.json() if answer is not None else None
                checks[name] = (document.get("services", {}).get(self.by_worker[name].service, document)
                                if document is not None else {"process": "no answer"})
            # Ready while every service has a worker ready: its requests go to that one.
            ready = all(any(answers.get(w.name) is not None and 200 <= answers[w.name].status < 300 for w in workers)
                        for workers in self.pool.values())
            return JSONResponse({"status": "ready" if ready else "not ready", "services": checks},
                                status_code=200 if ready else 503)

        async def metrics(request: Request):
            from prometheus_client.exposition import CONTENT_TYPE_LATEST

            answers = await self._each("/metrics")
            several = frozenset(w.name for w in self.workers if len(self.pool[w.service]) > 1)
            return Response(merged_metrics({s: a.body.decode() for s, a in answers.items() if a is not None}, several),
                            media_type=CONTENT_TYPE_LATEST)

        async def forward(request: Request):
            service = self.routes.service_for(request.method, request.url.path)
            if service is None and (allowed := self.routes.methods_for(request.url.path)):
                return JSONResponse({"type": "https://tousu.example/problems/method-not-allowed",
                                     "title": "Method not allowed", "status": 405,
                                     "detail": f"{request.url.path} takes {', '.join(allowed)}, not {request.method}",
                                     "instance": request.url.path}, status_code=405,
                                    media_type="application/problem+json", headers={"Allow": ", ".join(allowed)})
            if service is None:
                return JSONResponse({"type": "https://tousu.example/problems/not-found", "title": "Not found",
                                     "status": 404, "detail": f"no route {request.method} {request.url.path}",
                                     "instance": request.url.path}, status_code=404,
                                    media_type="application/problem+json")
            headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
            try:
                answer = await self._forward(service, request.method, request.url.path,
                                             params=list(request.query_params.multi_items()), headers=headers,
                                             data=await request.body() or None)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return JSONResponse({"type": "https://tousu.example/problems/unavailable",
                                     "title": "Service unavailable", "status": 503,
                                     "detail": f"the {service} service does not answer; try again shortly",
                                     "instance": request.url.path}, status_code=503,
                                    media_type="application/problem+json", headers={"Retry-After": "2"})
            if service != "desk" and self.journal is not None:
                # Who did what, for the desk: it sees only the requests it serves itself.
                await journal.note(self.journal, request.method, request.url.path,
                                   request.headers.get("authorization"), answer.status)
            response = Response(answer.body, status_code=answer.status)
            for name, value in answer.headers:  # every Set-Cookie, not the last
                if name.lower() not in HOP_BY_HOP | {"date", "server"}:
                    response.headers.append(name, value)
            return response

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        @contextlib.asynccontextmanager
        async def lifespan(app):
            yield
            # Where the app is served with its lifespan (tests' TestClient); under
            # `tousu up`, whose server runs none, Up.stop() closes the session.
            if self._session is not None:
                await self._session.close()

        return Starlette(routes=[Route("/openapi.json", openapi, methods=["GET"]),
                                 Route("/healthz", healthz, methods=["GET"]),
                                 Route("/readyz", readyz, methods=["GET"]),
                                 Route("/metrics", metrics, methods=["GET"]),
                                 Route("/{path:path}", forward, methods=methods)], lifespan=lifespan,
                         middleware=[Middleware(RequestIdOnEveryAnswer)])


class RequestIdOnEveryAnswer:
    """Every answer of the one address carries the request's id, as each
    service's own answers do: the caller's X-Request-ID, or one made here and
    handed to the worker, so the worker's log lines and messages carry the
    same one. Answers made here (health, a 404, a 503) carry it too."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = [(k, v) for k, v in scope["headers"] if k != b"x-request-id"]
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = request_id_for(given).encode()
        scope = {**scope, "headers": [*headers, (b"x-request-id", rid)]}

        async def answer(message):
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*kept, (b"x-request-id", rid)]}
            await send(message)
        await self.app(scope, receive, answer)


def merged_metrics(texts: dict[str, str], labelled: frozenset[str] = frozenset()) -> bytes:
    """Every worker's Prometheus text as one; a sample that more than one worker
    reports (the same name and labels) is told apart by a `worker` label, and
    so is every sample of the `labelled` workers (those of a service with
    several: a series keeps its labels while one of them restarts)."""
    from collections import Counter

    from prometheus_client.core import Metric
    from prometheus_client.exposition import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    parsed = {worker: list(text_string_to_metric_families(text)) for worker, text in texts.items()}
    reported = Counter((sample.name, tuple(sorted(sample.labels.items())))
                       for families in parsed.values() for family in families for sample in family.samples)
    families: dict[str, Metric] = {}
    for worker, worker_families in parsed.items():
        for family in worker_families:
            merged = families.setdefault(family.name, Metric(family.name, family.documentation, family.type))
            for sample in family.samples:
                if worker in labelled or reported[(sample.name, tuple(sorted(sample.labels.items())))] > 1:
                    sample = sample._replace(labels={**sample.labels, "worker": worker})
                merged.samples.append(sample)

    class Collected:
        def collect(self):
            return list(families.values())
    return generate_latest(Collected())


def instances(env) -> int:
    """TOUSU_WORKERS of each service: several share a PostgreSQL store; a
    SQLite store has one writer. ValueError says what is wrong with it."""
    wanted = env.get("TOUSU_WORKERS", "1")
    if not wanted.isdigit() or int(wanted) < 1:
        raise ValueError(f"TOUSU_WORKERS must be a whole number from 1, not {wanted!r}")
    if int(wanted) > 1 and not env.get("PERSISTENCE_MODULE", "").endswith("postgres"):
        raise ValueError("several workers of a service (TOUSU_WORKERS) need a shared PostgreSQL store "
                         "(PERSISTENCE_MODULE=eventsourcing.postgres); SQLite has one writer")
    return int(wanted)


async def run(host: str, port: int, log_level: str) -> None:
    from services.commands import _serve, bound_socket, stopping_on_signals, unless_stopped

    sock = bound_socket(host, port)
    up = Up(host, port, log_level=log_level)
    stopping = stopping_on_signals()
    serving = supervising = None
    try:
        if not await unless_stopped(up.start(), stopping):
            return
        server = _serve(up.app(), sock)
        serving = asyncio.create_task(server.serve())
        supervising = asyncio.create_task(up.supervise())
        # "up" only once it listens: whoever reads the banner may send at once.
        while not server.started and not serving.done() and not stopping.done():
            await asyncio.sleep(0.02)
        if serving.done():
            serving.result()  # the server could not start: say why
        print(f"tousu is up: HTTP on http://{host}:{port} (OpenAPI at /openapi.json)", flush=True)
        print(f"  broker: {up.bootstrap_servers}{' (embedded, in memory)' if up.broker else ''}", flush=True)
        count = len(up.workers) // len(up.services)
        print(f"  services: {', '.join(up.services)}, {count} process{'es' if count > 1 else ''} each; "
              f"event stores under {store_settings(up.env).data_dir}", flush=True)
        print("  health: /healthz, /readyz; Prometheus metrics: /metrics", flush=True)
        print("  Ctrl-C stops everything.", flush=True)
        await asyncio.wait([stopping, serving], return_when=asyncio.FIRST_COMPLETED)
        if serving.done():
            serving.result()  # the server could not start: say why
    finally:
        if supervising:
            supervising.cancel()
        if serving and not serving.done():
            server.should_exit = True
            await serving
        await up.stop()
        sock.close()

