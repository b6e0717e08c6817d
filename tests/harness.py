"""Running the system as separate processes, the way production runs it, so a
test can kill one service with SIGKILL and start it again; one service's HTTP
face in-process over its own store, for what does not cross a topic; the one
HTTP caller (Processes.caller) and the one wait (wait_until, and
Processes.wait_status on top of it) every test uses."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter, defaultdict
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx

from services.bus.codec import default_codec
from services.bus.reader import read_all_sync
from services.bus.topics import SERVICES
from services import launch
from services.commands import bound_socket
from tests import launcher


DECISIONS = ("ComplaintAccepted", "ComplaintRejected", "ComplaintReferred")
PROBLEM = "application/problem+json"
# The one client of every request a test makes: httpx sets up TLS for each
# client, some 20 ms of CPU, which each of thousands of requests paid again.
# It keeps no cookies, so no request carries what an earlier one was given.
HTTP = httpx.Client(timeout=30, cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])))


def settled(bootstrap: str, ids: list[str]):
    """(decisions, mediation) once every complaint is decided and every accepted
    one has its mediation case opened, else False."""
    decisions = distinct_events(bootstrap, "complaints.decisions")
    mediation = distinct_events(bootstrap, "mediation.events")
    done = all(sum(decisions[c][t] for t in DECISIONS) >= 1 and
               mediation[c]["MediationOpened"] == decisions[c]["ComplaintAccepted"] for c in ids)
    return done and (decisions, mediation)


def decided_and_mediated(bootstrap: str, ids: list[str]):
    decisions = distinct_events(bootstrap, "complaints.decisions")
    mediation = distinct_events(bootstrap, "mediation.events")
    decided = {cid for cid in ids if sum(decisions[cid][t] for t in DECISIONS) >= 1}
    return decisions, mediation, decided


def assert_exactly_once(bootstrap: str, ids: list[str]) -> None:
    decisions, mediation, decided = decided_and_mediated(bootstrap, ids)
    for cid in ids:
        counts = decisions[cid]
        assert sum(counts[t] for t in DECISIONS) == 1, (cid, counts)
        accepted = counts["ComplaintAccepted"]
        assert mediation[cid]["MediationOpened"] == accepted, (cid, counts, mediation[cid])


def wait_until(predicate, timeout: float, interval: float = 0.25, message: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last: {last!r}")


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    """An RFC 9457 problem with this status, naming `field` when one is given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM, response.headers
    problem = response.json()
    assert problem["status"] == status and problem["type"].startswith("https://") and problem["title"]
    if field is not None:
        assert problem["field"] == field, problem
        assert field in [error["field"] for error in problem["errors"]], problem
        assert all(error["message"] for error in problem["errors"])
    return problem


def _jsonable(body):
    return json.loads(json.dumps(body, default=lambda v: v.isoformat()))


