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
needs nothing but that file: it recomputes every hash, checks the signature,
checks that the head's ``device_id`` is the one derived from its public key,
and names each edited, removed, duplicated or reordered event. A signature
proves only that *some* key signed; which device that is, the verifier learns
by pinning the key (:func:`parse_device_key`, ``--device-key``): its
fingerprint (:func:`key_fingerprint`) is shown by ``faceseal status`` and
``audit export``, and every check names the key it verified against. The zip
is read with limits (:data:`MAX_MEMBERS`, :data:`MEMBER_LIMITS`,
:data:`MAX_TOTAL`): a zip bomb is refused before it is expanded; the file
itself must be a regular file of at most :data:`MAX_FILE` bytes (a FIFO or
``/dev/zero`` is refused before a byte is read, see :mod:`edge_core.support.inputs`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge_core.audit.chain import GENESIS, entry_hash
from edge_core.errors import EvidenceInvalid, EvidenceTooLarge, UsageError
from edge_core.support.canonical import canonical_json
from edge_core.support.exports import write_new_file
from edge_core.support.inputs import open_regular, read_regular
from edge_core.telemetry.device import AUDIT_HEAD_FIELDS, DeviceKey, audit_head_message, device_id_for

SIGNATURE_META = "audit_head_signature"
HEAD_FORMAT = "faceseal-audit-head/v1"
MEMBERS = ("events.jsonl", "signed_head.json", "public_key.pem", "README.md")
FINGERPRINT_PREFIX = "sha256:"
#: What the verifier reads from a zip at most; an export holds 4 members, the log a few hundred bytes per event.
MAX_MEMBERS = 16
MEMBER_LIMITS = {"events.jsonl": 128 << 20, "signed_head.json": 64 << 10, "public_key.pem": 64 << 10}
MAX_TOTAL = sum(MEMBER_LIMITS.values())
MAX_FILE = MAX_TOTAL + (1 << 20)
"""The largest evidence file read at all: its members stored, plus room for the zip's own records."""
KEY_FILE_LIMIT = 64 << 10


def key_fingerprint(public_raw: bytes) -> str:
    """The device key's fingerprint as people note it: ``sha256:`` and the SHA-256 of the raw public key in hex."""
    return FINGERPRINT_PREFIX + hashlib.sha256(public_raw).hexdigest()


@dataclass(frozen=True)
class DevicePin:
    """The device key a verifier expects: by fingerprint, or by device id (both derived from the public key)."""

    fingerprint: str | None = None
    device_id: str | None = None

    @property
    def shown(self) -> str:
        return self.fingerprint or str(self.device_id)

    def matches(self, public_raw: bytes) -> bool:
        if self.fingerprint is not None:
            return key_fingerprint(public_raw) == self.fingerprint
        return device_id_for(public_raw) == self.device_id


_HEX64 = re.compile(r"^[0-9a-f]{64}$")
PIN_HELP = ("the expected device key must be its fingerprint (sha256: and 64 hex digits, as 'faceseal status' "
            "shows it), its device id, or a file holding its public key (public_key.pem)")


def _pin_from_text(text: str) -> DevicePin | None:
    text = text.strip()
    compact = text.lower().replace(":", "").replace(" ", "")
    if compact.startswith("sha256"):
        compact = compact[len("sha256"):]
    if _HEX64.match(compact):
        return DevicePin(fingerprint=FINGERPRINT_PREFIX + compact)
    try:
        return DevicePin(device_id=str(uuid.UUID(text)))
    except ValueError:
        pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return DevicePin(fingerprint=key_fingerprint(raw)) if len(raw) == 32 else None


def parse_device_key(spec: str) -> DevicePin:
    """``--device-key``: a fingerprint, a device id, or a file with the public key (PEM, or its raw base64)."""
    file = Path(spec)
    try:
        is_file = file.is_file()
    except OSError:
        is_file = False
    if is_file:
        data = read_regular(file, KEY_FILE_LIMIT, UsageError, "a public key")  # no FIFO swapped in since is_file
        if b"-----BEGIN" in data:
            try:
                public = serialization.load_pem_public_key(data)
            except (ValueError, TypeError):
                public = None
            if not isinstance(public, Ed25519PublicKey):
                raise UsageError(f"{file} does not hold an Ed25519 public key; {PIN_HELP}")
            return DevicePin(fingerprint=key_fingerprint(
                public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)))
        try:
            pin = _pin_from_text(data.decode("ascii"))
        except UnicodeDecodeError:
            pin = None
        if pin is None:
            raise UsageError(f"{file} holds no device key; {PIN_HELP}")
        return pin
    pin = _pin_from_text(spec)
    if pin is None:
        raise UsageError(f"{spec[:80]!r} is not a device key and no such file exists; {PIN_HELP}")
    return pin

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

