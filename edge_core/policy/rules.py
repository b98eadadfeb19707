"""The security policy: ``<data>/policy.json``, authenticated by a MAC under the vault.

The file is plain JSON a person can read; its ``mac`` is HMAC-SHA256 over the
canonical form of the policy under a 32-byte key sealed in the vault's secrets
table (so it moves with every rotation, and nobody without the root can forge
it). An edit made outside FaceSeal is found on the next read and refused
(:class:`PolicyTampered`) rather than silently obeyed or silently ignored.

The MAC alone would let an older copy of the file be put back (it was valid
once), or the file be deleted (no file would mean the defaults). So every write
also records the policy's version (a counter) and the hash of the policy it
put in force in the encrypted database (``meta``, :data:`META_KEYS`), in the
transaction that audits it; those move into the new database at a reset, as the
MAC key does. A file whose policy is not the recorded one, or no file while
the vault records one, is refused like a hand edit until ``policy reset``
(audited, saying what it recovered from). No file and nothing recorded means the
defaults. Every change goes through :func:`change`, is validated as a whole and
audited in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from edge_core.audit import chain as audit
from edge_core.biometrics import threshold_text
from edge_core.errors import PolicyTampered, PolicyViolation
from edge_core.keys import material
from edge_core.policy import thresholds
from edge_core.support import paths
from edge_core.support.canonical import canonical_json
from edge_core.support.database import get_meta, set_meta
from edge_core.telemetry.outbox import Outbox
from edge_core.vault.store import Vault

FILENAME = "policy.json"
FORMAT = 1
MAC_SECRET = "policy-mac-key"
KEY_BITS_CHOICES = (128, 192, 256)
VERSION_META = "policy_version"
HASH_META = "policy_hash"
META_KEYS = (VERSION_META, HASH_META)
"""What a reset carries into the new database with the MAC key (edge_core.ops.keys.reset)."""
RESET_HINT = "Run 'faceseal policy reset --yes' to go back to the defaults"
LOWEST_DEFAULT, HIGHEST_DEFAULT = thresholds.defaults_span()
RANGES: dict[str, tuple[float, float]] = {
    "max_root_age_days": (1, 3650),
    # The bounds always allow every pack's measured default: a floor above one (or a ceiling below one) would
    # refuse that pack's every match until someone repaired the policy. A stricter threshold is chosen per pack.
    "threshold_min": (0.0, LOWEST_DEFAULT),
    "threshold_max": (HIGHEST_DEFAULT, 1.0),
    "lockout_attempts": (0, 100),
    "lockout_seconds": (1, 86400),
    # A low threshold under 0.05 would refuse nearly every person; a high one over 0.95 would let a decisive
    # signal (a frozen picture, a flat face) through to a step-up instead of refusing it.
    "liveness_risk_low": (0.05, 0.95),
    "liveness_risk_high": (0.05, 0.95),
    # A sign-in looks for a face this long before the password prompt follows: a liveness session's two or three
    # challenges take a person several seconds; more than a minute at a sudo prompt is a camera left looking.
    "signin_timeout_s": (3, 60),
    # Days a person's templates are kept after they consent (0: no retention period, kept until deleted). Ten
    # years is the longest: a retention is a promise to the person, and one longer than a device lives is none.
    "retention_days": (0, 3650),
}
"""The bounds of each numeric setting (inclusive); :meth:`Policy.problems` checks them, the admin panel shows them."""
CHOICES: dict[str, tuple[int, ...]] = {"min_key_bits": KEY_BITS_CHOICES}
_ZERO = {"lockout_attempts": " (off)", "retention_days": " (none)"}
_WHY = {
    "threshold_min": f" (every pack's default must stay allowed; the lowest is {threshold_text(LOWEST_DEFAULT)})",
    "threshold_max": f" (every pack's default must stay allowed; the highest is {threshold_text(HIGHEST_DEFAULT)})",
}


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
    liveness_risk_low: float = 0.3  # below: a liveness check passes
    liveness_risk_high: float = 0.6  # at or above: refused; between: one more challenge (docs/LIVENESS.md)
    # a trained anti-spoof model joins the liveness risk; off: on our media it did not help (docs/LIVENESS.md)
    liveness_attack_model: bool = False
    signin_timeout_s: int = 10  # how long a face sign-in looks before the password follows (docs/SIGNIN.md)
    require_ir: bool = False  # face sign-in refuses a colour camera (edge_core/biometrics/infrared.py says what is IR)
    retention_days: int = 0  # days a person is kept after consenting, fixed at consent; 0: none (docs/PRIVACY.md)

    def problems(self) -> list[str]:
        """Every rule this policy breaks; a policy with problems is never written."""
        found = []
        if self.min_key_bits not in KEY_BITS_CHOICES:
            found.append(f"min_key_bits must be one of {', '.join(map(str, KEY_BITS_CHOICES))}")
        for name in ("max_root_age_days", "lockout_attempts", "lockout_seconds", "threshold_min", "threshold_max",
                     "signin_timeout_s", "retention_days"):
            low, high = RANGES[name]
            if not low <= getattr(self, name) <= high:
                found.append(f"{name} must be between {low:g}{_ZERO.get(name, '')} "
                             f"and {high:g}{_WHY.get(name, '')}")
        low, high = RANGES["liveness_risk_low"]
        if not low <= self.liveness_risk_low < self.liveness_risk_high <= high:
            found.append(f"liveness risk bands must satisfy {low} <= liveness_risk_low < liveness_risk_high <= {high}")
        return found


_TYPES = {f.name: f.type for f in fields(Policy)}


def as_dict(policy: Policy) -> dict[str, Any]:
    """Every setting by name."""
    return asdict(policy)


def version(vault: Vault) -> int:
    """How many times this vault wrote its policy (0: never; the defaults apply)."""
    return int(get_meta(vault.conn, VERSION_META) or 0)


def path(home: Path) -> Path:
    return home / FILENAME


def _mac(key: bytes, settings: dict[str, Any]) -> str:
    """MAC over the settings as written; a file from before a setting existed still verifies."""
    return hmac.new(key, canonical_json({"format": FORMAT, "policy": settings}), hashlib.sha256).hexdigest()


def _digest(settings: dict[str, Any]) -> str:
    """The hash of a policy's settings as written (every setting there was when it was written), as the database
    records it. Over the written settings, not the defaults filled in: a setting added in a later version must not
    make every policy written before it look rolled back."""
    return hashlib.sha256(canonical_json({"format": FORMAT, "policy": settings})).hexdigest()


def _examine(vault: Vault) -> tuple[Policy | None, str | None]:
    """(the policy, None), or (None, what is wrong: "edit", "rollback" or "deletion")."""
    file = path(vault.layout.home)
    version = get_meta(vault.conn, VERSION_META)
    recorded = get_meta(vault.conn, HASH_META)
    if not file.exists():
        return (None, "deletion") if version is not None else (Policy(), None)
    try:
        raw = json.loads(file.read_bytes())
        stored = raw["policy"]
        if raw.get("format") != FORMAT or not isinstance(stored, dict) or not set(stored) <= set(_TYPES):
            return None, "edit"
        policy = Policy(**stored)  # settings added since the file was written take their defaults
        stored_mac = raw["mac"]
    except (ValueError, KeyError, TypeError, AttributeError, OSError):
        return None, "edit"
    key = vault.get_secret(MAC_SECRET)
    if key is None or not isinstance(stored_mac, str) or not material.same_secret(
        _mac(key, stored).encode(), stored_mac.encode()
    ):
        return None, "edit"
    if recorded is not None and not material.same_secret(_digest(stored).encode(), recorded.encode()):
        return None, "rollback"  # a file this vault once wrote, but not the one in force
    return policy, None


def load(vault: Vault) -> Policy:
    """The policy in force; raises :class:`PolicyTampered` if the file was edited, rolled back or deleted."""
    policy, problem = _examine(vault)
    if policy is not None:
        return policy
    file = path(vault.layout.home)
    version = get_meta(vault.conn, VERSION_META)
    if problem == "deletion":
        raise PolicyTampered(
            f"the policy file {file} is missing although this vault records version {version} of it "
            f"(deleted outside FaceSeal); nothing was applied. {RESET_HINT}"
        )
    if problem == "rollback":
        raise PolicyTampered(
            f"the policy file {file} is not version {version} of the policy this vault records (an older copy "
            f"was put back, or a change never completed); nothing was applied. {RESET_HINT}"
        )
    raise PolicyTampered(
        f"the policy file {file} was changed outside FaceSeal (its MAC does not match this vault); "
        f"nothing was applied. {RESET_HINT}"
    )


def parse_changes(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` strings from the command line into typed values; names and types are checked."""
    changes: dict[str, Any] = {}
    for index, pair in enumerate(pairs):
        name, sep, text = pair.partition("=")
        if not sep:
            value = pairs[index + 1] if index + 1 < len(pairs) and "=" not in pairs[index + 1] else "VALUE"
            example = f"{name}={value}" if name in _TYPES else "lockout_attempts=3"
            raise PolicyViolation(f"a policy setting is given as NAME=VALUE, in one word (for example {example}); "
                                  f"'{pair}' has no '='")
        if name not in _TYPES:
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
    # float(v) + 0.0: -0.0 is 0.0 (it would be written and shown as "-0.0")
    proposed = replace(current, **{k: (float(v) + 0.0 if _TYPES[k] == "float" else v) for k, v in changes.items()})
    problems = proposed.problems() + _stranded(vault, proposed)
    if problems:
        raise PolicyViolation("policy change refused, nothing was changed: " + "; ".join(problems))
    diff = {k: [getattr(current, k), getattr(proposed, k)] for k in changes if getattr(current, k) != getattr(proposed, k)}
    if diff:
        _write(vault, proposed, "policy_changed", changed=diff)
        if not proposed.telemetry_allowed:
            Outbox(vault.conn).disable()  # forbidding telemetry also switches it off, now
    return proposed, diff


