"""The installation's device identity: an Ed25519 key sealed in the vault, and the audit heads it signs.

It signs telemetry batches and audit heads and nothing else. The seed lives in
the vault's secrets table, wrapped under the vault key like every other
secret, so it is as safe as the templates and goes wherever the root goes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from edge_core.audit.evidence import SIGNATURE_META, signed_head
from edge_core.support.database import get_meta, set_meta
from edge_core.telemetry.device import DeviceKey

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

SECRET_NAME = "device-key"


def device_key(vault: Vault) -> DeviceKey:
    """The device key, made on first use."""
    seed = vault.get_secret(SECRET_NAME)
    if seed is None:
        return rotate_device_key(vault)
    return DeviceKey.from_seed(seed)


def rotate_device_key(vault: Vault) -> DeviceKey:
    """A new device key, hence a new device id; the old one is gone."""
    key = DeviceKey.generate()
    vault.put_secret(SECRET_NAME, key.seed())
    return key


def sign_audit_head(vault: Vault) -> dict[str, Any] | None:
    """Sign the current audit head with the device key and keep the record; ``None`` if no event yet."""
    head = get_meta(vault.conn, "audit_head")
    if not head:
        return None
    record = signed_head(device_key(vault), head)
    with vault.writing() as tx:
        set_meta(tx, SIGNATURE_META, json.dumps(record, sort_keys=True))
    return record
