"""A person's rights over what FaceSeal holds: proof of erasure (deletion certificates) and a report of the record.

Deleting (``identities.delete_identity``) may ask for a certificate
(:class:`CertificateRequest`): it is built here from the deletion's last audit
event and the head the device signed in that event's transaction
(:mod:`edge_core.audit.certificate`), checked offline by
:func:`verify_certificate`. :func:`subject_report` is "what do you hold about
me?": the record, the dates and the audit events naming the person, with a
whitelist of their facts so that no score and no template byte can slip in.
Reading it needs no proof of presence (it loosens nothing, destroys nothing)
but is audited: who asked (the front end and the user id), when, never what.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from edge_core.audit import certificate, chain, evidence
from edge_core.ops import consent as consents
from edge_core.errors import FaceSealError, UnknownIdentity, UsageError
from edge_core.ops.results import CertificateCheck, Deletion, KeptCertificate, SubjectEvent, SubjectReport
from edge_core.support.exports import check_new_file, write_new_file
from edge_core.vault.store import Vault

AskedBy = Literal["cli", "window", "api"]
ReportForm = Literal["json", "markdown"]
FACTS = frozenset({"match", "outcome", "live", "liveness", "source", "service", "services", "audience", "reason",
                   "samples", "added", "dropped", "pack", "failures", "seconds", "templates", "asked_by", "cause",
                   "text_version", "text_sha256", "purpose", "retention_days", "expires_at", "renewed"})
"""The facts of an audit event a report shows; a score, a risk, a threshold or a key id never."""
ATTEMPTS = {"verification": "verifications", "identification": "identifications", "signin": "sign_ins",
            "app_assertion": "app_assertions", "verification_locked_out": "lockouts"}
NOT_INCLUDED = ("the face templates themselves (sealed; never exported) and every match score: neither can be "
                "read from this report")


@dataclass(frozen=True)
class CertificateRequest:
    """A deletion certificate asked for with a deletion: written to ``out`` (a new file) or else returned in the
    answer; ``with_name`` puts the person's name on it (otherwise only their random id)."""

    out: Path | None = None
    with_name: bool = False


def prepare(request: CertificateRequest | None) -> bytes | None:
    """Before the deletion: refuse a destination no file can be written to; the name's salt when it is asked for."""
    if request is None:
        return None
    if request.out is not None:
        check_new_file(Path(request.out))
    return certificate.new_salt() if request.with_name else None


def certify(vault: Vault, deletion: Deletion, seq: int, head: dict[str, Any] | None, request: CertificateRequest,
            salt: bytes | None) -> Deletion:
    """The deletion's answer with its certificate (event ``seq``, ``head`` the device signed when it was new)."""
    made = _build(vault, deletion, seq, head, salt)
    if request.out is None:
        return dataclasses.replace(deletion, certificate=made)
    try:
        certificate.write(made, Path(request.out))
    except FaceSealError as error:
        raise type(error)(f"{deletion.name} was deleted, but the certificate was not written: {error}") from None
    except OSError as error:
        raise UsageError(f"{deletion.name} was deleted, but the certificate was not written: {error.strerror}") \
            from None
    return dataclasses.replace(deletion, certificate_file=str(request.out))


def _build(vault: Vault, deletion: Deletion, seq: int, head: dict[str, Any] | None,
           salt: bytes | None = None) -> dict[str, Any]:
    row = vault.conn.execute("SELECT seq, ts, kind, detail, prev_hash, hash FROM audit_events WHERE seq = ?",
                             (seq,)).fetchone()
    if row is None or head is None or head.get("seq") != seq:
        raise FaceSealError(f"{deletion.name} was deleted, but the audit head of the deletion was not signed, so no "
                            "certificate can be made")
    return certificate.build(row, head, deletion.name if salt else None, salt)


