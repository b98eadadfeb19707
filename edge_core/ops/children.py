"""A ``faceseal`` command the window runs as a child process: the admin API (``faceseal serve``) and the sign-in
agent (``faceseal agent run``).

Each runs in a process of its own, as it would from a terminal: its own vault
handle (the shared lock reaches it the same way), a crash in it cannot take the
window down, and stopping it is SIGTERM, the graceful stop both have. Its
stderr is kept in an unnamed temporary file, so a child that ends before it
answers is said in its own last line (FaceSeal's one-line error) rather than
left silent; one that ends later without being asked is reaped and said once,
never left defunct.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from edge_core.errors import FaceSealError
from edge_core.support import paths

STOP_WAIT_S = 30.0
"""How long a child may take to stop on SIGTERM before it is killed."""


class ChildNotStarted(FaceSealError):
    """The child ended (or did not answer) before it was ready; the message is its own last line."""


def faceseal_command(*args: str) -> list[str]:
    """``faceseal ARGS`` as this installation runs it (a frozen bundle is its own interpreter)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "edge_core.cli", *args]


class Child:
    """One ``faceseal`` child of this process over the data folder ``home``; ``what`` names it in messages."""

    def __init__(self, what: str, home: Path | None = None) -> None:
        self.what = what
        self.home = home or paths.data_dir()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._starting = threading.Lock()
        """Held while a start waits for the child to answer: the window's once-a-second watch (:meth:`ended`) must
        not reap a child that is still starting (a start refused on a locked vault would be said as "stopped
        without being asked", and the start would find its process gone)."""

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    def start(self, args: list[str], ready: Callable[[], bool], wait_s: float, pass_fds: tuple[int, ...] = ()) -> None:
        """Run ``faceseal ARGS`` and return once ``ready()`` says it answers; refused in its own words if it ends
        first, and stopped if it does not answer within ``wait_s`` seconds. ``pass_fds``: descriptors the child
        inherits (a private channel to this process)."""
        with self._starting:
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - kept open while the child writes to it
            process = self._process = subprocess.Popen(faceseal_command(*args), stdin=subprocess.DEVNULL,
                                                       stdout=subprocess.DEVNULL, stderr=self._log,
                                                       env=dict(os.environ, FACESEAL_HOME=str(self.home)),
                                                       pass_fds=pass_fds)
            deadline = time.monotonic() + wait_s
            while not ready():
                if process.poll() is not None:
                    raise ChildNotStarted(self._last_words())
                if time.monotonic() > deadline:
                    self.stop()
                    raise ChildNotStarted(f"the {self.what} did not answer within {wait_s:.0f} s")
                time.sleep(0.1)

    def ended(self) -> str | None:
        """Whether the child stopped without being asked (killed, or Ctrl-C in its terminal): why, in one sentence,
        once; the child is reaped (never left defunct) and it is "not running" from then on."""
        if not self._starting.acquire(blocking=False):
            return None  # being started: the start says how that went
        try:
            process = self._process
            if process is None or process.poll() is None:
                return None
            self.stop()
        finally:
            self._starting.release()
        code = process.returncode
        how = f"signal {-code}" if code < 0 else f"exit status {code}"
        return (f"the {self.what} stopped without being asked ({how}; Ctrl-C in the terminal the window was started "
                "from stops both); start it again here")

    def stop(self) -> None:
        """Stop the child gracefully (SIGTERM); nothing happens if it does not run."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _last_words(self) -> str:
        """The child's last line on stderr (FaceSeal's one-line error), without its 'faceseal:' prefix."""
        assert self._log is not None
        self._log.seek(0)
        lines = [line.strip() for line in self._log.read().decode("utf-8", "replace").splitlines() if line.strip()]
        self.stop()
        if not lines:
            return f"the {self.what} stopped before it answered"
        last = lines[-1]
        for prefix in ("faceseal: error:", "faceseal:"):
            if last.startswith(prefix):
                return last[len(prefix):].strip()
        return last
