"""A deletion's last step: the database moves to a new database key, and the root to a new root.

Why (third outside round, finding (a)): a deletion destroyed the person's
identity key, the old vault key version and the old root, but the database key
was only re-wrapped, so a copy of ``faceseal.db`` from before it (a backup, a
sync) still opened with today's key store and showed the person's name,
enrolment dates and audit events. After this step nothing left on the machine
opens such a copy: its database key existed only under the old root.

How: ``sqlcipher_export`` of the database into a staged file under a fresh key,
a staged key store holding that key under the new root, then the swap that a
reset uses (:func:`.recover.finish_reset`): the root switch is the commit point
(with a fixed root, the staged key store's rename is), and a crash on either
side of it is finished or thrown away on the next open. ``PRAGMA rekey`` was not
used, though it is a little cheaper (docs/PERFORMANCE.md): it rewrites the one
live file in place, so the key store would have to hold both database keys
until it commits and a new recovery would have to tell, after a crash, which key
the file and its journal are under; the staged copy needs no new recovery, and
leaves no old page (nor free page) of the old file behind in the new one.

The shred's transaction sets :data:`DUE_META`; the staged copy is made without
it. So a deletion killed before the commit point leaves the person gone and the
marker in place, and the next open moves the key (:func:`finish_due`).

Everything derived from the database key follows it: the key store's tag (the
staged store is tagged under the new key), the rollback anchor (a record under
the new key's name is written before the commit point, carrying the head and
the admin passphrase record; the old record is removed after the swap when
no copy of the folder can open any more, else kept to refuse one), and the
audit inbox (drained first: its entries are authenticated under the old key).
"""

from __future__ import annotations

from edge_core.errors import FaceSealError
from edge_core.keys import material
from edge_core.keys.keystore import KeyStore, UnlockedKeys
from edge_core.keys.roots import RootKey
from edge_core.keys.secret import Secret
from edge_core.ops.keyops import recover
from edge_core.ops.keyops.common import live_versions
from edge_core.support import database
from edge_core.support.database import get_meta, transaction
from edge_core.support.faults import checkpoint
from edge_core.vault.anchor import Anchor, Head
from edge_core.vault.store import Vault

DUE_META = "database_rekey"
"""``meta`` row set by a deletion's transaction: the database key must still move (absent once it has)."""


def finish_due(vault: Vault) -> None:
    """On open, under the key lock: a deletion killed before its database key moved has it moved now."""
    if get_meta(vault.conn, DUE_META) is not None:
        move_database_key(vault)


def move_database_key(vault: Vault) -> bool:
    """Move the vault to a new database key and (when FaceSeal can replace it) a new root; ``True`` if the root moved.

    Only the vault key versions still in use are carried: the others die with
    the old root, as in :func:`.common.retire_dead_versions`. The caller holds
    the exclusive key lock; ``vault`` carries on with the new database.
    """
    layout, store = vault.layout, vault.root_store
    vault.drain_inbox()  # its entries are authenticated under the old key: into the chain before that key goes
    assert vault.keys is not None
    old_key = vault.keys.database.copy()
    carry = live_versions(vault.conn, vault.primary_version())
    keys = UnlockedKeys(database=material.random_key(), vault={v: vault.keys.vault[v] for v in carry})
    previous = vault.keystore()
    new_root: RootKey = store.generate() if store.mutable else vault.root
    vault.conn.execute("BEGIN IMMEDIATE")  # no write lands in the old file from here on (writers find it replaced)
    try:  # a failure anywhere is settled from what is on disk by the next open, as a crash would be
        _stage(vault, keys, previous, new_root, old_key)
        if store.mutable:
            store.activate(new_root)  # the commit point: the old root, and with it the old database key, is gone
            checkpoint("rekey.root-activated")
        finished = recover.finish_reset(layout)
    finally:
        vault.conn.execute("ROLLBACK")
    assert finished is not None, "the staged key store opens with the active root once it is active"
    vault.adopt(*finished)
    keys.database.wipe()
    checkpoint("rekey.swapped")
    if store.mutable and not store.is_fallback_file:
        _forget_old_anchor(vault, old_key)
    old_key.wipe()
    return store.mutable


def _stage(vault: Vault, keys: UnlockedKeys, previous: KeyStore, new_root: RootKey, old_key: Secret) -> None:
    """The staged database under the new key (without the marker), its anchor record, then the staged key store."""
    layout = vault.layout
    recover.discard_staging(layout)
    source = database.connect(layout.db, old_key)  # a reader beside the held write lock: the newest committed state
    try:
        database.export(source, layout.staged_db, keys.database)
    finally:
        source.close()
    staged = database.connect(layout.staged_db, keys.database)
    try:
        with transaction(staged) as tx:
            tx.execute("DELETE FROM meta WHERE key = ?", (DUE_META,))
        head = Head.of(staged)
        staged.execute("PRAGMA journal_mode = DELETE").fetchone()  # one self-contained file to rename
    finally:
        staged.close()
    checkpoint("rekey.staged-db")
    # Anchored before the commit point: the moved database says it was anchored, so its record must exist first.
    Anchor(keys.database, in_keychain=vault.root_store.name == "keychain", root_store=vault.root_store).write(head)
    checkpoint("rekey.anchored")
    moved = KeyStore(audit_inbox_public_key=previous.audit_inbox_public_key, recovery_kit=previous.recovery_kit,
                     vault_created={v: t for v, t in previous.vault_created.items() if v in keys.vault})
    moved.add_root(new_root, keys)
    if new_root.kid in previous.root_created:  # a fixed root keeps the date it was made
        moved.root_created[new_root.kid] = previous.root_created[new_root.kid]
    moved.save(layout.staged_keystore, keys.database)
    checkpoint("rekey.staged-keystore")


def _forget_old_anchor(vault: Vault, old_key: Secret) -> None:
    """Remove the old database key's anchor record (and its TPM counter) once no copy of the folder can open.

    Only when the old root lived outside the folder and is gone: a copy of the
    folder then opens with nothing. With the root in the folder's own file, or
    fixed, a copy of the whole folder still opens: its old record (at the
    deletion's head, or newer) stays, so that copy is refused as older and an
    accept-rollback of it still takes the newest admin passphrase.
    """
    old = Anchor(old_key, in_keychain=vault.root_store.name == "keychain", root_store=vault.root_store)
    new_counter = vault.anchor.counter
    try:
        old.remove()
        if old.counter is not None and new_counter is not None and old.counter.describe() != new_counter.describe():
            old.counter.forget()
    except (FaceSealError, OSError):
        pass  # a record left behind names a database key that no longer exists: it opens nothing
