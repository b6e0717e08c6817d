"""Child processes that end with the process that started them: `tousu up`'s
workers and any embedded broker. Ctrl-C and SIGTERM stop them in order; this
covers the parent killed outright (SIGKILL, the OOM killer, a crash), which
left them running, holding their ports and their share of the CPU."""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def ends_with_parent():
    """A `preexec_fn` for subprocess.Popen: on Linux the child is sent SIGTERM
    when its parent dies (elsewhere nothing is done). Runs in the child between
    fork and exec, so it does no more than the one call and a check that the
    parent did not die first. Linux signals when the forking *thread* ends, so
    only a child started from the main thread is bound (None otherwise)."""
    if _libc is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()

    def bind() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # it died before the call: no signal will come
            os._exit(1)
    return bind
