"""Child processes that end with the process that started them: `tousu up`'s
workers and any embedded broker. Ctrl-C and SIGTERM stop them in order; this
covers the parent killed outright (SIGKILL, the OOM killer, a crash), which
left them running, holding their ports and their share of the CPU. And the
name such a child goes by in `ps` and `top`."""
from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def ends_with_parent():
    """A `preexec_fn` for subprocess.Popen: on Linux the child is sent SIGTERM
    when its parent dies (elsewhere nothing is done). Runs in the child between
    fork and exec, so it does no more than the one call and a check that the
    parent did not die first. Linux signals when the forking *thread* ends, so
    only a child started from the main thread is bound (None otherwise)."""
    if _libc is None or threading.current_thread() is not threading.main_thread():
        return None
    return functools.partial(bind_to_parent, os.getpid())


def bind_to_parent(parent: int) -> None:
    """In a child of `parent`: SIGTERM when the parent dies; exit at once if it
    already has."""
    if _libc is None:
        return
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the call: no signal will come
        os._exit(1)


def name_process(name: str) -> None:
    """The name `ps -C`, `top` and `pgrep` show for this process (Linux keeps
    15 bytes; elsewhere nothing is done)."""
    if _libc is not None:
        _libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
