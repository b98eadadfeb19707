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
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_core.audit import chain as audit
from edge_core.audit import inbox as audit_inbox
from edge_core.errors import (
    CorruptBlob,
    DatabaseReplaced,
    DataDirUnreadable,
    FaceSealError,
    IdentityExists,
    IdentityTampered,
    NameLookalike,
    RootKeyMissing,
    RootKeyRevoked,
    UnknownIdentity,
    UsageError,
    VaultLocked,
    VaultRolledBack,
    WrongRootKey,
)
from edge_core.keys import lockdown, material, roots
from edge_core.keys.keystore import KeyStore, UnlockedKeys, now_iso
from edge_core.keys.roots import RootKey, RootStore
from edge_core.keys.sealing import open_blob, parse_header, plaintext_size, seal
from edge_core.keys.secret import Secret
from edge_core.support import database, paths
from edge_core.support.database import Connection, get_meta, set_meta, transaction
from edge_core.support.faults import checkpoint
from edge_core.support.locking import key_lock
from edge_core.vault import device, lookalikes, schema
from edge_core.vault.anchor import ANCHORED_META, Anchor, Head
from edge_core.vault.anchor import FORMAT as ANCHOR_FORMAT
from edge_core.vault.embeddings import normalise
from edge_core.vault.layout import Layout
from edge_core.vault import snapshot
from edge_core.vault.matching import Gallery, MatchResult, Opened, Unreadable, template_score

INBOX_SECRET = "audit-inbox-key"
#: ``meta`` key saying the key store carries a tag (:mod:`edge_core.keys.keystore`): one without is then refused.
KEYSTORE_MAC_META = "keystore_mac"
KEYSTORE_MAC = "hmac-sha256/v1"
#: How often a reload re-reads root and key store while a rotation switches them (50 ms apart).
RELOAD_ATTEMPTS = 40
#: ``meta`` key saying every identity key is wrapped bound to its identity's name (see :func:`bind_names`).
IDENTITY_WRAPS = "identity_wraps"
NAME_RULE = ("a name is 1 to 128 printable characters without leading or trailing spaces; invisible characters "
             "(zero-width, direction marks, fillers, variation selectors), control characters and line or paragraph "
             "separators are refused")


class PackMismatch(UsageError):
    """Embeddings from different models are not comparable."""


@dataclass(frozen=True)
class IdentityInfo:
    id: str
    name: str
    created_at: str
    samples: int
    pack: str


def _valid_text(name: object) -> str:
    """``name`` if it is text a person typed: a str without lone surrogates (undecodable bytes on a command line)."""
    if not isinstance(name, str):
        raise UsageError(NAME_RULE)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("a name must be valid UTF-8 text; this one holds bytes that are not") from None
    return name


def _check_name(name: str) -> str:
    """The name to store, in Unicode NFC; one that could pass for another name is refused.

    Refused: every character Python does not call printable, i.e. the
    categories Cc (controls, C1 included), Cf (zero-width characters, direction
    marks and overrides, the byte order mark), Zl and Zp (line and paragraph
    separators), Zs but the plain space, Co (private use), Cs (surrogates) and
    Cn (unassigned); and printable characters that show nothing (the Hangul
    fillers, variation selectors, a braille blank: :mod:`.lookalikes`).
    """
    name = unicodedata.normalize("NFC", _valid_text(name))
    if not 1 <= len(name) <= 128 or not name.isprintable() or name != name.strip():
        raise UsageError(NAME_RULE)
    hidden = lookalikes.invisible_character(name)
    if hidden is not None:
        raise UsageError(f"the name holds {hidden}, a character that shows nothing; {NAME_RULE}")
    return name


def _refuse_lookalike(conn: Connection, name: str) -> None:
    """A new name must not be mistakable for an enrolled one: the same UTS #39 skeleton is refused."""
    enrolled = [row[0] for row in conn.execute("SELECT name FROM identities")]
    other = lookalikes.lookalike(name, enrolled)
    if other is not None:
        raise NameLookalike(f"'{name}' can be mistaken for '{other}', who is already enrolled (the same Unicode "
                            f"confusable skeleton); choose a name nobody could read as '{other}'")


def canonical_name(name: str) -> str:
    """The form in which ``name`` is stored (NFC), or a UsageError saying why it cannot be a name."""
    return _check_name(name)


def _lookup_name(name: str) -> str:
    """A name as looked up: NFC, like every stored name (a name stored before that rule is still found as it is)."""
    return unicodedata.normalize("NFC", _valid_text(name))


