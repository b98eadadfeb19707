"""The kill switch: destroy the root where it lives, so nothing sealed under it opens any more.

Order: the event is audited in the chain while the vault still opens; the
revocation is recorded in the key store (from then on every open fails with
"root key revoked", even if a later step is interrupted: the next open
finishes it); every FaceSeal process is told to drop its keys; then the root
is destroyed in every store that holds one. Only a recovery kit brings a
software root back.

A full disk never saves the root. The kill switch needs only the key store
and the root's store, not the database: when the database cannot be opened or
cannot take the event (disk full), the root is destroyed all the same, a step
the disk refused is tried again once the root's own file has been freed, and
the event goes to the sealed audit inbox, which joins the chain at the next
successful open (after a revocation, that is after a restore).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge_core.audit import chain as audit
from edge_core.audit import inbox as audit_inbox
from edge_core.errors import RootStoreFixed, TpmBootStateChanged, is_disk_full
from edge_core.keys import lockdown, roots
from edge_core.keys.keystore import KeyStore, UnlockedKeys, now_iso
from edge_core.keys.roots import RootKey, RootStore
from edge_core.keys.roots.pkcs11 import forget_pin
from edge_core.ops.keyops.recover import destroy_every_root
from edge_core.ops.results import Revocation
from edge_core.support.faults import checkpoint
from edge_core.support.locking import key_lock
from edge_core.vault.layout import Layout
from edge_core.vault.store import Vault, keystore_predates_tags, usable_keystore

NO_KIT_WARNING = ("no recovery kit of this root was ever exported: once revoked, the data "
                  "can never be opened again")
#: Why the database took no event: the inbox's reason, and the words for a person.
UNOPENED = {"disk_full": "the disk is full",
            "rolled_back": "the data folder is not the newest copy this machine saw (its rollback anchor)"}
AUDIT_DEFERRED = ("{why}, so the revocation's audit event waits in the sealed audit inbox; "
                  "it joins the audit log if the data is ever opened again")
BOOT_STATE_CHANGED = ("the boot state (PCR 7) is not the one the root was bound to, so the TPM would not use the root "
                      "and it could not prove it opens this data; the TPM evicted it all the same (with the owner's "
                      "authority, not the root's policy) because it bears this vault's tag. The revocation could not "
                      "be noted in the key store or the audit log (both need the root): opening the data says it was "
                      "revoked, and the event waits, unauthenticated, in the audit inbox")
AUDIT_LOST = "the disk is full: the revocation could not be written to the audit log"
NOT_RECORDED = ("the disk is full: the root was destroyed, but the revocation could not be noted in the "
                "key store, so opening the data will say the root key is missing")


@dataclass(frozen=True)
class Target:
    """What the kill switch would destroy, read without opening the database."""

    fingerprint: str
    where: str
    kit_covers_root: bool


def kit_covers_root(vault: Vault) -> bool:
    """Whether the last exported recovery kit holds the current root."""
    kit = vault.keystore().recovery_kit
    return kit is not None and kit.get("kid") == vault.root.kid


def _current_root(layout: Layout) -> tuple[KeyStore, RootStore, RootKey, UnlockedKeys]:
    """The key store, the root that opens it and its keys, without the database (a revoked root is refused)."""
    ks = usable_keystore(layout)
    store, root = roots.find_root(layout.keys_dir, layout.keychain_account)
    keys = ks.unlock(root)  # proves it is this data's root before anything is destroyed
    try:
        ks.check(layout.keystore, keys.database, legacy=keystore_predates_tags(layout, ks, keys))
    except BaseException:
        store.close()
        raise
    return ks, store, root, keys


def _unusable_root(layout: Layout) -> tuple[KeyStore, RootStore, RootKey]:
    """The key store and a TPM root bound to a boot state unlike this boot's: the TPM will not use it, so it cannot
    prove it opens the key store; what marks it as this vault's is the tag the TPM checks before evicting it."""
    ks = usable_keystore(layout)
    store, root = roots.find_root(layout.keys_dir, layout.keychain_account)
    return ks, store, root


def target(layout: Layout) -> Target:
    """The root the kill switch would destroy, where it lives, and whether a kit covers it."""
    try:
        ks, store, root, _keys = _current_root(layout)
    except TpmBootStateChanged:
        ks, store, root = _unusable_root(layout)
    try:
        kit = ks.recovery_kit is not None and ks.recovery_kit.get("kid") == root.kid
        return Target(root.fingerprint, store.describe(), kit)
    finally:
        store.close()


def _disk_full_tolerated(step: Callable[[], None]) -> bool:
    """Run ``step``; ``False`` if the disk was full (anything else is raised)."""
    try:
        step()
    except Exception as error:
        if not is_disk_full(error):
            raise
        return False
    return True


