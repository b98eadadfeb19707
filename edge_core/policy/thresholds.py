"""The match threshold in force for a model pack, shared by the window and the command line.

A threshold decides who is accepted, so a chosen one is kept inside the vault
(the encrypted database's meta table), never in a plain settings file that
anyone able to write to the data folder could lower. Choosing one is bounded
by the policy and audited; without a choice, the pack's measured default holds.

Every pack's default is measured for its model (models/packs.json), so the
policy's bounds must always leave it allowed (:func:`defaults_span`): a policy
that refused a pack's own default would switch recognition off for everyone
until someone repaired it.
"""

from __future__ import annotations

from edge_core.audit import chain as audit
from edge_core.biometrics import list_packs, pack_info
from edge_core.errors import PolicyViolation
from edge_core.support.database import get_meta, set_meta
from edge_core.vault.store import Vault

_PREFIX = "threshold:"
EXTERNAL_PACK = "external"
"""The pack name of embeddings made outside FaceSeal (``--embedding``)."""
EXTERNAL_THRESHOLD = 0.45


def default_for(pack: str) -> float:
    """A pack's measured default threshold (``external``: ``EXTERNAL_THRESHOLD``); unknown packs are refused."""
    return EXTERNAL_THRESHOLD if pack == EXTERNAL_PACK else pack_info(pack).default_threshold


def signin_for(pack: str) -> float:
    """A pack's sign-in threshold; a pack without a measured one (or outside embeddings) signs nobody in."""
    value = None if pack == EXTERNAL_PACK else pack_info(pack).signin_threshold
    if value is None:
        raise PolicyViolation(f"model pack '{pack}' has no measured sign-in threshold, so it cannot sign anyone in; "
                              "choose a measured pack (faceseal models list)")
    return value


def pack_names() -> list[str]:
    """Every pack a threshold can belong to: the manifest's packs and ``external``."""
    return [info.name for info in list_packs()] + [EXTERNAL_PACK]


def defaults_span() -> tuple[float, float]:
    """The lowest and the highest default threshold of any pack: the policy's bounds must include both."""
    defaults = [default_for(name) for name in pack_names()]
    return min(defaults), max(defaults)


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
        value = round(float(value), 3) + 0.0  # -0.0 is 0.0
    previous = get_meta(vault.conn, _PREFIX + pack)
    with vault.writing() as tx:
        if value is None:
            tx.execute("DELETE FROM meta WHERE key = ?", (_PREFIX + pack,))
        else:
            set_meta(tx, _PREFIX + pack, str(value))
        audit.append(tx, "threshold_changed", pack=pack, previous=None if previous is None else float(previous),
                     threshold=value)
