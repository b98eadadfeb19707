"""Fault injection for the crash tests: kill this very process at the Nth checkpoint.

``FACESEAL_CRASH_AT=N`` SIGKILLs the process when it reaches its Nth checkpoint;
``FACESEAL_CRASH_TRACE=FILE`` appends each checkpoint's label to FILE so a test
can count them. Unset (always, outside tests), :func:`checkpoint` does nothing.
SIGKILL is the harshest stop there is: no handler, no flush, no cleanup.
"""

from __future__ import annotations

import os
import signal

_target = int(os.environ.get("FACESEAL_CRASH_AT", "0") or 0)
_trace = os.environ.get("FACESEAL_CRASH_TRACE")
_count = 0


def checkpoint(label: str) -> None:
    global _count
    if not (_target or _trace):
        return
    _count += 1
    if _trace:
        with open(_trace, "a", encoding="utf-8") as handle:
            handle.write(label + "\n")
    if _count == _target:
        os.kill(os.getpid(), signal.SIGKILL)
