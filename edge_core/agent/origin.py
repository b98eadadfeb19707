"""Where a PAM application was started from: is the person asking sitting at this computer, or in an SSH session?

``PAM_RHOST`` and an ``ssh`` ``PAM_TTY`` say so only for what sshd itself
authenticates. ``su`` or ``sudo`` typed inside an SSH session carries neither:
PAM_TTY is an ordinary ``/dev/pts/N``. Yet the face at this computer's camera is
then not the person asking (the owner at the desk would sign in someone typing
from elsewhere). ``faceseal-pam`` runs as root, so it can read what the user's
agent cannot, and it hands these facts to the agent, where the rule is decided
(:mod:`edge_core.ops.signin`). Each fact is one the person typing remotely can
hide only with effort, and they are read in order of how hard they are to hide:

1. the audit session of the PAM application (set by ``pam_loginuid`` at login,
   inherited by every child, changeable only with CAP_AUDIT_CONTROL): logind's
   record of it says ``REMOTE=1``, or an sshd process belongs to the same session;
2. an SSH server's process (OpenSSH's sshd, or Dropbear) among the application's ancestors;
3. ``SSH_CONNECTION``, ``SSH_CLIENT`` or ``SSH_TTY`` in the environment it was started with.

What this cannot see (docs/SIGNIN.md): without audit sessions (no
``pam_loginuid``, as in most containers), a remote user who detaches a new
terminal from the SSH connection's process tree and clears those variables; and
a terminal multiplexer started at the desk and attached to over SSH, whose
processes are the desk's. It reads Linux's /proc; elsewhere it finds nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

SSHD = frozenset({"sshd", "sshd-session", "dropbear"})
"""SSH servers' processes: OpenSSH's (``sshd-session`` serves each connection since OpenSSH 9.8, ``sshd`` before) and
Dropbear's, whose Debian build has no PAM: its logins get no audit session and logind never hears of them, so its
process among the ancestors is what is left once the variables are cleared."""
SSH_VARIABLES = (b"SSH_CONNECTION=", b"SSH_CLIENT=", b"SSH_TTY=")
NO_SESSION = "4294967295"
"""The audit session id of a process no login set one for (``(unsigned) -1``)."""
MOST_ANCESTORS = 64
"""A bound on the walk to pid 1 (a chain of parents is short; a reused pid must not make it loop)."""


def remote_origin(pid: int, proc: Path = Path("/proc"), logind: Path = Path("/run/systemd/sessions")) -> str:
    """Why the process ``pid`` (the PAM application) looks started from an SSH session, or ``""`` when nothing says
    so. Never raises: a fact that cannot be read is a fact not found."""
    session = _read(proc / str(pid) / "sessionid")
    if session and session != NO_SESSION:
        if "REMOTE=1" in _read(logind / session).splitlines():
            return f"its login session ({session}) is remote"
        if any(_ssh_server(proc, other) for other in _session_members(proc, session)):
            return f"its login session ({session}) is an SSH connection's"
    for ancestor in _ancestors(proc, pid):
        server = _ssh_server(proc, ancestor)
        if server:
            return f"it was started under {server}"
    try:
        environment = (proc / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return ""
    if any(entry.startswith(SSH_VARIABLES) for entry in environment):
        return "it was started with an SSH connection's environment"
    return ""


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _ssh_server(proc: Path, pid: str) -> str:
    """The SSH server ``pid`` is (its program's name), or ``""``. By its executable where it can be read (root), else
    by its name."""
    try:
        name = os.path.basename(os.readlink(proc / pid / "exe"))
    except OSError:
        name = _read(proc / pid / "comm")
    return name if name in SSHD else ""


def _ancestors(proc: Path, pid: int) -> list[str]:
    """The parents of ``pid`` up to (not including) pid 1, nearest first."""
    found: list[str] = []
    current = str(pid)
    for _ in range(MOST_ANCESTORS):
        status = _read(proc / current / "status")
        parent = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "0")
        if parent in ("0", "1") or parent in found:
            break
        found.append(parent)
        current = parent
    return found


def _session_members(proc: Path, session: str) -> list[str]:
    """Every process in the audit session ``session``."""
    try:
        pids = [entry.name for entry in proc.iterdir() if entry.name.isdigit()]
    except OSError:
        return []
    return [pid for pid in pids if _read(proc / pid / "sessionid") == session]