Check it offline with:  faceseal audit verify --evidence THIS.zip --device-key FINGERPRINT
(FINGERPRINT: "sha256:" + SHA-256 of the raw 32-byte public key in hex, as 'faceseal status'
shows it on the device; device_id must be the first 16 bytes of that hash as a UUID.)
Anyone can re-implement the check from these rules alone.
"""


def public_key_of(document: dict[str, Any]) -> bytes | None:
    """The raw Ed25519 public key a signed document carries in ``public_key`` (base64), or None if it is not one."""
    try:
        raw = base64.b64decode(document["public_key"], validate=True)
    except (TypeError, KeyError, ValueError, binascii.Error):
        return None
    return raw if len(raw) == 32 else None


def read_document(path: Path, limit: int, what: str, form: str,
                  refused: type[Exception]) -> tuple[bytes, dict[str, Any]]:
    """A signed JSON document FaceSeal wrote (a deletion certificate, a spoof-test report): its bytes and what they
    say, once it is a regular file of at most ``limit`` bytes, strict JSON (no repeated key) and of ``form``;
    else ``refused`` names ``path`` as not being a FaceSeal ``what``. Its signature is the caller's to check."""
    from edge_core.support import strictjson

    data = read_regular(path, limit, UsageError, f"a {what}")
    try:
        document = strictjson.loads(data)
    except strictjson.NotStrictJson:
        document = None
    if not isinstance(document, dict) or document.get("format") != form:
        raise refused(f"{path} is not a FaceSeal {what}")
    return data, document


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


def event_record(row: tuple) -> dict[str, Any]:
    """One audit event row ``(seq, ts, kind, detail, prev_hash, hash)`` as evidence and certificates carry it."""
    seq, ts, kind, detail, prev, digest = row
    return {"seq": seq, "ts": ts, "kind": kind, "detail": json.loads(detail),
            "prev_hash": bytes(prev).hex(), "hash": bytes(digest).hex()}


def write_evidence(out: Path, rows: list[tuple], head: dict[str, Any]) -> int:
    """Write the evidence zip of the chain ``rows`` and its signed ``head`` to ``out`` (a new file); event count."""
    lines = [json.dumps(event_record(row), sort_keys=True) for row in rows]
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


def _too_large(path: Path, what: str) -> EvidenceTooLarge:
    return EvidenceTooLarge(f"{path} is too large to be FaceSeal audit evidence ({what}); it was not read")


def _member(archive: zipfile.ZipFile, path: Path, name: str) -> bytes:
    """One member, read with its limit: the declared size is checked first, then never more is read."""
    limit = MEMBER_LIMITS[name]
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise _too_large(path, f"{name} expands to more than {limit} bytes")
    with archive.open(info) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise _too_large(path, f"{name} expands to more than {limit} bytes")
    return data


