"""The security policy: ``<data>/policy.json``, authenticated by a MAC under the vault.

The file is plain JSON a person can read; its ``mac`` is HMAC-SHA256 over the
canonical form of the policy under a 32-byte key sealed in the vault's secrets
table (so it moves with every rotation, and nobody without the root can forge
it). An edit made outside FaceSeal is found on the next read and refused
(:class:`PolicyTampered`) rather than silently obeyed or silently ignored. No
file means the defaults. Every change goes through :func:`change`, is
validated as a whole and audited in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from edge_core.audit import chain as audit
from edge_core.support import paths
from edge_core.errors import PolicyTampered, PolicyViolation
from edge_core.keys import material
from edge_core.support.canonical import canonical_json
from edge_core.telemetry.outbox import Outbox
from edge_core.vault.store import Vault

FILENAME = "policy.json"
FORMAT = 1
MAC_SECRET = "policy-mac-key"
KEY_BITS_CHOICES = (128, 192, 256)


@dataclass(frozen=True)
class Policy:
    """What the operator decided; the defaults are the safe choice for one person on one laptop."""

    min_key_bits: int = 256
    max_root_age_days: int = 90
    rotate_on_start: bool = False
    threshold_min: float = 0.10
    threshold_max: float = 0.99
    telemetry_allowed: bool = True
    lockout_attempts: int = 5  # consecutive failed verifications of one identity; 0 turns lockout off
    lockout_seconds: int = 300
    liveness_required: bool = True  # camera verification must pass a liveness check (docs/LIVENESS.md)

    def problems(self) -> list[str]:
        """Every rule this policy breaks; a policy with problems is never written."""
        found = []
        if self.min_key_bits not in KEY_BITS_CHOICES:
            found.append(f"min_key_bits must be one of {', '.join(map(str, KEY_BITS_CHOICES))}")
        if not 1 <= self.max_root_age_days <= 3650:
            found.append("max_root_age_days must be between 1 and 3650")
        if not 0.0 <= self.threshold_min <= self.threshold_max <= 1.0:
            found.append("thresholds must satisfy 0 <= threshold_min <= threshold_max <= 1")
        if not 0 <= self.lockout_attempts <= 100:
            found.append("lockout_attempts must be between 0 (off) and 100")
        if not 1 <= self.lockout_seconds <= 86400:
            found.append("lockout_seconds must be between 1 and 86400")
        return found


_TYPES = {f.name: f.type for f in fields(Policy)}


def as_dict(policy: Policy) -> dict[str, Any]:
    """Every setting by name."""
    return asdict(policy)


def path(home: Path) -> Path:
    return home / FILENAME


def _mac(key: bytes, settings: dict[str, Any]) -> str:
    """MAC over the settings as written; a file from before a setting existed still verifies."""
    return hmac.new(key, canonical_json({"format": FORMAT, "policy": settings}), hashlib.sha256).hexdigest()


def load(vault: Vault) -> Policy:
    """The policy in force; raises :class:`PolicyTampered` if the file was edited outside FaceSeal."""
    file = path(vault.layout.home)
    if not file.exists():
        return Policy()
    tampered = PolicyTampered(
        f"the policy file {file} was changed outside FaceSeal (its MAC does not match this vault); "
        "nothing was applied. Run 'faceseal policy reset --yes' to go back to the defaults"
    )
    try:
        raw = json.loads(file.read_bytes())
        stored = raw["policy"]
        if raw.get("format") != FORMAT or not isinstance(stored, dict) or not set(stored) <= set(_TYPES):
            raise tampered
        policy = Policy(**stored)  # settings added since the file was written take their defaults
        stored_mac = raw["mac"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise tampered from None
    key = vault.get_secret(MAC_SECRET)
    if key is None or not isinstance(stored_mac, str) or not material.same_secret(
        _mac(key, stored).encode(), stored_mac.encode()
    ):
        raise tampered
    return policy


def parse_changes(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` strings from the command line into typed values; names and types are checked."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or name not in _TYPES:
            raise PolicyViolation(f"'{name}' is not a policy setting; the settings are: {', '.join(_TYPES)}")
        kind = _TYPES[name]
        try:
            if kind == "bool":
                if text.lower() not in ("true", "false"):
                    raise ValueError(text)
                changes[name] = text.lower() == "true"
            else:
                changes[name] = int(text) if kind == "int" else float(text)
        except ValueError:
            raise PolicyViolation(f"{name} takes a value of type {kind}") from None
    return changes


def change(vault: Vault, changes: dict[str, Any]) -> tuple[Policy, dict[str, list[Any]]]:
    """Apply ``changes`` if the resulting policy is valid; audited with every old and new value.

    Returns the policy now in force and what changed (name -> [old, new]).
    """
    current = load(vault)
    for name, value in changes.items():
        kind = _TYPES.get(name)
        if kind is None:
            raise PolicyViolation(f"'{name}' is not a policy setting")
        ok = {"bool": isinstance(value, bool), "int": isinstance(value, int) and not isinstance(value, bool),
              "float": isinstance(value, (int, float)) and not isinstance(value, bool)}[str(kind)]
        if not ok:
            raise PolicyViolation(f"{name} takes a value of type {kind}")
    proposed = replace(current, **{k: (float(v) if _TYPES[k] == "float" else v) for k, v in changes.items()})
    problems = proposed.problems()
    if problems:
        raise PolicyViolation("policy change refused, nothing was changed: " + "; ".join(problems))
    diff = {k: [getattr(current, k), getattr(proposed, k)] for k in changes if getattr(current, k) != getattr(proposed, k)}
    if diff:
        _write(vault, proposed, "policy_changed", changed=diff)
        if not proposed.telemetry_allowed:
            Outbox(vault.conn).disable()  # forbidding telemetry also switches it off, now
    return proposed, diff


def reset(vault: Vault) -> Policy:
    """Back to the defaults, also the way out of a tampered file; audited."""
    file = path(vault.layout.home)
    _write(vault, Policy(), "policy_reset", was_tampered=_is_tampered(vault) if file.exists() else False)
    return Policy()


def _is_tampered(vault: Vault) -> bool:
    try:
        load(vault)
        return False
    except PolicyTampered:
        return True


def _write(vault: Vault, policy: Policy, event: str, **detail: Any) -> None:
    """Write the file inside the transaction that audits it: a failed write leaves no event."""
    key = vault.get_secret(MAC_SECRET)
    if key is None:
        key = material.random_key()
        vault.put_secret(MAC_SECRET, key)
    doc = {"format": FORMAT, "policy": asdict(policy), "mac": _mac(key, asdict(policy))}
    with vault.writing() as tx:
        audit.append(tx, event, **detail)
        paths.atomic_write(path(vault.layout.home), json.dumps(doc, indent=1, sort_keys=True).encode())


# ------------------------------------------------------------ the checks
def check_key_bits(vault: Vault, bits: int) -> None:
    minimum = load(vault).min_key_bits
    if bits < minimum:
        raise PolicyViolation(f"the key is {bits} bits; the policy requires at least {minimum} bits")


def check_threshold(vault: Vault, threshold: float) -> None:
    policy = load(vault)
    if not policy.threshold_min <= threshold <= policy.threshold_max:
        raise PolicyViolation(
            f"threshold {threshold} is outside the range the policy allows "
            f"({policy.threshold_min} to {policy.threshold_max})"
        )


def liveness_required(vault: Vault) -> bool:
    """Whether verifying from a camera must pass a liveness check first (the default)."""
    return load(vault).liveness_required


def telemetry_allowed(vault: Vault) -> bool:
    """Whether the policy lets telemetry be switched on (it stays off until the user opts in)."""
    return load(vault).telemetry_allowed
