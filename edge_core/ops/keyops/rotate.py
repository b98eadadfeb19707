"""Root rotation (shallow and deep) and crypto-shredding of one identity."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from edge_core.audit import chain as audit
from edge_core.keys import material
from edge_core.ops.keyops import rekey
from edge_core.ops.keyops.common import (
    add_vault_version,
    live_versions,
    retire_dead_versions,
    rewrap_below,
    switch_root,
)
from edge_core.ops.results import Deletion, Rotation
from edge_core.support.database import Connection, set_meta
from edge_core.support.faults import checkpoint
from edge_core.support.locking import key_lock
from edge_core.vault.store import Vault, canonical_name

T = TypeVar("T")

SHRED_WARNING = ("the root key comes from FACESEAL_ROOT_KEY and was not replaced: a copy of the whole data "
                 "directory (its key store with it) made before this deletion can still be opened with that key "
                 "(docs/KEYS.md)")


def rotate_key(vault: Vault, deep: bool = False) -> Rotation:
    """A new root with the vault keys re-wrapped under it; ``deep`` also reseals every template.

    Shallow: no template is touched; only the small key store changes.
    Deep: a new vault key version, a new key for every identity, and every
    template resealed with a fresh salt and nonce in one transaction; then the
    old vault key version dies with the old root.
    """
    with key_lock(vault.layout.keys_dir, exclusive=True):
        vault.reload_keys()
        resealed = 0
        identities = vault.conn.execute("SELECT count(*) FROM identities").fetchone()[0]
        if deep:
            version = add_vault_version(vault)
            with vault.writing() as tx:
                resealed = rewrap_below(vault, tx, version, fresh_identity_keys=True)
            checkpoint("deep.committed")
            rotated = retire_dead_versions(vault)
        else:
            if not vault.root_store.mutable:
                vault.root_store.generate()  # raises RootStoreFixed with the reason
            switch_root(vault, live_versions(vault.conn, vault.primary_version()))
            rotated = True
        assert vault.keys is not None
        with vault.writing() as tx:
            audit.append(tx, "key_rotated", deep=deep, root_rotated=rotated, root_fingerprint=vault.root.fingerprint,
                         vault_key_version=vault.primary_version(), templates_resealed=resealed)
    now = time.time()
    return Rotation(
        deep=deep,
        root_rotated=rotated,
        root_fingerprint=vault.root.fingerprint,
        vault_key_version=vault.primary_version(),
        vault_keys_rewrapped=len(vault.keys.vault) if rotated else 0,
        identity_keys_rewrapped=identities if deep else 0,
        templates_rewrapped=resealed,
        templates_resealed=resealed,
        rotated_at=int(now),
        rotated_at_iso=datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds"),
    )


def delete_identity(vault: Vault, name: str, name_commitment: str | None = None,
                    cause: str | None = None) -> tuple[Deletion, int]:
    """Crypto-shred one person: their identity key becomes unrecoverable everywhere.

    The identity and its templates are deleted, every *other* identity key is
    re-wrapped under a new vault key version, then the database moves to a new
    database key (:mod:`.rekey`) and the old vault key version and the old
    database key die with the old root. A copy of the data directory, or of
    ``faceseal.db`` alone, taken before this still holds the old wrapped keys,
    but nothing left on the machine can unwrap them. The cost is one re-wrap per
    remaining identity and one copy of the database file.

    The last event (``key_rotated``, reason ``shred``) names the identity and the
    key ids destroyed (its identity key, the vault key versions, the old root):
    a deletion certificate is that event signed. ``name_commitment`` is recorded
    in it when the name is to be on the certificate, ``cause`` in both events
    when the deletion was not asked for by hand (``"retention"``: the person's
    retention period ended). Returns the deletion and that event's sequence number.
    """
    why = {} if cause is None else {"cause": cause}
    with key_lock(vault.layout.keys_dir, exclusive=True):
        vault.reload_keys()
        identity_id, key_version, wrapped = vault.identity(name)
        identity_kid = material.key_id(  # the name as stored (NFC): the key is bound to it, not to how it was typed
            vault.unwrap_identity_key(identity_id, canonical_name(name), key_version, wrapped))

        def remove(tx: Connection) -> int:
            deleted = tx.execute("DELETE FROM templates WHERE identity_id = ?", (identity_id,)).rowcount
            tx.execute("DELETE FROM identities WHERE id = ?", (identity_id,))
            audit.append(tx, "identity_shredded", identity=identity_id, templates=deleted, **why)
            return deleted

        deleted, version, rotated, destroyed = shred(vault, remove)
        with vault.writing() as tx:
            seq = audit.append(tx, "key_rotated", deep=False, root_rotated=rotated,
                               root_fingerprint=vault.root.fingerprint, vault_key_version=version, templates_resealed=0,
                               reason="shred", identity=identity_id, keys_destroyed={"identity_key": identity_kid,
                                                                                     **destroyed},
                               **({"name_commitment": name_commitment} if name_commitment else {}), **why)
    return Deletion(name, deleted, rotated, None if rotated else SHRED_WARNING), seq


def shred(vault: Vault, remove: Callable[[Connection], T]) -> tuple[T, int, bool, dict[str, Any]]:
    """The crypto-shred around ``remove`` (which deletes rows, and audits why, inside the write): everything left
    moves under a new vault key version, then the database to a new database key and (where FaceSeal can replace
    it) a new root, so that no copy of ``faceseal.db`` from before opens with what is left on the machine. For a
    person's deletion and for kept spoof-test recordings alike: one path, so one proof of crash safety.

    The caller holds the exclusive key lock and has reloaded the keys. Returns what ``remove`` returned, the new
    vault key version, whether the root moved, and the ids of the keys destroyed (root, database, vault versions).
    """
    assert vault.keys is not None
    old_root, old_database = vault.root.kid, material.key_id(vault.keys.database)
    version = add_vault_version(vault)
    with vault.writing() as tx:
        removed = remove(tx)
        rewrap_below(vault, tx, version, fresh_identity_keys=False)
        set_meta(tx, rekey.DUE_META, "shred")  # a crash from here on: the next open moves the database key
    checkpoint("shred.committed")
    before = {v: material.key_id(key) for v, key in vault.keys.vault.items()}
    rotated = rekey.move_database_key(vault)
    destroyed = {"root_key": old_root if rotated else None, "database_key": old_database,
                 "vault_keys": [{"version": v, "kid": kid} for v, kid in sorted(before.items())
                                if v not in vault.keys.vault]}
    return removed, version, rotated, destroyed
