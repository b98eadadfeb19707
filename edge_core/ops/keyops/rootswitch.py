"""One root replaced by another, for every reason a person has: import, generate, move.

All of them are :func:`.common.switch_root` under the key lock, followed by one
audit event naming the old and the new root by fingerprint (never by value).
"""

from __future__ import annotations

from typing import Any

from edge_core.audit import chain as audit
from edge_core.keys.roots import RootKey, RootStore
from edge_core.ops.keyops.common import live_versions, switch_root
from edge_core.ops.results import RootChange
from edge_core.support.locking import key_lock
from edge_core.vault.store import Vault


def replace_root(vault: Vault, status: str, event: str, target: RootStore | None = None,
                 new_root: RootKey | None = None, **detail: Any) -> RootChange:
    """Switch to ``new_root`` (or one ``target`` generates) and audit it as ``event``."""
    with key_lock(vault.layout.keys_dir, exclusive=True):
        vault.reload_keys()
        previous, previous_store = vault.root, vault.root_store
        switch_root(vault, live_versions(vault.conn, vault.primary_version()), target, new_root)
        with vault.writing() as tx:
            audit.append(tx, event, root_store=vault.root_store.name, root_fingerprint=vault.root.fingerprint,
                         previous_root_store=previous_store.name, previous_root_fingerprint=previous.fingerprint,
                         **detail)
    return RootChange(status, vault.root_store.name, vault.root_store.describe(), vault.root.fingerprint,
                      previous.fingerprint)
