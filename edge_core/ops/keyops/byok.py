"""Bring your own key: a root the user hands us, or a fresh random one, becomes the root.

Both are the crash-safe root switch: the vault keys are wrapped under the new
root first, the new root is activated, and only then is the old one destroyed
(until that moment it is the legacy key that still opens everything).
"""

from __future__ import annotations

from edge_core.errors import InvalidKeyMaterial, KeyHierarchyError, RootStoreFixed, UsageError
from edge_core.keys import material
from edge_core.keys.roots import RootStore, SoftwareRootKey
from edge_core.ops.keyops.rootswitch import replace_root
from edge_core.ops.results import RootChange
from edge_core.vault.store import Vault


def _software_home(vault: Vault) -> RootStore:
    """Where an imported key can live: the current store, unless that is fixed or a token."""
    store = vault.root_store
    if not store.mutable:
        raise RootStoreFixed("the root comes from FACESEAL_ROOT_KEY, which FaceSeal cannot change; "
                             "put your key there instead, or unset it first")
    if store.in_hardware:
        raise KeyHierarchyError(
            f"the root lives in hardware ({store.describe()}), where keys are generated inside it; "
            "run 'faceseal key move-to-keychain' first, or 'faceseal key generate' for a new key in there"
        )
    return store


def import_root_key(vault: Vault, key: bytes) -> RootChange:
    """Make ``key`` (exactly 32 bytes) the root; the previous root is destroyed once the switch commits."""
    if not isinstance(key, (bytes, bytearray)):
        raise InvalidKeyMaterial("a root key is 32 bytes")
    key = bytes(key)
    if len(key) != material.KEY_BYTES:
        raise InvalidKeyMaterial(f"a root key is exactly 32 bytes (256 bits); this one is {len(key)} bytes")
    if len(set(key)) == 1:
        raise InvalidKeyMaterial("the key is one byte repeated 32 times; that is not a secret key")
    store = _software_home(vault)
    new_root = SoftwareRootKey(key)
    if new_root.kid == vault.root.kid:
        raise UsageError("this key is already the root; nothing was changed")
    return replace_root(vault, "imported", "root_imported", store, new_root)


def generate_root_key(vault: Vault) -> RootChange:
    """A fresh random root where the root lives now (inside the token for an HSM root)."""
    if not vault.root_store.mutable:
        vault.root_store.generate()  # raises RootStoreFixed with the reason
    return replace_root(vault, "generated", "root_generated")
