"""Homes of the root key, chosen by priority: the first that holds a root wins.

Order: this machine's TPM (only when ``keys/tpm.json`` names an object), a
PKCS#11 token (only when ``keys/hsm.json`` names one; its module is loaded only
if this machine trusts it, see :func:`pkcs11.trusted_module`), the OS keychain,
then ``FACESEAL_ROOT_KEY``, then the fallback file. A new root is made in the
keychain when there is one, else in the file (the variable is the user's own
key, never made by FaceSeal); only ``faceseal key move-to-hsm`` puts it in a
token, and only ``faceseal key move-to-tpm`` in the TPM.
"""

from __future__ import annotations

from pathlib import Path

from edge_core.errors import RootKeyMissing
from edge_core.keys.roots.base import RootKey, RootStore, SoftwareRootKey
from edge_core.keys.roots.environment import EnvironmentRootStore
from edge_core.keys.roots.keychain import KeychainRootStore
from edge_core.keys.roots.keyfile import FileRootStore
from edge_core.keys.roots.pkcs11 import HsmLocation, Pkcs11RootStore
from edge_core.keys.roots.tpm import TpmRootStore, has_pointer

__all__ = [
    "RootKey", "RootStore", "SoftwareRootKey", "candidate_stores", "find_root", "store_for_new_root",
    "store_for_software_root",
]


def candidate_stores(keys_dir: Path, keychain_account: str) -> list[RootStore]:
    """Every store usable on this machine, highest priority first."""
    stores: list[RootStore] = [
        KeychainRootStore(account=keychain_account),
        EnvironmentRootStore(),
        FileRootStore(keys_dir),
    ]
    location = HsmLocation.read(keys_dir)
    if location is not None:
        stores.append(Pkcs11RootStore(keys_dir, keychain_account, location))
    if has_pointer(keys_dir):
        stores.append(TpmRootStore(keys_dir, keychain_account))
    return sorted((s for s in stores if s.available()), key=lambda s: -s.priority)


def find_root(keys_dir: Path, keychain_account: str) -> tuple[RootStore, RootKey]:
    """The active root and the store holding it; first match wins."""
    for store in candidate_stores(keys_dir, keychain_account):
        key = store.load()
        if key is not None:
            return store, key
    raise RootKeyMissing(
        "no root key found (keychain, FACESEAL_ROOT_KEY, key file); "
        "restore it from your recovery kit: without it the data cannot be opened"
    )


def store_for_new_root(keys_dir: Path, keychain_account: str) -> RootStore:
    """Where a brand-new vault keeps its root: the variable if set, else keychain, else file."""
    stores = candidate_stores(keys_dir, keychain_account)
    for store in stores:
        if isinstance(store, EnvironmentRootStore):
            return store
    return store_for_software_root(keys_dir, keychain_account)


def store_for_software_root(keys_dir: Path, keychain_account: str) -> RootStore:
    """Where FaceSeal itself keeps a root it holds in memory: the keychain if usable, else the file."""
    keychain = KeychainRootStore(account=keychain_account)
    return keychain if keychain.available() else FileRootStore(keys_dir)
