"""Command-line glue for key sovereignty: ``key ...``, ``lock``/``unlock``, ``policy ...``, ``serve``, audit evidence.

Handlers follow cli.py's convention (``handler(args) -> (payload, exit_code)``,
typed errors, ``--json`` handled by the caller). Secrets come from a file,
standard input, an environment variable or a terminal prompt; never echoed,
and never part of an error message.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import getpass
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import audit_evidence, keyops, paths, policy
from .errors import InvalidKeyMaterial, RootKeyRevoked, UsageError
from .keyops.recovery_kit import exportable_root
from .keyops.revoke import NO_KIT_WARNING, kit_covers_root
from .keys import lockdown
from .keys.keystore import KeyStore
from .keys.roots.pkcs11 import PIN_VARIABLE
from .layout import Layout
from .locking import key_lock
from .vault import Vault

PASSPHRASE_VARIABLE = "FACESEAL_KIT_PASSPHRASE"


def _confirm(args: argparse.Namespace, question: str) -> None:
    from .cli import _confirm as confirm  # the one confirmation rule of the CLI; import late (cli imports us)

    confirm(args, question)


def _secret(prompt: str, variable: str, source_file: Path | None, twice: bool = False) -> str:
    """A secret from a file (first line), a variable, or a terminal prompt; never from argv."""
    if source_file is not None:
        try:
            return source_file.read_text("utf-8").splitlines()[0] if source_file.stat().st_size else ""
        except (OSError, UnicodeDecodeError):
            raise UsageError(f"{source_file} cannot be read as a text file") from None
    if variable in os.environ:
        return os.environ[variable]
    if not sys.stdin.isatty():
        raise UsageError(f"no terminal to ask for the {prompt}: set {variable} or give it in a file")
    value = getpass.getpass(f"{prompt}: ")
    if twice and getpass.getpass(f"{prompt} again: ") != value:
        raise UsageError(f"the two {prompt}s differ; nothing was written")
    return value


# ------------------------------------------------------------------- key material
def _decode_key(args: argparse.Namespace) -> bytes:
    """The key from --hex, --base64 or --file; lengths are checked by the policy, then exactly."""
    if args.file is not None:
        try:
            raw = args.file.read_bytes()
        except OSError:
            raise UsageError(f"{args.file} cannot be read") from None
        text = raw.strip()
        if text and len(text) % 2 == 0 and all(c in b"0123456789abcdefABCDEF" for c in text):
            return bytes.fromhex(text.decode("ascii"))  # a hex text file
        return raw
    text = sys.stdin.readline() if (args.hex or args.base64) == "-" else (args.hex or args.base64)
    text = text.strip()
    if args.hex is not None:
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise InvalidKeyMaterial("--hex is not a hexadecimal key") from None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKeyMaterial("--base64 is not valid base64") from None


def cmd_key_import(args: argparse.Namespace) -> tuple[Any, int]:
    key = _decode_key(args)
    with Vault.open() as vault:
        return keyops.import_root_key(vault, key), 0


def cmd_key_generate(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        return keyops.generate_root_key(vault), 0


def cmd_key_export(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        exportable_root(vault)  # refuse an HSM root before asking for anything
        passphrase = _secret("kit passphrase", PASSPHRASE_VARIABLE, args.passphrase_file, twice=True)
        return keyops.export_recovery_kit(vault, args.out, passphrase), 0


def cmd_key_restore(args: argparse.Namespace) -> tuple[Any, int]:
    passphrase = _secret("kit passphrase", PASSPHRASE_VARIABLE, args.passphrase_file)
    return keyops.restore_recovery_kit(None, args.source, passphrase), 0


def cmd_key_revoke(args: argparse.Namespace) -> tuple[Any, int]:
    vault = Vault.open()
    try:
        warning = "" if kit_covers_root(vault) else f"Warning: {NO_KIT_WARNING}. "
        _confirm(args, f"{warning}Destroy the root key {vault.root.fingerprint} ({vault.root_store.describe()})?")
        return keyops.revoke_root_key(vault), 0
    finally:
        vault.close()


def cmd_key_move_to_hsm(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        pin = _secret(f"PIN of token '{args.token}'", PIN_VARIABLE, None)
        return keyops.move_root_to_hsm(vault, args.module, args.token, args.key_label, pin), 0


def cmd_key_move_to_keychain(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        return keyops.move_root_to_keychain(vault), 0


# --------------------------------------------------------------------- lock
def _layout() -> Layout:
    layout = Layout(paths.data_dir())
    if not layout.keystore.exists():
        raise UsageError(f"there is no FaceSeal data in {layout.home}")
    return layout


def cmd_lock(args: argparse.Namespace) -> tuple[Any, int]:
    layout = _layout()
    lockdown.mark(layout.keys_dir, lockdown.LOCKED)
    return {"status": "locked", "data_dir": str(layout.home)}, 0


def cmd_unlock(args: argparse.Namespace) -> tuple[Any, int]:
    layout = _layout()
    with key_lock(layout.keys_dir, exclusive=True):
        if KeyStore.load(layout.keystore).revoked is not None:
            raise RootKeyRevoked(lockdown.REVOKED_MESSAGE)
        lockdown.clear(layout.keys_dir)
    with Vault.open() as vault:  # proves the root opens the data again
        return {"status": "unlocked", "root_fingerprint": vault.root.fingerprint}, 0


# ------------------------------------------------------------------- policy
def cmd_policy_show(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        return {"path": str(policy.path(vault.layout.home)), **asdict(policy.load(vault))}, 0


def cmd_policy_set(args: argparse.Namespace) -> tuple[Any, int]:
    changes = policy.parse_changes(args.settings)
    with Vault.open() as vault:
        return policy.change(vault, changes), 0


def cmd_policy_reset(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        _confirm(args, "Replace the policy with the defaults?")
        return policy.reset(vault), 0


# -------------------------------------------------------------------- audit
def cmd_audit_export(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        return audit_evidence.export_evidence(vault, args.out), 0


def _verify_with_evidence(vault_verify: Any) -> Any:
    def handler(args: argparse.Namespace) -> tuple[Any, int]:
        if args.evidence is None:
            return vault_verify(args)
        report = audit_evidence.verify_evidence(args.evidence)
        return report, 0 if report["status"] == "intact" else 4
    return handler


# -------------------------------------------------------------------- serve
def cmd_serve(args: argparse.Namespace) -> tuple[Any, int]:
    from .api.server import serve  # FastAPI and uvicorn load only for this command

    serve(args.host, args.port)
    return {"status": "stopped"}, 0


# ------------------------------------------------------------------- parser
def register(sub: Any, command: Any, audit_sub: Any, audit_verify: argparse.ArgumentParser) -> None:
    """Add ``key``, ``lock``, ``unlock``, ``policy``, ``serve`` and the audit evidence actions."""
    key = command("key", None, "the root key: bring your own, recovery kit, HSM, kill switch")
    actions = key.add_subparsers(dest="key_command", metavar="ACTION", required=True, parser_class=type(key))
    p = actions.add_parser("import", help="make your own 256-bit key the root (previous root destroyed)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--hex", metavar="HEX", help="64 hex characters, or '-' to read them from standard input")
    source.add_argument("--base64", metavar="B64", help="base64 of 32 bytes, or '-' to read it from standard input")
    source.add_argument("--file", type=Path, metavar="FILE", help="a file holding the 32 raw bytes or their hex")
    p.set_defaults(handler=cmd_key_import)
    actions.add_parser("generate", help="a fresh random root (previous root destroyed)").set_defaults(handler=cmd_key_generate)
    p = actions.add_parser("export", help="write a recovery kit: the root sealed under a passphrase (Argon2id)")
    p.add_argument("--out", type=Path, required=True, metavar="KIT.json")
    p.add_argument("--passphrase-file", type=Path, metavar="FILE", help=f"else {PASSPHRASE_VARIABLE}, else asked")
    p.set_defaults(handler=cmd_key_export)
    p = actions.add_parser("restore", help="bring the root back from a recovery kit (same or new machine)")
    p.add_argument("--from", dest="source", type=Path, required=True, metavar="KIT.json")
    p.add_argument("--passphrase-file", type=Path, metavar="FILE", help=f"else {PASSPHRASE_VARIABLE}, else asked")
    p.set_defaults(handler=cmd_key_restore)
    p = actions.add_parser("revoke", help="kill switch: destroy the root where it lives; nothing opens after")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=cmd_key_revoke)
    p = actions.add_parser("move-to-hsm", help=f"move the root into a PKCS#11 token (PIN from {PIN_VARIABLE} or asked)")
    p.add_argument("--module", required=True, metavar="PATH", help="the token's PKCS#11 library (.so)")
    p.add_argument("--token", required=True, metavar="LABEL", help="the token's label")
    p.add_argument("--key-label", metavar="LABEL", help="the key object's label (default: one per data directory)")
    p.set_defaults(handler=cmd_key_move_to_hsm)
    actions.add_parser("move-to-keychain", help="move the root out of the HSM into the keychain (or key file)"
                       ).set_defaults(handler=cmd_key_move_to_keychain)

    command("lock", cmd_lock, "drop every key from memory in every FaceSeal process until 'faceseal unlock'")
    command("unlock", cmd_unlock, "lift 'faceseal lock' (a revoked root stays revoked)")

    pol = command("policy", None, "the security policy (MAC-protected file in the data directory)")
    pol_actions = pol.add_subparsers(dest="policy_command", metavar="ACTION", required=True, parser_class=type(pol))
    pol_actions.add_parser("show", help="the policy in force").set_defaults(handler=cmd_policy_show)
    p = pol_actions.add_parser("set", help="change settings, e.g. max_root_age_days=30 (refused if invalid)")
    p.add_argument("settings", nargs="+", metavar="NAME=VALUE")
    p.set_defaults(handler=cmd_policy_set)
    p = pol_actions.add_parser("reset", help="back to the defaults (also after a tampered file)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=cmd_policy_reset)

    p = command("serve", cmd_serve, "the local admin API over HTTP on 127.0.0.1 (bearer token in <data>/edge_token)")
    p.add_argument("--port", type=int, default=8787, help="default 8787")
    p.add_argument("--host", default="127.0.0.1", help="a loopback address only (default 127.0.0.1)")

    p = audit_sub.add_parser("export", help="write signed evidence (events, signed head, public key) as a zip")
    p.add_argument("--out", type=Path, required=True, metavar="EVIDENCE.zip")
    p.set_defaults(handler=cmd_audit_export)
    audit_verify.add_argument("--evidence", type=Path, metavar="EVIDENCE.zip",
                              help="check an exported evidence zip offline instead of this vault")
    audit_verify.set_defaults(handler=_verify_with_evidence(audit_verify.get_default("handler")))