def _file_identity(path: Path) -> tuple[int, int] | None:
    """The device and inode of ``path`` (``None`` if it is gone): which file it is, whatever its name."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino


class Vault:
    """An unlocked vault. Obtain one with ``edge_core.ops.open_vault``; :meth:`close` drops every key."""

    def __init__(self, layout: Layout, store: RootStore, root: RootKey, keys: UnlockedKeys, conn: Connection) -> None:
        self.layout = layout
        self.root_store = store
        self.root = root
        self.keys: UnlockedKeys | None = keys
        self._conn: Connection | None = conn
        self._db_file = _file_identity(layout.db)
        self._identity_keys: dict[tuple[str, int, str], Secret] = {}
        self._galleries: dict[str, tuple[tuple[int, int], dict[int, Gallery], tuple[Unreadable, ...]]] = {}
        self._local_writes = 0
        self._reported: set[str] = set()
        #: whether this vault's rollback anchor is known to exist (checked on open by :mod:`edge_core.ops.rollback`)
        self.anchor_ready = False
        #: the head record the device signed at this handle's last write that moved the head (what a deletion
        #: certificate carries: read after the write, it is that write's, whatever other processes wrote since)
        self.signed_head: dict[str, Any] | None = None
        #: why the folder is older than its anchor, when opened only to read it (every write is then refused)
        self.rolled_back: str | None = None

    def close(self) -> None:
        """Overwrite every key and decrypted template this handle holds, and close the database (issue 25, item 6)."""
        self._drop_keys_and_connection()
        self.root.forget()
        self.root_store.close()

    def _drop_keys_and_connection(self) -> None:
        """Overwrite the L2 keys, identity keys and decrypted galleries held here; close the database."""
        if self.keys is not None:
            self.keys.wipe()
        self.keys = None
        for key in self._identity_keys.values():
            key.wipe()
        self._identity_keys.clear()
        for _generation, galleries, _skipped in self._galleries.values():
            for gallery in galleries.values():
                gallery.wipe()
        self._galleries.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

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

    def _vault_key(self, version: int) -> Secret:
        """The vault key of ``version``, reloading the key store if another process added it."""
        assert self.keys is not None
        if version not in self.keys.vault:
            self.reload_keys()
        if version not in self.keys.vault:
            raise DataDirUnreadable(f"vault key version {version} is missing from the key store")
        return self.keys.vault[version]

    def _same_database(self) -> bool:
        """Whether the folder's database file is still the one this handle opened."""
        return _file_identity(self.layout.db) == self._db_file

    def _refuse_replaced_database(self) -> None:
        """Refuse to go on with a handle whose database file was replaced since it opened.

        A reset by another process, or an older copy put back (and perhaps
        accepted with ``audit accept-rollback``) while this handle stayed open:
        what it wrote would go into a deleted file, and moving the rollback
        anchor to that file's head would make the folder now in place look older
        than itself.
        """
        if not self._same_database():
            raise DatabaseReplaced("the vault's database was replaced since it was opened (reset by another "
                                   "FaceSeal process, or a copy of the folder put back); nothing was written: "
                                   "open the vault again")

    def reload_keys(self) -> None:
        """Re-read the root and the key store (another process rotated them).

        This runs inside write transactions, so it must never wait for the key
        lock: a rotation holding that lock may itself be waiting for our
        transaction. It needs no lock: the key store is replaced atomically and a
        rotation keeps the old root's wraps until after the switch, so the only
        inconsistency a reader can see is a root read just before a switch and a
        key store read just after it, which a fresh read of both resolves.
        """
        self._refuse_replaced_database()
        for attempt in range(RELOAD_ATTEMPTS):
            try:
                self.root_store, self.root, self.keys = unlock_keys(self.layout, record_failure=False)
                break
            except (WrongRootKey, RootKeyMissing):
                if attempt == RELOAD_ATTEMPTS - 1:
                    raise
                time.sleep(0.05)
        self._identity_keys.clear()

    def adopt(self, store: RootStore, root: RootKey, keys: UnlockedKeys) -> None:
        """Carry on with the database now in the folder under new keys (a deletion moved it to a new database key).

        The old keys are overwritten and the old file's connection closed; the
        handle then belongs to the new file, so its writes are no longer refused
        as going into a replaced database.
        """
        self._drop_keys_and_connection()
        if root is not self.root:
            self.root.forget()
        if store is not self.root_store:
            self.root_store.close()
        self.root_store, self.root, self.keys = store, root, keys
        self._conn = connect(self.layout, keys)
        self._db_file = _file_identity(self.layout.db)

    def keystore(self) -> KeyStore:
        """The key store, refused (:class:`KeyStoreTampered`) unless its tag holds under this vault's database key."""
        if self.keys is None:
            raise VaultLocked("the vault is locked; unlock it first")
        return KeyStore.load_authentic(self.layout.keystore, self.keys.database)

    def save_keystore(self, ks: KeyStore) -> None:
        """Write ``ks`` with its tag (only a holder of the root can make one that verifies)."""
        if self.keys is None:
            raise VaultLocked("the vault is locked; unlock it first")
        ks.save(self.layout.keystore, self.keys.database)

    def primary_version(self) -> int:
        return int(get_meta(self.conn, "vault_version") or 1)

    def wrap_secret(self, kind: str, owner: str, version: int, plaintext: bytes) -> bytes:
        """Wrap a named secret under vault key ``version``, bound to its owner.

        Identity keys are wrapped by :meth:`wrap_identity_key`, which binds their name too.
        """
        return wrap_under(self._vault_key(version), kind, owner, version, plaintext)

    def unwrap_secret(self, kind: str, owner: str, version: int, blob: bytes) -> Secret:
        plain = material.aead_unwrap(self._vault_key(version), bytes(blob), _wrap_aad(kind, owner, version))
        if plain is None:
            raise DataDirUnreadable(f"the wrapped {kind} key of {owner} failed authentication (tampered)")
        return plain

    @property
    def anchor(self) -> Anchor:
        """This vault's rollback anchor, kept beside the root when the root is in the keychain (:mod:`.anchor`)."""
        if self.keys is None:
            raise VaultLocked("the vault is locked; unlock it first")
        # its own copy of the key: an anchor may be used after the vault closed (a reset removes the old one)
        return Anchor(self.keys.database.copy(), in_keychain=self.root_store.name == "keychain", root_store=self.root_store)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction that sees the current vault key version; a new audit head is signed in it.

        A write that moved the head also moves the rollback anchor, after the
        commit: a crash between the two leaves the folder ahead of its anchor,
        which opens (only an older folder is refused). Once the anchor is known
        to exist (:attr:`anchor_ready`, set on open), the write records that a
        missing anchor is from then on a refusal.
        """
        if self.rolled_back is not None:
            raise VaultRolledBack(self.rolled_back)
        self._refuse_replaced_database()
        with transaction(self.conn) as conn:
            head = get_meta(conn, "audit_head")
            self._local_writes += 1
            yield conn
            moved = get_meta(conn, "audit_head")
            if moved != head:
                # refuses (rolls back) a log changed outside FaceSeal
                self.signed_head = device.sign_new_head(self, conn, head)
                if self.anchor_ready and get_meta(conn, ANCHORED_META) is None:
                    set_meta(conn, ANCHORED_META, str(ANCHOR_FORMAT))
        if moved != head and self._same_database():  # never anchor a file no longer in the folder
            try:
                with key_lock(self.layout.keys_dir, exclusive=True):  # two writers never move it back
                    self.anchor.advance(Head.of(self.conn))
            except (FaceSealError, OSError):
                pass  # committed already; the next open moves the anchor up to the folder's head

    def put_secret(self, name: str, value: bytes, conn: Connection | None = None) -> None:
        """Seal a named secret (the device key, the audit inbox key) under the primary vault key; in ``conn``, the
        caller's write transaction, when the audit event recording it must commit with it."""
        if conn is not None:
            self._put_secret(conn, name, value)
            return
        with self.writing() as tx:
            self._put_secret(tx, name, value)

    def _put_secret(self, conn: Connection, name: str, value: bytes) -> None:
        version = self.primary_version()
        conn.execute(
            "INSERT INTO secrets(name, key_version, wrapped) VALUES (?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET key_version = excluded.key_version, wrapped = excluded.wrapped",
            (name, version, self.wrap_secret("secret", name, version, value)),
        )

    def get_secret(self, name: str) -> Secret | None:
        row = self.conn.execute("SELECT key_version, wrapped FROM secrets WHERE name = ?", (name,)).fetchone()
        return None if row is None else self.unwrap_secret("secret", name, row[0], row[1])

    def secret_names(self, prefix: str) -> list[str]:
        """The names of the secrets starting with ``prefix``, in the order they were stored."""
        rows = self.conn.execute("SELECT name FROM secrets WHERE substr(name, 1, ?) = ? ORDER BY rowid",
                                 (len(prefix), prefix)).fetchall()
        return [row[0] for row in rows]

    def delete_secret(self, name: str, conn: Connection | None = None) -> bool:
        """Remove a sealed secret; in ``conn``, the caller's write transaction (with the audit event recording it)."""
        if conn is not None:
            return conn.execute("DELETE FROM secrets WHERE name = ?", (name,)).rowcount > 0
        with self.writing() as tx:
            return tx.execute("DELETE FROM secrets WHERE name = ?", (name,)).rowcount > 0

    def wrap_identity_key(self, identity_id: str, name: str, version: int, key: bytes) -> bytes:
        """An identity key (L3) wrapped under vault key ``version``, bound to the identity's id *and name*.

        Binding the name means that someone who edits the database (it needs
        the database key) and swaps two names, so that one person's templates
        answer to the other's name, is found out: the key no longer opens.
        """
        return material.aead_wrap(self._vault_key(version), key, _identity_aad(identity_id, name, version))

    def unwrap_identity_key(self, identity_id: str, name: str, version: int, wrapped: bytes) -> Secret:
        """The identity key, or :class:`IdentityTampered` when it does not open under this id and name."""
        aad = _identity_aad(identity_id, name, version)
        plain = material.aead_unwrap(self._vault_key(version), bytes(wrapped), aad)
        if plain is None:
            raise IdentityTampered(
                f"identity {identity_id} cannot be opened: its key does not match the name it carries in the "
                "database (the name was changed outside FaceSeal, or the key is damaged); FaceSeal changed nothing"
            )
        return plain

    def _identity_key(self, identity_id: str, name: str, version: int, wrapped: bytes) -> Secret:
        cache_key = (identity_id, version, name)
        if cache_key not in self._identity_keys:
            self._identity_keys[cache_key] = self.unwrap_identity_key(identity_id, name, version, wrapped)
        return self._identity_keys[cache_key]

    def _identity_row(self, name: str) -> tuple[str, str, int, bytes]:
        """(id, stored name, key version, wrapped key) of the identity called ``name`` (NFC, else as given)."""
        wanted = _lookup_name(name)
        query = "SELECT id, name, key_version, wrapped_key FROM identities WHERE name = ?"
        row = self.conn.execute(query, (wanted,)).fetchone()
        if row is None and wanted != name:
            row = self.conn.execute(query, (name,)).fetchone()
        if row is None:
            raise UnknownIdentity(f"no identity named '{wanted}' is enrolled")
        return row[0], row[1], row[2], bytes(row[3])

    def identity(self, name: str) -> tuple[str, int, bytes]:
        """(random id, key version, wrapped identity key) of the identity called ``name``."""
        identity_id, _name, version, wrapped = self._identity_row(name)
        return identity_id, version, wrapped

    def identity_id(self, name: str) -> str:
        """The identity's random id, which audit events and the lockout use instead of the name."""
        return self.identity(name)[0]

    def identity_names(self) -> dict[str, str]:
        """Random id -> name of every identity (to name a match, or an audit event while the person exists)."""
        return dict(self.conn.execute("SELECT id, name FROM identities").fetchall())

    def drain_inbox(self) -> None:
        """Move authenticated inbox events (recorded while the vault would not open) into the chain.

        Unauthenticated ones (anyone who can write the data folder could have
        written them) are never chained as what they claim: one
        ``audit_inbox_refused`` event counts them (:mod:`edge_core.audit.inbox`).
        """
        private = self.get_secret(INBOX_SECRET)
        if private is None or self.keys is None:
            return
        pending = audit_inbox.read(self.layout.home, private, self.keys.database)
        if pending.authenticated or pending.unauthenticated:
            try:
                with self.writing() as conn:
                    def first_time(event: dict) -> bool:
                        return bool(conn.execute("INSERT OR IGNORE INTO audit_inbox_consumed(id) VALUES (?)",
                                                 (event["id"],)).rowcount)

                    for event in pending.authenticated:
                        if first_time(event):
                            audit.append(conn, event.get("kind", "unlock_failed"), reason=event.get("reason"),
                                         at=event.get("ts"), **audit_inbox.details(event))
                    refused = [event for event in pending.unauthenticated if first_time(event)]
                    if refused:
                        audit.append(conn, "audit_inbox_refused", **audit_inbox.refusal(refused))
            except audit.AuditTampered:
                return  # the log was changed outside FaceSeal: the events stay sealed in the inbox, the vault opens
        audit_inbox.remove(self.layout.home)

    # ------------------------------------------------------------ templates
    def enroll(self, name: str, embeddings: np.ndarray, pack: str, add: bool = False, keep: int | None = None,
               choose: Callable[[np.ndarray, int], Sequence[int]] | None = None,
               then: Callable[[Connection, str], None] | None = None, **detail: str) -> int:
        """Seal each sample as its own template under a new (or, with ``add``, the existing) identity.

        With ``keep``, the identity keeps at most that many templates, the others
        deleted in the same transaction: ``choose(vectors, keep)`` names which of
        the readable templates (earlier ones first, then the new ones, in the
        order sealed) to delete; without it the oldest go. Returns how many
        templates were sealed; the enrolment is audited in the same transaction,
        with how many were dropped and ``detail`` (ids, never names). ``then(conn, identity_id)`` runs last in
        that transaction (the use case records the person's consent there: both commit, or neither).
        """
        name = _check_name(name)
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
                _refuse_lookalike(conn, name)
                identity_id, version, key = uuid.uuid4().hex, self.primary_version(), material.random_key()
                generation = version
                conn.execute(
                    "INSERT INTO identities(id, name, created_at, key_version, key_generation, wrapped_key) "
                    "VALUES (?,?,?,?,?,?)",
                    (identity_id, name, now_iso(), version, generation,
                     self.wrap_identity_key(identity_id, name, version, key)),
                )
            else:
                identity_id, version, generation = row[0], row[1], row[3]
                key = self._identity_key(identity_id, name, version, bytes(row[2]))
                self._check_pack(conn, identity_id, name, pack, samples.shape[1])
            rows = []
            for sample in samples:
                template_id = uuid.uuid4().hex
                blob = seal(key, generation, template_id, sample.tobytes())
                rows.append((template_id, identity_id, pack, samples.shape[1], now_iso(), blob))
            conn.executemany("INSERT INTO templates(id, identity_id, pack, dim, created_at, blob) VALUES (?,?,?,?,?,?)", rows)
            dropped = 0
            if keep is not None and choose is not None:
                dropped = self._drop_chosen(conn, identity_id, keep, choose)
            elif keep is not None:
                dropped = conn.execute(
                    "DELETE FROM templates WHERE identity_id = ? AND rowid NOT IN "
                    "(SELECT rowid FROM templates WHERE identity_id = ? ORDER BY rowid DESC LIMIT ?)",
                    (identity_id, identity_id, keep),
                ).rowcount
            audit.append(conn, "identity_enrolled", identity=identity_id, samples=len(rows), pack=pack, added=add,
                         **({"dropped": dropped} if dropped else {}), **detail)
            if then is not None:
                then(conn, identity_id)
        return len(rows)

    def _drop_chosen(self, conn: Connection, identity_id: str, keep: int,
                     choose: Callable[[np.ndarray, int], Sequence[int]]) -> int:
        """Delete the templates ``choose`` names so that ``keep`` are left; an unreadable one goes first."""
        rows = conn.execute(self._TEMPLATE_ROWS + "WHERE t.identity_id = ? ORDER BY t.rowid",
                            (identity_id,)).fetchall()
        if len(rows) <= keep:
            return 0
        opened, skipped = self._open_rows(rows)
        try:
            doomed = [unreadable.template for unreadable in skipped][:len(rows) - keep]
            surplus = len(rows) - keep - len(doomed)
            if surplus > 0:
                (part,) = opened.values()  # one identity's templates are all of one pack and size (_check_pack)
                chosen = list(choose(part.matrix, len(part.rows) - surplus))
                doomed += [part.rows[index][0] for index in chosen]
        finally:
            for part in opened.values():
                part.wipe()
        conn.executemany("DELETE FROM templates WHERE id = ?", [(template_id,) for template_id in doomed])
        return len(doomed)

    def _check_pack(self, conn: Connection, identity_id: str, name: str, pack: str, dim: int) -> None:
        stored = conn.execute("SELECT DISTINCT pack, dim FROM templates WHERE identity_id = ?", (identity_id,)).fetchall()
        for stored_pack, stored_dim in stored:
            if stored_pack != pack or stored_dim != dim:
                raise PackMismatch(
                    f"the templates of '{name}' were made by model pack '{stored_pack}' ({stored_dim}-d); "
                    f"this embedding comes from '{pack}' ({dim}-d), and the two are not comparable. "
                    f"Enrol '{name}' again with '{pack}' to switch"
                )

    _TEMPLATE_ROWS = (
        "SELECT t.id, t.blob, t.dim, i.id, i.name, i.key_version, i.wrapped_key, i.key_generation, t.pack "
        "FROM templates t JOIN identities i ON i.id = t.identity_id "
    )

    def _template_dim(self, row: tuple) -> int:
        """The size of the template in one row of :data:`_TEMPLATE_ROWS`, checked before anything is decrypted;
        CorruptBlob or IdentityTampered when it cannot be opened."""
        template_id, blob, dim, identity_id, name, version, wrapped, generation = row[:8]
        header = parse_header(bytes(blob))
        if header.key_version != generation:
            raise CorruptBlob(f"template {template_id} carries key version {header.key_version}, its identity key "
                              f"is of version {generation}")
        self._identity_key(identity_id, name, version, bytes(wrapped))
        if not isinstance(dim, int) or plaintext_size(bytes(blob)) != 4 * dim:
            raise CorruptBlob(f"template {template_id} is damaged: its stored dimension ({dim}) does not match "
                              "its sealed content")
        return dim

    def _open_template(self, row: tuple, out: memoryview) -> None:
        """Decrypt one row of :data:`_TEMPLATE_ROWS` (its size checked by :meth:`_template_dim`) into ``out``."""
        template_id, blob, _dim, identity_id, name, version, wrapped = row[:7]
        open_blob(self._identity_key(identity_id, name, version, bytes(wrapped)), template_id, bytes(blob), out)

    def _open_rows(self, rows: list[tuple]) -> tuple[dict[int, Opened], tuple[Unreadable, ...]]:
        """Every row that opens, decrypted straight into one matrix per size (:class:`Opened`, in the rows' order),
        and every one that does not (left out of a match, never fatal). The matrices are the only copies of the
        templates: whoever takes them wipes them, or hands them to a gallery that the vault wipes when it closes."""
        sized: dict[int, list[tuple]] = {}
        skipped: list[Unreadable] = []

        def unreadable(row: tuple, error: FaceSealError) -> None:
            reason = "identity_key" if isinstance(error, IdentityTampered) else \
                "dimension" if "dimension" in str(error) else "content"
            skipped.append(Unreadable(row[0], row[3], reason))

        for row in rows:
            try:
                sized.setdefault(self._template_dim(row), []).append(row)
            except (IdentityTampered, CorruptBlob) as error:
                unreadable(row, error)
        opened: dict[int, Opened] = {}
        for dim, candidates in sized.items():
            part = Opened([], np.zeros((len(candidates), dim), np.float32))
            for row in candidates:
                try:
                    self._open_template(row, memoryview(part.matrix[len(part.rows)]).cast("B"))
                    part.rows.append(row)
                except CorruptBlob as error:  # its row is still zero: the next template goes there
                    unreadable(row, error)
            part.matrix = part.matrix[:len(part.rows)]
            if part.rows:
                opened[dim] = part
        return opened, tuple(skipped)

    def record_unreadable(self, conn: Connection, unreadable: tuple[Unreadable, ...]) -> None:
        """One ``template_unreadable`` audit event per template, the first time it is found (not per attempt).

        Call inside the write transaction of the attempt that found them.
        """
        for item in unreadable:
            if item.template in self._reported:
                continue
            seen = conn.execute(
                "SELECT 1 FROM audit_events WHERE kind = 'template_unreadable' AND instr(detail, ?) > 0",
                (f'"{item.template}"',),
            ).fetchone()
            if seen is None:
                audit.append(conn, "template_unreadable", template=item.template, identity=item.identity,
                             reason=item.reason)
            self._reported.add(item.template)

    def verify(self, name: str, embedding: np.ndarray, pack: str, threshold: float) -> MatchResult:
        """The score of ``name``'s templates against the probe (``matching.template_score``); no policy here.

        A template that cannot be read is left out and reported in the result
        (``skipped``); an identity whose key does not open under its name is an
        :class:`IdentityTampered`, and one with no readable template a CorruptBlob.
        """
        probe = normalise(embedding)[0]
        identity_id, stored_name, version, wrapped = self._identity_row(name)
        self._identity_key(identity_id, stored_name, version, wrapped)
        rows = self.conn.execute(self._TEMPLATE_ROWS + "WHERE t.identity_id = ?", (identity_id,)).fetchall()
        if not rows:
            raise UnknownIdentity(f"'{stored_name}' has no templates left; enrol again")
        opened, skipped = self._open_rows(rows)
        try:
            if not opened:
                with self.writing() as tx:
                    self.record_unreadable(tx, skipped)
                raise CorruptBlob(f"every stored template of '{stored_name}' is damaged ({len(skipped)}); "
                                  f"delete '{stored_name}' and enrol again")
            for stored_pack, stored_dim in sorted({(row[8], dim) for dim, part in opened.items() for row in part.rows}):
                if stored_pack != pack or stored_dim != probe.shape[0]:
                    raise PackMismatch(
                        f"the templates of '{stored_name}' were made by model pack '{stored_pack}' ({stored_dim}-d); "
                        f"this embedding comes from '{pack}' ({probe.shape[0]}-d), and the two are not comparable. "
                        f"Enrol '{stored_name}' again with '{pack}' to switch"
                    )
            score = template_score(opened[probe.shape[0]].matrix @ probe)
        finally:
            for part in opened.values():
                part.wipe()
        return MatchResult(stored_name, score, threshold, pack, skipped)

    def identify(self, embedding: np.ndarray, pack: str, threshold: float) -> MatchResult:
        """The best-scoring identity of ``pack`` for the probe; no policy here; unreadable templates are skipped."""
        probe = normalise(embedding)[0]
        galleries, skipped = self._galleries_of(pack)
        gallery = galleries.get(probe.shape[0])
        if gallery is None and galleries:
            dims = "/".join(str(d) for d in sorted(galleries))
            raise PackMismatch(f"templates of pack '{pack}' are {dims}-d; this embedding is {probe.shape[0]}-d")
        name, score = gallery.best(probe) if gallery is not None else (None, -1.0)
        return MatchResult(name, score, threshold, pack, skipped)

    def gallery(self, pack: str, dim: int | None = None) -> Gallery:
        """Every readable template of ``pack`` (of ``dim``, else of its most common size) in one matrix."""
        galleries, skipped = self._galleries_of(pack)
        if dim is None and galleries:
            dim = max(galleries, key=lambda d: len(galleries[d].matrix))
        return galleries.get(dim) or Gallery([], [], skipped)

    def _galleries_of(self, pack: str) -> tuple[dict[int, Gallery], tuple[Unreadable, ...]]:
        """Every template of ``pack`` decrypted, one gallery per size, cached until any process writes."""
        generation = (self.conn.execute("PRAGMA data_version").fetchone()[0], self._local_writes)
        cached = self._galleries.get(pack)
        if cached and cached[0] == generation:
            return cached[1], cached[2]
        if cached:  # stale: its templates are overwritten before they are let go
            for stale in cached[1].values():
                stale.wipe()
        version = self.primary_version()
        state = get_meta(self.conn, snapshot.GENERATION_META)  # None: the counter was removed, no snapshot is safe
        snapshot_file = snapshot.path_for(self.layout.home, pack)
        sealed = None if state is None else snapshot.load(snapshot_file, self._vault_key(version), pack, version, state)
        if sealed is not None:
            parts, left_out = sealed
            skipped = tuple(Unreadable(*item) for item in left_out)
            galleries = {p.dim: Gallery.of_rows(p.names, p.counts, p.matrix, skipped) for p in parts}
            self._galleries[pack] = (generation, galleries, skipped)
            return galleries, skipped
        galleries, skipped = self._open_galleries(pack)
        self._galleries[pack] = (generation, galleries, skipped)
        if state is not None and self.rolled_back is None:  # an older folder opened to read is never written to
            snapshot.save(snapshot_file, self._vault_key(version), pack, version, state,
                          [snapshot.Part(dim, g.names, g.counts(), g.matrix) for dim, g in galleries.items()],
                          [[u.template, u.identity, u.reason] for u in skipped])
        return galleries, skipped

    def _open_galleries(self, pack: str) -> tuple[dict[int, Gallery], tuple[Unreadable, ...]]:
        """Every template of ``pack`` opened one by one, grouped into one gallery per size."""
        rows = self.conn.execute(self._TEMPLATE_ROWS + "WHERE t.pack = ? ORDER BY i.name, t.id", (pack,)).fetchall()
        opened, skipped = self._open_rows(rows)
        return {dim: part.gallery(skipped) for dim, part in opened.items()}, skipped

    def list_identities(self) -> list[IdentityInfo]:
        rows = self.conn.execute(
            "SELECT i.id, i.name, i.created_at, count(t.id), coalesce(min(t.pack), '') FROM identities i "
            "LEFT JOIN templates t ON t.identity_id = i.id GROUP BY i.id ORDER BY i.name"
        ).fetchall()
        return [IdentityInfo(*row) for row in rows]

    def verify_all(self) -> int:
        """Open every template (a full integrity check, the first failure raised); returns how many opened."""
        total = 0
        for row in self.conn.execute(self._TEMPLATE_ROWS).fetchall():
            with Secret(4 * self._template_dim(row)) as plain:
                self._open_template(row, memoryview(plain))
            total += 1
        return total

    def audit_events(self) -> list[audit.Event]:
        return audit.events(self.conn)

    def audit_verify(self) -> list[str]:
        return audit.verify(self.conn)


