"""Who signs this login in with their face, and where: the choice kept in the vault's ``meta``.

Kept apart from :mod:`edge_core.ops.signin` (the sign-in use cases) so that
deleting a person (:mod:`edge_core.ops.identities`, which the sign-in use cases
build on) can take their choice away without a circular import. The choice is
inside the encrypted, authenticated database: a planted file cannot opt
anything in.
"""

from __future__ import annotations

import json
from typing import Any

from edge_core.audit import chain as audit
from edge_core.support.database import get_meta, set_meta
from edge_core.vault.store import Vault

META_KEY = "signin"
NOBODY: dict[str, Any] = {"identity": None, "services": []}


def stored(vault: Vault) -> dict[str, Any]:
    """The stored choice (identity id and services); nobody, with no service, when the chosen identity is not
    enrolled any more (a choice left by a version that kept it after the person was deleted)."""
    raw = get_meta(vault.conn, META_KEY)
    choice = json.loads(raw) if raw else dict(NOBODY)
    if choice["identity"] is not None and choice["identity"] not in vault.identity_names():
        return dict(NOBODY)
    return choice


def write(conn: Any, identity: str | None, services: list[str]) -> None:
    """Store the choice (inside the caller's transaction, which audits it)."""
    set_meta(conn, META_KEY, json.dumps({"identity": identity, "services": services}))


def forget(vault: Vault, identity: str) -> None:
    """``identity`` was deleted: face sign-in is off for every service it was chosen for, and that is audited (the
    password alone again, for this login). Nothing happens when it was not the chosen one."""
    raw = get_meta(vault.conn, META_KEY)
    choice = json.loads(raw) if raw else NOBODY
    if choice["identity"] != identity:
        return
    with vault.writing() as tx:
        write(tx, None, [])
        audit.append(tx, "signin_disabled", identity=identity, services=choice["services"],
                     reason="the person was deleted")
