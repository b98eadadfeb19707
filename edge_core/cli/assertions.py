"""``assertion request`` (what an app asks the agent) and ``assertion verify`` (what the app checks, offline).

The format and its rules are :mod:`edge_core.audit.assertion`'s; docs/SIGNIN.md, "For app developers", shows an
app doing both in a few lines.
"""

from __future__ import annotations

import argparse
import sys

from edge_core import ops
from edge_core.cli.exitcodes import NO_MATCH
from edge_core.cli.framework import Commands, Reply, answer


def _request(args: argparse.Namespace) -> Reply:
    from edge_core.agent import local  # the agent's client and server, only for the command that asks it

    reply = local.request_assertion(args.audience, args.nonce, args.reason,
                                    lambda text: print(text, file=sys.stderr, flush=True))
    return reply, 0 if reply.get("accepted") else NO_MATCH


def _verify(args: argparse.Namespace) -> Reply:
    token = sys.stdin.read(8192) if args.assertion == "-" else args.assertion
    return answer(ops.verify_assertion(token, args.audience, args.nonce, args.device_key, args.at))


def register(commands: Commands) -> None:
    commands.group("assertion", "signed proof for an app that its owner is at the screen (docs/SIGNIN.md)")
    p = commands.add("assertion request", _request,
                     "ask the running agent, as an app does, whether this login's owner is here, live, now (exit 0 "
                     "with the signed assertion, 10 without)")
    p.add_argument("--audience", required=True, help="the app's name, which the assertion is for (org.example.App)")
    p.add_argument("--nonce", required=True, help="16 to 128 base64url characters, new for every request")
    p.add_argument("--reason", required=True, help="why the app asks, said before the camera opens")
    p = commands.add("assertion verify", _verify,
                     "check an assertion offline: signed by the pinned device key, for this app and nonce, not expired "
                     "(exit 0 valid, 1 refused with why)")
    p.add_argument("assertion", help="the assertion (fsa1....), or - to read it from standard input")
    p.add_argument("--audience", required=True, help="this app's name")
    p.add_argument("--nonce", required=True, help="the nonce this app sent with its request")
    p.add_argument("--device-key", required=True, metavar="FINGERPRINT|DEVICE_ID|KEY.pem",
                   help="the device key pinned when the app was set up ('faceseal status' shows its fingerprint)")
    p.add_argument("--at", type=float, metavar="UNIX_SECONDS", help="check as of this time instead of now")
