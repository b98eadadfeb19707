"""The rollback anchor: the newest audit head this machine saw for a vault, kept outside its data folder.

Why (issue 25): everything that detects tampering (the audit chain and its
signed head, the policy's hash, the key store's tag) lives in the data folder,
so an older copy of the whole folder is self-consistent: put back, it brings
back an old policy, lockout counters at zero and a log without its tail, and
every check inside the folder passes. Every write that matters appends an audit
event, so the audit head ("seq:hash") names the state; the anchor remembers the
newest one somewhere the folder's copy cannot bring back.

Where: beside the root when the root is in the OS keychain (an entry of its own,
service ``faceseal-anchor``: it holds no secret), else a 0600 file in the user's state folder
(``platformdirs.user_state_dir``/anchors, never in the data folder). Both are
read, so moving the root between homes loses nothing. The entry's name and its
tag derive from the database key: only a holder of the root can write a record
that verifies, and nothing in it names a person or the folder.

With the root in the TPM, each record also carries the value of a TPM NV
counter this vault counts up on every write (:class:`MonotonicCounter`): the
record is written with the next value before the counter moves, so a record
behind the counter is an older one put back, and refused, even by someone who
can write the state file and the folder alike (issue 29).

Each record also carries the vault's **admin passphrase record** as of that
head (its scrypt salt and hash, sealed with AES-256-GCM under a key from the
database key, so the state folder alone gives no one a hash to guess at):
an older copy of the folder, from before the passphrase was set or changed,
takes the newest one before anything is accepted (:mod:`edge_core.ops.rollback`).

The rule that acts on it (refuse an older folder, accept one on purpose) is the
use-case layer's: :mod:`edge_core.ops.rollback`.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import keyring
import platformdirs
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from edge_core.audit import chain
from edge_core.errors import AnchorUnusable, KeychainUnavailable, VaultRolledBack
from edge_core.keys import material
from edge_core.keys.roots import keychain
from edge_core.keys.roots.base import MonotonicCounter, RootStore
from edge_core.support import paths
from edge_core.support.canonical import canonical_json
from edge_core.support.database import Connection, get_meta

FORMAT = 1
#: ``meta`` key set in the first write after the anchor exists: from then on a missing anchor is a refusal.
ANCHORED_META = "rollback_anchor"
MAX_BYTES = 4096
SERVICE = "faceseal-anchor"
GUARD_META = "admin/passphrase"
"""``meta`` row of the admin passphrase's record (:mod:`edge_core.ops.presence`), which the anchor carries along."""


@dataclass(frozen=True)
class Head:
    """An audit head: the last event's number and hash (0 and "" for an empty log)."""

    seq: int
    digest: str
    guard: str | None = field(default=None, compare=False)
    """The admin passphrase's record at this head (``None``: there was none)."""

    @classmethod
    def of(cls, conn: Connection) -> "Head":
        """The head recorded in the database (``meta``), which every write that appends an event moves."""
        value, guard = get_meta(conn, chain.HEAD_META), get_meta(conn, GUARD_META)
        if not value:
            return cls(0, "", guard)
        seq, _, digest = value.partition(":")
        return cls(int(seq), digest, guard)

    def continued_by(self, conn: Connection) -> bool:
        """Whether the log in ``conn`` holds this head as one of its events (the same history, maybe longer)."""
        if self.seq == 0:
            return True
        stored = chain.stored_hash(conn, self.seq)
        return stored is not None and material.same_secret(stored.hex().encode(), self.digest.encode())


def files_dir() -> Path:
    """Where anchors live when the root is not in the keychain: the user's state folder, outside any data folder."""
    return Path(platformdirs.user_state_dir(paths.APP_NAME, appauthor=False)) / "anchors"


