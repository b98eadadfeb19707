"""``faceseal-pam``: what ``pam_exec.so`` runs to ask the user's agent whether their face is at the camera.

A PAM line (``docs/SIGNIN.md``; ``faceseal signin install-pam`` writes it)::

    auth sufficient pam_exec.so quiet stdout /usr/bin/faceseal-pam

``sufficient``: exit 0 signs the person in; any other exit (no agent, a remote
session, a refusal, a timeout, a crash) lets the password prompt follow, so a
failure here never locks anyone out. It reads what PAM says in the environment
(PAM_USER, PAM_SERVICE, PAM_TTY, PAM_RHOST), refuses a remote session without
opening anything, and asks the agent of PAM_USER only, at
``/run/user/<uid>/faceseal/agent.sock`` (``--runtime-base`` names another base),
believing it only when the socket and the process behind it are that user's.
It waits as long as the agent says the attempt looks (the policy's
``signin_timeout_s``), never more than ``--timeout`` (the administrator's cap).
What the agent says goes to stdout, which ``pam_exec``'s ``stdout`` option shows
in the PAM conversation (sudo's terminal, the polkit dialog).

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

PAM_SUCCESS, PAM_AUTH_ERR = 0, 1
FIRST_WORDS_S = 10.0
"""How long the agent may take to open the vault and say how long its attempt looks (or refuse it)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faceseal-pam", description="Face sign-in for pam_exec.so (auth).")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="the most seconds to wait for a face, whatever the policy's signin_timeout_s (default 60)")
    parser.add_argument("--runtime-base", type=Path, default=Path("/run/user"), help=argparse.SUPPRESS)
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        return PAM_AUTH_ERR
    if os.environ.get("PAM_TYPE", "auth") != "auth":
        return PAM_AUTH_ERR  # only authentication: account, session and password stacks are not ours
    user, service = os.environ.get("PAM_USER", ""), os.environ.get("PAM_SERVICE", "")
    tty, rhost = os.environ.get("PAM_TTY", ""), os.environ.get("PAM_RHOST", "")
    if rhost or tty.startswith("ssh"):
        return PAM_AUTH_ERR  # a remote session: the face at this camera is not the person asking
    try:
        uid = pwd.getpwnam(user).pw_uid
    except (KeyError, TypeError):
        return PAM_AUTH_ERR
    path = rundir.socket_path(uid, args.runtime_base)
    request = {"op": "signin", "user": user, "service": service, "tty": tty, "rhost": rhost}
    try:
        answer = ask(path, uid, request, FIRST_WORDS_S, lambda message: _say(message.get("say")), most=args.timeout)
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


def _say(text: object) -> None:
    if isinstance(text, str) and text:
        print(text.replace("\n", " ")[:200], flush=True)


if __name__ == "__main__":
    sys.exit(main())