class Caller:
    """The one HTTP caller of the end-to-end tests: one service's address and,
    unless empty, a bearer token. Bodies may hold datetimes (sent as ISO 8601)."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, /, **params) -> httpx.Response:
        return HTTP.get(f"{self.base_url}{path}", params=params, headers=self.headers, timeout=30)

    def post(self, path: str, body: dict | None = None, /, **fields) -> httpx.Response:
        """POST `body` with `fields` added; a field may be named `body` too."""
        return HTTP.post(f"{self.base_url}{path}", json=_jsonable({**(body or {}), **fields}),
                          headers=self.headers, timeout=30)


class InProcess:
    """One service's HTTP face over its own store in this process, no broker:
    for what a request is answered and what is stored, not where events go.
    The relay is built but never started."""

    def __init__(self, service: str, data_dir: Path, env: dict | None = None):
        from fastapi.testclient import TestClient

        from services.bus.runtime import ServiceRunner
        from services.bus.settings import BusSettings, StoreSettings
        from services.http import build_app
        from services.system import spec

        self.runner = ServiceRunner(spec(service), BusSettings("127.0.0.1:9"), StoreSettings(data_dir, env or {}))
        self.app = self.runner.app
        self.http = TestClient(build_app({service: self.runner}), base_url="http://tousu")

    def __enter__(self) -> "InProcess":
        self.http.__enter__()  # one event loop for every request, as a server has
        return self

    def __exit__(self, *exc) -> None:
        self.http.__exit__(*exc)
        self.runner.executor.shutdown()
        self.runner.commands.shutdown()
        self.app.close()

    def published(self) -> list[tuple[str, dict]]:
        """(record type, record) of every message the relay would publish for
        what is stored, encoded as it would be: a stored event the relay could
        not encode would hold up every later one."""
        from services.bus.audit import GENESIS

        out, chain = [], GENESIS
        for notification in self.app.recorder.select_notifications(0, 1_000_000, inclusive_of_start=False):
            messages, chain = self.runner.relay.messages_for(notification, chain)
            out += [self.runner.codec.decode(value) for _, _, value, _ in messages]
        return out


class Worker:
    def __init__(self, service: str, env: dict, log_dir: Path, serves: bool = False, name: str | None = None):
        self.service, self.env = service, env
        self.log_path = log_dir / f"{name or service}.log"
        self.process: launch.Command | None = None
        self.serves = serves
        self.port: int | None = None

    def start(self) -> "Worker":
        """Its HTTP socket is bound here and handed over, as tousu up does: no
        other process of the suite can take the port between choosing it and
        binding it. The same port at each restart, so that its address stays."""
        args = ["--log-level", self.env.get("TOUSU_LOG_LEVEL", "WARNING"), "worker", self.service]
        with bound_socket("127.0.0.1", self.port or 0) if self.serves else contextlib.nullcontext() as bound:
            self.port = bound.getsockname()[1] if bound else None
            self.process = launcher.start(args, self.env, self.log_path, name=f"tousu-{self.log_path.stem}",
                                          listen=bound)
        return self

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        self.signal_stop()
        self.wait_stopped()

    def signal_stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


class Processes:
    """The four services as four processes on one bus and one data directory."""

    def __init__(self, bootstrap: str, data_dir: Path, extra_env: dict | None = None,
                 services: tuple[str, ...] = SERVICES, second_workers: tuple[str, ...] = ()):
        self.env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "TOUSU_DATA_DIR": str(data_dir),
                    "TOUSU_SIGNING_KEY": "test-signing-key-of-thirty-two-bytes!", **(extra_env or {})}
        data_dir.mkdir(parents=True, exist_ok=True)
        self.workers = {name: Worker(name, self.env, data_dir, serves=True) for name in services}
        # A second worker of a service shares its store and its consumer group (PostgreSQL).
        for name in second_workers:
            self.workers[f"{name}-2"] = Worker(name, self.env, data_dir, name=f"{name}-2")

    @property
    def ports(self) -> dict[str, int]:
        """Each serving worker's port, once it has been started."""
        return {name: worker.port for name, worker in self.workers.items() if worker.port}

    @property
    def port(self) -> int:
        return self.ports["intake"]

    def url_of(self, service: str) -> str:
        """Each service serves its own routes, as in production."""
        return f"http://127.0.0.1:{self.ports[service]}"

    def token(self, agency_id: str, role: str = "CASE_WORKER") -> str:
        from services import auth
        return auth.issue(agency_id, role, self.env["TOUSU_SIGNING_KEY"].encode())

    def caller(self, service: str = "intake", agency_id: str | None = None, role: str = "CASE_WORKER",
               token: str | None = None) -> Caller:
        """A caller at one service: anonymous, with a token for an agency and
        role, or with the token given (an empty one sends none)."""
        if token is None and agency_id is not None:
            token = self.token(agency_id, role)
        return Caller(self.url_of(service), token)

    def submit(self, *bodies: dict) -> list[str]:
        """POST each body to intake, one after another; their complaint ids."""
        return asyncio.run(post_all(self.url, list(bodies), concurrency=1))

    def status(self, complaint_id: str) -> dict:
        return HTTP.get(f"{self.url}/complaints/{complaint_id}", timeout=10).json()

    def wait_status(self, complaint_id: str, wanted, timeout: float = 60, message: str | None = None) -> dict:
        """The status document once it satisfies `wanted`: a status name, or a
        predicate on the document."""
        test = (lambda doc: doc.get("status") == wanted) if isinstance(wanted, str) else wanted

        def ready():
            try:
                response = HTTP.get(f"{self.url}/complaints/{complaint_id}", timeout=10)
            except httpx.HTTPError:
                return None  # intake restarting
            doc = response.json() if response.status_code == 200 else None  # else not yet known
            return doc if doc and test(doc) else None
        return wait_until(ready, timeout, message=message or f"{complaint_id} to reach {wanted}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Processes":
        for worker in self.workers.values():
            worker.start()
        for name in self.workers:
            if name in self.ports:
                wait_until(lambda: self._http_ready(name), 60, message=f"{name} HTTP")
        return self

    def wait_serving(self, service: str) -> None:
        """Wait for a (re)started service to answer HTTP again."""
        wait_until(lambda: self._http_ready(service), 60, message=f"{service} serving")

    def _http_ready(self, service: str) -> bool:
        for worker in self.workers.values():
            if worker.process.poll() is not None:
                raise AssertionError(f"{worker.service} exited:\n{worker.log()}")
        try:
            return HTTP.get(f"{self.url_of(service)}/openapi.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def restart(self, service: str) -> None:
        self.workers[service].start()

    def stop(self) -> None:
        # All at once: each takes seconds to leave its group.
        for worker in self.workers.values():
            worker.signal_stop()
        for worker in self.workers.values():
            worker.wait_stopped()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return launcher.run(list(args), self.env, check=check)


async def post_all(url: str, bodies: list[dict], concurrency: int = 16, on_progress=None) -> list[str]:
    """POST every body over keep-alive connections; the ids in body order.
    With aiohttp: a tenth of httpx's CPU per request, and the suite posts
    thousands beside the services it measures."""
    import aiohttp

    ids: list[str | None] = [None] * len(bodies)
    queue = asyncio.Queue()
    for index in range(len(bodies)):
        queue.put_nowait(index)
    done = 0

    async def client(http: aiohttp.ClientSession):
        nonlocal done
        while not queue.empty():
            index = queue.get_nowait()
            payload = json.dumps(bodies[index], ensure_ascii=False).encode()
            async with http.post("/complaints", data=payload, headers={"Content-Type": "application/json"}) as answer:
                text = await answer.text()
                assert answer.status == 202, text
            ids[index] = json.loads(text)["complaint_id"]
            done += 1
            if on_progress:
                await on_progress(done)

    async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=30),
                                     connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return ids


def distinct_events(bootstrap: str, topic: str) -> dict[str, Counter]:
    """complaint id -> record type -> number of distinct event ids (duplicate
    deliveries of one event count once, as a subscriber deduplicating by
    event_id would see them)."""
    codec = default_codec()
    seen = defaultdict(set)
    for message in read_all_sync(bootstrap, topic):
        record_type, record = codec.decode(message.value)
        seen[(record.get("complaint_id"), record_type)].add(record["event_id"])
    counts: dict[str, Counter] = defaultdict(Counter)
    for (complaint_id, record_type), ids in seen.items():
        counts[complaint_id][record_type] = len(ids)
    return counts


def decoded(bootstrap: str, topic: str) -> list[tuple[str, dict]]:
    """(record type, record) of every message on a topic, oldest first."""
    codec = default_codec()
    return [codec.decode(m.value) for m in read_all_sync(bootstrap, topic)]
