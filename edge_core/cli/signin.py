"""``signin enable SERVICE --name NAME | disable | status | history | try | install-pam | uninstall-pam`` and
``agent run | status``.

The agent is the process sudo, su, polkit and the screen lock ask (through the
PAM helper, docs/SIGNIN.md); these commands choose who and where, run it, and
ask it how it is. The agent's server and its client are imported by the commands that run or ask it, not by
every ``faceseal`` start (issue 28).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from edge_core.agent import pamfile
from edge_core.biometrics import camera_index
from edge_core.cli.exitcodes import NO_MATCH
from edge_core.cli.framework import Commands, answer, with_vault
from edge_core.errors import UsageError
from edge_core.ops import signin
from edge_core.support import paths

STAND_IN_VARIABLE = "FACESEAL_AGENT_TEST_CAMERA"
"""A video file that stands in for the camera, honoured only from the environment of the agent's own start in
the test suite; never from a settings file, which anyone able to write the user's config could fill."""


def _status(args: argparse.Namespace):
    from edge_core.agent import local

    state = local.agent_state()
    if not state.running:
        raise local.AgentNotRunning(state.why or "no FaceSeal agent answers")
    return answer(state.status)


def _try(args: argparse.Namespace):
    """A real attempt through the running agent, for no service: what sudo would get, said on stderr as it goes."""
    from edge_core.agent import local

    reply = local.try_signin(lambda text: print(text, file=sys.stderr, flush=True))
    return reply, 0 if reply.get("accepted") else NO_MATCH


def _run(args: argparse.Namespace):
    from edge_core.agent import server

    stand_in = os.environ.get(STAND_IN_VARIABLE)
    if stand_in and os.environ.get("FACESEAL_TEST_RUN") != "1":
        raise UsageError(f"{STAND_IN_VARIABLE} is for the test suite only; the agent reads a real camera")
    camera = server.CameraChoice(args.camera, Path(stand_in) if stand_in else None)

    def ready(path: Path, bus: str) -> None:
        print(f"faceseal agent: listening at {path}; {bus}", file=sys.stderr, flush=True)

    server.serve(paths.data_dir(), camera, ready)
    return answer({"stopped": True})


def register(commands: Commands) -> None:
    commands.group("signin", "face sign-in for sudo, su, polkit and the screen lock (docs/SIGNIN.md)")
    enable = commands.add("signin enable", with_vault(lambda vault, args: answer(
        signin.signin_enable(vault, args.service, args.name))), "let an enrolled person's face unlock a service")
    enable.add_argument("service", help=f"the PAM service: {', '.join(signin.SERVICES)}")
    enable.add_argument("--name", required=True, help="the enrolled person who is this login")
    commands.add("signin disable", with_vault(lambda vault, args: answer(signin.signin_disable(vault, args.service))),
                 "stop face sign-in for a service").add_argument("service")
    commands.add("signin status", with_vault(lambda vault, args: answer(signin.signin_settings(vault)),
                                             reading=True), "who signs in with their face, and where")
    commands.add("signin history", with_vault(lambda vault, args: answer(signin.signin_attempts(vault)),
                                              reading=True), "the last sign-in attempts, newest first",
                 empty="no sign-in attempts yet")
    commands.add("signin try", _try, "a real sign-in attempt through the running agent, unlocking nothing")
    install = commands.add("signin install-pam", lambda args: answer(pamfile.install(
        signin.check_pam_service(args.service), args.helper, args.timeout)),
        "as root: add face sign-in's one line to a service's PAM file (a backup is kept)")
    install.add_argument("service", help="the PAM service (its file in /etc/pam.d)")
    install.add_argument("--helper", type=Path, default=pamfile.default_helper(), metavar="PATH",
                         help="the faceseal-pam helper (default: the one beside this program)")
    install.add_argument("--timeout", type=float, default=pamfile.CAP_S, metavar="SECONDS",
                         help="the most the helper waits for a face, whatever the policy's signin_timeout_s says "
                              f"(default {pamfile.CAP_S:g})")
    commands.add("signin uninstall-pam", lambda args: answer(pamfile.uninstall(signin.check_pam_service(args.service))),
                 "as root: remove exactly that line again").add_argument("service")
    commands.group("agent", "the per-user sign-in agent that PAM asks")
    run = commands.add("agent run", _run, "run the agent in the foreground (a systemd user unit runs it for you)")
    run.add_argument("--camera", type=camera_index, default=0, metavar="CAMERA",
                     help="the camera: its index (0 is the first), /dev/videoN (or a link to it) or its name")
    commands.add("agent status", _status, "whether the agent runs, and what it last did")