def _stranded(vault: Vault, proposed: Policy) -> list[str]:
    """A chosen pack threshold the proposed bounds would leave outside: every match of that pack would then be
    refused, which is recognition switched off as surely as a bound that excludes a pack's default."""
    return [f"the threshold chosen for pack '{pack}' ({threshold_text(value)}) would lie outside "
            f"{threshold_text(proposed.threshold_min)} to {threshold_text(proposed.threshold_max)}: choose another "
            f"for it first ('faceseal threshold VALUE --pack {pack}', or '--clear' for its default)"
            for pack, value in sorted(thresholds.chosen(vault).items())
            if not proposed.threshold_min <= value <= proposed.threshold_max]


RECOVERED_FROM = {"edit": "edit", "rollback": "rollback", "deletion": "deletion"}


def reset(vault: Vault) -> Policy:
    """Back to the defaults, also the way out of an edited, rolled-back or deleted file; audited.

    The event says whether the file was tampered with and what the reset
    recovered from (``recovered_from``: "edit", "rollback" or "deletion").
    """
    _, problem = _examine(vault)
    detail: dict[str, Any] = {"was_tampered": problem is not None}
    if problem is not None:
        detail["recovered_from"] = RECOVERED_FROM[problem]
    _write(vault, Policy(), "policy_reset", **detail)
    return Policy()


