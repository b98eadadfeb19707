"""What every FaceSeal process does first: no core dumps, and no other process of the user reading its memory.

A FaceSeal process holds the root key, the database key, vault keys and
decrypted templates. Two ways out of its memory are closed at start, before
any key is unwrapped (issue 25, item 6):

* ``RLIMIT_CORE`` 0, soft and hard: a crash (SIGABRT, SIGSEGV) writes no core
  file, whatever ``ulimit -c`` the shell had (the issue's core held the root
  key); the hard limit cannot be raised again without privilege.
* on Linux, ``prctl(PR_SET_DUMPABLE, 0)``: the kernel then refuses ``ptrace``,
  ``/proc/PID/mem`` and ``/proc/PID/environ`` to other processes of the same
  user (root, holding ``CAP_SYS_PTRACE``, can still read them), and writes no
  core through a ``core_pattern`` pipe either.

macOS has no ``PR_SET_DUMPABLE``; its ``PT_DENY_ATTACH`` only stops a
debugger from attaching, so it is not used: the core limit is still set.
"""

from __future__ import annotations

import ctypes
import resource
import sys

PR_SET_DUMPABLE = 4


def _prctl() -> ctypes._CFuncPtr | None:
    """libc's ``prctl`` on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.restype = ctypes.c_int
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return prctl


def harden_process() -> None:
    """No core files and (on Linux) no memory access by other processes of the user, from now on.

    Never fails the program: a platform without a part of this keeps the rest.
    """
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass  # a limit already lower than asked cannot be; nothing to do
    prctl = _prctl()
    if prctl is not None:
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)

