"""Steps shared by every key operation."""

from __future__ import annotations

from edge_core.keys import material
from edge_core.keys.keystore import UnlockedKeys
from edge_core.keys.roots import RootKey, RootStore
from edge_core.keys.sealing import open_blob, seal
from edge_core.support.database import Connection, set_meta
from edge_core.support.faults import checkpoint
from edge_core.vault.store import Vault


def live_versions(conn: Connection, primary: int) -> set[int]:
    """Vault key versions something in the database still needs, plus the primary one."""
    rows = conn.execute("SELECT key_version FROM identities UNION SELECT key_version FROM secrets").fetchall()
    return {row[0] for row in rows} | {primary}


def add_vault_version(vault: Vault) -> int:
    """Make a new vault key version and persist it (wrapped) before anything uses it."""
    version = max(max(vault.keys.vault), vault.primary_version()) + 1
    key = material.random_key()
    ks = vault.keystore()
    ks.add_vault_version(vault.root, version, key)
    vault.save_keystore(ks)
    vault.keys.vault[version] = key
    checkpoint("vault-version.added")
    return version


def rewrap_below(vault: Vault, tx: Connection, version: int, fresh_identity_keys: bool) -> int:
    """Move every identity key and secret under vault key ``version``, inside ``tx``.

    With ``fresh_identity_keys`` each identity also gets a brand-new key and every
    template is resealed under it (fresh salt, nonce, key version): the deep rotation.
    Returns how many templates were resealed.
    """
    new_keys: dict[str, tuple[bytes, bytes]] = {}  # identity id -> (old key, new key)
    rows = tx.execute("SELECT id, name, key_version, wrapped_key FROM identities").fetchall()
    for identity_id, name, old_version, wrapped in rows:
        key = vault.unwrap_identity_key(identity_id, name, old_version, wrapped)
        generation = "key_generation"
        if fresh_identity_keys:
            new_keys[identity_id] = (key, material.random_key())
            key, generation = new_keys[identity_id][1], str(version)
        tx.execute(
            f"UPDATE identities SET key_version = ?, key_generation = {generation}, wrapped_key = ? WHERE id = ?",
            (version, vault.wrap_identity_key(identity_id, name, version, key), identity_id),
        )
        checkpoint("rewrap.identity")
    resealed = _reseal_templates(tx, new_keys, version) if fresh_identity_keys else 0
    for name, old_version, wrapped in tx.execute("SELECT name, key_version, wrapped FROM secrets").fetchall():
        value = vault.unwrap_secret("secret", name, old_version, wrapped)
        tx.execute(
            "UPDATE secrets SET key_version = ?, wrapped = ? WHERE name = ?",
            (version, vault.wrap_secret("secret", name, version, value), name),
        )
    set_meta(tx, "vault_version", str(version))
    return resealed


RESEAL_CHUNK = 2048
RESEAL_CACHE_KIB = 131072


def _reseal_templates(tx: Connection, keys: dict[str, tuple[bytes, bytes]], version: int) -> int:
    """Reseal every template under its identity's new key, in one pass in rowid order.

    Walking the table in storage order, with a larger page cache while it runs,
    streams a 100k-template database through memory once instead of seeking
    back and forth per identity (which made the cost grow faster than linearly).
    """
    previous_cache = tx.execute("PRAGMA cache_size").fetchone()[0]
    tx.execute(f"PRAGMA cache_size = -{RESEAL_CACHE_KIB}")
    try:
        done, last = 0, 0
        while True:
            rows = tx.execute(
                "SELECT rowid, id, identity_id, blob FROM templates WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, RESEAL_CHUNK),
            ).fetchall()
            if not rows:
                return done
            tx.executemany(
                "UPDATE templates SET blob = ? WHERE rowid = ?",
                [(seal(keys[owner][1], version, tid, open_blob(keys[owner][0], tid, bytes(blob))), rowid)
                 for rowid, tid, owner, blob in rows],
            )
            done, last = done + len(rows), rows[-1][0]
            checkpoint("reseal.chunk")
    finally:
        tx.execute(f"PRAGMA cache_size = {previous_cache}")


def switch_root(vault: Vault, carry: set[int], target: RootStore | None = None, new_root: RootKey | None = None) -> RootKey:
    """Replace the root: wrap under the new one, activate it, destroy the old one, drop the old wraps.

    ``target`` is the store the new root goes to (default: where the root is now);
    ``new_root`` a root to adopt (an imported key) instead of one the target makes.
    Until the target activates the new root, the old one opens everything; after
    that the new one does, and a crash before the old root is destroyed is
    finished on the next open (:func:`.recover.finish_pending`).

    Only the vault key versions in ``carry`` are wrapped under the new root; every
    other version dies with the old root. That is what makes shredding final.
    """
    source = vault.root_store
    target = target or source
    moving = (target.name, target.describe()) != (source.name, source.describe())
    # An immutable store (the variable) refuses here, before any change.
    new_root = new_root or target.generate()
    ks = vault.keystore()
    ks.add_root(new_root, vault.keys, carry)
    vault.save_keystore(ks)
    checkpoint("root.wrapped-under-new")
    target.activate(new_root)
    checkpoint("root.activated")
    if moving:
        source.destroy()  # a move: the previous root is destroyed where it lived
        checkpoint("root.source-destroyed")
        source.close()
    ks.keep_only(new_root.kid)
    vault.save_keystore(ks)
    checkpoint("root.old-wraps-dropped")
    vault.root_store = target
    vault.root = new_root
    vault.keys = UnlockedKeys(vault.keys.database, {v: vault.keys.vault[v] for v in carry})
    return new_root


def retire_dead_versions(vault: Vault) -> bool:
    """Destroy vault key versions nothing needs any more; ``True`` if the root was replaced.

    With a root FaceSeal can replace, the dead versions are simply not carried
    to a new root. With a fixed root (the variable) they can only be dropped
    from the key store file; docs/KEYS.md says what that leaves.
    """
    carry = live_versions(vault.conn, vault.primary_version())
    if vault.root_store.mutable:
        switch_root(vault, carry)
        return True
    ks = vault.keystore()
    ks.add_root(vault.root, vault.keys, carry)  # rewrites this root's slots with only the live versions
    ks.keep_only(vault.root.kid)
    vault.save_keystore(ks)
    vault.keys = UnlockedKeys(vault.keys.database, {v: vault.keys.vault[v] for v in carry})
    return False