# ---------------------------------------------------------------- helpers
def _wrap_aad(kind: str, owner: str, version: int) -> bytes:
    return f"faceseal/{kind}/v1:{owner}:{version}".encode()


def _identity_aad(identity_id: str, name: str, version: int) -> bytes:
    """The AAD of an identity key's wrap: its id, the vault key version and the identity's name (last, as UTF-8)."""
    return f"faceseal/identity/v2:{identity_id}:{version}:".encode() + name.encode("utf-8", "surrogatepass")


def wrap_under(vault_key: bytes, kind: str, owner: str, version: int, plaintext: bytes) -> bytes:
    """A named secret (``kind`` "secret") wrapped by a vault key."""
    return material.aead_wrap(vault_key, plaintext, _wrap_aad(kind, owner, version))


def bind_names(conn: Connection, keys: UnlockedKeys) -> None:
    """Once per vault: re-wrap every identity key written before names were bound, now bound to its name.

    Until this ran, an identity key's wrap named only the identity's id, so
    swapping two names in the database went unnoticed. It runs in one
    transaction when the vault opens with its keys and marks the vault
    (``meta`` ``identity_wraps``); a key that opens neither way is left as it is
    and reported when it is used. A wrap already bound is never unbound: the
    old form opens only a key wrapped in the old form.
    """
    if get_meta(conn, IDENTITY_WRAPS) == "named":
        return
    with transaction(conn) as tx:
        if get_meta(tx, IDENTITY_WRAPS) == "named":
            return  # another process did it meanwhile
        complete = True
        for identity_id, name, version, wrapped in tx.execute(
                "SELECT id, name, key_version, wrapped_key FROM identities").fetchall():
            vault_key = keys.vault.get(version)
            if vault_key is None:
                complete = False  # a key version this process cannot see yet: the next open finishes
                continue
            if material.aead_unwrap(vault_key, bytes(wrapped), _identity_aad(identity_id, name, version)) is not None:
                continue
            key = material.aead_unwrap(vault_key, bytes(wrapped), _wrap_aad("identity", identity_id, version))
            if key is not None:
                tx.execute("UPDATE identities SET wrapped_key = ? WHERE id = ?",
                           (material.aead_wrap(vault_key, key, _identity_aad(identity_id, name, version)), identity_id))
        if complete:
            set_meta(tx, IDENTITY_WRAPS, "named")


