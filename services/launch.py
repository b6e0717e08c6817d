"""`tousu` commands as processes of their own, forked from a server that has
already imported the services (multiprocessing's fork server).

`tousu up` starts a worker for every service and starts again one that dies.
A worker started as `python -m services.cli worker ...` spends most of a second
of CPU importing faust, FastAPI and the services before it does anything else:
on two cores, seconds before the system answers. The fork server imports them
once; a worker forked from it starts with them loaded and runs the same
`main(argv)` as the `tousu` command, in a process of its own that can be
signalled and killed, exits with the command's code, and ends when the process
that started it dies."""
from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
import os
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

from services.bus.lifetime import bind_to_parent, name_process

# What every worker imports before it can start; a command imports the rest
# when it needs it. Not services.cli: a child runs the main module of the
# process that started it again (`python -m services.cli` as __mp_main__),
# which must not find it imported already.
PRELOAD = ["services.commands", "services.system", "services.http", "services.launch", "services.preload"]

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def _main(args: list[str], env: dict[str, str], cwd: str | None, output: str, errors: str | None,
          given: str | None, own_session: bool, name: str, listen: socket.socket | None) -> None:
    # The fork server ends once no process holds its "alive" pipe: the one that
    # started it, and each child, which inherits it so as to start children of
    # its own. A command starts none, and with its copy closed the server ends
    # with the process that started it, and every command with the server.
    bind_to_parent(os.getppid())
    os.close(forkserver._forkserver._forkserver_alive_fd)
    # Its command line is the fork server's: `ps -C`, `top` and `pgrep` find it by this name.
    name_process(name)
    if own_session:
        os.setsid()
    # The fork server ignores Ctrl-C; a command answers it as it does when run.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for fd, path in ((1, output), (2, errors)):
        if path is not None:
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(target, fd)
            os.close(target)
    if given is not None:
        sys.stdin = open(given, encoding="utf-8")  # multiprocessing gives a child /dev/null
    if cwd is not None:
        os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    if listen is not None:
        args = [*args, "--fd", str(listen.detach())]  # the command's own socket object takes the descriptor
    sys.argv = ["tousu", *args]
    from services.cli import main

    sys.exit(main(args))


class Command:
    """A started command: the part of subprocess.Popen its callers use.

    Whether it still runs is asked of the kernel (a pidfd), not of the fork
    server: the server reports exit codes, but it may be gone first (killed
    with its terminal's process group, say), and a command must not look ended
    while it is still stopping."""

    def __init__(self, args: list[str], process: multiprocessing.process.BaseProcess):
        self.args = ["tousu", *args]
        self._process = process
        self.pid = process.pid
        self._code: int | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(process.pid)
        except ProcessLookupError:  # it has ended already
            self._pidfd = None

    @property
    def returncode(self) -> int | None:
        return self.poll()

    def poll(self) -> int | None:
        return None if self._running(0) else self.wait()

    def wait(self, timeout: float | None = None) -> int:
        if self._running(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout)
        if self._code is None:
            # The server reports the code as soon as it reaps the process (255 if it is gone).
            self._process.join(5)
            self._code = self._process.exitcode if self._process.exitcode is not None else 255
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        return self._code

    def _running(self, timeout: float | None) -> bool:
        if self._pidfd is None:
            return False
        poller = select.poll()
        poller.register(self._pidfd, select.POLLIN)
        return not poller.poll(None if timeout is None else int(timeout * 1000))

    def send_signal(self, signum: int) -> None:
        if self._pidfd is not None and self._running(0):
            signal.pidfd_send_signal(self._pidfd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start(args: list[str], env: dict[str, str], *, output: Path | str = os.devnull,
          errors: Path | str | None = None, stdin: Path | str | None = None, cwd: Path | str | None = None,
          own_session: bool = False, name: str = "tousu", listen: socket.socket | None = None) -> Command:
    """`tousu *args` with `env` as its whole environment: its output appended to
    `output`, its errors to `errors` (None: where this process's go), its input
    read from `stdin` (None: nothing), in a session of its own if asked (so
    that Ctrl-C in a terminal reaches only the process that started it), its
    process named `name` (15 bytes are kept), given the bound socket `listen`
    if any as `--fd N` (multiprocessing passes it through the fork
    server; this process's copy may be closed once this returns)."""
    process = _context.Process(
        target=_main, name=name,
        args=(list(args), dict(env), None if cwd is None else str(cwd), str(output),
              None if errors is None else str(errors), None if stdin is None else str(stdin), own_session, name,
              listen))
    process.start()
    return Command(list(args), process)