def keep(vault: Vault, deletion: Deletion, seq: int, head: dict[str, Any] | None) -> str:
    """Keep the certificate of a deletion nobody was there to ask for (a retention's) in the encrypted database,
    by the identity's id (never the name), until someone saves it (:func:`kept_certificate`). Returns that id."""
    made = _build(vault, deletion, seq, head)
    with vault.writing() as tx:
        tx.execute("INSERT OR REPLACE INTO retention_certificates(identity_id, deleted_at, certificate) "
                   "VALUES (?,?,?)", (made["identity"], made["deleted_at"], json.dumps(made, sort_keys=True)))
    return str(made["identity"])


def kept_certificate(vault: Vault, identity: str, out: Path) -> KeptCertificate:
    """Save the certificate kept for ``identity`` (a random id: a retention deletion names no one) to ``out``, a new
    file, checkable offline like any other (``faceseal audit verify-certificate``)."""
    row = vault.conn.execute("SELECT deleted_at, certificate FROM retention_certificates WHERE identity_id = ?",
                             (identity,)).fetchone()
    if row is None:
        raise UnknownIdentity(f"no deletion certificate is kept for the identity id '{identity}' (only deletions by "
                              "retention keep theirs; 'faceseal audit list' shows them as identity_shredded with "
                              "cause retention)")
    check_new_file(Path(out))
    certificate.write(json.loads(row[1]), Path(out))
    return KeptCertificate(identity, row[0], str(out))


def verify_certificate(path: Path, device_key: str) -> CertificateCheck:
    """Check a deletion certificate offline (no vault, nothing but the file) against the pinned device key (a
    fingerprint, a device id or a public key file); :class:`CertificateRefused` says why one must not be believed."""
    return CertificateCheck(**certificate.verify(Path(path), evidence.parse_device_key(device_key)))


def _names(detail: dict[str, Any], identity: str) -> bool:
    named = detail.get("identities")
    return detail.get("identity") == identity or (isinstance(named, list) and identity in named)


def _consent(vault: Vault, name: str) -> dict[str, Any] | None:
    """The person's consent as recorded, with the salt that opens the consent event's commitment to their name."""
    found = consents.record(vault, name)
    return None if found is None else {k: v for k, v in found.as_dict().items() if k not in ("name", "identity")}


def subject_report(vault: Vault, name: str, asked_by: AskedBy, out: Path | None = None,
                   form: ReportForm = "json") -> SubjectReport:
    """What FaceSeal holds about ``name``, written to ``out`` (a new file, ``form``) when given; the request is
    audited (``subject_report``: who asked and when, never the contents)."""
    identity = vault.identity_id(name)
    if out is not None:
        check_new_file(Path(out))
    row = vault.conn.execute("SELECT created_at FROM identities WHERE id = ?", (identity,)).fetchone()
    samples = vault.conn.execute("SELECT created_at, pack FROM templates WHERE identity_id = ? ORDER BY created_at",
                                 (identity,)).fetchall()
    found = [e for e in chain.events(vault.conn) if _names(e.detail, identity)]
    attempts = {label: sum(e.kind == kind for e in found) for kind, label in ATTEMPTS.items()}
    events = [SubjectEvent(e.seq, e.ts, e.kind, {k: v for k, v in e.detail.items() if k in FACTS}) for e in found]
    with vault.writing() as tx:
        chain.append(tx, "subject_report", identity=identity, asked_by=asked_by, uid=os.getuid())
    report = SubjectReport(name, identity, row[0], samples[0][1] if samples else "", len(samples),
                           [created for created, _pack in samples], _consent(vault, name), attempts, events,
                           datetime.now(timezone.utc).isoformat(timespec="seconds"), NOT_INCLUDED)
    if out is None:
        return report
    text = json.dumps(report.as_dict(), indent=1, ensure_ascii=False) + "\n" if form == "json" else report.as_markdown()
    write_new_file(Path(out), lambda handle: handle.write(text.encode("utf-8")))
    return dataclasses.replace(report, file=str(out))
