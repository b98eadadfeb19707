"""Consent to be enrolled, and the retention fixed into it (issue 30 item 2; docs/PRIVACY.md).

The rules, decided here once for the CLI, the window and the admin API:

* enrolling someone new, or adding samples to someone whose consent was never
  recorded (enrolled before FaceSeal recorded consent), needs their consent to
  the terms in force: the consent text shipped in ``resources/consent`` (its
  newest version) and the retention the policy sets now. A front end shows
  :func:`terms` and hands them back as accepted; terms other than those in
  force (a newer text, another retention) are refused, to be shown again.
  Adding samples to someone who consented asks nothing again.
* the retention is fixed into the record at consent: changing the policy later
  neither shortens nor extends a consent already given. Consenting again
  (:func:`renew`) replaces the record with the terms in force then, the
  retention counted from that day, audited like the first.
* the record lives in the encrypted database (table ``consents``), written in
  the enrolment's own transaction, never in a file of the data folder. Its audit
  event ``consent_recorded`` (signed with the head, like every write) holds the
  identity's random id, the text's version and sha256, the purpose and the
  retention's end, and a salted commitment to the name; the salt is kept in the
  record only, which goes with the person.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from edge_core.audit import certificate
from edge_core.audit import chain as audit
from edge_core.errors import ConsentRequired, FaceSealError, PolicyViolation
from edge_core.ops.presence import needs_presence
from edge_core.ops.results import ConsentRecord, ConsentTerms
from edge_core.policy import rules as policy
from edge_core.support.database import Connection
from edge_core.vault.store import Vault, canonical_name

TEXTS = Path(getattr(sys, "_MEIPASS", None) or Path(__file__).resolve().parents[2]) / "resources" / "consent"
"""The consent texts, one file per version (``v1.txt``, ``v2.txt``, …): the newest is in force; older ones stay,
so that what someone consented to can still be read by its version and sha256."""
_VERSION = re.compile(r"v([1-9][0-9]*)\.txt")
_PURPOSE = "Purpose: "


def _now() -> datetime:
    return datetime.now(timezone.utc)


@lru_cache(maxsize=1)
def _text() -> tuple[int, str, str, str]:
    """The consent text in force: (version, sha256 of its bytes, purpose, text)."""
    versions = {int(m.group(1)): path for path in TEXTS.glob("v*.txt") if (m := _VERSION.fullmatch(path.name))}
    if not versions:
        raise FaceSealError(f"the consent text is missing from {TEXTS}: this FaceSeal is incomplete; reinstall it")
    version = max(versions)
    raw = versions[version].read_bytes()
    text = raw.decode("utf-8").strip()
    purpose = next((line[len(_PURPOSE):].strip().rstrip(".") for line in text.splitlines()
                    if line.startswith(_PURPOSE)), "")
    if not purpose:
        raise FaceSealError(f"the consent text {versions[version].name} states no purpose ('{_PURPOSE}…' line)")
    return version, hashlib.sha256(raw).hexdigest(), purpose, text


def _kept_for(days: int | None) -> str:
    if days is None:
        return "until you are deleted (no retention period is set)"
    return f"{days} days from today, then deleted by FaceSeal itself"


def terms(vault: Vault | None) -> ConsentTerms:
    """The terms a consent given now is to: the text in force and the policy's retention (``vault`` None: no vault
    exists yet, so the default policy, which sets no retention)."""
    version, sha256, purpose, text = _text()
    days = None if vault is None else policy.retention_days(vault)
    return ConsentTerms(version, sha256, purpose, text, days, _kept_for(days))


def needed(vault: Vault | None, name: str, add: bool = False) -> bool:
    """Whether enrolling ``name`` (``add``: adding samples) needs their consent first: always for someone new;
    for samples added, only when no consent of theirs is recorded."""
    if not add:
        return True
    if vault is None:
        return True
    return _row(vault, vault.identity_id(name)) is None


def check(vault: Vault | None, name: str, accepted: ConsentTerms | None, add: bool = False,
          renewing: bool = False) -> ConsentTerms | None:
    """The terms to record for this enrolment (None: none needed, the person consented before); refused in one
    line when consent is needed and was not given, or was given to other terms than those in force. A front end
    asks this before it captures anything (``vault`` None: there is no vault yet), and :func:`enrol` again."""
    if not renewing and not needed(vault, name, add):
        return None
    who = canonical_name(name)
    refused = f"{who}'s consent was not renewed" if renewing else f"{who} was not enrolled"
    if accepted is None:
        why = ("renewing needs their consent" if renewing else
               "no consent of theirs is recorded (enrolled before FaceSeal recorded consent)" if add
               else "enrolling someone needs their consent")
        raise ConsentRequired(f"{refused}, and nothing was stored: {why} to the consent text, shown to them first")
    current = terms(vault)
    if (accepted.version, accepted.sha256, accepted.retention_days) != (
            current.version, current.sha256, current.retention_days):
        raise ConsentRequired(f"{refused}, and nothing was stored: the consent text or the retention "
                              f"changed since they were shown it (now version {current.version}, kept "
                              f"{current.kept_for}); show it to them again")
    return current


def recorder(name: str, accepted: ConsentTerms, renewed: bool = False,
             at: datetime | None = None) -> Callable[[Connection, str], None]:
    """What records ``name``'s consent inside the transaction that enrols them (``Vault.enroll(then=)``), given
    now (or ``at``, the caller's clock: the retention is counted from it)."""
    def record(conn: Connection, identity: str) -> None:
        now = (at or _now()).astimezone(timezone.utc)
        expires = None if accepted.retention_days is None else \
            (now + timedelta(days=accepted.retention_days)).isoformat(timespec="seconds")
        salt = certificate.new_salt()
        seq = audit.append(conn, "consent_recorded", identity=identity, text_version=accepted.version,
                           text_sha256=accepted.sha256, purpose=accepted.purpose,
                           retention_days=accepted.retention_days, expires_at=expires, renewed=renewed,
                           name_commitment=certificate.name_commitment(canonical_name(name), salt,
                                                                       certificate.CONSENT_NAME_DOMAIN))
        conn.execute("INSERT OR REPLACE INTO consents(identity_id, consented_at, text_version, text_sha256, purpose, "
                     "retention_days, expires_at, name_salt, audit_seq) VALUES (?,?,?,?,?,?,?,?,?)",
                     (identity, now.isoformat(timespec="seconds"), accepted.version, accepted.sha256,
                      accepted.purpose, accepted.retention_days, expires, salt, seq))
    return record


def _brings_deletion_nearer(vault: Vault, name: str, accepted: ConsentTerms | None,
                            at: datetime | None = None) -> bool:
    """Whether renewing on ``accepted`` would end the person sooner than their record does (an earlier end, or an
    end where none was). Such a renewal is a deletion by a later date: the retention is set without the admin
    passphrase (``NEVER_LOOSER``) and a renewal asks nothing, so the two together deleted anyone within a day
    without the passphrase a deletion asks. The terms judged are those the renewal records: it records only the
    terms in force, read again inside its write."""
    if accepted is None or accepted.retention_days is None:
        return False  # refused as not given, or an end that never comes
    row = _row(vault, vault.identity_id(name))
    if row is None or row[5] is None:
        return True
    end = (at or _now()).astimezone(timezone.utc) + timedelta(days=accepted.retention_days)
    return end.isoformat(timespec="seconds") < row[5]


@needs_presence("renew a consent to a shorter retention (the person is then deleted sooner)",
                when=_brings_deletion_nearer)
def renew(vault: Vault, name: str, accepted: ConsentTerms | None, at: datetime | None = None) -> ConsentRecord:
    """``name`` consents again: the record is replaced by the terms in force now (the retention counted from
    today), audited as ``consent_recorded`` with ``renewed: true``; one that ends them sooner asks for the admin
    passphrase, as a deletion does (:func:`_brings_deletion_nearer`). The way to keep someone *before* their
    retention ends: once it has ended (by ``at``, default now) they are due for deletion and are refused, so
    the outcome does not hang on whether a sweep ran first (the window sweeps when it opens the vault, the
    command line and the API do not), and a sweep that chose them is never undone by a renewal in between.
    The person, their end and the terms in force are read inside the write, so neither a sweep, a deletion
    nor a policy change can slip between."""
    moment = (at or _now()).astimezone(timezone.utc)
    with vault.writing() as tx:
        identity = vault.identity_id(name)
        given = check(vault, name, accepted, renewing=True)
        assert given is not None
        row = _row(vault, identity)
        if row is not None and row[5] is not None and row[5] <= moment.isoformat(timespec="seconds"):
            raise PolicyViolation(f"{canonical_name(name)}'s consent was not renewed, and nothing was stored: "
                                  f"their retention ended at {row[5]}, so FaceSeal deletes them at its next sweep "
                                  "('faceseal retention sweep'); to be kept, they are enrolled again")
        recorder(name, given, renewed=True, at=moment)(tx, identity)
    found = record(vault, name)
    assert found is not None
    return found


def _row(vault: Vault, identity: str) -> tuple | None:
    return vault.conn.execute("SELECT consented_at, text_version, text_sha256, purpose, retention_days, expires_at, "
                              "audit_seq, name_salt FROM consents WHERE identity_id = ?", (identity,)).fetchone()


def record(vault: Vault, name: str) -> ConsentRecord | None:
    """``name``'s consent as recorded, or None (enrolled before FaceSeal recorded consent)."""
    identity = vault.identity_id(name)
    row = _row(vault, identity)
    if row is None:
        return None
    at, version, sha256, purpose, days, expires, seq, salt = row
    return ConsentRecord(canonical_name(name), identity, at, version, sha256, purpose, days, expires, seq,
                         bytes(salt).hex())
