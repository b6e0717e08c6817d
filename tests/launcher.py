"""`tousu` commands in processes of their own, as `tousu up` starts its workers
(services.launch): forked from a server that has imported the services, they
skip most of a second of CPU each, and the suite starts some two hundred. The
tests about the `tousu` executable itself (test_up, test_readme, test_wheel)
run it as it is installed."""
from __future__ import annotations

import socket
import subprocess
import tempfile
from pathlib import Path

from services import launch

ROOT = Path(__file__).resolve().parents[1]


def start(args: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT, name: str = "tousu",
          listen: socket.socket | None = None) -> launch.Command:
    """`tousu *args`, its output and errors appended to `log`, serving HTTP on `listen` if given."""
    return launch.start(args, env, output=log, errors=log, cwd=cwd, name=name, listen=listen)


def run(args: list[str], env: dict[str, str], cwd: Path = ROOT, timeout: float = 300, check: bool = False,
        input: str | None = None) -> subprocess.CompletedProcess:
    """`tousu *args` to its end, as subprocess.run with capture_output=True and
    text=True."""
    with tempfile.TemporaryDirectory(prefix="tousu-command-") as folder:
        out, err, given = Path(folder) / "stdout", Path(folder) / "stderr", Path(folder) / "stdin"
        given.write_text(input or "", encoding="utf-8")
        command = launch.start(args, env, output=out, errors=err, stdin=given, cwd=cwd)
        try:
            command.wait(timeout)
        except subprocess.TimeoutExpired:
            command.kill()
            command.wait()
            raise
        result = subprocess.CompletedProcess(command.args, command.returncode,
                                             out.read_text() if out.exists() else "",
                                             err.read_text() if err.exists() else "")
    if check:
        result.check_returncode()
    return result