def revoke_root_key(layout: Layout, vault: Vault | None = None, unopened: str = "disk_full") -> Revocation:
    """Destroy the root everywhere and drop every key from memory; ``vault`` (if any) is closed afterwards.

    ``vault`` is the open vault, whose chain takes the audit event; without one
    (the database would not open, for the reason ``unopened`` names in
    :data:`UNOPENED`) the event goes to the sealed inbox. A TPM root whose boot
    state changed while ``vault`` was open (the window) is revoked as without
    one: the TPM will not use it to reload the keys, but evicts it.
    """
    with key_lock(layout.keys_dir, exclusive=True):
        if vault is not None:
            try:
                vault.reload_keys()
            except TpmBootStateChanged:  # the boot state changed under an open vault (the window): as without one
                vault.close()
                return _revoke_unusable(layout)
            store, root, keys = vault.root_store, vault.root, vault.keys
            ks = vault.keystore()
        else:
            try:
                ks, store, root, keys = _current_root(layout)
            except TpmBootStateChanged:
                return _revoke_unusable(layout)
        database_key = keys.database.copy()  # authenticates the event if it must wait in the inbox (after a close)
        try:
            if not store.mutable:
                raise RootStoreFixed("the root comes from FACESEAL_ROOT_KEY, which FaceSeal cannot destroy; "
                                     "unset the variable and forget the key to revoke it")
            kit = ks.recovery_kit is not None and ks.recovery_kit.get("kid") == root.kid
            event = {"root_store": store.name, "root_fingerprint": root.fingerprint, "recovery_kit_exported": kit}
            audited = False
            if vault is not None:
                def write_event() -> None:
                    with vault.writing() as tx:
                        audit.append(tx, "root_revoked", **event)
                audited = _disk_full_tolerated(write_event)

            def record() -> None:
                current = KeyStore.load(layout.keystore)
                current.check(layout.keystore, database_key, legacy=ks.mac is None)  # as proven above
                current.revoked = {"kid": root.kid, "fingerprint": root.fingerprint, "revoked_at": now_iso()}
                current.save(layout.keystore, database_key)  # authenticated: only this record can destroy a root

            recorded = _disk_full_tolerated(record)
            checkpoint("revoke.recorded")
            marked = _disk_full_tolerated(lambda: lockdown.mark(layout.keys_dir, lockdown.REVOKED))
        finally:
            if vault is not None:
                vault.close()
            else:
                store.close()
        destroyed = destroy_every_root(layout)  # frees the root's own file: a full disk may take a step now
        checkpoint("revoke.destroyed")
        if not recorded:
            recorded = _disk_full_tolerated(record)
        if not audited:
            audited = audit_inbox.record(layout.home, ks.audit_inbox_public_key, unopened, kind="root_revoked",
                                         details=event, database_key=database_key)
            deferred = audited
        else:
            deferred = False
        if not marked:
            _disk_full_tolerated(lambda: lockdown.mark(layout.keys_dir, lockdown.REVOKED))
        forget_pin(layout.keychain_account)
    notes = [] if kit else [NO_KIT_WARNING]
    if not recorded:
        notes.append(NOT_RECORDED)
    if deferred:
        notes.append(AUDIT_DEFERRED.format(why=UNOPENED[unopened]))
    elif not audited:
        notes.append(AUDIT_LOST)
    return Revocation(root.fingerprint, destroyed, kit, "; ".join(notes) or None)


def _revoke_unusable(layout: Layout) -> Revocation:
    """The kill switch for a TPM root the boot state keeps the TPM from using (called under the key lock).

    Nothing can be unwrapped, so nothing is authenticated: the marker tells every process to drop its keys and
    refuses every open, the root is destroyed in every store (the TPM checks the vault's tag, not the root's
    policy, before it evicts), and the event goes to the audit inbox sealed but unauthenticated.
    """
    ks, store, root = _unusable_root(layout)
    store.close()
    kit = ks.recovery_kit is not None and ks.recovery_kit.get("kid") == root.kid
    _disk_full_tolerated(lambda: lockdown.mark(layout.keys_dir, lockdown.REVOKED))
    checkpoint("revoke.recorded")
    destroyed = destroy_every_root(layout)
    checkpoint("revoke.destroyed")
    audit_inbox.record(layout.home, ks.audit_inbox_public_key, "boot_state_changed", kind="root_revoked",
                       details={"root_store": store.name, "root_fingerprint": root.fingerprint,
                                "recovery_kit_exported": kit})
    forget_pin(layout.keychain_account)
    notes = [BOOT_STATE_CHANGED] + ([] if kit else [NO_KIT_WARNING])
    return Revocation(root.fingerprint, destroyed, kit, "; ".join(notes))
