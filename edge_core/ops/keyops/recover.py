"""Finishing, on the next open, a key operation that a crash interrupted.

Called by :func:`edge_core.ops.open_vault` under the exclusive key lock, before anything else
touches the data. Each case is decided from what is on disk alone.
"""

from __future__ import annotations

import os

from edge_core.errors import DataDirUnreadable, KeyStoreMismatch, KeyStoreTampered, RootKeyMissing, WrongRootKey
from edge_core.keys import roots
from edge_core.keys.keystore import KeyStore, UnlockedKeys
from edge_core.keys.roots import RootKey, RootStore
from edge_core.ops.keyops.common import live_versions, retire_dead_versions
from edge_core.support import database, paths
from edge_core.vault.layout import Layout
from edge_core.vault.store import Vault


def finish_reset(layout: Layout) -> tuple[RootStore, RootKey, UnlockedKeys] | None:
    """Complete or discard a staged reset; returns the unlocked keys when it completed one.

    The staged key store opens with the active root only if the reset reached
    its commit point (the root switch): then finish the swap. Otherwise the
    reset never happened and its staging is thrown away.
    """
    for staged in (layout.staged_keystore, layout.staged_db):
        if staged.is_symlink() or (staged.exists() and not staged.is_file()):  # planted: never followed or removed
            raise DataDirUnreadable(f"{staged} is not a regular file; FaceSeal left the data as it is")
    if layout.staged_keystore.exists():
        try:
            store, root = roots.find_root(layout.keys_dir, layout.keychain_account)
            keys = KeyStore.load(layout.staged_keystore).unlock(root)
        except (WrongRootKey, RootKeyMissing, DataDirUnreadable):
            discard_staging(layout)
            return None
        os.replace(layout.staged_keystore, layout.keystore)
        paths.fsync_dir(layout.keys_dir)
        _swap_database(layout)
        return store, root, keys
    if layout.staged_db.exists():
        # The key store was swapped already if (and only if) it opens the staged database.
        store, root = roots.find_root(layout.keys_dir, layout.keychain_account)
        keys = KeyStore.load(layout.keystore).unlock(root)
        try:
            database.connect(layout.staged_db, keys.database).close()
        except DataDirUnreadable:
            discard_staging(layout)
            return None
        _swap_database(layout)
    return None


def discard_staging(layout: Layout) -> None:
    """Throw away a staged database and key store (a reset or a database key move that never committed)."""
    layout.staged_keystore.unlink(missing_ok=True)
    for path in layout.db_files(layout.staged_db):
        path.unlink(missing_ok=True)


def _swap_database(layout: Layout) -> None:
    for path in layout.db_files():
        path.unlink(missing_ok=True)
    os.replace(layout.staged_db, layout.db)
    for path in layout.db_files(layout.staged_db)[1:]:
        path.unlink(missing_ok=True)
    paths.fsync_dir(layout.home)


def finish_revocation(layout: Layout) -> None:
    """Destroy a root the kill switch revoked but could not destroy yet: revoked means gone.

    Only the kill switch's own record counts: one in a key store whose tag holds
    under the database key that this very root unwraps (issue 25: a ``revoked``
    field planted in the file destroyed the root). An unauthenticated record
    destroys nothing and is refused in one line; with no root left, the
    revocation is already complete and opening says so.
    """
    if not layout.keystore.exists():
        return
    ks = KeyStore.load(layout.keystore)
    if ks.revoked is None:
        return
    try:
        store, root = roots.find_root(layout.keys_dir, layout.keychain_account)
    except RootKeyMissing:
        return  # destroyed already: opening refuses with "revoked"
    try:
        keys = ks.unlock(root)
    except (WrongRootKey, DataDirUnreadable):
        return  # not this data's root: nothing of it to destroy, and opening refuses with "revoked"
    finally:
        store.close()
    if ks.authentic(keys.database) is not True:
        raise KeyStoreTampered(
            f"the key store {layout.keystore} says the root key was revoked, but the kill switch did not write that "
            "(its authentication tag does not hold): FaceSeal destroyed nothing and changed nothing; if nobody "
            "revoked the root, restore the key store from a backup"
        )
    destroy_every_root(layout)


def destroy_every_root(layout: Layout) -> list[str]:
    """Destroy the root in every store FaceSeal can change; returns the stores that held one."""
    destroyed = []
    for store in roots.candidate_stores(layout.keys_dir, layout.keychain_account):
        try:
            if store.mutable and store.destroy():
                destroyed.append(store.name)
        finally:
            store.close()
    return destroyed


def refuse_foreign_database(vault: Vault) -> None:
    """Refuse a database that needs vault key versions the key store does not hold, before anything changes.

    An old ``faceseal.db`` put back beside a key store rotated since (or the
    reverse) would otherwise be taken for a vault whose versions are all dead,
    and the next step would try to re-wrap keys nobody holds. Checked on open
    before the rollback rule: a database and a key store from different times
    need the two put back together, which accepting the older one would not do.
    """
    live = live_versions(vault.conn, vault.primary_version())
    missing = sorted(live - set(vault.keys.vault))
    if missing:
        versions = ", ".join(str(v) for v in missing)
        raise KeyStoreMismatch(
            f"the database {vault.layout.db} needs vault key version {versions}, which the key store "
            f"{vault.layout.keystore} does not hold: the two come from different times (one was restored or copied "
            f"without the other, say an old database after a key rotation); FaceSeal changed nothing: put back the "
            f"database and the keys folder of one same backup")


def finish_pending(vault: Vault) -> None:
    """Drop wraps left by an interrupted rotation and destroy dead vault key versions.

    After a crash between a shred's commit and its root switch, the old vault
    key version still exists; destroying it now makes the shred final.
    """
    ks = vault.keystore()
    refuse_foreign_database(vault)
    live = live_versions(vault.conn, vault.primary_version())
    stale_roots = set(ks.wraps) - {vault.root.kid}
    if stale_roots:  # a root switch was interrupted after its commit point: the old root dies now
        database_key = vault.keys.database

        def proven(root: RootKey) -> bool:  # this vault's old root, not one whose kid was planted in the file
            return root.kid != vault.root.kid and ks.wrapped_by(root, database_key)

        for store in roots.candidate_stores(vault.layout.keys_dir, vault.layout.keychain_account):
            store.destroy_stale(stale_roots, proven)
            if store is not vault.root_store:
                store.close()
    dead = set(vault.keys.vault) - live
    if dead:
        retire_dead_versions(vault)
    elif stale_roots:
        ks.keep_only(vault.root.kid)
        vault.save_keystore(ks)
