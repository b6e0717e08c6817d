"""Operator-facing pieces that need no broker: where the signing key lives, the
log lines' shape, and the CLI's checks of its numbers."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from services import auth
from services.cli import main
from services.logs import JsonFormatter, RequestIdFilter, TextFormatter, request_id


def test_the_signing_key_is_the_same_from_any_working_directory(tmp_path, monkeypatch):
    env = {"HOME": str(tmp_path / "home")}
    monkeypatch.chdir(tmp_path)
    first = auth.signing_key(env)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert auth.signing_key(env) == first
    assert auth.signing_key_path(env) == tmp_path / "home" / ".config" / "tousu" / "signing.key"
    data = {"TOUSU_DATA_DIR": str(tmp_path / "data")}
    assert auth.signing_key_path(data) == tmp_path / "data" / "signing.key"
    assert auth.signing_key(data) != first, "a data directory of its own has a key of its own"


def test_a_log_line_is_one_json_object_with_the_request_id_it_was_written_for():
    record = logging.LogRecord("tousu.http", logging.INFO, __file__, 1, "POST %s", ("/complaints",), None)
    record.status = 202
    token = request_id.set("abc-123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "POST /complaints" and line["request_id"] == "abc-123" and line["status"] == 202
    assert line["level"] == "INFO" and line["logger"] == "tousu.http"


def test_a_plain_log_line_carries_the_request_id_too_before_any_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("tousu.http", logging.ERROR, __file__, 1, "POST failed", (), sys.exc_info())
    token = request_id.set("abc-123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    first, *rest = TextFormatter().format(record).splitlines()
    assert first.endswith("ERROR tousu.http: POST failed [request_id=abc-123]")
    assert rest and rest[-1] == "ValueError: boom"
    plain = logging.LogRecord("tousu", logging.INFO, __file__, 1, "started", (), None)
    RequestIdFilter().filter(plain)
    assert TextFormatter().format(plain).endswith("INFO tousu: started")
    # A service's lines say which one wrote them: under `tousu up` six share a terminal.
    assert TextFormatter("routing").format(plain).endswith("INFO routing tousu: started")


@pytest.mark.parametrize("argv, complaint", [
    (["republish", "intake", "--from", "-5"], "--from: -5 is out of range"),
    (["tail", "audit.log", "-n", "0"], "--lines: 0 shows nothing"),
    (["token", "issue", "AMR-330106", "--role", "CASE_WORKER", "--ttl", "1e9"], "--ttl must be a positive number"),
    (["agency", "POST-330000", "--once", "--suggest", "AMR-330106"], "give --decline REASON too"),
    (["up", "--port", "70000"], "--port: 70000 is out of range"),
    (["token", "issue", "AMR-330106", "--role", "CASE_WORKER", "--ttl", "0"], "--ttl must be a positive number"),
])
def test_numbers_are_checked_before_anything_runs(argv, complaint, capsys):
    with pytest.raises(SystemExit) as stopped:
        code = main(argv)
        raise SystemExit(code)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert complaint in err and err.count("\n") == 1, err


def test_a_token_for_a_person_names_them(capsys, monkeypatch):
    from services import auth

    monkeypatch.setenv("TOUSU_SIGNING_KEY", "operations-test-signing-key-32-bytes")
    assert main(["token", "issue", "AMR-330106", "--role", "CASE_WORKER", "--person", " 王芳 "]) == 0
    token = capsys.readouterr().out.strip()
    who = auth.bearer(f"Bearer {token}", b"operations-test-signing-key-32-bytes")
    assert (who.agency_id, who.role, who.person) == ("AMR-330106", "CASE_WORKER", "王芳")
    assert main(["token", "issue", "AMR-330106", "--role", "CASE_WORKER", "--person", " "]) == 2
    assert "--person must name someone" in capsys.readouterr().err


def test_output_read_by_something_that_stops_early_ends_quietly():
    """`tousu asyncapi | head -1`: once the reader has gone, no error line, and
    the exit status a shell gives a tool that met a closed pipe."""
    import subprocess
    import sys

    cli = subprocess.Popen([sys.executable, "-m", "services.cli", "asyncapi"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    cli.stdout.close()  # the reader is gone before the first write
    errors = cli.stderr.read().decode()
    assert (cli.wait(60), errors) == (141, "")


@pytest.mark.parametrize("argv", [["--log-level", "DEBUG", "submit", "{missing}"],
                                  ["submit", "--log-level", "DEBUG", "{missing}"],
                                  ["submit", "{missing}", "--log-level", "DEBUG"]])
def test_the_log_level_may_follow_the_command(argv, tmp_path, capsys):
    missing = str(tmp_path / "missing.json")
    assert main([arg.format(missing=missing) for arg in argv]) == 1
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" in err  # DEBUG shows where it failed


def test_a_worker_keeps_few_postgres_connections_unless_told_otherwise():
    # Two workers of six services must fit PostgreSQL's default of 100 connections.
    from services.bus.settings import StoreSettings

    pg = {"PERSISTENCE_MODULE": "eventsourcing.postgres"}
    kept = StoreSettings(Path("."), pg).for_service("routing")
    assert (kept["POSTGRES_POOL_SIZE"], kept["POSTGRES_MAX_OVERFLOW"]) == ("2", "4")
    told = StoreSettings(Path("."), {**pg, "POSTGRES_POOL_SIZE": "6"}).for_service("routing")
    assert told["POSTGRES_POOL_SIZE"] == "6"


def test_a_log_line_names_the_worker_that_wrote_it():
    record = logging.LogRecord("services.bus.relay", logging.WARNING, __file__, 1, "this worker leads", (), None)
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter("routing-2").format(record))
    assert (line["service"], line["worker"]) == ("routing", "routing-2") and isinstance(line["pid"], int)
    assert "routing-2 services.bus.relay: this worker leads" in TextFormatter("routing-2").format(record)
