"""The whole system in one process: the embedded broker unless one is given,
the topics, the four services and, for `tousu up`, one HTTP address."""
from __future__ import annotations

import asyncio
import importlib
import logging
import os

from services.bus.bounded import within
from services.bus.broker import EmbeddedBroker, create_topics
from services.bus.clock import Clock
from services.bus.runtime import ServiceRunner, ServiceSpec
from services.bus.settings import EMBEDDED_SESSION_TIMEOUT_S, bus_settings, store_settings
from services.bus.topics import EVERYTHING

log = logging.getLogger(__name__)

def spec(service: str) -> ServiceSpec:
    if service not in EVERYTHING:
        raise SystemExit(f"unknown service {service!r}; one of {', '.join(EVERYTHING)}")
    return importlib.import_module(f"services.{service}.spec").SPEC


class System:
    def __init__(self, services=EVERYTHING, env=os.environ, clock: Clock | None = None):
        self.names = tuple(services)
        self.env = env
        self.clock = clock or Clock.from_env(env)
        self.broker: EmbeddedBroker | None = None
        self.runners: dict[str, ServiceRunner] = {}

    @property
    def bootstrap_servers(self) -> str:
        return self.env.get("KAFKA_BOOTSTRAP_SERVERS") or self.broker.bootstrap_servers

    async def open(self) -> None:
        """Broker, topics, stores and relays: the services can take commands."""
        if self.runners:
            return
        if not self.env.get("KAFKA_BOOTSTRAP_SERVERS"):
            self.broker = EmbeddedBroker().start()
            self.env = {"TOUSU_SESSION_TIMEOUT_S": EMBEDDED_SESSION_TIMEOUT_S, **self.env}
        await create_topics(self.bootstrap_servers)
        bus, store = bus_settings(self.bootstrap_servers, self.env), store_settings(self.env)
        for name in self.names:
            self.runners[name] = ServiceRunner(spec(name), bus, store, clock=self.clock)
        await self._all(lambda runner: runner.open())

    async def start(self) -> None:
        await self.open()
        # Group joins take seconds each on the embedded broker: join in parallel.
        await self._all(lambda runner: runner.start())

    async def _all(self, step) -> None:
        results = await asyncio.gather(*(step(runner) for runner in self.runners.values()),
                                       return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            await self.stop()
            raise failed[0]

    async def stop(self) -> None:
        async def stop(runner):
            try:
                # A broker that is already gone must not hold the shutdown for long.
                await within(8, runner.stop())
            except Exception:
                log.exception("stopping %s", runner.name)
        await asyncio.gather(*(stop(runner) for runner in self.runners.values()))
        if self.broker:
            self.broker.stop()
