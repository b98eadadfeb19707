"""The audit log as a person reads it: the events, the chain check, signed evidence and presence assertions, and
their offline checks."""

from __future__ import annotations

import time
from pathlib import Path

from edge_core.audit import assertion, chain, evidence
from edge_core.errors import AuditTampered, UsageError
from edge_core.ops.results import AssertionCheck, AuditCheck, AuditEntry, EvidenceCheck, EvidenceExport
from edge_core.vault import device
from edge_core.vault.store import Vault


def audit_list(vault: Vault) -> list[AuditEntry]:
    """Every event, oldest first; an identity id is named while that person is still enrolled.

    An event FaceSeal cannot have written (say, a detail that is not JSON) is
    refused in one line (AuditTampered) rather than shown half-read.
    """
    names = vault.identity_names()
    return [AuditEntry(e.seq, e.ts, e.kind, e.detail, names.get(str(e.detail.get("identity"))))
            for e in chain.events(vault.conn)]


def _problems(vault: Vault) -> list[str]:
    """The chain recomputed, its signed head checked against the last event and the device key, and the folder
    against the newest state this machine saw (:mod:`edge_core.ops.rollback`)."""
    older = [vault.rolled_back] if vault.rolled_back else []
    return chain.verify(vault.conn) + device.head_problems(vault) + older


def audit_verify(vault: Vault) -> AuditCheck:
    """Recompute the chain and check its signed head; every problem names the event it concerns."""
    problems = _problems(vault)
    count = chain.count(vault.conn)
    return AuditCheck("tampered", count, problems) if problems else AuditCheck("intact", count)


def audit_export(vault: Vault, out: Path) -> EvidenceExport:
    """Write signed evidence (events, the head signed now by the device key, its public key) as a new zip.

    A log that does not verify is never signed anew: nothing is written, and
    ``audit verify`` names the problems.
    """
    if chain.count(vault.conn) == 0:
        raise UsageError("the audit log is empty; there is nothing to export")
    problems = _problems(vault)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise AuditTampered(f"the audit log does not verify: {problems[0]}{more}; no evidence was written, "
                            f"{chain.VERIFY_HINT}")
    head = device.sign_audit_head(vault)
    if head is None:
        raise AuditTampered(f"the audit head could not be signed; no evidence was written, {chain.VERIFY_HINT}")
    rows = vault.conn.execute("SELECT seq, ts, kind, detail, prev_hash, hash FROM audit_events ORDER BY seq").fetchall()
    count = evidence.write_evidence(Path(out), rows, head)
    return EvidenceExport(str(out), count, head["seq"], head["device_id"], device.fingerprint(vault))


def verify_evidence(path: Path, device_key: str | None = None) -> EvidenceCheck:
    """Check an evidence zip offline: no vault, no key, nothing but the file.

    ``device_key`` (a fingerprint, a device id or a public key file) pins the
    key the evidence must be signed with; the answer always names the key it
    was checked against.
    """
    expected = evidence.parse_device_key(device_key) if device_key is not None else None
    return EvidenceCheck(**evidence.verify_evidence(Path(path), expected))


def verify_assertion(token: str, audience: str, nonce: str, device_key: str, at: float | None = None) -> AssertionCheck:
    """Check an app's presence assertion offline against the pinned device key (a fingerprint, a device id or a
    public key file), for this app and this request's nonce, at ``at`` (default now): :class:`AssertionRefused`
    says why it must not be believed."""
    claims = assertion.verify(token.strip(), evidence.parse_device_key(device_key), assertion.check_audience(audience),
                              assertion.check_nonce(nonce), time.time() if at is None else at)
    return AssertionCheck(claims["sub"], claims["aud"], claims["iss"], claims["iat"], claims["exp"], claims["liveness"])
