"""The recovery kit: the root key wrapped under a passphrase, because a lost root means lost data.

A kit is a small JSON file (docs/SOVEREIGNTY.md gives it field by field):
Argon2id (64 MiB, 3 passes, 4 lanes, random 16-byte salt) turns the passphrase
into a key that seals the 32 root bytes with AES-256-GCM; every public field is
the GCM associated data, so changing any of them makes the kit fail to open.
A SHA-256 checksum over the whole document tells an edited or damaged file
apart from a wrong passphrase *before* spending the KDF (it is no security
boundary: the GCM tag is). Kits hold software roots only: an HSM root never
leaves its token, and a TPM root only had a kit if it was written before the
root was imported (``key move-to-tpm --escrow-kit``), whose restore re-wraps the
keys the TPM's way wrapped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from edge_core.audit import chain as audit
from edge_core.errors import (
    FaceSealError,
    KeyHierarchyError,
    RecoveryKitInvalid,
    RootKitUnavailable,
    UsageError,
    VaultRolledBack,
    WeakPassphrase,
    WrongPassphrase,
    WrongRootKey,
)
from edge_core.keys import lockdown, material
from edge_core.keys.keystore import KeyStore, UnlockedKeys, now_iso
from edge_core.keys.roots import RootStore, SoftwareRootKey, find_root, store_for_software_root
from edge_core.keys.roots import tpm
from edge_core.keys.roots.keyfile import FileRootStore
from edge_core.keys.roots.pkcs11 import HsmLocation
from edge_core.keys.secret import Secret
from edge_core.ops.results import KitExport
from edge_core.support import database
from edge_core.support.canonical import canonical_json
from edge_core.support.exports import write_new_file
from edge_core.support.faults import checkpoint
from edge_core.support.inputs import read_regular
from edge_core.support.locking import key_lock
from edge_core.vault.anchor import Anchor, Head
from edge_core.vault.layout import Layout
from edge_core.vault.store import Vault, keystore_predates_tags

KIT_FORMAT = "faceseal-recovery-kit"
KIT_VERSION = 1
MIN_PASSPHRASE = 10
#: The lowest zxcvbn score (0-4) a kit passphrase may have: 3 is "safely unguessable" (about 10^8 guesses and up).
MIN_SCORE = 3
ZXCVBN_MAX_LENGTH = 256
#: A kit is about 1 KiB; anything larger (or not a regular file) is refused before it is read.
MAX_KIT_BYTES = 64 * 1024
"""A kit is about one kilobyte; a device, a pipe or anything larger is refused before it is read."""
PRODUCT_WORDS = ("faceseal", "admin", "face", "seal", "recovery", "kit", "copy", "passphrase", "root", "key",
                 "backup", "vault", "export", "restore", "secret", "keychain", "template", "unlock", "lock")
"""The words FaceSeal itself shows around a kit (the window's "Export recovery copy…", ``faceseal key export``,
the saved file's default name ``faceseal-recovery-kit``): the first ones a guesser of a kit passphrase tries."""
KDF_DEFAULTS = {"name": "argon2id", "memory_kib": 65536, "iterations": 3, "lanes": 4}
#: What a kit may ask of the KDF: an edited kit must not make restore eat the machine.
KDF_LIMITS = {"memory_kib": (8192, 1048576), "iterations": (1, 16), "lanes": (1, 16)}
HEADER_FIELDS = ("format", "version", "created_at", "kid", "fingerprint", "kdf", "cipher")


def _derive(passphrase: str, kdf: dict[str, Any]) -> bytes:
    return Argon2id(salt=base64.b64decode(kdf["salt"]), length=32, iterations=kdf["iterations"],
                    lanes=kdf["lanes"], memory_cost=kdf["memory_kib"]).derive(passphrase.encode("utf-8"))


def _checksum(doc: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({k: v for k, v in doc.items() if k != "checksum"})).hexdigest()


def _context_words() -> list[str]:
    """Words an attacker tries first against this kit: the product's, the user's and the machine's names."""
    words = list(PRODUCT_WORDS)
    for value in (os.environ.get("USER"), os.environ.get("LOGNAME"), socket.gethostname()):
        if value:
            words.append(value)
    return words


_PRODUCT_WORD = re.compile("|".join(sorted(PRODUCT_WORDS, key=len, reverse=True)), re.IGNORECASE)
PRODUCT_HINT = ("it is mostly words FaceSeal itself shows (faceseal, recovery, kit, root, key, backup ...), which a "
                "guesser tries first, joined in any order with any separators; add uncommon words of your own")


def _zxcvbn(text: str) -> dict[str, Any]:
    """zxcvbn's verdict on ``text``. zxcvbn is imported here, when a passphrase is scored: its word lists take a
    twentieth of a second of every ``faceseal`` start that never sees a passphrase (issue 28)."""
    if not text:  # zxcvbn cannot score nothing; nothing is guessed at once
        return {"score": 0, "feedback": {}}
    from zxcvbn import zxcvbn

    return zxcvbn(text[:ZXCVBN_MAX_LENGTH], user_inputs=_context_words(), max_length=ZXCVBN_MAX_LENGTH)


def _estimate(passphrase: str) -> tuple[int, str]:
    """zxcvbn's score of ``passphrase`` and its hint, or of what is left without FaceSeal's own words if lower.

    zxcvbn gives ``user_inputs`` a low rank, but scores the separators between
    them as brute force, so ``faceseal-recovery-kit`` scored 4 (the issue's
    guesser found such a passphrase in 269 tries). Scoring the rest, the
    product's words taken out, weighs only what the guesser does not know.
    """
    whole = _zxcvbn(passphrase)
    feedback = whole.get("feedback") or {}
    hint = " ".join(part for part in [feedback.get("warning") or "", *(feedback.get("suggestions") or [])] if part)
    rest = _PRODUCT_WORD.sub("", passphrase)
    if rest != passphrase:
        left = int(_zxcvbn(rest)["score"])
        if left < whole["score"]:
            return left, PRODUCT_HINT
    return int(whole["score"]), hint


def passphrase_strength(passphrase: str) -> int:
    """zxcvbn's strength of ``passphrase`` from 0 to 4, as :func:`check_passphrase` weighs it (for a meter)."""
    return _estimate(passphrase)[0] if passphrase else 0


def check_passphrase(passphrase: str, what: str = "recovery kit passphrase") -> None:
    """Refuse a passphrase that is short or easy to guess (zxcvbn score below ``MIN_SCORE``).

    The one rule for every front end and every passphrase FaceSeal asks to be chosen (``what`` names it: a
    recovery kit's, the admin passphrase); the message gives zxcvbn's hint and never repeats the passphrase.
    """
    if len(passphrase) < MIN_PASSPHRASE:
        raise UsageError(f"a {what} needs at least {MIN_PASSPHRASE} characters")
    score, hint = _estimate(passphrase)
    if score >= MIN_SCORE:
        return
    raise WeakPassphrase(
        f"this {what} is too easy to guess (strength {score} of 4, at least "
        f"{MIN_SCORE} needed)" + (f": {hint}" if hint else "; use several uncommon words")
    )


def seal_root(root: SoftwareRootKey, passphrase: str) -> dict[str, Any]:
    """The kit document for ``root``; a weak passphrase is refused before anything is derived."""
    check_passphrase(passphrase)
    kdf = {**KDF_DEFAULTS, "salt": base64.b64encode(os.urandom(16)).decode()}
    header = {"format": KIT_FORMAT, "version": KIT_VERSION, "created_at": now_iso(), "kid": root.kid,
              "fingerprint": root.fingerprint, "kdf": kdf, "cipher": "aes-256-gcm"}
    nonce = os.urandom(12)
    sealed = material.encrypt(_derive(passphrase, kdf), nonce, root.secret_bytes(), canonical_json(header))
    doc = {**header, "nonce": base64.b64encode(nonce).decode(), "wrapped_root": base64.b64encode(sealed).decode()}
    doc["checksum"] = _checksum(doc)
    return doc


def open_kit(path: Path, passphrase: str) -> SoftwareRootKey:
    """The root inside the kit at ``path``; an edited kit and a wrong passphrase each say so."""
    try:
        doc = json.loads(read_regular(path, MAX_KIT_BYTES, RecoveryKitInvalid, "a FaceSeal recovery kit"))
    except (ValueError, OSError):
        raise RecoveryKitInvalid(f"{path} is not a FaceSeal recovery kit (not JSON)") from None
    edited = RecoveryKitInvalid(f"the recovery kit {path} was edited or damaged; nothing was restored")
    if not isinstance(doc, dict) or doc.get("format") != KIT_FORMAT:
        raise RecoveryKitInvalid(f"{path} is not a FaceSeal recovery kit")
    if not isinstance(doc.get("checksum"), str) or not material.same_secret(
            _checksum(doc).encode(), doc["checksum"].encode()):
        raise edited
    try:
        kdf = doc["kdf"]
        if doc["version"] != KIT_VERSION or kdf["name"] != "argon2id" or doc["cipher"] != "aes-256-gcm":
            raise RecoveryKitInvalid(f"{path} is a kit format this FaceSeal does not know")
        for name, (low, high) in KDF_LIMITS.items():
            if not isinstance(kdf[name], int) or not low <= kdf[name] <= high:
                raise edited
        header = {k: doc[k] for k in HEADER_FIELDS}
        nonce = base64.b64decode(doc["nonce"], validate=True)
        sealed = base64.b64decode(doc["wrapped_root"], validate=True)
        key = _derive(passphrase, kdf)
    except (KeyError, TypeError, ValueError):
        raise edited from None
    try:
        raw = material.decrypt_into(key, nonce, sealed, canonical_json(header), Secret(max(len(sealed) - 16, 0)))
    except ValueError:
        raw = None
    if raw is None:
        raise WrongPassphrase(f"the passphrase does not open the recovery kit {path} "
                              "(wrong passphrase, or the kit was altered)") from None
    try:
        root = SoftwareRootKey(raw)
    except ValueError:
        raise edited from None
    if root.kid != doc["kid"]:
        raise edited
    return root


def exportable_root(vault: Vault) -> SoftwareRootKey:
    """The root, if a kit can hold it; an HSM root never leaves its token."""
    root = vault.root
    if not isinstance(root, SoftwareRootKey):
        raise RootKitUnavailable(
            f"the root lives in hardware ({vault.root_store.describe()}) and never leaves it, so no kit can hold it; "
            "use the HSM's own backup, or move the root to the keychain and export a kit then"
        )
    return root


def export_recovery_kit(vault: Vault, path: Path, passphrase: str) -> KitExport:
    """Write a kit of the current root to ``path`` (a new 0600 file); recorded and audited."""
    root = exportable_root(vault)
    return record_kit(vault, root, path, write_kit(vault.layout, root, path, passphrase))


def write_kit(layout: Layout, root: SoftwareRootKey, path: Path, passphrase: str) -> dict[str, Any]:
    """Write a kit of ``root`` to the new 0600 file ``path``, never inside the data folder of ``layout``; its document
    (whose header :func:`record_kit` needs)."""
    _outside_the_data(layout, Path(path))
    doc = seal_root(root, passphrase)
    write_new_file(Path(path), lambda handle: handle.write(json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n"))
    return doc


def _outside_the_data(layout: Layout, path: Path) -> None:
    """Refuse a kit inside the data folder (named directly or through a link): with the root in the keychain, a TPM
    or a token, a copy of the folder (a backup, a sync, a stolen disk) holds no key, and a kit there would hand the
    root to whoever holds the copy, behind the passphrase alone."""
    home, folder = layout.home.resolve(), path.parent.resolve()
    if folder == home or home in folder.parents:
        raise UsageError(f"{path} is inside the data folder {layout.home}: a copy of that folder would carry the root "
                         "with it; keep the recovery kit apart from the data (another disk, a USB stick); nothing was "
                         "changed")


def record_kit(vault: Vault, root: SoftwareRootKey, path: Path, doc: dict[str, Any]) -> KitExport:
    """Note in the key store that a kit of ``root`` exists (a kit covers the root whose kid it names); audited."""
    with key_lock(vault.layout.keys_dir, exclusive=True):
        ks = vault.keystore()
        ks.recovery_kit = {"kid": root.kid, "fingerprint": root.fingerprint, "exported_at": doc["created_at"]}
        vault.save_keystore(ks)
        with vault.writing() as tx:
            audit.append(tx, "recovery_kit_exported", root_fingerprint=root.fingerprint, kdf="argon2id")
    return KitExport(str(path), root.fingerprint, "argon2id", doc["created_at"])


def _drop_file_copy(layout: Layout, target: RootStore, root: SoftwareRootKey) -> None:
    """A kit restored into the keychain: a key file beside the data holding that same root (the fallback it lived
    in before a keychain was there) is destroyed, or a copy of the data folder would carry its own key."""
    if isinstance(target, FileRootStore):
        return
    stale = FileRootStore(layout.keys_dir)
    try:
        copy = stale.load()
    except FaceSealError:
        return  # not a root file FaceSeal can read: not proven to be this root, so not destroyed
    if copy is not None and copy.kid == root.kid:
        stale.destroy()


def restore_root(layout: Layout, path: Path, passphrase: str) -> tuple[SoftwareRootKey, RootStore, bool]:
    """Put the root in the kit back in place for ``layout``: (the root, its store, whether it had been revoked).

    The kit must hold the very root the key store was sealed with; the data is
    not touched until that is proven. A revoked root is un-revoked; a stale HSM
    pointer is dropped (the kit's root is a software root).
    """
    if not layout.keystore.exists():
        raise UsageError(f"there is no FaceSeal data in {layout.home}: copy the data directory there first")
    root = open_kit(Path(path), passphrase)
    with key_lock(layout.keys_dir, exclusive=True):
        ks = KeyStore.load(layout.keystore)
        if root.kid not in ks.wraps:
            raise WrongRootKey(f"this kit holds root {root.fingerprint}, but the data in {layout.home} "
                               "was sealed with another root; nothing was changed")
        keys, imported = _unlock(ks, root)  # proves the kit opens this very key store before anything changes
        ks.check(layout.keystore, keys.database, legacy=keystore_predates_tags(layout, ks, keys))
        if imported:  # its wraps re-made as a software root reads them, before that root takes over
            ks.add_root(root, keys)
            ks.save(layout.keystore, keys.database)
            checkpoint("restore.rewrapped")
        target = store_for_software_root(layout.keys_dir, layout.keychain_account)
        target.activate(root)
        _drop_file_copy(layout, target, root)
        HsmLocation.remove(layout.keys_dir)
        tpm.forget_restored(layout.keys_dir, layout.keychain_account)
        was_revoked = ks.revoked is not None
        ks.revoked = None
        ks.save(layout.keystore, keys.database)
        lockdown.clear(layout.keys_dir)
        store, active = find_root(layout.keys_dir, layout.keychain_account)
        if active.kid != root.kid:
            raise KeyHierarchyError(f"the kit root was restored, but another root ({store.describe()}) takes "
                                    "priority over it; remove that one to use the restored root")
        _anchor_here(layout, keys.database, target)
    return root, target, was_revoked


def _unlock(ks: KeyStore, root: SoftwareRootKey) -> tuple[UnlockedKeys, bool]:
    """The keys ``root`` opens, and whether it opened them as the root imported into a TPM (wrapped the TPM's way:
    the kit was made before the import, and the TPM may since have been cleared)."""
    try:
        return ks.unlock(root), False
    except WrongRootKey:
        try:
            return ks.unlock(tpm.EscrowedTpmRoot(root)), True
        except WrongRootKey:
            pass
        raise


def _anchor_here(layout: Layout, database_key: bytes, target: RootStore) -> None:
    """On a machine that never saw this vault, the kit's holder vouches for the folder: it becomes the newest state.

    Where an anchor exists (this machine saw the vault), it stays: a folder
    older than it is still refused until accepted on purpose.
    """
    anchor = Anchor(database_key, in_keychain=target.name == "keychain")
    try:
        if anchor.newest() is not None:
            return
    except VaultRolledBack:
        return
    conn = database.connect(layout.db, database_key, reading=True)
    try:
        anchor.write(Head.of(conn))
    finally:
        conn.close()