def usable_keystore(layout: Layout) -> KeyStore:
    """The key store, unless the root was revoked or the vault is locked (then that refusal is raised)."""
    ks = KeyStore.load(layout.keystore)
    if ks.revoked is not None:
        raise RootKeyRevoked(lockdown.REVOKED_MESSAGE)
    refusal = lockdown.refusal(layout.keys_dir)
    if refusal is not None:
        raise refusal
    return ks


def unlock_keys(layout: Layout, record_failure: bool = True) -> tuple[RootStore, RootKey, UnlockedKeys]:
    """Root + key store -> the L2 keys; a failure is sealed into the audit inbox, then raised."""
    if not layout.keystore.exists():
        raise DataDirUnreadable(f"the key store {layout.keystore} is missing; FaceSeal left the data as it is")
    if not layout.db.exists():
        raise DataDirUnreadable(f"the database {layout.db} is missing; FaceSeal left the data as it is")
    ks = usable_keystore(layout)
    try:
        store, root = roots.find_root(layout.keys_dir, layout.keychain_account)
        keys = ks.unlock(root)
    except (RootKeyMissing, WrongRootKey) as failure:
        if record_failure:
            reason = "root_key_missing" if isinstance(failure, RootKeyMissing) else "wrong_root_key"
            audit_inbox.record(layout.home, ks.audit_inbox_public_key, reason)
        raise
    try:
        ks.check(layout.keystore, keys.database, legacy=True)  # a store with no tag yet: authenticate_keystore decides
    except BaseException:
        store.close()
        raise
    return store, root, keys


