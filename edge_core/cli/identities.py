"""``init``, ``status``, ``enroll``, ``verify``, ``identify``, ``list``, ``delete-identity``, ``subject-report`` and
``threshold``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge_core import ops
from edge_core.biometrics.errors import MultipleFaces
from edge_core.cli import consent
from edge_core.cli.exitcodes import LIVENESS_FAILED, NO_MATCH
from edge_core.cli.framework import Commands, Reply, answer, with_vault
from edge_core.cli.models import pack_to_use
from edge_core.cli.prompts import confirm
from edge_core.errors import LookAlikeEnrolled, UsageError
from edge_core.cli.sources import add_source_arguments, enrolment_probe, match_probe, samples_to_take
from edge_core.ops.results import Decision

if TYPE_CHECKING:
    from edge_core.vault.store import Vault



def decided(decision: Decision) -> Reply:
    """Exit 0 on a match, 11 when the liveness check failed, 10 on no match."""
    return decision, 0 if decision.match else LIVENESS_FAILED if decision.liveness_failed else NO_MATCH


def _enroll(args: argparse.Namespace) -> Reply:
    # consent, and what would be dropped, are asked before the capture, not after it; a new person needs no vault
    # for either (nothing is created before the capture)
    with consent.existing_vault() as vault:
        plan = ops.plan_samples(vault, args.name, samples_to_take(args), add=args.add)
        accepted = consent.obtain(vault, args.name, args.consent, args.add)
    if plan.question:
        confirm(args.yes, plan.question, stakes="A dropped sample cannot be brought back.")
    probe = enrolment_probe(args)  # capture before the vault opens for the enrolment: a camera may take a while
    with ops.open_vault() as vault:
        try:
            return answer(ops.enrol(vault, args.name, probe, add=args.add, allow_look_alike=args.allow_look_alike,
                                    consent=accepted))
        except LookAlikeEnrolled as refused:  # the rule is ops's; the flag that lifts it is this front end's
            raise LookAlikeEnrolled(f"{refused} (--allow-look-alike)", refused.resembles) from None


def _verify(vault: Vault, args: argparse.Namespace) -> Reply:
    try:
        return decided(ops.verify(vault, args.name, match_probe(args, vault, args.name), args.threshold,
                                  args.liveness, show_score=args.show_score))
    except MultipleFaces as several:  # the rule is ops's; the flag that lifts it is this front end's
        raise MultipleFaces(f"{several}; --largest verifies the largest face") from None


def _identify(vault: Vault, args: argparse.Namespace) -> Reply:
    return decided(ops.identify(vault, match_probe(args, vault, None), args.threshold, args.liveness,
                                show_score=args.show_score))


def _delete(vault: Vault, args: argparse.Namespace) -> Reply:
    if args.name_on_certificate and args.certificate is None:
        raise UsageError("--name-on-certificate puts the name on a certificate: give it with --certificate FILE")
    vault.identity_id(args.name)  # an unknown name is refused before anything is asked
    confirm(args.yes, f"Delete '{args.name}' and crypto-shred their templates?")
    wanted = None if args.certificate is None else ops.CertificateRequest(args.certificate, args.name_on_certificate)
    return answer(ops.delete_identity(vault, args.name, wanted))


def _subject_report(vault: Vault, args: argparse.Namespace) -> Reply:
    form = args.format or ("json" if args.out is not None and args.out.suffix.lower() == ".json" else "markdown")
    return answer(ops.subject_report(vault, args.name, "cli", args.out, form))


def _init(args: argparse.Namespace) -> Reply:
    """Make the vault if there is none, and show its status. Run again (a setup script), it succeeds (exit 0: the
    vault is there, as asked) without pretending it made one: one line on stderr says it was already there. A
    creation that was interrupted is finished by opening (``ops.open_vault``), so it counts as a new vault."""
    layout = ops.layout_for()
    existed = layout.has_data() and not layout.init_marker.exists()
    with ops.open_vault() as vault:
        status = ops.status(vault)
    if existed:
        print(f"faceseal: note: a vault already exists in {layout.home}; nothing was created (its status follows)",
              file=sys.stderr)
    return answer(status)


def _threshold(vault: Vault, args: argparse.Namespace) -> Reply:
    pack = pack_to_use(args, vault)
    default = ops.default_threshold(pack)
    return answer(ops.threshold(vault, pack, default, args.value, args.clear))


def register(commands: Commands) -> None:
    commands.add("init", _init, "make the vault in the data folder (if there is none: else it says so, and exits 0) "
                                "and show its status: where the root key went")
    commands.add("status", with_vault(lambda vault, _args: answer(ops.status(vault)), reading=True),
                 "where the root key lives, key ages, counts, data path")
    p = commands.add("enroll", _enroll, "enrol a person: each sample becomes its own sealed template")
    p.add_argument("name")
    p.add_argument("--add", action="store_true", help="add samples to an identity already enrolled")
    p.add_argument("--yes", action="store_true",
                   help=f"do not ask before dropping samples beyond the {ops.TEMPLATE_CAP} a person keeps")
    p.add_argument("--consent", action="store_true",
                   help="the person read the consent text ('faceseal consent show') and accepts it (needed for someone "
                        "new, or to add samples to someone whose consent was never recorded; at a terminal, "
                        "without it, the text is shown and their 'yes' asked)")
    p.add_argument("--allow-look-alike", action="store_true",
                   help="enrol even though the samples match someone else already enrolled (two different people "
                        "who look alike); recorded in the audit log")
    add_source_arguments(p, enrol=True)
    p = commands.add("verify", with_vault(_verify),
                     "is this the person they claim to be? (exit 0 match, 10 no match, 11 liveness check failed)")
    p.add_argument("name")
    add_source_arguments(p, enrol=False)
    add_source_arguments(commands.add("identify", with_vault(_identify),
                                      "who is this? every face of a group photo is named "
                                      "(exit 0 match, 10 no match, 11 liveness check failed)"), enrol=False)
    commands.add("list", with_vault(lambda vault, _args: answer(ops.list_identities(vault)), reading=True),
                 "the enrolled identities", empty="nobody is enrolled yet ('faceseal enroll NAME' enrols someone)")
    p = commands.add("delete-identity", with_vault(_delete), "crypto-shred one person's templates")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--certificate", type=Path, metavar="FILE",
                   help="write a deletion certificate signed by this device (a new file; its random id, never the "
                        "name): 'faceseal audit verify-certificate FILE' checks it anywhere")
    p.add_argument("--name-on-certificate", action="store_true",
                   help="with --certificate: put the person's name on it too (the audit log keeps only a salted "
                        "commitment to it)")
    p = commands.add("subject-report", with_vault(_subject_report),
                     "what FaceSeal holds about one person (record, sample dates, consent, attempts), never a "
                     "template or a score; audited")
    p.add_argument("name")
    p.add_argument("--out", type=Path, metavar="FILE", help="write it to this new file (else print it)")
    p.add_argument("--format", choices=("markdown", "json"),
                   help="the file's form (default: json for a .json file, else markdown)")
    p = commands.add("threshold", with_vault(_threshold),
                     "show or choose a pack's match threshold (the window's Settings use the same one)")
    p.add_argument("value", nargs="?", type=float, help="the new threshold, within the policy's range")
    p.add_argument("--pack", help="model pack (default: the one in use, see 'faceseal models list')")
    p.add_argument("--clear", action="store_true", help="back to the pack's measured default")
