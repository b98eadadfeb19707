"""The root key and everything below it: rotation, reset, bring your own key, recovery kits, HSM, kill switch.

Each use case adds what the policy says (the minimum key size of an imported
key, rotation at start) and the telemetry event to the crash-safe machinery in
:mod:`edge_core.ops.keyops`, whose every step records its own audit event in
the transaction that makes the change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_core.audit import chain as audit
from edge_core.errors import (
    AnchorUnusable,
    InvalidKeyMaterial,
    TpmBootStateChanged,
    UsageError,
    VaultRolledBack,
    is_disk_full,
)
from edge_core.keys.roots.pkcs11 import PIN_VARIABLE
from edge_core.keys.roots.tpm import PIN_VARIABLE as TPM_PIN_VARIABLE
from edge_core.keys.roots.tpm import problem as _tpm_problem
from edge_core.ops.keyops import byok, hsm, recovery_kit, revoke
from edge_core.ops.keyops import reset as resetting
from edge_core.ops.keyops import rotate as rotating
from edge_core.ops import presence
from edge_core.ops.presence import needs_presence
from edge_core.ops.results import (
    KitExport,
    KitRestore,
    PassphraseRating,
    Reset,
    Revocation,
    RootChange,
    Rotation,
)
from edge_core.ops.vaults import layout_for, open_vault, rotation_due
from edge_core.policy import rules as policy
from edge_core.telemetry.events import KeyRole
from edge_core.telemetry.recording import recorded
from edge_core.vault.store import Vault

NO_KIT_WARNING = revoke.NO_KIT_WARNING
HSM_PIN_VARIABLE = PIN_VARIABLE
"""Where a PIN for the HSM can be given instead of typed (the PIN never comes from the command line)."""
TPM_PIN_VARIABLE = TPM_PIN_VARIABLE
"""The PIN of a root in the TPM (optional; read at the move and at every open, never asked, never kept)."""
PIN_HOMES = hsm.PIN_HOMES
"""Where a token's PIN can be kept after ``move_root_to_hsm`` ("keychain", "variable"), in words."""
MIN_PASSPHRASE = recovery_kit.MIN_PASSPHRASE


def _connection(vault: Vault, *args: Any, **kwargs: Any) -> Any:
    return vault.open_connection


@recorded(KeyRole.ROOT, _connection)
def rotate(vault: Vault, deep: bool = False) -> Rotation:
    """A new root with the vault keys re-wrapped under it; ``deep`` also reseals every template."""
    return rotating.rotate_key(vault, deep=deep)


def apply_start_policy(vault: Vault) -> Rotation | None:
    """At start (window, admin API): rotate the root if it is due and the policy asks for it."""
    if policy.load(vault).rotate_on_start and rotation_due(vault):
        return rotate(vault)
    return None


@needs_presence("reset the vault, deleting everyone enrolled")
def reset(vault: Vault, keep_audit: bool = False, keep_outbox: bool = False, keep_device_key: bool = False) -> Reset:
    """Delete every template and destroy the root; ``vault`` is closed after. The policy is kept.

    The policy is the operator's standing decision, not data: it survives a
    reset, and so does the key that authenticates its file.
    """
    return resetting.reset(vault, keep_audit, keep_outbox, keep_device_key, keep_secrets=[policy.MAC_SECRET],
                           keep_meta=(*policy.META_KEYS, presence.PASSPHRASE_META))


@needs_presence("make a key you bring the root key (whoever holds it can open a copy of this data)")
def import_root_key(vault: Vault, key: bytes) -> RootChange:
    """Make the user's own key the root (at least the policy's minimum size, exactly 256 bits)."""
    if not isinstance(key, (bytes, bytearray)):
        raise InvalidKeyMaterial("a root key is 32 bytes")
    policy.check_key_bits(vault, len(key) * 8)
    return byok.import_root_key(vault, key)


@needs_presence("replace the root key (every recovery copy made so far stops opening this vault)")
def generate_root_key(vault: Vault) -> RootChange:
    """A fresh random root where the root lives now (inside the token for an HSM root)."""
    return byok.generate_root_key(vault)


def kit_covers_root(vault: Vault) -> bool:
    """Whether the last recovery kit exported holds the current root (a kit of an earlier root opens nothing)."""
    return revoke.kit_covers_root(vault)


def check_exportable(vault: Vault) -> None:
    """Refuse, before a passphrase is asked for, a root no kit can hold (an HSM root)."""
    recovery_kit.exportable_root(vault)


def check_kit_passphrase(passphrase: str) -> None:
    """Refuse a recovery kit passphrase that is too short or too easy to guess (zxcvbn), with its hint."""
    recovery_kit.check_passphrase(passphrase)