def _write(vault: Vault, policy: Policy, event: str, **detail: Any) -> None:
    """Write the file inside the transaction that audits it and records its version and hash.

    A failed write leaves no event; a transaction that fails after the file was
    replaced puts the previous file back, so file and database never disagree.
    """
    key = vault.get_secret(MAC_SECRET)
    if key is None:
        key = material.random_key()
        vault.put_secret(MAC_SECRET, key)
    settings = asdict(policy)
    doc = {"format": FORMAT, "policy": settings, "mac": _mac(key, settings)}
    file = path(vault.layout.home)
    previous = file.read_bytes() if file.exists() else None
    version = str(int(get_meta(vault.conn, VERSION_META) or 0) + 1)
    replaced = False
    try:
        with vault.writing() as tx:
            audit.append(tx, event, policy_version=int(version), **detail)
            set_meta(tx, VERSION_META, version)
            set_meta(tx, HASH_META, _digest(settings))
            paths.atomic_write(file, json.dumps(doc, indent=1, sort_keys=True).encode())
            replaced = True
    except BaseException:
        if replaced and not _committed(vault, version):
            if previous is None:
                file.unlink(missing_ok=True)
            else:
                paths.atomic_write(file, previous)
        raise


def _committed(vault: Vault, version: str) -> bool:
    """Whether the database took ``version`` (the failure came after the commit, e.g. while signing)."""
    try:
        return get_meta(vault.conn, VERSION_META) == version
    except Exception:  # the connection itself failed: nothing was committed that we can see
        return False


# ------------------------------------------------------------ the checks
def check_key_bits(vault: Vault, bits: int) -> None:
    minimum = load(vault).min_key_bits
    if bits < minimum:
        raise PolicyViolation(f"the key is {bits} bits; the policy requires at least {minimum} bits")


def check_threshold(vault: Vault, threshold: float) -> None:
    policy = load(vault)
    if not policy.threshold_min <= threshold <= policy.threshold_max:
        raise PolicyViolation(
            f"threshold {threshold:g} is outside the range the policy allows "
            f"({threshold_text(policy.threshold_min)} to {threshold_text(policy.threshold_max)})"
        )


def signin_timeout(vault: Vault) -> int:
    """How long a face sign-in may look for a face, in seconds, before the password prompt follows."""
    return load(vault).signin_timeout_s


def require_ir(vault: Vault) -> bool:
    """Whether face sign-in refuses a camera that is not IR (off by default: most laptops have a colour webcam)."""
    return load(vault).require_ir


def liveness_required(vault: Vault) -> bool:
    """Whether verifying from a camera must pass a liveness check first (the default)."""
    return load(vault).liveness_required


def liveness_bands(vault: Vault) -> tuple[float, float]:
    """The liveness risk thresholds in force: (low, high); below low passes, at or above high refuses."""
    policy = load(vault)
    return policy.liveness_risk_low, policy.liveness_risk_high


def liveness_attack_model(vault: Vault) -> bool:
    """Whether a liveness session also weighs the trained anti-spoof model (off by default: docs/LIVENESS.md)."""
    return load(vault).liveness_attack_model


def retention_days(vault: Vault) -> int | None:
    """The retention period a consent given now is fixed to, in days; None when the policy sets none."""
    return load(vault).retention_days or None


def telemetry_allowed(vault: Vault) -> bool:
    """Whether the policy lets telemetry be switched on (it stays off until the user opts in)."""
    return load(vault).telemetry_allowed
