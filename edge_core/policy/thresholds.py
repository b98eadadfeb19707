"""The match threshold in force for a model pack, shared by the window and the command line.

A threshold decides who is accepted, so a chosen one is kept inside the vault
(the encrypted database's meta table), never in a plain settings file that
anyone able to write to the data folder could lower. Choosing one is bounded
by the policy and audited; without a choice, the pack's measured default holds.
"""

from __future__ import annotations

from edge_core.audit import chain as audit
from edge_core.support.database import get_meta, set_meta
from edge_core.vault.store import Vault

_PREFIX = "threshold:"


def chosen(vault: Vault) -> dict[str, float]:
    """Every pack's chosen threshold (packs left at their default are absent)."""
    rows = vault.conn.execute("SELECT key, value FROM meta WHERE key LIKE ?", (_PREFIX + "%",)).fetchall()
    return {key[len(_PREFIX):]: float(value) for key, value in rows}


def in_force(vault: Vault, pack: str, default: float) -> float:
    """The threshold a match of ``pack`` uses unless the caller names one."""
    value = get_meta(vault.conn, _PREFIX + pack)
    return default if value is None else float(value)


def choose(vault: Vault, pack: str, value: float | None) -> None:
    """Set ``pack``'s threshold (``None``: back to the pack's default), audited; the caller checked the policy."""
    if value is not None:
        value = round(float(value), 3)
    previous = get_meta(vault.conn, _PREFIX + pack)
    with vault.writing() as tx:
        if value is None:
            tx.execute("DELETE FROM meta WHERE key = ?", (_PREFIX + pack,))
        else:
            set_meta(tx, _PREFIX + pack, str(value))
        audit.append(tx, "threshold_changed", pack=pack, previous=None if previous is None else float(previous),
                     threshold=value)
