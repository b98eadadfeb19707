"""The kill switch: destroy the root where it lives, so nothing sealed under it opens any more.

Order: the event is audited while the vault still opens; the revocation is
recorded in the key store (from then on every open fails with "root key
revoked", even if a later step is interrupted: the next open finishes it);
every FaceSeal process is told to drop its keys; then the root is destroyed
in every store that holds one. Only a recovery kit brings a software root back.
"""

from __future__ import annotations

from edge_core.audit import chain as audit
from edge_core.ops.results import Revocation
from edge_core.vault.store import Vault
from edge_core.errors import RootStoreFixed
from edge_core.support.faults import checkpoint
from edge_core.keys import lockdown
from edge_core.keys.keystore import KeyStore, now_iso
from edge_core.keys.roots.pkcs11 import forget_pin
from edge_core.support.locking import key_lock
from edge_core.ops.keyops.recover import destroy_every_root

NO_KIT_WARNING = ("no recovery kit of this root was ever exported: once revoked, the data "
                  "can never be opened again")


def kit_covers_root(vault: Vault) -> bool:
    """Whether the last exported recovery kit holds the current root."""
    kit = KeyStore.load(vault.layout.keystore).recovery_kit
    return kit is not None and kit.get("kid") == vault.root.kid


def revoke_root_key(vault: Vault) -> Revocation:
    """Destroy the root everywhere and drop every key from memory; ``vault`` is closed afterwards."""
    layout = vault.layout
    with key_lock(layout.keys_dir, exclusive=True):
        vault.reload_keys()
        store, root = vault.root_store, vault.root
        if not store.mutable:
            raise RootStoreFixed("the root comes from FACESEAL_ROOT_KEY, which FaceSeal cannot destroy; "
                                 "unset the variable and forget the key to revoke it")
        kit = kit_covers_root(vault)
        with vault.writing() as tx:
            audit.append(tx, "root_revoked", root_store=store.name, root_fingerprint=root.fingerprint,
                         recovery_kit_exported=kit)
        ks = KeyStore.load(layout.keystore)
        ks.revoked = {"kid": root.kid, "fingerprint": root.fingerprint, "revoked_at": now_iso()}
        ks.save(layout.keystore)
        checkpoint("revoke.recorded")
        lockdown.mark(layout.keys_dir, lockdown.REVOKED)
        vault.close()
        destroyed = destroy_every_root(layout)
        checkpoint("revoke.destroyed")
        forget_pin(layout.keychain_account)
    return Revocation(root.fingerprint, destroyed, kit, None if kit else NO_KIT_WARNING)
