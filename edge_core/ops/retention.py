"""Retention: a person whose retention period ended is crypto-shredded by the next FaceSeal process that opens the
vault, and the window reminds beforehand (issue 30 item 2; docs/PRIVACY.md).

:func:`sweep` is the one use case. The front ends that open the vault and may
be the only FaceSeal process running for weeks run it right after opening:
the sign-in agent (at its start and before every attempt, since it opens the
vault per attempt) and the window (each time it opens the vault). The command
line and the admin API do not: a command that reads the status must not
delete anyone as a side effect, and the agent or the window runs on any
machine where people sign in or are enrolled. Each person due goes through
the existing crypto-shred (:func:`.identities.shred`, the path of a deletion
by hand, without its admin passphrase: the admin chose the retention and the
person accepted it), audited with ``cause: "retention"``, and their deletion
certificate is kept in the encrypted database (:func:`.privacy.keep`).

The expiry is read only from the encrypted database (:mod:`.consent`), so no
file in the data folder can extend or drop it. The clock is the caller's
(``at``): the tests inject one and never sleep or touch the system clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from edge_core.errors import FaceSealError, UnknownIdentity
from edge_core.ops import identities, privacy
from edge_core.ops.results import Expiring, RetentionSweep
from edge_core.vault.store import Vault

REMINDER_DAYS = 14
"""How far ahead the window names who is due: two weeks leaves a person who is away for a week or so the time to
be asked and to consent again before being deleted, without a reminder that stands on Home for a month."""
CAUSE = "retention"


def now() -> datetime:
    """The real clock, the default of every front end's sweep."""
    return datetime.now(timezone.utc)


def _stamp(moment: datetime) -> str:
    """``moment`` as the consents table writes times (UTC ISO 8601, seconds), so that they compare as text."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def expiring(vault: Vault, at: datetime, days: int = REMINDER_DAYS) -> list[Expiring]:
    """Who is due within ``days`` of ``at`` (not yet due), soonest first."""
    rows = vault.conn.execute(
        "SELECT i.name, c.expires_at FROM consents c JOIN identities i ON i.id = c.identity_id "
        "WHERE c.expires_at > ? AND c.expires_at <= ? ORDER BY c.expires_at, i.name",
        (_stamp(at), _stamp(at + timedelta(days=days)))).fetchall()
    return [Expiring(name, expires, int((datetime.fromisoformat(expires) - at).total_seconds() // 86400))
            for name, expires in rows]


def sweep(vault: Vault, at: datetime | None = None) -> RetentionSweep:
    """Crypto-shred exactly those whose retention ended by ``at`` (default: now), audited as retention deletions,
    each certificate kept; and say who is due within :data:`REMINDER_DAYS`."""
    moment = now() if at is None else at
    due = vault.conn.execute(
        "SELECT i.name FROM consents c JOIN identities i ON i.id = c.identity_id "
        "WHERE c.expires_at IS NOT NULL AND c.expires_at <= ? ORDER BY c.expires_at, i.name",
        (_stamp(moment),)).fetchall()
    deleted: list[str] = []
    warnings: list[str] = []
    for (name,) in due:
        try:
            deletion, seq, head = identities.shred(vault, name, cause=CAUSE)
        except UnknownIdentity:
            continue  # another FaceSeal process swept them a moment ago
        deleted.append(name)
        if deletion.warning:
            warnings.append(f"{name}: {deletion.warning}")
        try:
            privacy.keep(vault, deletion, seq, head)
        except FaceSealError as error:
            warnings.append(f"{name} was deleted, but no certificate was kept: {error}")
    return RetentionSweep(deleted, expiring(vault, moment), warnings)
