"""What went wrong, in one line a person can act on: the cause and the fix.

The `tousu` command turns every failure it knows into such a line instead of a
traceback; `--log-level DEBUG` still shows where it happened."""
from __future__ import annotations

import os
import socket


def _bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "(not set)"


def _url(args) -> str:
    from services.commands import _url

    return _url(args) if hasattr(args, "url") else "?"


def broker_unreachable(servers: str) -> str:
    recorded = os.environ.get("TOUSU_BROKER_RECORDED_IN")
    if recorded and os.environ.get("KAFKA_BOOTSTRAP_SERVERS") == servers:
        return (f"no Kafka broker answers at {servers}, where `tousu up` said its broker was ({recorded}): "
                "is `tousu up` still running? start it again, or export KAFKA_BOOTSTRAP_SERVERS for another broker")
    return (f"no Kafka broker answers at KAFKA_BOOTSTRAP_SERVERS={servers}: start it (`tousu up` "
            "prints the address of the one it starts) and export that address, or "
            "`unset KAFKA_BOOTSTRAP_SERVERS` to let `tousu up` start one")


def explain(exc: BaseException, args) -> str:
    """The one line for `exc`, raised while running the command in `args`."""
    import httpx

    try:
        from aiokafka.errors import KafkaConnectionError, KafkaError
    except ImportError:  # pragma: no cover - aiokafka is a dependency
        KafkaConnectionError = KafkaError = ()

    if isinstance(exc, httpx.UnsupportedProtocol) or isinstance(exc, httpx.InvalidURL):
        return f"{_url(args)} is not an http:// or https:// address: fix --url or TOUSU_URL"
    if isinstance(exc, httpx.ConnectError):
        return (f"no tousu HTTP server answers at {_url(args)}: start it with `tousu up`, "
                "or point --url (or TOUSU_URL) at the running one")
    if isinstance(exc, httpx.TimeoutException):
        return f"{_url(args)} did not answer in time: is the server overloaded or stuck? try again"
    if isinstance(exc, httpx.HTTPError):
        return f"talking to {_url(args)} failed ({exc}): check --url or TOUSU_URL"
    if isinstance(exc, KafkaConnectionError):
        return broker_unreachable(_bootstrap())
    if isinstance(exc, KafkaError):
        return f"the Kafka broker at {_bootstrap()} refused: {exc}; check KAFKA_BOOTSTRAP_SERVERS and KAFKA_SASL_*"
    if isinstance(exc, RuntimeError) and "KAFKA_BOOTSTRAP_SERVERS" in str(exc):
        from services.bus.settings import data_dir

        return (f"KAFKA_BOOTSTRAP_SERVERS is not set and no `tousu up` runs with the data directory {data_dir()}: "
                "start `tousu up` (here, or with the same TOUSU_DATA_DIR), or export the address of your broker")
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename}: no such file or folder; check the path"
    if isinstance(exc, PermissionError):
        return f"{exc.filename}: permission denied; choose a path you may use"
    if isinstance(exc, IsADirectoryError):
        return f"{exc.filename} is a folder; give a file"
    if isinstance(exc, socket.gaierror):
        return f"an address cannot be resolved ({exc}); check KAFKA_BOOTSTRAP_SERVERS, TOUSU_URL and POSTGRES_HOST"
    if isinstance(exc, UnicodeDecodeError):
        return "the input is not UTF-8 text; save it as UTF-8"
    if type(exc).__module__.startswith("psycopg"):
        host = f"{os.environ.get('POSTGRES_HOST', '127.0.0.1')}:{os.environ.get('POSTGRES_PORT', '5432')}"
        return (f"PostgreSQL at {host} refused or did not answer ({_first_line(exc)}): start it, "
                "or fix POSTGRES_HOST, POSTGRES_PORT, POSTGRES_DBNAME, POSTGRES_USER, POSTGRES_PASSWORD")
    if type(exc).__name__ == "OperationalError" and type(exc).__module__.startswith("sqlite3"):
        from services.bus.settings import data_dir

        return f"the event store under {data_dir()} cannot be used ({exc}); set TOUSU_DATA_DIR to a writable folder"
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        return f"{exc.filename}: a file stands where a folder should be; check the path (and TOUSU_DATA_DIR)"
    if isinstance(exc, OSError):
        if exc.filename:
            return f"{exc.filename}: {exc.strerror or exc}; check the path and that you may use it"
        return f"{exc.strerror or exc}; check the addresses and paths this command uses"
    return f"{type(exc).__name__}: {_first_line(exc)} (run with --log-level DEBUG to see where)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def reachable(servers: str, timeout: float = 3.0) -> bool:
    """Does anything accept a connection at one of these bootstrap servers?"""
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        if not host or not port.isdigit():
            continue
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout).close()
            return True
        except OSError:
            continue
    return False
