"""The rule against an older copy of the data folder: checked on every open, lifted only on purpose and audited.

The anchor (:mod:`edge_core.vault.anchor`) remembers the newest audit head this
machine saw, outside the folder. A folder whose log ends before it, or whose log
holds another event at its place, is an older copy or a forked one: opening it
would bring back an old policy, lockout counters at zero and a log without its
tail, all self-consistent. It is refused before anything is written. A person
who restored an older backup on purpose accepts it with
``faceseal audit accept-rollback``; a restore from a recovery kit on a machine
that never saw this vault sets the anchor (the kit proves the owner).

An older copy from before the admin passphrase was set (or changed) would
accept itself without it, and then loosen anything: so before it is accepted
it takes the newest state's passphrase, which the anchor carries
(:func:`take_newest_passphrase`).
"""

from __future__ import annotations

from edge_core.audit import chain as audit
from edge_core.errors import AnchorUnusable, DiskFull, InsecureKeyFile, VaultRolledBack
from edge_core.ops.presence import needs_presence
from edge_core.ops.results import RollbackAccepted
from edge_core.support.database import Connection, get_meta, set_meta
from edge_core.vault.anchor import ANCHORED_META, GUARD_META, Head
from edge_core.vault.anchor import FORMAT as ANCHOR_FORMAT
from edge_core.vault.store import Vault

ACCEPT = "'faceseal audit accept-rollback'"


def refuse(vault: Vault, reading: bool) -> None:
    """On open, before anything is written: refuse a folder older than (or forked from) the newest state seen here.

    A vault never anchored on this machine gets its anchor now. One whose
    database says it was anchored, but whose anchor is gone, is refused too:
    removing the anchor must not be a way around it. A command that only reads
    (status, the audit log) still opens, to show what is there, with the
    problem in ``vault.rolled_back``: status and ``audit verify`` say it, and
    every write is refused (:meth:`Vault.writing`), so an older copy is never
    carried forward.
    """
    anchor, conn = vault.anchor, vault.conn
    here, seen = Head.of(conn), anchor.newest()
    problem = _problem(conn, here, seen, anchor.describe())
    if problem is None:
        try:
            anchor.advance(here)
        except (DiskFull, AnchorUnusable):
            if not reading:
                raise
            # The folder is not older: what only reads still shows it (on a full disk too), and the next
            # open to write moves the anchor. It is known to exist only if it was there already.
            vault.anchor_ready = seen is not None
        else:
            vault.anchor_ready = True
        return
    moved = ("this folder came from another machine or user account (or XDG_STATE_HOME changed) and is the newest "
             "copy, or if " if seen is None else "")
    vault.rolled_back = (f"{problem}; FaceSeal changed nothing. If {moved}you restored an older backup on purpose, run "
                         f"{ACCEPT} (audited); otherwise put the newest copy back")
    if not reading:
        raise VaultRolledBack(vault.rolled_back)


def _problem(conn: Connection, here: Head, seen: Head | None, where: str) -> str | None:
    if seen is None:
        if get_meta(conn, ANCHORED_META) is not None:
            return (f"this vault's rollback anchor is missing from this machine (it records the vault's newest state; "
                    f"looked for in {where}): FaceSeal cannot tell whether this data folder is an older copy")
        return None
    if here.seq < seen.seq:
        return (f"this data folder is older than the newest state this machine saw: its audit log ends at event "
                f"{here.seq}, this machine saw event {seen.seq} (the folder was rolled back or restored from a copy)")
    if not seen.continued_by(conn):
        return (f"this data folder is not the copy this machine last used: event {seen.seq} of its audit log is not "
                f"the one this machine saw (another copy of the folder was used)")
    return None


def newest_passphrase(vault: Vault) -> str | None:
    """The admin passphrase's record of the newest state this machine saw, when this folder is not that state
    (older, or another copy) and that state had one; else ``None``. An anchor that cannot be read counts as none:
    accepting then rests on the folder's own passphrase, as it did before the anchor existed."""
    try:
        seen = vault.anchor.newest()
    except (VaultRolledBack, InsecureKeyFile, AnchorUnusable):
        return None
    here = Head.of(vault.conn)
    if seen is None or seen.guard is None or seen.guard == here.guard:
        return None
    return seen.guard if _problem(vault.conn, here, seen, "") is not None else None


def take_newest_passphrase(vault: Vault) -> None:
    """Before an older copy is accepted (and before the proof it needs is asked for): it takes the newest state's
    admin passphrase, so the passphrase the owner set last is the one that accepts it and keeps guarding it."""
    newest = newest_passphrase(vault)
    if newest is not None:
        with vault.writing() as tx:
            set_meta(tx, GUARD_META, newest)


@needs_presence("make an older copy of the data folder the newest state (its older policy, lockouts and people "
                "come back)")
def accept(vault: Vault) -> RollbackAccepted:
    """Make this folder's state the newest, on purpose: the anchor moves to its head (back, if need be); audited.

    What the anchor said is recorded (``None``: nothing, or a record that did not verify).
    """
    try:
        before = vault.anchor.newest()
    except (VaultRolledBack, InsecureKeyFile):  # a record that does not verify, a link, a FIFO: replaced below
        before = None
    with vault.writing() as tx:
        here = Head.of(tx)
        audit.append(tx, "rollback_accepted", folder_event=here.seq,
                     anchored_event=None if before is None else before.seq)
        set_meta(tx, ANCHORED_META, str(ANCHOR_FORMAT))
    head = Head.of(vault.conn)
    vault.anchor.write(head)
    vault.anchor_ready = True
    return RollbackAccepted(folder_event=here.seq, anchored_event=None if before is None else before.seq,
                            anchor=vault.anchor.describe())

