"""Spoof-test reports signed by the device key, and their offline check (``faceseal pad-eval verify``).

A report is kept as evidence ("my camera stopped these attacks on this day,
under these bands"), so it must say who made it and must not change
afterwards. The document is one canonical JSON object (sorted keys, no
insignificant whitespace, ASCII: :func:`edge_core.support.canonical.canonical_json`)
and a newline; its fields are ``format``, ``report_id``, ``made_at``,
``faceseal``, ``pack``, ``source``, ``bands``, ``items``, ``apcer``, ``bpcer``,
``suggested_bands``, ``device_id``, ``public_key``, ``key_fingerprint`` and
``signature``. The signature is Ed25519 by the device key over
``faceseal/pad-report/v1`` and a newline, then the canonical JSON of every
field but ``signature``.

What it is verified against: the public key it carries, whose fingerprint the
check prints, and, with ``--device-key``, the key the verifier pins (the
fingerprint ``faceseal status`` shows (``device_key``) on the device
that made it). A key carried in a file proves only that *some* key signed;
which device that is, only the pin says. Because the file must be exactly its
canonical form, any byte changed, in the body, the signature or the key, fails
the check (a byte that leaves the JSON equal, such as added whitespace, fails
as "not in its canonical form"). The fields the check prints must have the
form FaceSeal writes (:func:`_as_written`), so a report made with any key
cannot put words or terminal escapes into its output.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge_core.audit.evidence import DevicePin, key_fingerprint, public_key_of, read_document
from edge_core.errors import DataError
from edge_core.support.canonical import canonical_json
from edge_core.telemetry.device import PAD_REPORT_DOMAIN, PAD_REPORT_FORMAT, DeviceKey, device_id_for

MAX_FILE = 16 << 20
"""A report of a few hundred items is tens of kilobytes; a far larger file is refused before it is parsed."""


SOURCES = frozenset({"camera", "media"})
"""What a report's ``source`` says: the guided test at a camera, or labelled files (``pad-eval --media``)."""


class ReportRefused(DataError):
    """A spoof-test report that must not be believed: edited, forged, or signed by another key than the pinned one."""


def sign(key: DeviceKey, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with this device's identity and its signature: the document to write."""
    signed = dict(body, format=PAD_REPORT_FORMAT, device_id=key.device_id, public_key=key.public_key_b64,
                  key_fingerprint=key_fingerprint(key.public_key_raw))
    return dict(signed, signature=key.sign_pad_report(signed))


def encode(report: dict[str, Any]) -> bytes:
    """The file's bytes: the canonical JSON and a newline, the only form :func:`verify` accepts."""
    return canonical_json(report) + b"\n"


def _as_written(report: dict[str, Any]) -> bool:
    """Whether the fields ``verify`` prints have the form FaceSeal writes. A report signed by any key verifies
    against the key it carries, so without this its id or time could hold a line break and terminal escapes
    that print, after "valid spoof-test report", a line claiming the pinned key (a person's own device's)."""
    report_id, made_at = report.get("report_id"), report.get("made_at")
    try:
        return (isinstance(report_id, str) and str(uuid.UUID(report_id)) == report_id
                and isinstance(made_at, str) and datetime.fromisoformat(made_at).isoformat(timespec="seconds")
                == made_at and made_at.endswith("+00:00") and report.get("source") in SOURCES)
    except ValueError:
        return False


def _problem(data: bytes, report: dict[str, Any], pin: DevicePin | None) -> str | None:
    """Why the report must not be believed, or ``None``; the first reason found."""
    if encode(report) != data:
        return "it is not in its canonical form (a byte was changed or added after it was signed)"
    if not _as_written(report):
        return "its id, time or source is not one FaceSeal writes"
    public_raw = public_key_of(report)
    if public_raw is None:
        return "it carries no Ed25519 public key"
    if report.get("device_id") != device_id_for(public_raw) or \
            report.get("key_fingerprint") != key_fingerprint(public_raw):
        return "its device id or key fingerprint is not its public key's"
    try:
        signature = base64.b64decode(str(report.get("signature")), validate=True)
        body = {k: v for k, v in report.items() if k != "signature"}
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, PAD_REPORT_DOMAIN + canonical_json(body))
    except (InvalidSignature, ValueError, binascii.Error):
        return "its signature does not verify under the key it carries"
    if pin is not None and not pin.matches(public_raw):
        return f"it was signed by the device key {key_fingerprint(public_raw)}, not the expected {pin.shown}"
    return None


def verify(path: Path, pin: DevicePin | None) -> dict[str, Any]:
    """The report, if its signature holds (and it is the pinned key's); else :class:`ReportRefused` says why."""
    data, report = read_document(path, MAX_FILE, "spoof-test report", PAD_REPORT_FORMAT, ReportRefused)
    problem = _problem(data, report, pin)
    if problem is not None:
        raise ReportRefused(f"{path} is not a valid spoof-test report: {problem}")
    return report