def rate_kit_passphrase(passphrase: str) -> PassphraseRating:
    """How strong ``passphrase`` is and whether :func:`check_kit_passphrase` takes it: a meter shown while typing."""
    try:
        recovery_kit.check_passphrase(passphrase)
    except UsageError as refusal:
        problem: str | None = str(refusal)
    else:
        problem = None
    return PassphraseRating(recovery_kit.passphrase_strength(passphrase), recovery_kit.MIN_SCORE,
                            recovery_kit.MIN_PASSPHRASE, problem)


@needs_presence("write a copy of the root key into a recovery kit")
def export_recovery_kit(vault: Vault, path: Path, passphrase: str) -> KitExport:
    """Write the root sealed under ``passphrase`` (Argon2id) to the new file ``path``; audited."""
    return recovery_kit.export_recovery_kit(vault, Path(path), passphrase)


def restore_recovery_kit(home: Path | None, path: Path, passphrase: str) -> KitRestore:
    """Put the root in the kit back for the data in ``home`` (same or new machine); audited once it opens."""
    layout = layout_for(home)
    root, target, was_revoked = recovery_kit.restore_root(layout, Path(path), passphrase)
    with open_vault(layout.home) as vault:
        with vault.writing() as tx:
            audit.append(tx, "root_restored", root_store=target.name, root_fingerprint=root.fingerprint,
                         was_revoked=was_revoked)
        where = vault.root_store.describe()
    return KitRestore(str(layout.home), root.fingerprint, target.name, where, was_revoked)


def revocation_target(home: Path | None = None) -> revoke.Target:
    """What the kill switch would destroy (fingerprint, where, kit or not), read without the database."""
    return revoke.target(layout_for(home))


def revoke_root_key(vault: Vault | None = None, home: Path | None = None) -> Revocation:
    """The kill switch: destroy the root everywhere; ``vault`` is closed after and nothing opens again.

    Without ``vault`` the vault in ``home`` is opened for the audit chain; a
    full disk that keeps it from opening (or from taking the event) does not
    save the root: it is destroyed all the same and the event is sealed into
    the audit inbox. Nor does an older copy of the folder, or an anchor that
    cannot be checked (the rollback rule): destroying the root brings nothing
    back, and whoever can write the folder must not be able to stop it.
    """
    if vault is not None:
        return revoke.revoke_root_key(vault.layout, vault)
    layout = layout_for(home)
    try:
        opened = open_vault(layout.home)
    except (VaultRolledBack, AnchorUnusable):
        return revoke.revoke_root_key(layout, None, unopened="rolled_back")
    except TpmBootStateChanged:  # the TPM will not use the root, but evicts it all the same
        return revoke.revoke_root_key(layout, None)
    except Exception as error:
        if not is_disk_full(error):
            raise
        return revoke.revoke_root_key(layout, None)
    return revoke.revoke_root_key(layout, opened)


@needs_presence("move the root key into a token (whoever holds the token and its PIN then holds the data)")
def move_root_to_hsm(vault: Vault, module: str, token: str, key_label: str | None, pin: str,
                     keep_pin: str | None = None) -> RootChange:
    """Move the root into a PKCS#11 token; the PIN, token and module are proven before anything changes.

    ``keep_pin``: where the PIN is kept for later opens, "keychain" or "variable" (``PIN_HOMES``), as the
    person chose at the move; when nobody chose, the variable if it holds this PIN, else the keychain.
    """
    return hsm.move_root_to_hsm(vault, module, token, key_label, pin, keep_pin)


def tpm_problem() -> str | None:
    """Why this machine's TPM 2.0 cannot hold the root for this user, or ``None`` when it can (what offering
    ``move_root_to_tpm`` needs)."""
    return _tpm_problem()


@needs_presence("move the root key into this machine's TPM (a new root: recovery copies made so far stop opening "
                "this vault)")
def move_root_to_tpm(vault: Vault, bind_boot_state: bool = False) -> RootChange:
    """Move the root into this machine's TPM (made there, never leaving it); the TPM is proven to answer first.

    ``bind_boot_state`` (off by default): the TPM uses the root only while the Secure Boot state (PCR 7) is as now.
    """
    return hsm.move_root_to_tpm(vault, bind_boot_state)


@needs_presence("write a recovery kit of a new root key and import that root into this machine's TPM (recovery "
                "copies made so far stop opening this vault; the TPM's copy can never be exported)")
def escrow_root_into_tpm(vault: Vault, kit: Path, passphrase: str, bind_boot_state: bool = False) -> RootChange:
    """A new root, its recovery kit written to ``kit`` (sealed under ``passphrase``) first, then imported into this
    machine's TPM: for a person who wants an escrow copy of a TPM root. The answer's warning says plainly that the
    TPM's copy cannot be exported afterwards."""
    return hsm.escrow_root_into_tpm(vault, Path(kit), passphrase, bind_boot_state)


@needs_presence("bring the root key out of its token or the TPM", when=lambda vault: vault.root_store.name != "file")
def move_root_to_keychain(vault: Vault) -> RootChange:
    """Bring the root out of the token or the TPM into the keychain (or the key file)."""
    return hsm.move_root_to_keychain(vault)
