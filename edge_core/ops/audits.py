"""The audit log as a person reads it: the events, the chain check, signed evidence and its offline check."""

from __future__ import annotations

from pathlib import Path

from edge_core.audit import chain, evidence
from edge_core.errors import UsageError
from edge_core.ops.results import AuditCheck, AuditEntry, EvidenceCheck, EvidenceExport
from edge_core.vault import device
from edge_core.vault.store import Vault


def audit_list(vault: Vault) -> list[AuditEntry]:
    """Every event, oldest first; an identity id is named while that person is still enrolled."""
    names = vault.identity_names()
    return [AuditEntry(e.seq, e.ts, e.kind, e.detail, names.get(str(e.detail.get("identity"))))
            for e in chain.events(vault.conn)]


def audit_verify(vault: Vault) -> AuditCheck:
    """Recompute the chain; every problem names the event it concerns."""
    problems = chain.verify(vault.conn)
    count = len(chain.events(vault.conn))
    return AuditCheck("tampered", count, problems) if problems else AuditCheck("intact", count)


def audit_export(vault: Vault, out: Path) -> EvidenceExport:
    """Write signed evidence (events, the head signed now by the device key, its public key) as a new zip."""
    head = device.sign_audit_head(vault)
    if head is None:
        raise UsageError("the audit log is empty; there is nothing to export")
    rows = vault.conn.execute("SELECT seq, ts, kind, detail, prev_hash, hash FROM audit_events ORDER BY seq").fetchall()
    count = evidence.write_evidence(Path(out), rows, head)
    return EvidenceExport(str(out), count, head["seq"], head["device_id"])


def verify_evidence(path: Path) -> EvidenceCheck:
    """Check an evidence zip offline: no vault, no key, nothing but the file."""
    return EvidenceCheck(**evidence.verify_evidence(Path(path)))
