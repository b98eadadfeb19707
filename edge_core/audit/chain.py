"""The tamper-evident audit log: every event's hash covers the one before it.

    hash_n = SHA-256(hash_{n-1} || canonical JSON {"detail", "kind", "seq", "ts"})

with hash_0 = 32 zero bytes. The head (last seq and hash) is also kept in the
meta table, so removing events from the end is found too. Events never hold a
secret, an embedding or a person's name: identities appear by their random id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from edge_core.support.canonical import canonical_json
from edge_core.support.database import Connection, get_meta, set_meta

GENESIS = b"\0" * 32


def entry_hash(prev: bytes, seq: int, ts: str, kind: str, detail: str) -> bytes:
    """The hash of one event: SHA-256 of the previous hash and the event's canonical JSON."""
    body = {"detail": json.loads(detail), "kind": kind, "seq": seq, "ts": ts}
    return hashlib.sha256(prev + canonical_json(body)).digest()


def append(conn: Connection, kind: str, **detail: Any) -> int:
    """Append one event; call inside the transaction that did what the event records."""
    row = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row[0] + 1, bytes(row[1])) if row else (1, GENESIS)
    ts = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    body = canonical_json(detail).decode("ascii")
    digest = entry_hash(prev, seq, ts, kind, body)
    conn.execute(
        "INSERT INTO audit_events(seq, ts, kind, detail, prev_hash, hash) VALUES (?,?,?,?,?,?)",
        (seq, ts, kind, body, prev, digest),
    )
    set_meta(conn, "audit_head", f"{seq}:{digest.hex()}")
    return seq


@dataclass
class Event:
    seq: int
    ts: str
    kind: str
    detail: dict[str, Any]


def events(conn: Connection) -> list[Event]:
    rows = conn.execute("SELECT seq, ts, kind, detail FROM audit_events ORDER BY seq").fetchall()
    return [Event(seq, ts, kind, json.loads(detail)) for seq, ts, kind, detail in rows]


def verify(conn: Connection) -> list[str]:
    """Every problem in the chain, each naming the event; an empty list means intact."""
    problems: list[str] = []
    prev_hash, expected_seq = GENESIS, 1
    rows = conn.execute("SELECT seq, ts, kind, detail, prev_hash, hash FROM audit_events ORDER BY seq").fetchall()
    for seq, ts, kind, detail, stored_prev, stored_hash in rows:
        stored_prev, stored_hash = bytes(stored_prev), bytes(stored_hash)
        if seq != expected_seq:
            problems.append(f"events {expected_seq}..{seq - 1} were removed")
        try:
            recomputed = entry_hash(stored_prev, seq, ts, kind, detail)
        except ValueError:
            recomputed = b""
        if recomputed != stored_hash:
            moved_from = _original_position(stored_prev, seq, ts, kind, detail, stored_hash)
            if moved_from is None:
                problems.append(f"event {seq} ({kind}) was edited, or inserted")
            else:
                problems.append(f"event {seq} ({kind}) was event {moved_from}: events were "
                                f"{'inserted' if moved_from < seq else 'removed'} before it")
        elif stored_prev != prev_hash:
            problems.append(f"event {seq} ({kind}) does not follow event {seq - 1}: an event was inserted or removed before it")
        prev_hash, expected_seq = stored_hash, seq + 1
    head = get_meta(conn, "audit_head")
    if head:
        head_seq, head_hash = head.split(":")
        if int(head_seq) != expected_seq - 1 or (rows and head_hash != prev_hash.hex()):
            problems.append(f"the log ends at event {expected_seq - 1} but its head says {head_seq}: events were removed from the end or inserted after it")
    return problems


def _original_position(prev: bytes, seq: int, ts: str, kind: str, detail: str, stored: bytes) -> int | None:
    """Where an intact event stood before the log was renumbered around it, if nearby."""
    for candidate in range(max(1, seq - 16), seq + 17):
        if candidate != seq and entry_hash(prev, candidate, ts, kind, detail) == stored:
            return candidate
    return None


def clear(conn: Connection) -> int:
    """Delete every event (reset without --keep-audit); returns how many there were."""
    count = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    conn.execute("DELETE FROM audit_events")
    conn.execute("DELETE FROM meta WHERE key = 'audit_head'")
    return count
