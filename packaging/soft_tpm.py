"""A software TPM 2.0 for ``make package-check`` to move an installed FaceSeal's root key into.

It runs on the build machine (``swtpm``, which scripts/system-deps.sh installs
for the tests) and answers on loopback, which a chroot shares: the bare root
stays bare, so whatever TPM stack the installed program loads there came with
the package. Its state lives in a throw-away folder; it is stopped afterwards.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


class SoftTpmError(Exception):
    """The software TPM could not be started; the message says why."""


@contextlib.contextmanager
def software_tpm() -> Iterator[str]:
    """Start ``swtpm socket --tpm2`` (already past TPM2_Startup); yields the TCTI that reaches it."""
    port = free_port_pair()
    with tempfile.TemporaryDirectory(prefix="faceseal-swtpm-") as state:
        process = start_swtpm(Path(state), port)
        try:
            yield tcti(port)
        finally:
            process.kill()
            process.wait()


def tcti(port: int) -> str:
    """The TCTI of a software TPM on ``port`` (its control channel is ``port + 1``)."""
    return f"swtpm:host=127.0.0.1,port={port}"


def start_swtpm(state: Path, port: int) -> subprocess.Popen:
    """``swtpm socket --tpm2`` on the state folder ``state`` (a restart keeps what it held; PCRs start afresh, as
    at a boot), past TPM2_Startup, once it answers on 127.0.0.1:``port``; the caller stops it."""
    swtpm = shutil.which("swtpm")
    if swtpm is None:
        raise SoftTpmError("swtpm is not installed (scripts/system-deps.sh installs it)")
    process = subprocess.Popen(
        [swtpm, "socket", "--tpm2", "--tpmstate", f"dir={state}", "--flags", "not-need-init,startup-clear",
         "--server", f"type=tcp,port={port},bindaddr=127.0.0.1",
         "--ctrl", f"type=tcp,port={port + 1},bindaddr=127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise SoftTpmError(f"swtpm did not start: {process.stderr.read().strip()[-300:]}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise SoftTpmError(f"swtpm did not answer on 127.0.0.1:{port} within 30 s")
        time.sleep(0.05)


def free_port_pair() -> int:
    """A loopback port ``p`` with ``p + 1`` free too (swtpm's TCTI finds the control channel there)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise SoftTpmError("no two adjacent free loopback ports for swtpm")
