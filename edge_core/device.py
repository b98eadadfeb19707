"""The installation's device identity: an Ed25519 key sealed in the vault.

It signs telemetry batches (and audit heads) and nothing else. The seed lives
in the vault's secrets table, wrapped under the vault key like every other
secret, so it is as safe as the templates and goes wherever the root goes.
"""

from __future__ import annotations

from .telemetry.device import DeviceKey

SECRET_NAME = "device-key"


def device_key(vault) -> DeviceKey:
    """The device key, made on first use."""
    seed = vault.get_secret(SECRET_NAME)
    if seed is None:
        return rotate_device_key(vault)
    return DeviceKey.from_seed(seed)


def rotate_device_key(vault) -> DeviceKey:
    """A new device key, hence a new device id; the old one is gone."""
    key = DeviceKey.generate()
    vault.put_secret(SECRET_NAME, key.seed())
    return key
