"""``rotate-key``, ``reset``, ``key ...`` (bring your own key, recovery kit, HSM, kill switch), ``lock``, ``unlock``.

Secrets (a key, a kit passphrase, an HSM PIN) come from a file, standard
input, an environment variable or a terminal prompt: never echoed, never from
the command line's words, never part of an error message.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge_core import ops
from edge_core.cli.framework import Commands, Reply, answer, with_vault
from edge_core.cli.prompts import ask, confirm, secret
from edge_core.errors import NoKeychainForPin, UsageError
from edge_core.keys import material
from edge_core.ops.keys import HSM_PIN_VARIABLE as PIN_VARIABLE
from edge_core.ops.keys import NO_KIT_WARNING, PIN_HOMES, TPM_PIN_VARIABLE

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

PASSPHRASE_VARIABLE = "FACESEAL_KIT_PASSPHRASE"


def _key_given(args: argparse.Namespace) -> bytes:
    """The key from --hex, --base64 (either may be '-' for standard input) or --file, by the one parser."""
    if args.file is not None:
        try:
            return material.parse_key(args.file.read_bytes(), "file", str(args.file))
        except OSError:
            raise UsageError(f"{args.file} cannot be read") from None
    form, value = ("hex", args.hex) if args.hex is not None else ("base64", args.base64)
    text = sys.stdin.readline() if value == "-" else value
    return material.parse_key(text, form, f"--{form}")


def _rotate(vault: Vault, args: argparse.Namespace) -> Reply:
    return answer(ops.rotate(vault, deep=args.deep))


def _reset(args: argparse.Namespace) -> Reply:
    vault = ops.open_vault()  # closed by the reset itself (or below, if refused)
    try:
        confirm(args.yes, "Delete every template and destroy the root key?")
        return answer(ops.reset(vault, args.keep_audit, args.keep_outbox, args.keep_device_key))
    finally:
        vault.close()


def _export(vault: Vault, args: argparse.Namespace) -> Reply:
    ops.check_exportable(vault)  # an HSM root is refused before anything is asked
    passphrase = secret("kit passphrase", PASSPHRASE_VARIABLE, args.passphrase_file, twice=True)
    return answer(ops.export_recovery_kit(vault, args.out, passphrase))


def _restore(args: argparse.Namespace) -> Reply:
    passphrase = secret("kit passphrase", PASSPHRASE_VARIABLE, args.passphrase_file)
    return answer(ops.restore_recovery_kit(None, args.source, passphrase))


def _revoke(args: argparse.Namespace) -> Reply:
    target = ops.revocation_target()  # read without the database: a full disk does not stop the kill switch
    warning = "" if target.kit_covers_root else f"Warning: {NO_KIT_WARNING}. "
    confirm(args.yes, f"{warning}Destroy the root key {target.fingerprint} ({target.where})?")
    return answer(ops.revoke_root_key())


KEEP_PIN_OPTIONS = f"--keep-pin variable keeps it only in {PIN_VARIABLE}, --keep-pin keychain in the OS keychain"
"""How this front end says where the token PIN is kept: the hints name the option."""


def _move_to_hsm(vault: Vault, args: argparse.Namespace) -> Reply:
    pin = secret(f"PIN of token '{args.token}'", PIN_VARIABLE, None,
                 how=f"set {PIN_VARIABLE} to it ({KEEP_PIN_OPTIONS})")
    keep = args.keep_pin
    if keep is None and sys.stdin.isatty():  # asked at the move, never found out at the next command
        typed = ask(f"Keep the token PIN in the OS keychain (k), or in {PIN_VARIABLE} only, set by you for every "
                    "later command, the window and the admin API (v)? [k/v] ").strip().lower()
        keep = {"k": "keychain", "v": "variable"}.get(typed[:1])
        if keep is None:
            raise UsageError("cancelled at the prompt; nothing was changed")
    try:
        return answer(ops.move_root_to_hsm(vault, args.module, args.token, args.key_label, pin, keep))
    except NoKeychainForPin as refused:  # the rule is ops's; the option that keeps the PIN elsewhere is ours
        raise NoKeychainForPin(f"{refused} ({KEEP_PIN_OPTIONS})") from None


def _move_to_tpm(vault: Vault, args: argparse.Namespace) -> Reply:
    if args.escrow_kit is None:
        if args.passphrase_file is not None:
            raise UsageError("--passphrase-file is the escrow kit's: it goes with --escrow-kit; nothing was changed")
        return answer(ops.move_root_to_tpm(vault, args.bind_boot_state))
    passphrase = secret("kit passphrase", PASSPHRASE_VARIABLE, args.passphrase_file, twice=True)
    return answer(ops.escrow_root_into_tpm(vault, args.escrow_kit, passphrase, args.bind_boot_state))


def register(commands: Commands) -> None:
    p = commands.add("rotate-key", with_vault(_rotate), "replace the root key; the vault key is re-wrapped under it")
    p.add_argument("--deep", action="store_true", help="also reseal every template under new keys")
    p = commands.add("reset", _reset, "delete every template and destroy the root key")
    p.add_argument("--keep-audit", action="store_true", help="keep the audit log")
    p.add_argument("--keep-outbox", action="store_true", help="keep the telemetry outbox")
    p.add_argument("--keep-device-key", action="store_true", help="keep the device identity key")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    commands.group("key", "the root key: bring your own, recovery kit, HSM, TPM, kill switch")
    p = commands.add("key import", with_vault(lambda vault, args: answer(ops.import_root_key(vault, _key_given(args)))),
                     "make your own 256-bit key the root (previous root destroyed)")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--hex", metavar="HEX", help="64 hex characters, or '-' to read them from standard input")
    given.add_argument("--base64", metavar="B64", help="base64 of 32 bytes, or '-' to read it from standard input")
    given.add_argument("--file", type=Path, metavar="FILE", help="a file holding the 32 raw bytes, or their hex or base64")
    commands.add("key generate", with_vault(lambda vault, _args: answer(ops.generate_root_key(vault))),
                 "a fresh random root (previous root destroyed)")
    p = commands.add("key export", with_vault(_export), "write a recovery kit: the root sealed under a passphrase (Argon2id)")
    p.add_argument("--out", type=Path, required=True, metavar="KIT.json")
    p.add_argument("--passphrase-file", type=Path, metavar="FILE", help=f"else {PASSPHRASE_VARIABLE}, else asked")
    p = commands.add("key restore", _restore, "bring the root back from a recovery kit (same or new machine)")
    p.add_argument("--from", dest="source", type=Path, required=True, metavar="KIT.json")
    p.add_argument("--passphrase-file", type=Path, metavar="FILE", help=f"else {PASSPHRASE_VARIABLE}, else asked")
    p = commands.add("key revoke", _revoke, "kill switch: destroy the root where it lives; nothing opens after")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p = commands.add("key move-to-hsm", with_vault(_move_to_hsm),
                     f"move the root into a PKCS#11 token (PIN from {PIN_VARIABLE} or asked)")
    p.add_argument("--module", required=True, metavar="PATH", help="the token's PKCS#11 library (.so)")
    p.add_argument("--token", required=True, metavar="LABEL", help="the token's label")
    p.add_argument("--key-label", metavar="LABEL", help="the key object's label (default: one per data directory)")
    p.add_argument("--keep-pin", choices=sorted(PIN_HOMES),
                   help=f"where later opens find the PIN: the OS keychain, or only {PIN_VARIABLE} (default: asked "
                        "at a terminal; without one, the variable if it holds the PIN, else the keychain)")
    p = commands.add("key move-to-tpm", with_vault(_move_to_tpm),
                     f"move the root into this machine's TPM 2.0, made there and never leaving it (optional PIN "
                     f"from {TPM_PIN_VARIABLE}, needed by every later open)")
    p.add_argument("--bind-boot-state", action="store_true",
                   help="the TPM uses the root only while the Secure Boot state (PCR 7) is as it is now")
    p.add_argument("--escrow-kit", type=Path, metavar="KIT.json",
                   help="an escrow copy first: a new root is written to this recovery kit, then imported into the "
                        "TPM (the TPM's copy can never be exported afterwards)")
    p.add_argument("--passphrase-file", type=Path, metavar="FILE",
                   help=f"the escrow kit's passphrase; else {PASSPHRASE_VARIABLE}, else asked")
    commands.add("key move-to-keychain", with_vault(lambda vault, _args: answer(ops.move_root_to_keychain(vault))),
                 "move the root out of the HSM or TPM into the keychain (or key file)")

    commands.add("lock", lambda _args: answer(ops.lock()),
                 "drop every key from memory in every FaceSeal process until 'faceseal unlock' (audited)")
    commands.add("unlock", lambda _args: answer(ops.unlock()), "lift the lock (a revoked root stays revoked; audited)")
