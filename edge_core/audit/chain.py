"""The tamper-evident audit log: every event's hash covers the one before it.

    hash_n = SHA-256(hash_{n-1} || canonical JSON {"detail", "kind", "seq", "ts"})

with hash_0 = 32 zero bytes. The head (last seq and hash) is also kept in the
meta table, so removing events from the end is found too, and :func:`append`
refuses to continue a log whose last event is not that head (a deleted last
event would otherwise be hidden by the next one). Events never hold a secret,
an embedding or a person's name: identities appear by their random id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from edge_core.errors import AuditTampered
from edge_core.support.canonical import canonical_json
from edge_core.support.database import Connection, get_meta, set_meta

GENESIS = b"\0" * 32
HEAD_META = "audit_head"
VERIFY_HINT = "'faceseal audit verify' names every problem"


def _blob(value: Any) -> bytes | None:
    """A hash column as bytes; ``None`` for anything FaceSeal never writes there (text, a number, NULL)."""
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else None


def head_of(seq: int, digest: bytes) -> str:
    """The head as kept in ``meta``: ``"seq:hash-hex"``."""
    return f"{seq}:{digest.hex()}"


def entry_hash(prev: bytes, seq: int, ts: str, kind: str, detail: str) -> bytes:
    """The hash of one event: SHA-256 of the previous hash and the event's canonical JSON."""
    body = {"detail": json.loads(detail), "kind": kind, "seq": seq, "ts": ts}
    return hashlib.sha256(prev + canonical_json(body)).digest()


def append(conn: Connection, kind: str, **detail: Any) -> int:
    """Append one event; call inside the transaction that did what the event records.

    Refused (:class:`AuditTampered`, so the caller's transaction rolls back)
    when the last event is not the head kept in ``meta``: events were removed
    from the end, or added after it, outside FaceSeal.
    """
    row = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    head = get_meta(conn, HEAD_META)
    last_hash = _blob(row[1]) if row else None
    if (row is None and head is not None) or (row is not None and (last_hash is None or head != head_of(row[0], last_hash))):
        recorded = f"event {head.split(':')[0]}" if head else "missing"
        raise AuditTampered(
            f"the audit log's last event (event {row[0] if row else 0}) is not its recorded head ({recorded}): "
            f"the log was changed outside FaceSeal, so nothing was done or recorded; {VERIFY_HINT}"
        )
    seq, prev = (row[0] + 1, last_hash) if row else (1, GENESIS)
    ts = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    body = canonical_json(detail).decode("ascii")
    digest = entry_hash(prev, seq, ts, kind, body)
    conn.execute(
        "INSERT INTO audit_events(seq, ts, kind, detail, prev_hash, hash) VALUES (?,?,?,?,?,?)",
        (seq, ts, kind, body, prev, digest),
    )
    set_meta(conn, HEAD_META, head_of(seq, digest))
    return seq


@dataclass
class Event:
    seq: int
    ts: str
    kind: str
    detail: dict[str, Any]


def events(conn: Connection) -> list[Event]:
    """Every event, oldest first; one whose detail FaceSeal cannot have written is refused (AuditTampered)."""
    rows = conn.execute("SELECT seq, ts, kind, detail FROM audit_events ORDER BY seq").fetchall()
    found = []
    for seq, ts, kind, detail in rows:
        try:
            parsed = json.loads(detail)
        except (ValueError, TypeError):
            parsed = None
        if not isinstance(parsed, dict) or not isinstance(ts, str) or not isinstance(kind, str):
            raise AuditTampered(f"event {seq} of the audit log cannot be read: it was edited outside FaceSeal; "
                                f"{VERIFY_HINT}")
        found.append(Event(seq, ts, kind, parsed))
    return found


def count(conn: Connection) -> int:
    """How many events the log holds (read nothing else)."""
    return int(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])


def last(conn: Connection) -> tuple[int, bytes | None] | None:
    """(seq, stored hash) of the last event, or ``None`` for an empty log."""
    row = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else (row[0], _blob(row[1]))


def stored_hash(conn: Connection, seq: int) -> bytes | None:
    """The stored hash of event ``seq``, if there is such an event."""
    row = conn.execute("SELECT hash FROM audit_events WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else _blob(row[0])


def verify(conn: Connection) -> list[str]:
    """Every problem in the chain, each naming the event; an empty list means intact."""
    problems: list[str] = []
    prev_hash, expected_seq = GENESIS, 1
    rows = conn.execute("SELECT seq, ts, kind, detail, prev_hash, hash FROM audit_events ORDER BY seq").fetchall()
    for seq, ts, kind, detail, raw_prev, raw_hash in rows:
        stored_prev, stored_hash = _blob(raw_prev) or b"", _blob(raw_hash) or b""
        if seq != expected_seq:
            problems.append(f"events {expected_seq}..{seq - 1} were removed")
        try:
            recomputed = entry_hash(stored_prev, seq, ts, kind, detail)
        except (ValueError, TypeError):  # a detail that is not JSON (or not text) was edited in
            recomputed = b""
        if not stored_hash or recomputed != stored_hash:
            moved_from = _original_position(stored_prev, seq, ts, kind, detail, stored_hash)
            if moved_from is None:
                problems.append(f"event {seq} ({kind}) was edited, or inserted")
            else:
                problems.append(f"event {seq} ({kind}) was event {moved_from}: events were "
                                f"{'inserted' if moved_from < seq else 'removed'} before it")
        elif stored_prev != prev_hash:
            problems.append(f"event {seq} ({kind}) does not follow event {seq - 1}: an event was inserted or removed before it")
        prev_hash, expected_seq = stored_hash, seq + 1
    head = get_meta(conn, HEAD_META)
    if head:
        head_seq, _, head_hash = head.partition(":")
        if head_seq != str(expected_seq - 1) or (rows and head_hash != prev_hash.hex()):
            problems.append(f"the log ends at event {expected_seq - 1} but its head says {head_seq}: events were removed from the end or inserted after it")
    elif rows:
        problems.append(f"the log ends at event {expected_seq - 1} but it has no recorded head: the head was removed")
    return problems


def _original_position(prev: bytes, seq: int, ts: str, kind: str, detail: str, stored: bytes) -> int | None:
    """Where an intact event stood before the log was renumbered around it, if nearby."""
    try:
        for candidate in range(max(1, seq - 16), seq + 17):
            if candidate != seq and entry_hash(prev, candidate, ts, kind, detail) == stored:
                return candidate
    except (ValueError, TypeError):
        return None
    return None


def clear(conn: Connection) -> int:
    """Delete every event (reset without --keep-audit); returns how many there were."""
    count = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    conn.execute("DELETE FROM audit_events")
    conn.execute("DELETE FROM meta WHERE key = ?", (HEAD_META,))
    return count
