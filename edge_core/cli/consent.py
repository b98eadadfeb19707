"""``consent show``, ``consent renew`` and ``retention sweep`` / ``retention certificate`` (docs/PRIVACY.md), and
how the command line gets a person's consent: ``--consent``, or the text shown and 'yes' typed at a terminal."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from edge_core import ops
from edge_core.cli.framework import Commands, Reply, answer, with_vault
from edge_core.cli.prompts import ask
from edge_core.errors import ConsentRequired
from edge_core.ops.results import ConsentTerms

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

HOW = ("show them the text ('faceseal consent show'), then pass --consent once they accepted it, or run this at a "
       "terminal to show it and ask")


@contextlib.contextmanager
def existing_vault() -> Iterator[Vault | None]:
    """The vault opened to read when there is one, else None: asking for consent creates nothing."""
    if not ops.vault_exists():
        yield None
        return
    with ops.open_vault(reading=True) as vault:
        yield vault


def obtain(vault: Vault | None, name: str, given: bool, add: bool = False) -> ConsentTerms | None:
    """The terms ``name`` consented to, before anything is captured: ``--consent`` (``given``) accepts the terms in
    force; at a terminal the text is shown and 'yes' asked; else none, which ``ops.check_consent`` refuses here,
    before the camera. None also when no consent is needed (samples added to someone who consented)."""
    if not ops.consent_needed(vault, name, add):
        return None
    terms = ops.consent_terms(vault)
    accepted: ConsentTerms | None = terms if given else None
    if accepted is None and sys.stdin.isatty():
        print(terms.summary(), file=sys.stderr)
        if ask(f"\nHas {name} read this, and do they consent? Type 'yes' to go on: ").strip().lower() == "yes":
            accepted = terms
    try:
        return ops.check_consent(vault, name, accepted, add)
    except ConsentRequired as refused:  # the rule is ops's; how to give consent here is this front end's
        raise ConsentRequired(f"{refused} ({HOW})") from None


def _show(_args: argparse.Namespace) -> Reply:
    """The terms, also before any vault exists (the text comes first; nothing is created to show it)."""
    with existing_vault() as vault:
        return answer(ops.consent_terms(vault))


def _renew(vault: Vault, args: argparse.Namespace) -> Reply:
    vault.identity_id(args.name)  # an unknown name is refused before the text is shown
    return answer(ops.renew_consent(vault, args.name, obtain(vault, args.name, args.consent)))


def register(commands: Commands) -> None:
    commands.group("consent", "the consent an enrolment needs, and the retention fixed into it (docs/PRIVACY.md)")
    commands.add("consent show", _show,
                 "the consent text in force (its version and sha256) and how long a person consenting now is kept")
    p = commands.add("consent renew", with_vault(_renew),
                     "record a person's consent again, to the terms in force now (the retention counted from today; "
                     "audited): the way to keep someone whose retention ends")
    p.add_argument("name")
    p.add_argument("--consent", action="store_true",
                   help="they read the consent text ('faceseal consent show') and accept it")
    commands.group("retention", "deleting people whose retention period ended (the agent and the window do it)")
    commands.add("retention sweep", with_vault(lambda vault, _args: answer(ops.sweep_retention(vault))),
                 "crypto-shred now everyone whose retention period ended (audited; the sign-in agent and the window "
                 "do this whenever they open the vault: for a machine that runs neither, run it from a timer)")
    p = commands.add("retention certificate",
                     with_vault(lambda vault, args: answer(ops.kept_certificate(vault, args.identity, args.out))),
                     "save the deletion certificate a deletion by retention kept (by the identity's random id)")
    p.add_argument("identity", metavar="IDENTITY_ID")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="a new file")
