"""What status says about key sovereignty, and the one policy action taken at start.

Status shows where the root lives (the vault already does), whether a recovery
kit of *this* root exists (a kit of an earlier root no longer opens anything),
whether the policy's maximum root age has passed, and whether the policy file
is intact.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from .. import policy
from ..errors import PolicyTampered
from ..keys import lockdown
from ..keys.keystore import KeyStore


def root_age_days(ks: KeyStore, kid: str) -> float | None:
    created = ks.root_created.get(kid)
    if not created:
        return None
    return (datetime.now(timezone.utc) - datetime.fromisoformat(created)).total_seconds() / 86400


def status_fields(vault: Any, ks: KeyStore) -> dict[str, Any]:
    kit = ks.recovery_kit
    covers = kit is not None and kit.get("kid") == vault.root.kid
    fields: dict[str, Any] = {
        "recovery_kit_exported": covers,
        "recovery_kit_exported_at": kit.get("exported_at") if covers and kit else None,
        "locked": lockdown.refusal(vault.layout.keys_dir) is not None,
    }
    try:
        rules = policy.load(vault)
    except PolicyTampered as error:
        fields.update(rotation_due=None, policy={"state": "tampered", "error": str(error)})
        return fields
    age = root_age_days(ks, vault.root.kid)
    fields["rotation_due"] = age is not None and age >= rules.max_root_age_days
    fields["policy"] = {"state": "valid" if policy.path(vault.layout.home).exists() else "default", **asdict(rules)}
    return fields


def rotation_due(vault: Any) -> bool:
    """Whether the root is older than the policy allows."""
    ks = KeyStore.load(vault.layout.keystore)
    age = root_age_days(ks, vault.root.kid)
    return age is not None and age >= policy.load(vault).max_root_age_days


def apply_start_policy(vault: Any) -> dict[str, Any] | None:
    """At start (app, admin API): rotate the root if it is due and the policy asks for it."""
    from .rotate import rotate_key

    if policy.load(vault).rotate_on_start and rotation_due(vault):
        return rotate_key(vault)
    return None
