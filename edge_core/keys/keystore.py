"""The key-store file: the keys just below the root, wrapped by the root.

``<data>/keys/keystore.json`` holds, for each root that is (or, during a
rotation, is about to become) active, the database key and every live vault key
version wrapped under that root. Nothing in it is usable without the root.

Why per root: a rotation first adds wraps under the new root, then switches the
root in its store (one atomic step), then drops the old wraps. A process killed
at any instant finds the wraps for whichever root its store holds.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from edge_core.errors import DataDirUnreadable, WrongRootKey
from edge_core.keys import material
from edge_core.keys.roots import RootKey
from edge_core.support import paths

FILENAME = "keystore.json"
FORMAT = 1
DATABASE = "database"


def vault_slot(version: int) -> str:
    return f"vault/{version}"


def _aad(slot: str) -> bytes:
    return f"faceseal/keystore/v1:{slot}".encode()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _optional_facts(value: object) -> dict[str, str] | None:
    """A small record of public facts, or ``None``; anything else is a damaged store."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError("facts")
    return dict(value)


@dataclass
class UnlockedKeys:
    """The L2 keys in memory: the database key and the vault keys by version."""

    database: bytes
    vault: dict[int, bytes]

    @property
    def primary_version(self) -> int:
        return max(self.vault)


@dataclass
class KeyStore:
    """What the file says: public facts in the clear, keys only wrapped."""

    wraps: dict[str, dict[str, str]] = field(default_factory=dict)  # kid -> slot -> b64 blob
    root_created: dict[str, str] = field(default_factory=dict)  # kid -> ISO time
    vault_created: dict[int, str] = field(default_factory=dict)  # version -> ISO time
    audit_inbox_public_key: str = ""
    #: the last recovery kit written: {"kid", "fingerprint", "exported_at"}; a kit holds one root only
    recovery_kit: dict[str, str] | None = None
    #: set by the kill switch: {"kid", "fingerprint", "revoked_at"}; nothing opens while it is
    revoked: dict[str, str] | None = None

    # ---- file -------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> "KeyStore":
        try:
            raw = json.loads(path.read_bytes())
            if raw.get("format") != FORMAT:
                raise ValueError("format")
            store = cls(
                wraps={k: dict(v) for k, v in raw["wraps"].items()},
                root_created=dict(raw["root_created"]),
                vault_created={int(k): v for k, v in raw["vault_created"].items()},
                audit_inbox_public_key=raw["audit_inbox_public_key"],
                recovery_kit=_optional_facts(raw.get("recovery_kit")),
                revoked=_optional_facts(raw.get("revoked")),
            )
            for slots in store.wraps.values():
                for blob in slots.values():
                    base64.b64decode(blob, validate=True)
            return store
        except FileNotFoundError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DataDirUnreadable(
                f"the key store {path} is damaged; FaceSeal left it as it is. "
                "Restore the data directory from a backup"
            ) from None

    def save(self, path: Path) -> None:
        doc = {
            "format": FORMAT,
            "wraps": self.wraps,
            "root_created": self.root_created,
            "vault_created": {str(k): v for k, v in sorted(self.vault_created.items())},
            "audit_inbox_public_key": self.audit_inbox_public_key,
        }
        # Written only when set, so a store that never used them keeps its exact old form.
        if self.recovery_kit is not None:
            doc["recovery_kit"] = self.recovery_kit
        if self.revoked is not None:
            doc["revoked"] = self.revoked
        paths.atomic_write(path, json.dumps(doc, indent=1, sort_keys=True).encode())

    # ---- keys -------------------------------------------------------------
    def unlock(self, root: RootKey) -> UnlockedKeys:
        """Unwrap every L2 key with ``root``; a root this store does not know is refused."""
        slots = self.wraps.get(root.kid)
        if not slots:
            raise WrongRootKey(
                "the root key found is not the one this data was sealed with "
                f"(root fingerprint {root.fingerprint})"
            )
        keys: dict[str, bytes] = {}
        for slot, blob in slots.items():
            plain = root.unwrap(base64.b64decode(blob), _aad(slot))
            if plain is None:
                raise WrongRootKey("the key store does not open with this root key (edited or foreign)")
            keys[slot] = plain
        vault = {int(s.split("/", 1)[1]): k for s, k in keys.items() if s.startswith("vault/")}
        if DATABASE not in keys or not vault:
            raise DataDirUnreadable("the key store is incomplete; FaceSeal left it as it is")
        return UnlockedKeys(database=keys[DATABASE], vault=vault)

    def wrapped_by(self, root: RootKey, database_key: bytes) -> bool:
        """Whether ``root`` opens its wrap of the database key here and finds ``database_key``: proof it was this vault's root.

        A kid in :attr:`wraps` proves nothing (anyone who can write the file can
        add one, or copy another vault's wraps under that vault's kid); only this
        vault's own database key, which nobody outside the vault knows, does.
        """
        blob = self.wraps.get(root.kid, {}).get(DATABASE)
        if blob is None:
            return False
        plain = root.unwrap(base64.b64decode(blob), _aad(DATABASE))
        return plain is not None and material.same_secret(plain, database_key)

    def add_root(self, root: RootKey, keys: UnlockedKeys, versions: set[int] | None = None) -> None:
        """Wrap the database key and the given vault versions (default: all) under ``root``."""
        keep = set(keys.vault) if versions is None else versions
        slots = {DATABASE: base64.b64encode(root.wrap(keys.database, _aad(DATABASE))).decode()}
        for version in sorted(keep):
            slot = vault_slot(version)
            slots[slot] = base64.b64encode(root.wrap(keys.vault[version], _aad(slot))).decode()
        self.wraps[root.kid] = slots
        self.root_created.setdefault(root.kid, now_iso())

    def add_vault_version(self, root: RootKey, version: int, key: bytes) -> None:
        """Add a vault key version under the active root (a deep rotation's first step)."""
        slot = vault_slot(version)
        self.wraps[root.kid][slot] = base64.b64encode(root.wrap(key, _aad(slot))).decode()
        self.vault_created[version] = now_iso()

    def keep_only(self, kid: str) -> None:
        """Drop every wrap but those under ``kid``: the last step of a rotation."""
        self.wraps = {kid: self.wraps[kid]}
        self.root_created = {kid: self.root_created.get(kid, now_iso())}
        live = self._all_versions()
        self.vault_created = {v: t for v, t in self.vault_created.items() if v in live}

    def _all_versions(self) -> set[int]:
        return {int(s.split("/", 1)[1]) for slots in self.wraps.values() for s in slots if s.startswith("vault/")}
