"""Reset: delete every template, destroy the root, keep only what the user chose to keep.

The new, nearly empty vault (new root, new database key, new vault key) is built
beside the old one: a staged database and a staged key store. Switching the
root in its store is the commit point; :mod:`.recover` finishes the file swap
after a crash, or throws the staging away if the switch never happened.
"""

from __future__ import annotations

from collections.abc import Iterable

from edge_core.audit import chain as audit
from edge_core.audit import inbox as audit_inbox
from edge_core.errors import FaceSealError
from edge_core.keys import material
from edge_core.keys.keystore import KeyStore, UnlockedKeys, now_iso
from edge_core.keys.roots.keyfile import FileRootStore
from edge_core.ops.keyops import recover
from edge_core.ops.results import Reset
from edge_core.support import database
from edge_core.support.database import get_meta, set_meta, transaction
from edge_core.support.faults import checkpoint
from edge_core.support.locking import key_lock
from edge_core.telemetry.outbox import TABLES as OUTBOX_TABLES
from edge_core.vault import device, schema
from edge_core.vault.store import INBOX_SECRET, KEYSTORE_MAC, KEYSTORE_MAC_META, Vault, wrap_under


def _count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _outbox_events(conn) -> int:
    """Queued events plus the events inside sealed batches (sent, pending or dead-lettered)."""
    batched = conn.execute("SELECT coalesce(sum(event_count), 0) FROM telemetry_batches").fetchone()[0]
    return _count(conn, "telemetry_events") + batched


def reset(vault: Vault, keep_audit: bool = False, keep_outbox: bool = False, keep_device_key: bool = False,
          keep_secrets: Iterable[str] = (), keep_meta: Iterable[str] = ()) -> Reset:
    """Delete everything but what is kept; the old root and every old key are destroyed.

    ``keep_secrets`` names sealed secrets that are standing decisions rather
    than data (the policy's MAC key): they move into the new vault, and so do
    the ``meta`` values named by ``keep_meta`` (the policy's version and hash).
    The new log's head is signed in the transaction that starts it.
    ``vault`` is closed afterwards; open the vault again to use the fresh one.
    """
    layout = vault.layout
    with key_lock(layout.keys_dir, exclusive=True):
        vault.reload_keys()
        old = vault.conn
        counts = {
            "templates_deleted": _count(old, "templates"),
            "identities_deleted": _count(old, "identities"),
            "audit_events_deleted": 0 if keep_audit else _count(old, "audit_events"),
            "outbox_events_deleted": 0 if keep_outbox else _outbox_events(old),
        }
        kept_secrets = {name: vault.get_secret(name) for name in keep_secrets}
        kept_meta = {name: get_meta(old, name) for name in keep_meta}
        if keep_device_key:
            kept_secrets[device.SECRET_NAME] = vault.get_secret(device.SECRET_NAME)
        if kept_secrets.get(device.SECRET_NAME) is None:
            kept_secrets[device.SECRET_NAME] = device.new_seed()  # made now: it signs the new log's head
        store = vault.root_store
        new_root = store.generate() if store.mutable else vault.root
        keys = UnlockedKeys(database=material.random_key(), vault={1: material.random_key()})
        inbox_private, inbox_public = audit_inbox.new_keypair()

        for leftover in layout.db_files(layout.staged_db):
            leftover.unlink(missing_ok=True)
        staged = database.connect(layout.staged_db, keys.database, create=True)
        try:
            schema.migrate(staged)
            with transaction(staged) as tx:
                set_meta(tx, "vault_version", "1")
                set_meta(tx, KEYSTORE_MAC_META, KEYSTORE_MAC)
                for name, value in kept_meta.items():
                    if value is not None:
                        set_meta(tx, name, value)
                secrets = {INBOX_SECRET: inbox_private, **{n: v for n, v in kept_secrets.items() if v is not None}}
                for name, value in secrets.items():
                    tx.execute("INSERT INTO secrets(name, key_version, wrapped) VALUES (?,?,?)",
                               (name, 1, wrap_under(keys.vault[1], "secret", name, 1, value)))
                if keep_audit:
                    _copy_rows(old, tx, "audit_events")
                    head = get_meta(old, "audit_head")
                    if head:
                        set_meta(tx, "audit_head", head)
                if keep_outbox:
                    for table in OUTBOX_TABLES:
                        _copy_rows(old, tx, table)
                audit.append(tx, "vault_reset", root_store=store.name, root_fingerprint=new_root.fingerprint,
                             kept_audit=keep_audit, kept_outbox=keep_outbox, kept_device_key=keep_device_key,
                             **{k: v for k, v in counts.items()})
                device.record_signed_head(tx, kept_secrets[device.SECRET_NAME])
            staged.execute("PRAGMA journal_mode = DELETE").fetchone()  # one self-contained file to rename
        finally:
            staged.close()
        checkpoint("reset.staged-db")
        ks = KeyStore(audit_inbox_public_key=inbox_public)
        ks.add_root(new_root, keys)
        ks.vault_created[1] = now_iso()
        ks.save(layout.staged_keystore, keys.database)
        checkpoint("reset.staged-keystore")
        old_anchor = vault.anchor
        vault.close()
        if store.mutable:
            store.activate(new_root)  # the commit point: the old root is gone
            checkpoint("reset.root-activated")
        recover.finish_reset(layout)
        if not store.is_fallback_file:
            FileRootStore(layout.keys_dir).destroy()  # a stale fallback copy of an old root
        audit_inbox.remove(layout.home)  # sealed to a key that no longer exists
        try:
            old_anchor.remove()  # the old vault's; the new one is anchored when it is next opened
        except (FaceSealError, OSError):
            pass  # a stale anchor names a vault that no longer exists: harmless
    return Reset(**counts, device_key_rotated=not keep_device_key, root_key_destroyed=store.mutable)


def _copy_rows(source, target, table: str) -> None:
    rows = source.execute(f"SELECT * FROM {table}").fetchall()
    if rows:
        marks = ",".join("?" * len(rows[0]))
        target.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
