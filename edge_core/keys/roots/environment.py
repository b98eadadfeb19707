"""The root brought in an environment variable (``FACESEAL_ROOT_KEY``, 64 hex characters).

FaceSeal cannot change a variable the user set, so this store is read-only:
rotation and crypto-shredding say plainly what that means (docs/KEYS.md).
"""

from __future__ import annotations

import os

from edge_core.errors import RootStoreFixed
from edge_core.keys import material
from edge_core.keys.roots.base import RootKey, RootStore, SoftwareRootKey
from edge_core.keys.secret import overwrite_immutable

VARIABLE = "FACESEAL_ROOT_KEY"


class EnvironmentRootStore(RootStore):
    name = "environment"
    priority = 20
    mutable = False

    def available(self) -> bool:
        return VARIABLE in os.environ

    def describe(self) -> str:
        return f"environment variable {VARIABLE}"

    def load(self) -> RootKey | None:
        value = os.environ.get(VARIABLE)  # a str decoded for us from os.environ's bytes: ours to overwrite
        if value is None:
            return None
        try:
            return SoftwareRootKey(material.parse_hex_key(value, VARIABLE))
        finally:
            overwrite_immutable(value)

    def _fixed(self) -> RootStoreFixed:
        return RootStoreFixed(
            f"the root key comes from {VARIABLE}, which FaceSeal cannot change; "
            f"unset it to let FaceSeal keep the root in the keychain or a file"
        )

    def generate(self) -> RootKey:
        raise self._fixed()

    def activate(self, key: RootKey) -> None:
        raise self._fixed()

    def destroy(self) -> bool:
        raise self._fixed()