def keystore_predates_tags(layout: Layout, ks: KeyStore, keys: UnlockedKeys) -> bool:
    """Whether ``ks`` has no tag and may lack one: its database never recorded one (made before issue 25).

    A database that does not open (damaged, a full disk) counts as recorded: a missing tag is then refused.
    """
    if ks.mac is not None:
        return False
    try:
        conn = database.connect(layout.db, keys.database)
    except FaceSealError:
        return False
    try:
        return get_meta(conn, KEYSTORE_MAC_META) is None
    except database.Error:
        return False
    finally:
        conn.close()


def authenticate_keystore(vault: Vault) -> None:
    """On open: the key store's tag must hold; a store made before tags existed gets one, once.

    The first open by the root holder of a store without a tag authenticates it
    as it is (that is the migration) and records in the encrypted database that
    it did; from then on a store whose tag was removed is refused like an edited
    one. Called under the exclusive key lock.
    """
    assert vault.keys is not None
    path = vault.layout.keystore
    ks = KeyStore.load(path)
    recorded = get_meta(vault.conn, KEYSTORE_MAC_META) is not None
    ks.check(path, vault.keys.database, legacy=not recorded)
    if ks.mac is None:
        ks.save(path, vault.keys.database)
    if not recorded:
        with transaction(vault.conn) as tx:
            set_meta(tx, KEYSTORE_MAC_META, KEYSTORE_MAC)


