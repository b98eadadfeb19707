"""Where a PAM application was started from, read from the real /proc of a real process tree.

tests/signin/test_ssh.py logs in through a real OpenSSH server; this covers the other SSH server Debian and many
small machines ship, Dropbear. Debian's is built without PAM, so its logins get no audit session (no pam_loginuid)
and logind knows nothing of them: its process among the application's ancestors is the one fact left once the
person typing clears SSH_CONNECTION, SSH_CLIENT and SSH_TTY (``env -i su alice``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from edge_core.agent.origin import remote_origin


def _child_of(program: Path) -> tuple[subprocess.Popen, int]:
    """``program`` (a copy of the shell) running ``env -i sleep`` as its child, as an SSH server runs a session's
    command; the child's pid."""
    server = subprocess.Popen([str(program), "-c", "env -i /bin/sleep 60; :"])
    for _ in range(200):
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        if children:
            return server, int(children[0])
        time.sleep(0.05)
    raise AssertionError("the shell started no child")


def test_a_command_run_by_dropbear_with_its_variables_cleared_is_remote(tmp_path) -> None:
    for name, expected in (("dropbear", "it was started under dropbear"), ("bash-copy", "")):
        program = tmp_path / name
        shutil.copy2("/bin/sh", program)
        server, child = _child_of(program)
        try:
            assert remote_origin(child) == expected, name  # before the fix: "" under dropbear, as at the desk
        finally:
            os.kill(child, signal.SIGKILL)
            server.kill()
            server.wait()
