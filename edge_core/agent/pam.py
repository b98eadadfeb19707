"""``faceseal-pam``: what ``pam_exec.so`` runs to ask the user's agent whether their face is at the camera.

A PAM line (``docs/SIGNIN.md``; ``faceseal signin install-pam`` writes it)::

    auth sufficient pam_exec.so quiet stdout /usr/bin/faceseal-pam

``sufficient``: exit 0 signs the person in; any other exit (no agent, a remote
session, a refusal, a timeout, a crash) lets the password prompt follow, so a
failure here never locks anyone out. It reads what PAM says in the environment
(PAM_USER, PAM_SERVICE, PAM_TTY, PAM_RHOST), adds what only root can see about
where the PAM application was started from (an SSH session: :mod:`.origin`),
and asks the agent of PAM_USER only, at
``/run/user/<uid>/faceseal/agent.sock`` (``--runtime-base`` names another base),
believing it only when the socket and the process behind it are that user's.
It waits as long as the agent says the attempt looks (the policy's
``signin_timeout_s``), never more than ``--timeout`` (the administrator's cap).
What the agent says goes to stdout, which ``pam_exec``'s ``stdout`` option shows
in the PAM conversation (sudo's terminal, the polkit dialog).

It never takes the agent's yes to raise the user's privileges: when the PAM
application was started by PAM_USER and runs as someone else (sudo, pkexec:
setuid root, asking the invoking user to prove to be themself), the password
decides, because any process of the user could stop the agent and answer "yes"
at its socket in its place (:func:`raises_privilege`), unless the administrator
wrote ``--trust-user-agent`` on the PAM line. The agent's word stands
where it grants no more than the user's own processes already have: the user's
own screen lock, or a login asked for by root or by someone else (a greeter,
``su USER``).

It imports no vault, key or model: running as root, it holds nothing to lose.
"""

from __future__ import annotations

import argparse
import os
import pwd
import sys
from pathlib import Path

from edge_core.agent import rundir
from edge_core.agent.client import AgentUnavailable, ask
from edge_core.agent.origin import remote_origin

PAM_SUCCESS, PAM_AUTH_ERR = 0, 1
FIRST_WORDS_S = 10.0
"""How long the agent may take to open the vault and say how long its attempt looks (or refuse it)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faceseal-pam", description="Face sign-in for pam_exec.so (auth).")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="the most seconds to wait for a face, whatever the policy's signin_timeout_s (default 60)")
    parser.add_argument("--runtime-base", type=Path, default=Path("/run/user"), help=argparse.SUPPRESS)
    parser.add_argument("--trust-user-agent", action="store_true",
                        help="take the agent's yes even to raise privileges (sudo, pkexec): the administrator accepts "
                             "that any program the user runs may then become root without the password, as with "
                             "NOPASSWD (docs/SIGNIN.md)")
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        return PAM_AUTH_ERR
    if os.environ.get("PAM_TYPE", "auth") != "auth":
        return PAM_AUTH_ERR  # only authentication: account, session and password stacks are not ours
    user, service = os.environ.get("PAM_USER", ""), os.environ.get("PAM_SERVICE", "")
    tty, rhost = os.environ.get("PAM_TTY", ""), os.environ.get("PAM_RHOST", "")
    try:
        uid = pwd.getpwnam(user).pw_uid
    except (KeyError, TypeError, ValueError):
        return PAM_AUTH_ERR
    if not args.trust_user_agent and raises_privilege(uid, os.geteuid(), _askers()):
        _say("FaceSeal: a face does not raise privileges (any program you run could answer for it): use your password")
        return PAM_AUTH_ERR
    path = rundir.socket_path(uid, args.runtime_base)
    request = {"op": "signin", "user": user, "service": service, "tty": tty, "rhost": rhost,
               "origin": remote_origin(os.getppid())}  # the agent (the use cases) decides what is remote
    said = _Said()
    try:
        answer = ask(path, uid, request, FIRST_WORDS_S, lambda message: said(message.get("say")), most=args.timeout)
    except AgentUnavailable:
        return PAM_AUTH_ERR  # no agent: the password, quietly (as when the face is not enrolled)
    except Exception:  # anything at all: the password follows, never a lock-out
        return PAM_AUTH_ERR
    if answer.get("accepted") is True:
        _say("FaceSeal: recognised")
        return PAM_SUCCESS
    if answer.get("kind") == "SignInNotEnabled":
        return PAM_AUTH_ERR  # not opted in: the password, without a word about faces
    _say(f"FaceSeal: {answer.get('why') or answer.get('error') or 'not recognised'}")
    return PAM_AUTH_ERR


def raises_privilege(target: int, effective: int, askers: set[int]) -> bool:
    """Would a yes give ``target``'s own processes more than they have? True when the application asking runs as
    someone else (``effective``: root, for sudo or pkexec) and was started by ``target`` itself (``askers``: the real
    uids of this helper and of its parent, the PAM application). The agent is ``target``'s process: anything
    ``target`` runs can replace it, so its yes must not make ``target`` root. Checked in this root helper, not in
    :mod:`edge_core.ops`: the use-case layer runs inside the agent, which is exactly what cannot be trusted here."""
    return effective != target and target in askers


def _askers() -> set[int]:
    """The real uids of this helper and of the PAM application that ran it (pam_exec's parent, read from /proc so a
    ``seteuid`` on the PAM line, which makes this helper's own real uid root, hides nothing)."""
    uids = {os.getuid()}
    try:  # (were the application gone and its pid reused, nothing would be waiting for this answer)
        status = Path(f"/proc/{os.getppid()}/status").read_text()
    except OSError:
        return uids  # no /proc (not Linux): this helper's own real uid, which pam_exec keeps by default
    for line in status.splitlines():
        if line.startswith("Uid:"):
            uids.add(int(line.split()[1]))
    return uids


MOST_SAID = 12
"""The most lines the agent's prompts may put into the PAM conversation (a liveness session says a handful)."""


class _Said:
    """Says the agent's prompts, at most :data:`MOST_SAID` of them: more would flood sudo's terminal."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, text: object) -> None:
        if self.count < MOST_SAID and isinstance(text, str) and text:
            self.count += 1
            _say(text)


def _say(text: object) -> None:
    """One line of printable text into the PAM conversation: no control characters (an agent, which is a process of
    the user, must not send terminal escapes to whoever runs the PAM application)."""
    if isinstance(text, str) and text:
        print("".join(c if c.isprintable() else " " for c in text)[:200], flush=True)


if __name__ == "__main__":
    sys.exit(main())