def _read(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any], bytes]:
    try:
        with open_regular(path, MAX_FILE, UsageError, "FaceSeal audit evidence") as handle, \
                zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise _too_large(path, f"too many members: {len(infos)}, an export holds {len(MEMBERS)}")
            names = {info.filename for info in infos}
            missing = [m for m in MEMBERS[:3] if m not in names]
            if missing:
                raise EvidenceInvalid(f"{path} is not FaceSeal audit evidence: {', '.join(missing)} missing")
            declared = sum(archive.getinfo(name).file_size for name in MEMBERS[:3])
            if declared > MAX_TOTAL:
                raise _too_large(path, f"its members expand to more than {MAX_TOTAL} bytes")
            text = _member(archive, path, "events.jsonl").decode("utf-8")
            head = json.loads(_member(archive, path, "signed_head.json"))
            pem = _member(archive, path, "public_key.pem")
        events = [json.loads(line) for line in text.splitlines() if line.strip()]
        for event in events:
            if not isinstance(event, dict) or not isinstance(event.get("seq"), int):
                raise ValueError("event")
        if not isinstance(head, dict):
            raise ValueError("head")
        return events, head, pem
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, UnicodeDecodeError, KeyError, EOFError,
            NotImplementedError, RuntimeError, OSError):
        # RuntimeError: an encrypted member; NotImplementedError: a compression FaceSeal never writes.
        raise EvidenceInvalid(f"{path} is damaged or not FaceSeal audit evidence") from None


def head_problem(head: dict[str, Any], public_raw: bytes) -> str | None:
    """What is wrong with a signed head record under the public key ``public_raw``, or ``None``.

    The record must name that key, carry the device id derived from it (as the
    telemetry collector derives it: anyone can re-sign with a fresh key, nobody
    can keep another device's id) and its signature must verify.
    """
    if not isinstance(head, dict) or head.get("format") != HEAD_FORMAT:
        return "the signed head is not a FaceSeal audit head: it was edited"
    if head.get("public_key") != base64.b64encode(public_raw).decode("ascii"):
        return "the signed head names another public key than the one given with it"
    if head.get("device_id") != device_id_for(public_raw):
        return (f"the signed head's device id {str(head.get('device_id'))[:40]} is not the one of its public key "
                f"({device_id_for(public_raw)}): the head was signed by another key under this device's id")
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            base64.b64decode(head["signature"], validate=True), audit_head_message(head))
    except (InvalidSignature, ValueError, KeyError, TypeError, binascii.Error):
        return "the signed head does not verify: signed_head.json or the public key was edited"
    return None


def _public_raw(pem: bytes) -> bytes | None:
    try:
        public = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        return None
    if not isinstance(public, Ed25519PublicKey):
        return None
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def event_hash(event: dict[str, Any]) -> bytes | None:
    """The hash an exported event must carry, recomputed from its fields; ``None`` if they cannot be read."""
    try:
        detail = canonical_json(event["detail"]).decode("ascii")
        return entry_hash(bytes.fromhex(event["prev_hash"]), event["seq"], event["ts"], event["kind"], detail)
    except (KeyError, ValueError, TypeError):
        return None


def verify_evidence(path: Path, expected: DevicePin | None = None) -> dict[str, Any]:
    """Check an evidence zip offline; every problem names the event (by its number) it concerns.

    ``expected`` pins the device key: evidence signed by any other key is
    tampered, whatever it says about itself. ``device_key`` in the answer is the
    fingerprint of the key the signature was checked against.
    """
    events, head, pem = _read(path)
    problems: list[str] = []
    public_raw = _public_raw(pem)
    fingerprint = key_fingerprint(public_raw) if public_raw is not None else None
    if public_raw is None:
        problems.append("public_key.pem is not an Ed25519 public key")
    else:
        signature = head_problem(head, public_raw)
        if signature:
            problems.append(signature)
    if expected is not None and (public_raw is None or not expected.matches(public_raw)):
        problems.append(f"the evidence is signed by the device key {fingerprint}, not the expected {expected.shown}")
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
        recomputed = event_hash(event)
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
            "device_id": head.get("device_id"), "signed_at": head.get("signed_at"), "problems": problems,
            "device_key": fingerprint, "device_key_pinned": expected is not None}
