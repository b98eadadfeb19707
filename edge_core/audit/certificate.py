"""Deletion certificates: the audit event that closed a crypto-shred, with the device's signature of it as head.

A certificate adds no signing format of its own. Deleting a person ends with
one ``key_rotated`` event (``reason: "shred"``) that names the identity by its
random id and the keys destroyed with it; the transaction that appends it has
the device key sign the new audit head (:mod:`edge_core.audit.evidence`'s
``faceseal/audit-head/v1`` record), whose ``hash`` is that event's. The
certificate is that event as evidence exports carry it plus that signed head:
recomputing the event's hash from its fields and checking the head's signature
binds every field, and pinning the device key (``--device-key``) says whose.

The person's name is never in the audit log. When whoever deletes asks for it
on the certificate, the event carries only a commitment, SHA-256 of a domain, a
random 32-byte salt and the name; the salt and the name are in the certificate
alone, so nothing FaceSeal keeps afterwards reveals the name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from edge_core.audit.evidence import (
    DevicePin, event_hash, event_record, head_problem, key_fingerprint, public_key_of, read_document,
)
from edge_core.errors import CertificateRefused
from edge_core.support.exports import write_new_file

FORMAT = "faceseal-deletion-certificate/v1"
MAX_FILE = 64 << 10
"""A certificate is about 2 KB; anything far larger is not one, and is refused before it is parsed."""
NAME_DOMAIN = b"faceseal/deletion-name/v1\n"
CONSENT_NAME_DOMAIN = b"faceseal/consent-name/v1\n"
"""The consent event's commitment to the name (:mod:`edge_core.ops.consent`): its own domain, so that a consent's
commitment can never stand for a deletion certificate's, nor the other way round."""
SALT_BYTES = 32
HOW_TO_CHECK = ("faceseal audit verify-certificate THIS.json --device-key FINGERPRINT  (docs/PRIVACY.md gives the "
                "rules; the check needs nothing but this file and the device key's fingerprint)")


def new_salt() -> bytes:
    """The salt of a name commitment: only the certificate keeps it."""
    return os.urandom(SALT_BYTES)


def name_commitment(name: str, salt: bytes, domain: bytes = NAME_DOMAIN) -> str:
    """What the deletion event records when the name is to be on the certificate (or, under
    :data:`CONSENT_NAME_DOMAIN`, the consent event): reveals nothing without the salt."""
    return hashlib.sha256(domain + salt + name.encode("utf-8")).hexdigest()


def build(row: tuple, head: dict[str, Any], name: str | None = None, salt: bytes | None = None) -> dict[str, Any]:
    """The certificate of the deletion event ``row`` (as the database holds it) and the head signed when it was new."""
    event = event_record(row)
    certificate: dict[str, Any] = {
        "format": FORMAT, "identity": event["detail"]["identity"], "deleted_at": event["ts"],
        "keys_destroyed": event["detail"]["keys_destroyed"], "audit_seq": event["seq"], "audit_head": event["hash"],
        "device_id": head["device_id"], "event": event, "signed_head": head, "how_to_check": HOW_TO_CHECK,
    }
    if name is not None and salt is not None:
        certificate.update(name=name, name_salt=salt.hex())
    return certificate


def write(certificate: dict[str, Any], out: Path) -> None:
    """Write ``certificate`` as a new file (never over one), readable JSON."""
    text = json.dumps(certificate, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    write_new_file(out, lambda handle: handle.write(text.encode("utf-8")))


def _read(path: Path) -> dict[str, Any]:
    return read_document(path, MAX_FILE, "deletion certificate", FORMAT, CertificateRefused)[1]


def _problem(certificate: dict[str, Any], pin: DevicePin) -> str | None:
    """Why ``certificate`` must not be believed, or ``None``; the first reason found."""
    head, event = certificate.get("signed_head"), certificate.get("event")
    if not isinstance(head, dict) or not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        return "its event or signed head is missing"
    public_raw = public_key_of(head)
    if public_raw is None:
        return "its signed head carries no Ed25519 public key: it was edited"
    if not pin.matches(public_raw):
        return f"it was signed by the device key {key_fingerprint(public_raw)}, not the expected {pin.shown}"
    signature = head_problem(head, public_raw)
    if signature is not None:
        return signature.replace("signed_head.json", "the certificate")
    recomputed = event_hash(event)
    if recomputed is None or recomputed.hex() != event.get("hash"):
        return "its deletion event was edited (its hash no longer matches its fields)"
    if head.get("seq") != event.get("seq") or head.get("hash") != event.get("hash"):
        return "the signed head is not its deletion event's: the event was swapped"
    detail = event["detail"]
    if event.get("kind") != "key_rotated" or detail.get("reason") != "shred" or "keys_destroyed" not in detail:
        return "its event is not the end of a deletion"
    stated = {"identity": detail.get("identity"), "deleted_at": event.get("ts"),
              "keys_destroyed": detail.get("keys_destroyed"), "audit_seq": event.get("seq"),
              "audit_head": event.get("hash"), "device_id": head.get("device_id")}
    edited = sorted(field for field, value in stated.items() if certificate.get(field) != value)
    if edited:
        return f"its {', '.join(edited)} differ from what the device signed: the certificate was edited"
    return _name_problem(certificate, detail)


def _name_problem(certificate: dict[str, Any], detail: dict[str, Any]) -> str | None:
    if "name" not in certificate and "name_salt" not in certificate:
        return None
    name, salt = certificate.get("name"), certificate.get("name_salt")
    try:
        matches = isinstance(name, str) and name_commitment(name, bytes.fromhex(str(salt))) == detail.get(
            "name_commitment")
    except ValueError:
        matches = False
    return None if matches else "the name on it is not the one the device committed to: the certificate was edited"


def verify(path: Path, pin: DevicePin) -> dict[str, Any]:
    """What a certificate proves, if the pinned device signed it; else :class:`CertificateRefused` says why."""
    certificate = _read(path)
    problem = _problem(certificate, pin)
    if problem is not None:
        raise CertificateRefused(f"{path} is not a valid deletion certificate: {problem}")
    head = certificate["signed_head"]
    return {"identity": certificate["identity"], "deleted_at": certificate["deleted_at"],
            "keys_destroyed": certificate["keys_destroyed"], "audit_seq": certificate["audit_seq"],
            "audit_head": certificate["audit_head"], "device_id": head["device_id"], "signed_at": head["signed_at"],
            "device_key": key_fingerprint(base64.b64decode(head["public_key"])), "name": certificate.get("name")}
