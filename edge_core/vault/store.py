"""The vault: an unlocked key hierarchy and its encrypted database, holding templates and secrets.

A :class:`Vault` is obtained from :func:`edge_core.ops.open_vault`, which
finds the root, unwraps the keys below it (:func:`unlock_keys`), opens the
database (:func:`connect`) and finishes any key operation a crash interrupted.
The vault seals, opens and matches; it decides nothing about policy, lockout,
liveness or telemetry: the use cases in :mod:`edge_core.ops` do, in one place
for the CLI, the window and the admin API.

Concurrency: SQLite serialises writers (``BEGIN IMMEDIATE``); key operations
also hold an exclusive cross-process lock. A long-lived process notices that
another one rotated the keys because the database's ``vault_version`` moved,
and reloads its keys before writing.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from edge_core.audit import chain as audit
from edge_core.audit import inbox as audit_inbox
from edge_core.errors import (
    CorruptBlob, DataDirUnreadable, IdentityExists, RootKeyMissing, RootKeyRevoked, UnknownIdentity, UsageError,
    VaultLocked, WrongRootKey,
)
from edge_core.keys import lockdown, material, roots
from edge_core.keys.keystore import KeyStore, UnlockedKeys, now_iso
from edge_core.keys.roots import RootKey, RootStore
from edge_core.keys.sealing import open_blob, parse_header, seal
from edge_core.support import database, paths
from edge_core.support.database import Connection, get_meta, set_meta, transaction
from edge_core.support.faults import checkpoint
from edge_core.vault import device, schema
from edge_core.vault.embeddings import normalise
from edge_core.vault.layout import Layout
from edge_core.vault.matching import Gallery, MatchResult

INBOX_SECRET = "audit-inbox-key"
#: How often a reload re-reads root and key store while a rotation switches them (50 ms apart).
RELOAD_ATTEMPTS = 40
NAME_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")


class PackMismatch(UsageError):
    """Embeddings from different models are not comparable."""


@dataclass(frozen=True)
class IdentityInfo:
    id: str
    name: str
    created_at: str
    samples: int
    pack: str


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name) or name != name.strip():
        raise UsageError("a name is 1 to 128 printable characters without leading or trailing spaces")
    return name


class Vault:
    """An unlocked vault. Obtain one with ``edge_core.ops.open_vault``; :meth:`close` drops every key."""

    def __init__(self, layout: Layout, store: RootStore, root: RootKey, keys: UnlockedKeys, conn: Connection) -> None:
        self.layout = layout
        self.root_store = store
        self.root = root
        self.keys: UnlockedKeys | None = keys
        self._conn: Connection | None = conn
        self._db_inode = os.stat(layout.db).st_ino
        self._identity_keys: dict[tuple[str, int], bytes] = {}
        self._galleries: dict[str, tuple[tuple[int, int], Gallery]] = {}
        self._local_writes = 0

    def close(self) -> None:
        """Drop every key and cache from memory and close the database."""
        self.keys = None
        self._identity_keys.clear()
        self._galleries.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.root_store.close()

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ internals
    @property
    def is_open(self) -> bool:
        """Whether this handle still holds its keys (``close`` and a lock drop them)."""
        return self._conn is not None and self.keys is not None

    @property
    def open_connection(self) -> Connection | None:
        """The connection while the vault is open, unchecked: for recording telemetry after an operation."""
        return self._conn

    @property
    def conn(self) -> Connection:
        refusal = lockdown.refusal(self.layout.keys_dir)
        if refusal is not None:  # another process locked the vault or revoked the root
            self.close()
            raise refusal
        if self._conn is None or self.keys is None:
            raise VaultLocked("the vault is locked; unlock it first")
        return self._conn

    def _vault_key(self, version: int) -> bytes:
        """The vault key of ``version``, reloading the key store if another process added it."""
        assert self.keys is not None
        if version not in self.keys.vault:
            self.reload_keys()
        if version not in self.keys.vault:
            raise DataDirUnreadable(f"vault key version {version} is missing from the key store")
        return self.keys.vault[version]

    def reload_keys(self) -> None:
        """Re-read the root and the key store (another process rotated them).

        This runs inside write transactions, so it must never wait for the key
        lock: a rotation holding that lock may itself be waiting for our
        transaction. It needs no lock: the key store is replaced atomically and a
        rotation keeps the old root's wraps until after the switch, so the only
        inconsistency a reader can see is a root read just before a switch and a
        key store read just after it, which a fresh read of both resolves.
        """
        if os.stat(self.layout.db).st_ino != self._db_inode:
            raise DataDirUnreadable("the vault was reset by another FaceSeal process; open it again")
        for attempt in range(RELOAD_ATTEMPTS):
            try:
                self.root_store, self.root, self.keys = unlock_keys(self.layout, record_failure=False)
                break
            except (WrongRootKey, RootKeyMissing):
                if attempt == RELOAD_ATTEMPTS - 1:
                    raise
                time.sleep(0.05)
        self._identity_keys.clear()

    def primary_version(self) -> int:
        return int(get_meta(self.conn, "vault_version") or 1)

    def wrap_secret(self, kind: str, owner: str, version: int, plaintext: bytes) -> bytes:
        """Wrap an L3 key or a named secret under vault key ``version``, bound to its owner."""
        return wrap_under(self._vault_key(version), kind, owner, version, plaintext)

    def unwrap_secret(self, kind: str, owner: str, version: int, blob: bytes) -> bytes:
        plain = material.aead_unwrap(self._vault_key(version), bytes(blob), _wrap_aad(kind, owner, version))
        if plain is None:
            raise DataDirUnreadable(f"the wrapped {kind} key of {owner} failed authentication (tampered)")
        return plain

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction that sees the current vault key version; a new audit head gets signed."""
        head = get_meta(self.conn, "audit_head")
        with transaction(self.conn) as conn:
            self._local_writes += 1
            yield conn
        if get_meta(self.conn, "audit_head") != head:
            device.sign_audit_head(self)

    def put_secret(self, name: str, value: bytes) -> None:
        """Seal a named secret (the device key, the audit inbox key) under the primary vault key."""
        with self.writing() as conn:
            self._put_secret(conn, name, value)

    def _put_secret(self, conn: Connection, name: str, value: bytes) -> None:
        version = self.primary_version()
        conn.execute(
            "INSERT INTO secrets(name, key_version, wrapped) VALUES (?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET key_version = excluded.key_version, wrapped = excluded.wrapped",
            (name, version, self.wrap_secret("secret", name, version, value)),
        )

    def get_secret(self, name: str) -> bytes | None:
        row = self.conn.execute("SELECT key_version, wrapped FROM secrets WHERE name = ?", (name,)).fetchone()
        return None if row is None else self.unwrap_secret("secret", name, row[0], row[1])

    def delete_secret(self, name: str) -> bool:
        with self.writing() as conn:
            return conn.execute("DELETE FROM secrets WHERE name = ?", (name,)).rowcount > 0

    def _identity_key(self, identity_id: str, version: int, wrapped: bytes) -> bytes:
        cache_key = (identity_id, version)
        if cache_key not in self._identity_keys:
            self._identity_keys[cache_key] = self.unwrap_secret("identity", identity_id, version, wrapped)
        return self._identity_keys[cache_key]

    def identity(self, name: str) -> tuple[str, int, bytes]:
        """(random id, key version, wrapped identity key) of the identity called ``name``."""
        row = self.conn.execute("SELECT id, key_version, wrapped_key FROM identities WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UnknownIdentity(f"no identity named '{name}' is enrolled")
        return row[0], row[1], bytes(row[2])

    def identity_id(self, name: str) -> str:
        """The identity's random id, which audit events and the lockout use instead of the name."""
        return self.identity(name)[0]

    def identity_names(self) -> dict[str, str]:
        """Random id -> name of every identity (to name a match, or an audit event while the person exists)."""
        return dict(self.conn.execute("SELECT id, name FROM identities").fetchall())

    def drain_inbox(self) -> None:
        """Move failed-unlock events recorded while the vault was closed into the chain."""
        private = self.get_secret(INBOX_SECRET)
        if private is None:
            return
        pending = audit_inbox.read(self.layout.home, private)
        if pending:
            with self.writing() as conn:
                for event in pending:
                    if conn.execute("INSERT OR IGNORE INTO audit_inbox_consumed(id) VALUES (?)", (event["id"],)).rowcount:
                        audit.append(conn, event.get("kind", "unlock_failed"), reason=event["reason"], at=event["ts"])
        audit_inbox.remove(self.layout.home)

    # ------------------------------------------------------------ templates
    def enroll(self, name: str, embeddings: np.ndarray, pack: str, add: bool = False) -> int:
        """Seal each sample as its own template under a new (or, with ``add``, the existing) identity.

        Returns how many templates were sealed; the enrolment is audited in the same transaction.
        """
        _check_name(name)
        samples = normalise(embeddings)
        with self.writing() as conn:
            row = conn.execute(
                "SELECT id, key_version, wrapped_key, key_generation FROM identities WHERE name = ?", (name,)
            ).fetchone()
            if row is not None and not add:
                raise IdentityExists(f"'{name}' is already enrolled; use --add to add samples, or delete it first")
            if row is None and add:
                raise UnknownIdentity(f"no identity named '{name}' is enrolled")
            if row is None:
                identity_id, version, key = uuid.uuid4().hex, self.primary_version(), material.random_key()
                generation = version
                conn.execute(
                    "INSERT INTO identities(id, name, created_at, key_version, key_generation, wrapped_key) "
                    "VALUES (?,?,?,?,?,?)",
                    (identity_id, name, now_iso(), version, generation,
                     self.wrap_secret("identity", identity_id, version, key)),
                )
            else:
                identity_id, version, generation = row[0], row[1], row[3]
                key = self._identity_key(identity_id, version, bytes(row[2]))
                self._check_pack(conn, identity_id, name, pack, samples.shape[1])
            rows = []
            for sample in samples:
                template_id = uuid.uuid4().hex
                blob = seal(key, generation, template_id, sample.tobytes())
                rows.append((template_id, identity_id, pack, samples.shape[1], now_iso(), blob))
            conn.executemany("INSERT INTO templates(id, identity_id, pack, dim, created_at, blob) VALUES (?,?,?,?,?,?)", rows)
            audit.append(conn, "identity_enrolled", identity=identity_id, samples=len(rows), pack=pack, added=add)
        return len(rows)

    def _check_pack(self, conn: Connection, identity_id: str, name: str, pack: str, dim: int) -> None:
        stored = conn.execute("SELECT DISTINCT pack, dim FROM templates WHERE identity_id = ?", (identity_id,)).fetchall()
        for stored_pack, stored_dim in stored:
            if stored_pack != pack or stored_dim != dim:
                raise PackMismatch(
                    f"the templates of '{name}' were made by model pack '{stored_pack}' ({stored_dim}-d); "
                    f"this embedding comes from '{pack}' ({dim}-d), and the two are not comparable. "
                    f"Enrol '{name}' again with '{pack}' to switch"
                )

    def _open_templates(self, rows: list[tuple]) -> np.ndarray:
        """Decrypt rows (id, blob, dim, identity_id, key_version, wrapped_key, key_generation) into a matrix."""
        out = np.empty((len(rows), rows[0][2] if rows else 0), dtype=np.float32)
        for i, (template_id, blob, dim, identity_id, version, wrapped, generation) in enumerate(rows):
            blob = bytes(blob)
            if parse_header(blob).key_version != generation:
                raise CorruptBlob(f"template {template_id} carries key version "
                                  f"{parse_header(blob).key_version}, its identity key is of version {generation}")
            key = self._identity_key(identity_id, version, bytes(wrapped))
            out[i] = np.frombuffer(open_blob(key, template_id, blob), dtype=np.float32, count=dim)
        return out

    _TEMPLATE_ROWS = (
        "SELECT t.id, t.blob, t.dim, i.id, i.key_version, i.wrapped_key, i.key_generation FROM templates t "
        "JOIN identities i ON i.id = t.identity_id "
    )

    def verify(self, name: str, embedding: np.ndarray, pack: str, threshold: float) -> MatchResult:
        """The best score of ``name``'s templates against the probe (max over samples); no policy here."""
        probe = normalise(embedding)[0]
        identity_id, _, _ = self.identity(name)
        self._check_pack(self.conn, identity_id, name, pack, probe.shape[0])
        rows = self.conn.execute(self._TEMPLATE_ROWS + "WHERE t.identity_id = ?", (identity_id,)).fetchall()
        if not rows:
            raise UnknownIdentity(f"'{name}' has no templates left; enrol again")
        score = float(np.max(self._open_templates(rows) @ probe))
        return MatchResult(name, score, threshold, pack)

    def identify(self, embedding: np.ndarray, pack: str, threshold: float) -> MatchResult:
        """The best-scoring identity of ``pack`` for the probe; no policy here."""
        probe = normalise(embedding)[0]
        gallery = self.gallery(pack)
        if gallery.names and gallery.matrix.shape[1] != probe.shape[0]:
            raise PackMismatch(f"templates of pack '{pack}' are {gallery.matrix.shape[1]}-d; this embedding is {probe.shape[0]}-d")
        name, score = gallery.best(probe)
        return MatchResult(name, score, threshold, pack)

    def gallery(self, pack: str) -> Gallery:
        """Every template of ``pack`` decrypted, cached until any process writes to the database."""
        generation = (self.conn.execute("PRAGMA data_version").fetchone()[0], self._local_writes)
        cached = self._galleries.get(pack)
        if cached and cached[0] == generation:
            return cached[1]
        rows = self.conn.execute(
            self._TEMPLATE_ROWS + "WHERE t.pack = ? ORDER BY i.name, t.id", (pack,)
        ).fetchall()
        matrix = self._open_templates(rows) if rows else np.zeros((0, 0), np.float32)
        names: list[str] = []
        blocks: list[np.ndarray] = []
        owners = [r[3] for r in rows]
        id_to_name = self.identity_names()
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or owners[i] != owners[start]:
                names.append(id_to_name[owners[start]])
                blocks.append(matrix[start:i])
                start = i
        gallery = Gallery(names, blocks)
        self._galleries[pack] = (generation, gallery)
        return gallery

    def list_identities(self) -> list[IdentityInfo]:
        rows = self.conn.execute(
            "SELECT i.id, i.name, i.created_at, count(t.id), coalesce(min(t.pack), '') FROM identities i "
            "LEFT JOIN templates t ON t.identity_id = i.id GROUP BY i.id ORDER BY i.name"
        ).fetchall()
        return [IdentityInfo(*row) for row in rows]

    def verify_all(self) -> int:
        """Open every template (a full integrity check); returns how many opened."""
        rows = self.conn.execute(self._TEMPLATE_ROWS).fetchall()
        total = 0
        for start in range(0, len(rows), 4096):
            total += len(self._open_templates(rows[start : start + 4096]))
        return total

    def audit_events(self) -> list[audit.Event]:
        return audit.events(self.conn)

    def audit_verify(self) -> list[str]:
        return audit.verify(self.conn)


# ---------------------------------------------------------------- helpers
def _wrap_aad(kind: str, owner: str, version: int) -> bytes:
    return f"faceseal/{kind}/v1:{owner}:{version}".encode()


def wrap_under(vault_key: bytes, kind: str, owner: str, version: int, plaintext: bytes) -> bytes:
    """An identity key (``kind`` "identity") or named secret ("secret") wrapped by a vault key."""
    return material.aead_wrap(vault_key, plaintext, _wrap_aad(kind, owner, version))


def unlock_keys(layout: Layout, record_failure: bool = True) -> tuple[RootStore, RootKey, UnlockedKeys]:
    """Root + key store -> the L2 keys; a failure is sealed into the audit inbox, then raised."""
    if not layout.keystore.exists():
        raise DataDirUnreadable(f"the key store {layout.keystore} is missing; FaceSeal left the data as it is")
    if not layout.db.exists():
        raise DataDirUnreadable(f"the database {layout.db} is missing; FaceSeal left the data as it is")
    ks = KeyStore.load(layout.keystore)
    if ks.revoked is not None:
        raise RootKeyRevoked(lockdown.REVOKED_MESSAGE)
    refusal = lockdown.refusal(layout.keys_dir)
    if refusal is not None:
        raise refusal
    try:
        store, root = roots.find_root(layout.keys_dir, layout.keychain_account)
        return store, root, ks.unlock(root)
    except (RootKeyMissing, WrongRootKey) as failure:
        if record_failure:
            reason = "root_key_missing" if isinstance(failure, RootKeyMissing) else "wrong_root_key"
            audit_inbox.record(layout.home, ks.audit_inbox_public_key, reason)
        raise


def connect(layout: Layout, keys: UnlockedKeys) -> Connection:
    """The vault's database, its schema brought up to date; an unreadable one is recorded in the inbox."""
    try:
        conn = database.connect(layout.db, keys.database)
    except DataDirUnreadable:
        audit_inbox.record(layout.home, KeyStore.load(layout.keystore).audit_inbox_public_key, "database_unreadable")
        raise
    schema.migrate(conn)
    return conn


def initialise(layout: Layout) -> None:
    """Create a brand-new vault. The marker makes an interrupted creation start over cleanly."""
    layout.init_marker.touch(mode=0o600)
    for leftover in layout.db_files() + [layout.keystore]:
        leftover.unlink(missing_ok=True)  # only ever a previous, interrupted creation's
    store = roots.store_for_new_root(layout.keys_dir, layout.keychain_account)
    # The variable is the user's own key; a keychain entry or file already there is
    # left by an interrupted creation or a deleted data directory: reuse, never replace.
    existing = store.load()
    root = existing or store.generate()
    adopted = existing is not None
    keys = UnlockedKeys(database=material.random_key(), vault={1: material.random_key()})
    inbox_private, inbox_public = audit_inbox.new_keypair()
    ks = KeyStore(audit_inbox_public_key=inbox_public)
    ks.add_root(root, keys)
    ks.vault_created[1] = now_iso()
    ks.save(layout.keystore)
    checkpoint("init.keystore")
    if store.mutable:
        store.activate(root)
    conn = database.connect(layout.db, keys.database, create=True)
    try:
        schema.migrate(conn)
        vault = Vault(layout, store, root, keys, conn)
        with vault.writing() as tx:
            set_meta(tx, "vault_version", "1")
            vault._put_secret(tx, INBOX_SECRET, inbox_private)
            audit.append(tx, "vault_created", root_store=store.name, root_fingerprint=root.fingerprint, adopted_root=adopted)
    finally:
        conn.close()
    layout.init_marker.unlink()
    paths.fsync_dir(layout.keys_dir)
