"""Every `tousu` command, run against what goes wrong on an operator's machine (a
missing file, a stopped server, a stopped broker, a wrong address, a stopped
database), answers with one line naming the cause and the fix, never a traceback."""
from __future__ import annotations

import os
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from services.bus.broker import free_port
from tests import launcher

ROOT = Path(__file__).resolve().parents[2]
STOPPED = f"127.0.0.1:{free_port()}"  # nothing listens there
WRONG = "nosuchhost.invalid:9092"

BROKER_COMMANDS = [
    ["tail", "complaints.received"],
    ["tail", "audit.log", "--from-beginning", "--json"],
    ["audit", "verify"],
    ["audit", "verify", "--topic-only"],
    ["republish", "intake"],
    ["agency", "CA-310000", "--once"],
    ["topics"],
    ["worker", "routing"],
    ["up", "--port", "{port}"],
    ["stats", "--rebuild"],
]
HTTP_COMMANDS = [
    ["submit", str(ROOT / "examples" / "complaint.json")],
    ["status", "TS-20261128-3F2A9C1B7D4E"],
    ["status", "TS-20261128-3F2A9C1B7D4E", "--json"],
]

CASES = (
    [(f"stopped broker: {' '.join(c)}", c, {"KAFKA_BOOTSTRAP_SERVERS": STOPPED}, "no Kafka broker answers")
     for c in BROKER_COMMANDS]
    + [(f"wrong broker address: {' '.join(c)}", c, {"KAFKA_BOOTSTRAP_SERVERS": WRONG}, "no Kafka broker answers")
       for c in BROKER_COMMANDS if c[0] != "up"]
    + [("stale broker address: up", ["up", "--port", "{port}"], {"KAFKA_BOOTSTRAP_SERVERS": WRONG},
        "unset KAFKA_BOOTSTRAP_SERVERS")]
    + [(f"stopped server: {' '.join(c)}", c, {"TOUSU_URL": f"http://{STOPPED}"}, "no tousu HTTP server answers")
       for c in HTTP_COMMANDS]
    + [(f"wrong server address: {' '.join(c)}", c, {"TOUSU_URL": "http://nosuchhost.invalid:8315"},
        "no tousu HTTP server answers") for c in HTTP_COMMANDS]
    + [(f"not an address: {' '.join(c)}", c, {"TOUSU_URL": "localhost-8315"}, "not an http:// or https:// address")
       for c in HTTP_COMMANDS]
    + [
        ("missing file: submit", ["submit", "no-such-complaint.json"], {}, "no-such-complaint.json: no such file"),
        ("unwritable chart path: stats", ["stats", "--chart", "/no/such/folder/figures.png"], {},
         "/no/such/folder does not exist"),
        ("empty complaint id: status", ["status", ""], {}, "is not a complaint id"),
        ("unwritable output: asyncapi", ["asyncapi", "--output", "/no/such/folder/asyncapi.json"], {},
         "/no/such/folder/asyncapi.json: no such file or folder"),
        ("data directory is a file: token", ["token", "issue", "AMR-330106", "--role", "CASE_WORKER"],
         {"TOUSU_DATA_DIR": str(ROOT / "README.md")}, "a file stands where a folder should be"),
        ("unknown topic: tail", ["tail", "complaints.recieved"], {"KAFKA_BOOTSTRAP_SERVERS": STOPPED},
         "no topic 'complaints.recieved'"),
        ("negative position: republish", ["republish", "intake", "--from", "-5"], {}, "-5 is out of range"),
        ("no broker set: tail", ["tail", "public.complaints"], {}, "KAFKA_BOOTSTRAP_SERVERS is not set"),
        ("bad port variable: up", ["up"], {"TOUSU_HTTP_PORT": "http"}, "TOUSU_HTTP_PORT=http"),
        ("port in use: up", ["up", "--port", "{held}"], {}, "cannot listen on 127.0.0.1:{held} (in use)"),
        ("unknown host: up", ["up", "--host", "nosuchhost.invalid", "--port", "{port}"], {},
         "cannot listen on nosuchhost.invalid"),
        ("checkpoint without its key: audit verify", ["audit", "verify", "--checkpoint", str(ROOT / "README.md")],
         {"KAFKA_BOOTSTRAP_SERVERS": STOPPED}, "--checkpoint needs --public-key"),
        ("missing checkpoint file: audit verify", ["audit", "verify", "--checkpoint", "heads.jsonl",
                                                   "--public-key", str(ROOT / "README.md")],
         {"KAFKA_BOOTSTRAP_SERVERS": STOPPED}, "--checkpoint heads.jsonl: no such file"),
        ("unknown agency: token", ["token", "issue", "XYZ-1", "--role", "CASE_WORKER"], {},
         "unknown agency XYZ-1: not in the directory; ids are KIND-ADCODE"),
        ("a bureau has no inbox: agency", ["agency", "AMR-310115", "--once"], {}, "is a market-regulation bureau"),
        ("two workers on SQLite: up", ["up", "--port", "{port}"], {"TOUSU_WORKERS": "2"},
         "need a shared PostgreSQL store"),
        ("stopped database: stats", ["stats"], {"PERSISTENCE_MODULE": "eventsourcing.postgres",
                                                 "POSTGRES_PORT": STOPPED.split(":")[1]}, "PostgreSQL at"),
        ("stopped database: republish", ["republish", "routing"],
         {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_PORT": STOPPED.split(":")[1],
          "KAFKA_BOOTSTRAP_SERVERS": STOPPED}, "PostgreSQL at"),
    ]
)


# A port some other program listens on, for as long as the module runs.
HELD = socket.create_server(("127.0.0.1", 0))


def run(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    # A free port is found when run, not in the test's id: every pytest worker must collect the same ids.
    held = str(HELD.getsockname()[1])
    args = [str(free_port()) if a == "{port}" else held if a == "{held}" else a for a in args]
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("KAFKA_", "TOUSU_", "POSTGRES_", "PERSISTENCE_"))}
    return launcher.run(args, {**base, "HOME": str(cwd), "TOUSU_DATA_DIR": str(cwd / "data"), **env}, cwd,
                        timeout=120)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    # A folder each: `tousu up` holds its data directory, and the cases run at once.
    folders = [tmp_path_factory.mktemp("cli") for _ in CASES]
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda case, cwd: run(case[1], case[2], cwd), CASES, folders))
    return {case[0]: result for case, result in zip(CASES, done)}


@pytest.mark.parametrize("name, args, env, cause", CASES, ids=[c[0] for c in CASES])
def test_a_failing_command_says_why_in_one_line(results, name, args, env, cause):
    result = results[name]
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith((f"tousu {args[0]}: ", "tousu: ")), lines[0]
    assert cause.replace("{held}", str(HELD.getsockname()[1])) in lines[0], lines[0]


@pytest.mark.parametrize("name", ["checkpoint without its key: audit verify", "missing checkpoint file: audit verify"])
def test_a_usage_error_of_audit_verify_is_not_a_verdict_on_the_chain(results, name):
    # Exit 1 says the chain was altered: a regulator's script must not read a mistyped flag as that.
    assert results[name].returncode == 2 and "intact" not in results[name].stdout
