"""Child processes (staging workers, dbt) die with the callmart process that started them.

A scheduler that kills `callmart` (a timeout, SIGKILL) must not leave workers decoding, dbt
holding the warehouse, or a child holding the scheduler's captured stdout open. On Linux the
kernel does it: `prctl(PR_SET_PDEATHSIG)` asks for a signal when the parent dies. Elsewhere
this is a no-op (children then end when they next find their parent gone).
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """In a child: be killed when `parent_pid` dies (and exit now if it already has)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def preexec(parent_pid: int) -> Callable[[], None]:
    """The `preexec_fn` of a subprocess that must die with `parent_pid` (this process)."""
    return functools.partial(die_with_parent, parent_pid)
