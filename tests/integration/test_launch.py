"""A command forked from the fork server (services.launch, as `tousu up` starts
its workers) behaves as the `tousu` executable run with the same arguments,
environment and folder: the same output and the same exit code, it reads
the input it is given, it goes by the name it is given, and a signal ends it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from services import launch

ROOT = Path(__file__).resolve().parents[2]


def executable(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def forked(args: list[str], env: dict, cwd: Path, tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    out, err, given = folder / "out", folder / "err", folder / "in"
    given.write_text(stdin)
    command = launch.start(args, env, output=out, errors=err, stdin=given, cwd=cwd)
    code = command.wait(60)
    return subprocess.CompletedProcess(args, code, out.read_text(), err.read_text())


def test_a_forked_command_answers_as_the_executable_does(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TOUSU_DATA_DIR": str(tmp_path / "data")}
    for args in (["token", "issue", "AMR-330106", "--role", "CASE_WORKER"], ["status", ""],
                 ["submit", "no-such-complaint.json"], ["asyncapi"], ["tail", "public.complaints"]):
        mine, theirs = forked(args, env, tmp_path, tmp_path), executable(args, env, tmp_path)
        assert (mine.returncode, mine.stderr) == (theirs.returncode, theirs.stderr), args
        if args[0] != "token":  # a token names the moment it was issued
            assert mine.stdout == theirs.stdout, args
    # Both signed with the key kept in the data folder the environment named.
    assert (tmp_path / "data" / "signing.key").exists()


def test_a_forked_command_reads_its_input_and_is_ended_by_a_signal(tmp_path):
    posted = []

    class Intake(BaseHTTPRequestHandler):
        def do_POST(self):
            posted.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"complaint_id": "TS-20261206-3F2A9C1B7D4E"}')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Intake)
    threading.Thread(target=server.handle_request, daemon=True).start()
    env = {"PATH": os.environ["PATH"], "TOUSU_DATA_DIR": str(tmp_path / "data"),
           "TOUSU_URL": f"http://127.0.0.1:{server.server_port}"}
    body = '{"kind": "COMPLAINT", "summary": "从标准输入读入"}'
    submitted = forked(["submit", "-"], env, ROOT, tmp_path, stdin=body)
    server.server_close()
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout == "TS-20261206-3F2A9C1B7D4E\n" and posted == [body]

    # Waiting on input that never comes, until it is stopped.
    os.mkfifo(tmp_path / "never")
    waiting = launch.start(["submit", "-"], env, output=tmp_path / "waiting.log", stdin=tmp_path / "never",
                           name="tousu-waiting")
    time.sleep(0.5)
    assert waiting.poll() is None
    assert Path(f"/proc/{waiting.pid}/comm").read_text().strip() == "tousu-waiting"
    waiting.send_signal(signal.SIGKILL)
    assert waiting.wait(10) == -signal.SIGKILL
    assert waiting.poll() == -signal.SIGKILL
