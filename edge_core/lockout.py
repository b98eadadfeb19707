"""Failed-verification lockout: after N misses in a row, one identity cannot be tried for a while.

It slows down someone trying photo after photo against one person. The count
lives in the encrypted database (``meta`` row ``lockout/<identity id>``), so it
survives restarts and cannot be reset by deleting a file. A match clears it;
reaching the limit is audited. The limits come from the policy.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from . import audit, policy
from .database import get_meta, set_meta
from .errors import VerificationLockedOut


def _key(identity_id: str) -> str:
    return f"lockout/{identity_id}"


def _state(vault: Any, identity_id: str) -> dict[str, Any]:
    raw = get_meta(vault.conn, _key(identity_id))
    return json.loads(raw) if raw else {"failures": 0, "until": None}


def check(vault: Any, identity_id: str) -> None:
    """Refuse to verify an identity that is locked out."""
    until = _state(vault, identity_id)["until"]
    if until and datetime.fromisoformat(until) > datetime.now(timezone.utc):
        raise VerificationLockedOut(
            f"too many failed verifications for this identity; try again after {until} (the policy's lockout)"
        )


def record(vault: Any, identity_id: str, matched: bool) -> None:
    """Count a miss (locking out at the limit) or clear the count after a match; writes only on change."""
    state = _state(vault, identity_id)
    if matched:
        if state["failures"] or state["until"]:
            with vault.writing() as tx:
                tx.execute("DELETE FROM meta WHERE key = ?", (_key(identity_id),))
        return
    rule = policy.load(vault)
    if rule.lockout_attempts == 0:
        return
    failures = state["failures"] + 1
    until = None
    with vault.writing() as tx:
        if failures >= rule.lockout_attempts:
            until = (datetime.now(timezone.utc) + timedelta(seconds=rule.lockout_seconds)).isoformat(timespec="seconds")
            audit.append(tx, "verification_locked_out", identity=identity_id, failures=failures,
                         seconds=rule.lockout_seconds)
            failures = 0
        set_meta(tx, _key(identity_id), json.dumps({"failures": failures, "until": until}))
