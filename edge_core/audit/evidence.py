"""Audit evidence: the chain head signed by the device key, and an archive anyone can check offline.

After every write that moves the audit head, the vault signs it with the
installation's Ed25519 device key (:func:`signed_head`; the key that signs
telemetry, through ``DeviceKey.sign_audit_head``, whose message starts with
``faceseal/audit-head/v1`` and a newline, which no telemetry envelope can, so
the two uses can never be confused). The last signature is kept in the
database's ``meta`` table under :data:`SIGNATURE_META`.

``faceseal audit export`` writes a zip: ``events.jsonl`` (one event per line,
in order, with its hashes), ``signed_head.json``, ``public_key.pem`` and a
``README.md``; docs/SOVEREIGNTY.md gives the format. :func:`verify_evidence`
needs nothing but that file: it recomputes every hash, checks the signature
and names each edited, removed, duplicated or reordered event.
"""

from __future__ import annotations

import base64
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge_core.audit.chain import GENESIS, entry_hash
from edge_core.errors import EvidenceInvalid, UsageError
from edge_core.support.canonical import canonical_json
from edge_core.support.exports import write_new_file
from edge_core.telemetry.device import AUDIT_HEAD_FIELDS, DeviceKey, audit_head_message

SIGNATURE_META = "audit_head_signature"
HEAD_FORMAT = "faceseal-audit-head/v1"
MEMBERS = ("events.jsonl", "signed_head.json", "public_key.pem", "README.md")

README = """FaceSeal audit evidence
=======================

events.jsonl      one audit event per line, oldest first:
                  {"seq", "ts", "kind", "detail", "prev_hash", "hash"} (hashes in hex)
                  hash = SHA-256(prev_hash || canonical JSON {"detail","kind","seq","ts"})
                  (sorted keys, separators "," and ":"), prev_hash of event 1 = 32 zero bytes.
signed_head.json  {"format", "seq", "hash", "signed_at", "device_id", "public_key", "signature"}:
                  Ed25519 signature (base64) over
                  b"faceseal/audit-head/v1\\n" + canonical JSON {"device_id","hash","seq","signed_at"}
public_key.pem    the device's Ed25519 public key (the same as public_key in signed_head.json)

Check it offline with:  faceseal audit verify --evidence THIS.zip
Anyone can re-implement the check from these rules alone.
"""


def signed_head(key: DeviceKey, head: str) -> dict[str, Any]:
    """The signed record of the chain head ``"seq:hash"`` (as kept in ``meta``), signed now by ``key``."""
    seq, digest = head.split(":")
    record: dict[str, Any] = {
        "format": HEAD_FORMAT, "seq": int(seq), "hash": digest,
        "signed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device_id": key.device_id, "public_key": key.public_key_b64,
    }
    record["signature"] = key.sign_audit_head({k: record[k] for k in AUDIT_HEAD_FIELDS})
    return record


def write_evidence(out: Path, rows: list[tuple], head: dict[str, Any]) -> int:
    """Write the evidence zip of the chain ``rows`` and its signed ``head`` to ``out`` (a new file); event count."""
    lines = [json.dumps({"seq": seq, "ts": ts, "kind": kind, "detail": json.loads(detail),
                         "prev_hash": bytes(prev).hex(), "hash": bytes(digest).hex()}, sort_keys=True)
             for seq, ts, kind, detail, prev, digest in rows]
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(head["public_key"]))
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def fill(handle: Any) -> None:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("events.jsonl", "".join(line + "\n" for line in lines))
            archive.writestr("signed_head.json", json.dumps(head, indent=1, sort_keys=True) + "\n")
            archive.writestr("public_key.pem", pem)
            archive.writestr("README.md", README)

    write_new_file(out, fill)
    return len(lines)


def _read(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any], bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [m for m in MEMBERS[:3] if m not in names]
            if missing:
                raise EvidenceInvalid(f"{path} is not FaceSeal audit evidence: {', '.join(missing)} missing")
            text = archive.read("events.jsonl").decode("utf-8")
            head = json.loads(archive.read("signed_head.json"))
            pem = archive.read("public_key.pem")
        events = [json.loads(line) for line in text.splitlines() if line.strip()]
        for event in events:
            if not isinstance(event, dict) or not isinstance(event.get("seq"), int):
                raise ValueError("event")
        return events, head, pem
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, ValueError, UnicodeDecodeError, KeyError):
        raise EvidenceInvalid(f"{path} is damaged or not FaceSeal audit evidence") from None


def _signature_problem(head: dict[str, Any], pem: bytes) -> str | None:
    try:
        public = serialization.load_pem_public_key(pem)
        if not isinstance(public, Ed25519PublicKey):
            return "public_key.pem is not an Ed25519 key"
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if base64.b64encode(raw).decode() != head.get("public_key"):
            return "public_key.pem and signed_head.json name different keys"
        public.verify(base64.b64decode(head["signature"], validate=True), audit_head_message(head))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return "the signed head does not verify: signed_head.json or the public key was edited"
    return None


def _event_hash(event: dict[str, Any]) -> bytes | None:
    try:
        detail = canonical_json(event["detail"]).decode("ascii")
        return entry_hash(bytes.fromhex(event["prev_hash"]), event["seq"], event["ts"], event["kind"], detail)
    except (KeyError, ValueError, TypeError):
        return None


def verify_evidence(path: Path) -> dict[str, Any]:
    """Check an evidence zip offline; every problem names the event (by its number) it concerns."""
    events, head, pem = _read(path)
    problems: list[str] = []
    signature = _signature_problem(head, pem)
    if signature:
        problems.append(signature)
    by_seq: dict[int, dict[str, Any]] = {}
    edited: set[int] = set()
    highest = 0
    for line_no, event in enumerate(events, 1):
        seq, kind = event["seq"], event.get("kind", "?")
        if seq in by_seq:
            problems.append(f"event {seq} ({kind}) appears twice (line {line_no})")
            continue
        by_seq[seq] = event
        if seq < highest:
            problems.append(f"event {seq} ({kind}) is out of order: line {line_no} comes after event {highest}")
        highest = max(highest, seq)
        recomputed = _event_hash(event)
        if recomputed is None or recomputed.hex() != event.get("hash"):
            problems.append(f"event {seq} ({kind}) was edited")
            edited.add(seq)
    expected_prev = GENESIS.hex()
    for seq in sorted(by_seq):
        event = by_seq[seq]
        before = seq - 1
        if before >= 1 and before not in by_seq:
            first_gap = max([s for s in by_seq if s < seq], default=0) + 1
            problems.append(f"events {first_gap}..{before} were removed")
        elif seq not in edited and event.get("prev_hash") != expected_prev and before not in edited:
            problems.append(f"event {seq} ({event.get('kind')}) does not follow event {before}: the chain was rewritten")
        expected_prev = event.get("hash", "")
    last = max(by_seq, default=0)
    head_seq = head.get("seq")
    if isinstance(head_seq, int) and head_seq > last:
        problems.append(f"events {last + 1}..{head_seq} were removed from the end (the signed head is event {head_seq})")
    elif isinstance(head_seq, int) and head_seq < last:
        problems.append(f"events {head_seq + 1}..{last} were added after the signed head")
    elif last and by_seq[last].get("hash") != head.get("hash"):
        problems.append(f"event {last} does not match the signed head: the log was rewritten")
    return {"status": "tampered" if problems else "intact", "events": len(events), "head_seq": head_seq,
            "device_id": head.get("device_id"), "signed_at": head.get("signed_at"), "problems": problems}
