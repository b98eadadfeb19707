"""``policy ...``, ``audit ...`` (chain check, events, signed evidence), ``admin-passphrase ...`` (the proof
of presence loosening asks for), ``serve`` (the local admin API) and ``api rotate-token``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from edge_core import ops
from edge_core.ops import adminserver
from edge_core.cli.framework import Commands, Reply, answer, with_vault
from edge_core.cli.prompts import ADMIN_VARIABLE, NEW_ADMIN_VARIABLE, confirm, secret
from edge_core.errors import UsageError

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

TAMPERED = 4


def _policy_reset(vault: Vault, args: argparse.Namespace) -> Reply:
    confirm(args.yes, "Replace the policy with the defaults?")
    return answer(ops.policy_reset(vault))


def _current_admin_passphrase(vault: Vault, what: str) -> str | None:
    """The current admin passphrase, typed now (never a proof held from before), when the vault has one."""
    if not ops.has_passphrase(vault):
        return None
    return secret(f"current admin passphrase (to {what})", ADMIN_VARIABLE, None,
                  how=f"set {ADMIN_VARIABLE} or run this at a terminal")


def _set_admin_passphrase(vault: Vault, args: argparse.Namespace) -> Reply:
    current = _current_admin_passphrase(vault, "change it")
    new = secret("new admin passphrase", NEW_ADMIN_VARIABLE, args.passphrase_file, twice=True)
    return answer(ops.set_admin_passphrase(vault, new, current))


def _remove_admin_passphrase(vault: Vault, _args: argparse.Namespace) -> Reply:
    return answer(ops.set_admin_passphrase(vault, None, _current_admin_passphrase(vault, "remove it")))


def _audit_verify(args: argparse.Namespace) -> Reply:
    if args.device_key is not None and args.evidence is None:
        raise UsageError("--device-key pins the key of exported evidence: give it with --evidence EVIDENCE.zip")
    if args.evidence is not None:
        report = ops.verify_evidence(args.evidence, args.device_key)
    else:
        with ops.open_vault(reading=True) as vault:
            report = ops.audit_verify(vault)
    return report, 0 if report.intact else TAMPERED


def _verify_certificate(args: argparse.Namespace) -> Reply:
    return answer(ops.verify_certificate(args.file, args.device_key))


def _accept_rollback(args: argparse.Namespace) -> Reply:
    confirm(args.yes, "Make this data folder the newest state, though this machine saw a newer one (an older backup "
                      "restored on purpose)?")
    return answer(ops.accept_rollback())


def _serve(args: argparse.Namespace) -> Reply:
    from edge_core.adminapi.server import serve  # FastAPI and uvicorn load only for this command

    serve(args.host, args.port, args.confirm_fd)
    return answer({"status": "stopped"})


def register(commands: Commands) -> None:
    commands.group("policy", "the security policy (MAC-protected file in the data directory)")
    commands.add("policy show", with_vault(lambda vault, _args: answer(ops.policy_show(vault)), reading=True),
                 "the policy in force")
    commands.add("policy describe", with_vault(lambda vault, _args: answer(ops.policy_describe(vault)), reading=True),
                 "every setting with its meaning, value, default and allowed range; the file's MAC and version")
    p = commands.add("policy set", with_vault(
        lambda vault, args: answer(ops.policy_set(vault, ops.parse_policy_changes(args.settings)))),
        "change settings, e.g. max_root_age_days=30 (refused if invalid)")
    p.add_argument("settings", nargs="+", metavar="NAME=VALUE")
    p = commands.add("policy reset", with_vault(_policy_reset), "back to the defaults (also after a tampered file)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    commands.group("admin-passphrase", "the passphrase that loosening security or destroying data asks for")
    p = commands.add("admin-passphrase set", with_vault(_set_admin_passphrase),
                     f"set or change it (the new one from a terminal, ${NEW_ADMIN_VARIABLE} or --passphrase-file)")
    p.add_argument("--passphrase-file", type=Path, help="read the new passphrase from this file's first line")
    commands.add("admin-passphrase remove", with_vault(_remove_admin_passphrase), "stop asking for it (needs it once more)")

    commands.group("audit", "the tamper-evident audit log")
    p = commands.add("audit verify", _audit_verify, "check the hash chain; names any edited, inserted or removed event")
    p.add_argument("--evidence", type=Path, metavar="EVIDENCE.zip",
                   help="check an exported evidence zip offline instead of this vault")
    p.add_argument("--device-key", metavar="FINGERPRINT|KEY.pem",
                   help="with --evidence: the device key it must be signed with (the fingerprint 'faceseal status' "
                        "and 'audit export' show, the device id, or the public key file)")
    p = commands.add("audit verify-certificate", _verify_certificate,
                     "check a deletion certificate offline against the device key (exit 4 when it must not be "
                     "believed)")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--device-key", metavar="FINGERPRINT|KEY.pem", required=True,
                   help="the key it must be signed with: the fingerprint 'faceseal status' shows, the device id, or "
                        "the public key file")
    commands.add("audit list", with_vault(lambda vault, _args: answer(ops.audit_list(vault)), reading=True),
                 "print the events")
    p = commands.add("audit export", with_vault(lambda vault, args: answer(ops.audit_export(vault, args.out))),
                     "write signed evidence (events, signed head, public key) as a zip")
    p.add_argument("--out", type=Path, required=True, metavar="EVIDENCE.zip")
    p = commands.add("audit accept-rollback", _accept_rollback,
                     "use this data folder although this machine saw a newer state of it (an older backup restored "
                     "on purpose); audited")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = commands.add("serve", _serve, "the local admin API over HTTP on 127.0.0.1 (bearer token in <data>/edge_token)")
    p.add_argument("--port", type=int, default=adminserver.DEFAULT_PORT, help=f"default {adminserver.DEFAULT_PORT}")
    p.add_argument("--host", default="127.0.0.1", help="a loopback address only (default 127.0.0.1)")
    p.add_argument("--confirm-fd", type=int, help=argparse.SUPPRESS)  # the window's channel (ops.confirmations)
    commands.group("api", "the local admin API's bearer token")
    commands.add("api rotate-token", lambda _args: answer(adminserver.rotate_token()),
                 "replace the bearer token in <data>/edge_token (restart a running 'faceseal serve' to use it)")
