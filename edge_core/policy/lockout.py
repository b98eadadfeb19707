"""Failed-attempt lockout: after N misses in a row, one identity (or identification as a whole) waits.

It slows down someone trying photo after photo against one person, or
against the whole gallery with identify. The counts live in the encrypted
database (``meta`` row ``lockout/<identity id>``, and ``lockout/identify`` for
identifications, one counter per vault), so they survive restarts and cannot
be reset by deleting a file. A match clears the count; reaching the limit is
audited. The limits come from the policy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from edge_core.audit import chain as audit
from edge_core.errors import PolicyTampered, VerificationLockedOut
from edge_core.policy import rules as policy
from edge_core.support.database import Connection, get_meta, set_meta
from edge_core.vault.store import Vault

IDENTIFY = "identify"
"""The subject whose counter every identification shares (identity ids are random hex, never this)."""
PRESENCE = "admin-passphrase"
"""The subject whose counter every admin passphrase attempt shares (``ops.presence``)."""

_WHAT = {IDENTIFY: ("identifications", "identification_locked_out"),
         PRESENCE: ("admin passphrase attempts", "presence_locked_out")}
"""What the shared subjects' refusal names, and the audit event of their lockout."""


def _key(subject: str) -> str:
    return f"lockout/{subject}"


def _state(conn: Connection, subject: str) -> dict[str, Any]:
    raw = get_meta(conn, _key(subject))
    return json.loads(raw) if raw else {"failures": 0, "until": None}


def locked_until(vault: Vault, subject: str) -> str | None:
    """When the lockout of an identity (or of ``IDENTIFY``) ends, as ISO 8601; None when it is not locked out."""
    return _locked_until(_state(vault.conn, subject))


def _locked_until(state: dict[str, Any]) -> str | None:
    until = state["until"]
    return until if until and datetime.fromisoformat(until) > datetime.now(timezone.utc) else None


def _refusal(subject: str, until: str) -> VerificationLockedOut:
    what = _WHAT[subject][0] if subject in _WHAT else "verifications for this identity"
    return VerificationLockedOut(f"too many failed {what}; try again after {until} (the policy's lockout)", until)


def check(vault: Vault, subject: str) -> None:
    """Refuse an attempt on an identity (or, for ``IDENTIFY``, any identification) that is locked out."""
    until = _locked_until(_state(vault.conn, subject))
    if until:
        raise _refusal(subject, until)


def attempt(vault: Vault, subject: str, trial: Callable[[], bool], miss_event: str) -> bool:
    """Check the lock, run ``trial`` and count its outcome (audited ``miss_event`` when it fails), all in one
    immediate transaction: attempts made at once from several processes are judged one after another, so none
    slips past the limit. For the admin passphrase, whose trial is slow by design. A policy that cannot be read
    counts under the default lockout: editing ``policy.json`` never lifts it."""
    try:
        rule = policy.load(vault)
    except PolicyTampered:
        rule = policy.Policy()
    with vault.writing() as tx:
        state = _state(tx, subject)
        until = _locked_until(state)
        if until:
            ok = False
        elif trial():
            ok = True
            tx.execute("DELETE FROM meta WHERE key = ?", (_key(subject),))
        else:
            ok = False
            audit.append(tx, miss_event)
            _miss(tx, subject, state, rule)
    if until:
        raise _refusal(subject, until)
    return ok


def record(vault: Vault, subject: str, matched: bool) -> None:
    """Count a miss (locking out at the limit) or clear the count after a match; writes only on change.

    The counter is read, changed and written inside one immediate transaction, so
    processes missing at once each count (none overwrites another's miss). A miss
    that passed :func:`check` before another process locked the subject keeps the
    lock as it is: it never restarts the count under a lock, nor lifts it.
    """
    if matched:
        if _state(vault.conn, subject) != {"failures": 0, "until": None}:
            with vault.writing() as tx:
                tx.execute("DELETE FROM meta WHERE key = ?", (_key(subject),))
        return
    rule = policy.load(vault)
    if rule.lockout_attempts == 0:
        return
    with vault.writing() as tx:
        state = _state(tx, subject)
        if not _locked_until(state):
            _miss(tx, subject, state, rule)


def _miss(tx: Connection, subject: str, state: dict[str, Any], rule: policy.Policy) -> None:
    """One more miss for ``subject`` inside the caller's transaction, locking it out at the policy's limit."""
    if rule.lockout_attempts == 0:
        return
    failures, until = state["failures"] + 1, None
    if failures >= rule.lockout_attempts:
        until = (datetime.now(timezone.utc) + timedelta(seconds=rule.lockout_seconds)).isoformat(timespec="seconds")
        if subject in _WHAT:
            audit.append(tx, _WHAT[subject][1], failures=failures, seconds=rule.lockout_seconds)
        else:
            audit.append(tx, "verification_locked_out", identity=subject, failures=failures,
                         seconds=rule.lockout_seconds)
        failures = 0
    set_meta(tx, _key(subject), json.dumps({"failures": failures, "until": until}))
