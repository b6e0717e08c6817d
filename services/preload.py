"""What the fork server (services/launch.py) works out once, after importing
the services, for every process it forks to inherit: each would otherwise
spend its first half second of CPU on the same work.

Imported by the fork server alone: nothing else imports this module. Nothing
here may stop the fork server: what fails here, a worker does again by itself
and reports as it always has. Nothing here reads this project's settings from
the environment either, which is the fork server's, not the one each command
is given. (Libraries read theirs at import, so here in the fork server: psycopg's
PSYCOPG_IMPL, pandas' and OpenBLAS's own; the project sets none of them.)"""
from __future__ import annotations

import gc
import importlib
import inspect
import sys


def _prepare() -> None:
    import faust

    from services.agencies.directory import _base_agencies
    from services.bus.codec import default_codec
    from services.bus.topics import EVERYTHING

    # What a worker imports as it builds its service and its HTTP face (PyJWT and
    # cryptography among them: a third of a second).
    for service in EVERYTHING:
        importlib.import_module(f"services.{service}.spec")
        importlib.import_module(f"services.{service}.api")
    for module in ("services.observability", "services.asyncapi_cli", "services.openapi", "services.desk.console",
                   # FastAPI imports it as each route is built, to tell pydantic's old models apart.
                   "pydantic.v1"):
        importlib.import_module(module)
    # faust imports the classes its settings name as an app is configured.
    faust.App("tousu-preload").conf
    # The agencies as published and the Avro schemas, parsed (both cached where
    # they are built); an override file is read by the worker that names it.
    _base_agencies()
    default_codec()


# Imported only on first use, each once per process: the web server's protocol
# classes as it starts serving, the HTTP client of the commands (`tousu status`,
# `submit` and the failure explanations), the PostgreSQL driver.
_ON_FIRST_USE = ("uvloop", "uvicorn", "uvicorn.protocols.http.auto", "uvicorn.protocols.websockets.auto",
                 "uvicorn.lifespan.on", "uvicorn.loops.auto", "anyio._backends._asyncio", "httpx", "httpcore",
                 "services.desk.console.public", "eventsourcing.sqlite", "psycopg", "eventsourcing.postgres")


def _warm_intake() -> None:
    """Intake's lookups by first use: cpca's division table and matcher (half a
    second the first time it reads an address) and the birth places of
    resident identity numbers."""
    from stdnum import numdb

    from services.intake.addresses import _tables

    _tables().cpca.transform(["上海市浦东新区世纪大道100号"], pos_sensitive=True)
    numdb.get("cn/loc")


for _step in (_prepare, _warm_intake, *(lambda m=m: importlib.import_module(m) for m in _ON_FIRST_USE)):
    try:
        _step()
    except Exception:  # noqa: BLE001 - see the module's docstring
        pass
# faust marks each agent it creates for venusian, which asks inspect for the
# module of the calling frame; inspect finds it by resolving the path of every
# module imported, once per process. Done here, a worker resolves only the
# modules it imports itself.
inspect.getmodule(sys._getframe())
# What is here now lives as long as the fork server and every process it forks:
# the garbage collector need not walk it again in each of them (and by walking
# it would copy the pages it shares with them).
gc.freeze()