def connect(layout: Layout, keys: UnlockedKeys, reading: bool = False) -> Connection:
    """The vault's database, its schema brought up to date; an unreadable one is recorded in the inbox.

    ``reading``: for a read-only command, still readable on a full disk (``database.connect``).
    """
    try:
        conn = database.connect(layout.db, keys.database, reading=reading)
    except DataDirUnreadable:
        audit_inbox.record(layout.home, KeyStore.load(layout.keystore).audit_inbox_public_key, "database_unreadable",
                           database_key=keys.database)
        raise
    schema.migrate(conn)
    try:
        bind_names(conn, keys)
    except BaseException:
        conn.close()
        raise
    return conn


def initialise(layout: Layout) -> None:
    """Create a brand-new vault in a data directory that holds none.

    The marker names this creation by its random audit-inbox public key (also
    written into the key store) before anything else is written, so a creation
    killed part-way can be proven to be that and nothing more
    (:func:`edge_core.ops.vaults.open_vault` rolls back only such a one).
    """
    if layout.has_data():
        raise DataDirUnreadable(f"{layout.home} already holds FaceSeal data; FaceSeal left it as it is")
    inbox_private, inbox_public = audit_inbox.new_keypair()
    paths.atomic_write(layout.init_marker, inbox_public.encode("ascii"))
    checkpoint("init.marker")
    store = roots.store_for_new_root(layout.keys_dir, layout.keychain_account)
    # The variable is the user's own key; a keychain entry or file already there is
    # left by an interrupted creation or a deleted data directory: reuse, never replace.
    existing = store.load()
    root = existing or store.generate()
    adopted = existing is not None
    keys = UnlockedKeys(database=material.random_key(), vault={1: material.random_key()})
    ks = KeyStore(audit_inbox_public_key=inbox_public)
    ks.add_root(root, keys)
    ks.vault_created[1] = now_iso()
    ks.save(layout.keystore, keys.database)
    checkpoint("init.keystore")
    if store.mutable:
        store.activate(root)
    checkpoint("init.root")
    conn = database.connect(layout.db, keys.database, create=True)
    try:
        schema.migrate(conn)
        checkpoint("init.schema")
        vault = Vault(layout, store, root, keys, conn)
        with vault.writing() as tx:
            set_meta(tx, "vault_version", "1")
            set_meta(tx, KEYSTORE_MAC_META, KEYSTORE_MAC)
            vault._put_secret(tx, INBOX_SECRET, inbox_private)
            audit.append(tx, "vault_created", root_store=store.name, root_fingerprint=root.fingerprint, adopted_root=adopted)
    finally:
        conn.close()
    checkpoint("init.created")
    layout.init_marker.unlink()
    paths.fsync_dir(layout.keys_dir)