class Anchor:
    """The anchor of the vault whose database key is ``database_key``; ``in_keychain``: where it is written;
    ``root_store``: the root's home, whose hardware counter (a TPM's) backs the records when it has one."""

    def __init__(self, database_key: bytes, in_keychain: bool, root_store: RootStore | None = None) -> None:
        self.name = material.hkdf(database_key, b"faceseal/anchor-name/v1", length=16).hex()
        self._mac_key = material.hkdf(database_key, b"faceseal/anchor-mac/v1")
        self._guard_key = material.hkdf(database_key, b"faceseal/anchor-guard/v1")
        self.in_keychain = in_keychain
        self.counter: MonotonicCounter | None = root_store.monotonic_counter(self.name) if root_store else None

    @property
    def path(self) -> Path:
        return files_dir() / f"{self.name}.json"

    def describe(self) -> str:
        """Where it is kept, for a person."""
        if self.in_keychain:
            return f"the OS keychain (service '{SERVICE}', account '{self.name}')"
        return str(self.path)

    # ---- records -------------------------------------------------------
    def _fields(self, head: Head, counted: int | None, sealed: str | None) -> dict:
        """What a record says; ``counter`` only in a record backed by a hardware counter, ``guard`` (the admin
        passphrase's record, ``sealed``) only where the vault has one."""
        fields: dict = {"format": FORMAT, "vault": self.name, "seq": head.seq, "hash": head.digest}
        if counted is not None:
            fields["counter"] = counted
        if sealed is not None:
            fields["guard"] = sealed
        return fields

    def _tag(self, fields: dict) -> str:
        mac = crypto_hmac.HMAC(self._mac_key, hashes.SHA256())
        mac.update(canonical_json(fields))
        return mac.finalize().hex()

    def _record(self, head: Head, counted: int | None) -> str:
        sealed = None
        if head.guard is not None:
            sealed = material.aead_wrap(self._guard_key, head.guard.encode(), self.name.encode()).hex()
        fields = self._fields(head, counted, sealed)
        return json.dumps({**fields, "tag": self._tag(fields)}, sort_keys=True)

    def _parse(self, text: str, where: str) -> tuple[Head, int | None]:
        try:
            raw = json.loads(text)
            head, counted, sealed = Head(raw["seq"], raw["hash"]), raw.get("counter"), raw.get("guard")
            if (raw.get("format") != FORMAT or raw.get("vault") != self.name or type(head.seq) is not int
                    or not isinstance(head.digest, str) or not isinstance(raw.get("tag"), str)
                    or not (counted is None or type(counted) is int) or not (sealed is None or isinstance(sealed, str))):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise self._tampered(where) from None
        if not material.same_secret(self._tag(self._fields(head, counted, sealed)).encode(), raw["tag"].encode()):
            raise self._tampered(where)
        if sealed is None:
            return head, counted
        try:
            opened = material.aead_unwrap(self._guard_key, bytes.fromhex(sealed), self.name.encode())
            if opened is None:  # tagged, so written by a holder of the key: never expected
                raise ValueError
            guard = bytes(opened).decode()  # a scrypt hash, not a key: an ordinary str from here
        except (ValueError, UnicodeDecodeError):
            raise self._tampered(where) from None
        return Head(head.seq, head.digest, guard), counted

    @staticmethod
    def _tampered(where: str) -> VaultRolledBack:
        return VaultRolledBack(
            f"this vault's rollback anchor in {where} was changed outside FaceSeal, so FaceSeal cannot tell whether "
            "the data folder is the newest copy; it opened nothing and changed nothing. If this folder is the copy "
            "you mean to use, run 'faceseal audit accept-rollback'")

    # ---- homes ---------------------------------------------------------
    def _read_keychain(self) -> str | None:
        """The keychain's record; a keychain that refuses counts as none unless the anchor lives there."""
        if not keychain.usable():
            return None
        try:
            return keychain.call(keyring.get_password, SERVICE, self.name)
        except KeychainUnavailable:
            if self.in_keychain:
                raise
            return None

    def _forget_in_keychain(self) -> None:
        if keychain.usable():
            keychain.call(keyring.delete_password, SERVICE, self.name)

    def _check_folders(self) -> None:
        """Refuse anchors in a folder (or its parent) that is not the user's alone: others could swap them."""
        for folder in (self.path.parent, self.path.parent.parent):
            try:
                info = folder.stat()
            except FileNotFoundError:
                continue
            mode, owner = stat.S_IMODE(info.st_mode), os.geteuid() if hasattr(os, "geteuid") else info.st_uid
            if info.st_uid != owner or mode & 0o022:
                raise AnchorUnusable(f"{folder}, where this vault's rollback anchor is kept, is not a folder of yours "
                                     f"that only you can write (owner uid {info.st_uid}, mode {mode:o}): others could "
                                     f"replace the anchor. Run 'chmod 700 {folder}' if it is yours (or set "
                                     "XDG_STATE_HOME to a folder of yours), then try again")

    def _read_file(self) -> str | None:
        try:
            self._check_folders()
            data = paths.read_private(self.path, MAX_BYTES)  # never through a link; 0600 or refused
        except OSError as error:  # its folder is a file, or cannot be entered
            raise self._unusable("read", error) from None
        return None if data is None else data.decode("utf-8", "replace")

    def _write_file(self, record: str) -> None:
        try:
            self._check_folders()
            # After a crash the old record may come back: an anchor behind its folder is no refusal, never a lie.
            paths.atomic_write(self.path, record.encode(), durable_rename=False)
        except OSError as error:  # a folder in the way or not the user's (a full disk is DiskFull, as it is)
            raise self._unusable("write", error) from None

    def _unusable(self, verb: str, error: OSError) -> AnchorUnusable:
        return AnchorUnusable(f"FaceSeal cannot {verb} this vault's rollback anchor {self.path} "
                              f"({error.strerror or error}), which records the newest state of this vault: make "
                              f"{files_dir()} a folder of yours that FaceSeal can write (or set XDG_STATE_HOME to "
                              "one), then try again")

    def newest(self) -> Head | None:
        """The newest head recorded in either home, or ``None``; a record that does not verify is refused, and so
        is one behind the hardware counter (an older record put back)."""
        records = []
        for text, where in ((self._read_keychain(), "the OS keychain"), (self._read_file(), str(self.path))):
            if text is not None:
                records.append(self._parse(text, where))
        head, counted = max(records, key=lambda record: record[0].seq, default=(None, None))
        if self.counter is not None:
            now = self.counter.value()
            if now is not None and (counted is None or counted < now):
                raise VaultRolledBack(
                    f"this vault's rollback anchor is older than {self.counter.describe()} (the anchor says "
                    f"{counted if counted is not None else 'nothing'}, the TPM {now}): an older copy of the data "
                    "folder and of its anchor was put back; FaceSeal opened nothing and changed nothing. If you "
                    "restored an older backup on purpose, run 'faceseal audit accept-rollback'")
        return head

    def write(self, head: Head) -> None:
        """Record ``head`` in this anchor's home and drop any record in the other: after it, ``newest`` is ``head``.

        With a hardware counter the record carries the counter's next value and is written before the counter
        moves: a crash between the two leaves the record ahead, which opens, never behind.
        """
        counted = None
        if self.counter is not None:
            if self.counter.value() is None:
                self.counter.bump()  # a new TPM counter starts wherever the TPM's counters reached: learn it first
            counted = (self.counter.value() or 0) + 1
        record = self._record(head, counted)
        if self.in_keychain:
            keychain.call(keyring.set_password, SERVICE, self.name, record)
            self.path.unlink(missing_ok=True)
        else:
            self._write_file(record)
            self._forget_in_keychain()
        if self.counter is not None:
            self.counter.bump()

    def advance(self, head: Head) -> None:
        """Record ``head`` unless a head as new or newer is recorded (two processes writing: never move back)."""
        seen = self.newest()
        if seen is None or head.seq > seen.seq:
            self.write(head)

    def remove(self) -> None:
        """Forget this vault (a reset made a new one): both homes."""
        self.path.unlink(missing_ok=True)
        try:
            self._forget_in_keychain()
        except KeychainUnavailable:
            pass  # a record left behind names a vault that no longer exists
