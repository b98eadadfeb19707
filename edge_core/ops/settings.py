"""The security policy as an administrator sees it: show, describe, change (validated, audited), reset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from edge_core.errors import PolicyTampered
from edge_core.ops.presence import needs_presence
from edge_core.ops.results import PolicyChange, PolicyReport, Result
from edge_core.policy import rules as policy
from edge_core.vault.store import Vault

MEANINGS = {
    "min_key_bits": "the smallest root key, in bits, that may be imported",
    "max_root_age_days": "after this many days the root key is due for rotation",
    "rotate_on_start": "rotate a due root key when the window or the admin API starts",
    "threshold_min": "the lowest match threshold anyone may choose",
    "threshold_max": "the highest match threshold anyone may choose",
    "telemetry_allowed": "whether telemetry may be switched on at all (forbidding it switches it off)",
    "lockout_attempts": "failed verifications in a row before a person is locked out (0: never)",
    "lockout_seconds": "how long a lockout lasts, in seconds",
    "liveness_required": "a face shown to a camera must pass a liveness check before it is matched",
    "liveness_risk_low": "a liveness risk below this passes; between it and the high band, one more challenge",
    "liveness_risk_high": "a liveness risk at or above this is refused outright",
    "liveness_attack_model": "a trained anti-spoof model (Human's antispoof CNN, 'scripts/attack_model.py "
                             "--install') joins the liveness risk; off by default: on the test media it did not "
                             "tell live faces from attacks",
    "signin_timeout_s": "how long a face sign-in looks for a face, in seconds, before the password prompt follows",
    "require_ir": "face sign-in (and apps asking) refuses a colour camera: only an IR camera may sign in",
    "retention_days": "days a person is kept after consenting, then deleted by itself (0: until deleted); fixed "
                      "into each consent when it is given, so a change applies to consents given afterwards",
}
"""What each setting means, in the words the window and ``faceseal policy describe`` show."""


@dataclass(frozen=True)
class PolicySetting(Result):
    """One setting with what it means, its value in force (None while the file is tampered with), its default
    and what it may be."""

    name: str
    meaning: str
    kind: str
    value: Any
    default: Any
    allowed: str
    low: float | None = None
    high: float | None = None
    choices: list[int] | None = None


@dataclass(frozen=True)
class PolicyDescription(Result):
    """The policy file, its MAC state ("default": no file yet, "valid", "tampered" with ``error``), the
    version this vault recorded, and every setting."""

    path: str
    state: str
    version: int
    settings: list[PolicySetting]
    error: str | None = None

    def summary(self) -> str:
        head = f"policy {self.path}: {self.state}, version {self.version}" + (f" ({self.error})" if self.error else "")
        return "\n".join([head, *(f"{s.name} = {s.value} (default {s.default}; {s.allowed}): {s.meaning}"
                                  for s in self.settings)])


def _rule(name: str, default: Any) -> PolicySetting:
    kind, meaning = type(default).__name__, MEANINGS[name]
    if name in policy.CHOICES:
        choices = list(policy.CHOICES[name])
        return PolicySetting(name, meaning, kind, None, default, f"one of {', '.join(map(str, choices))}",
                             choices=choices)
    if kind == "bool":
        return PolicySetting(name, meaning, kind, None, default, "true or false")
    low, high = policy.RANGES[name]
    extra = " and below liveness_risk_high" if name == "liveness_risk_low" else \
        " and above liveness_risk_low" if name == "liveness_risk_high" else ""
    return PolicySetting(name, meaning, kind, None, default, f"{low:g} to {high:g}{extra}", low, high)


SETTING_RULES: tuple[PolicySetting, ...] = tuple(_rule(name, default)
                                                 for name, default in policy.as_dict(policy.Policy()).items())
"""Every setting with what it may be and no value (no vault needed): the admin API's request schema."""


def policy_describe(vault: Vault) -> PolicyDescription:
    """Every setting with its meaning, value, default and allowed range, and the file's MAC and version state.

    A tampered file is described, not refused: its state says so, and resetting
    is the way out.
    """
    file = policy.path(vault.layout.home)
    try:
        current: dict[str, Any] | None = policy.as_dict(policy.load(vault))
        state, error = ("valid" if file.exists() else "default"), None
    except PolicyTampered as tampered:
        current, state, error = None, "tampered", str(tampered)
    settings = [rule if current is None else replace(rule, value=current[rule.name]) for rule in SETTING_RULES]
    return PolicyDescription(str(file), state, policy.version(vault), settings, error)


def policy_show(vault: Vault) -> PolicyReport:
    """The policy in force and where its file is; an edited, rolled-back or deleted file is refused (PolicyTampered)."""
    return PolicyReport(str(policy.path(vault.layout.home)), policy.as_dict(policy.load(vault)))


LOOSER: dict[str, Callable[[Any, Any], bool]] = {
    "min_key_bits": lambda old, new: new < old,
    "max_root_age_days": lambda old, new: new > old,
    "rotate_on_start": lambda old, new: old and not new,
    "threshold_min": lambda old, new: new < old,
    "threshold_max": lambda old, new: new < old,  # a lower ceiling can pull a stricter chosen threshold down
    "telemetry_allowed": lambda old, new: new and not old,
    "lockout_attempts": lambda old, new: old != 0 and (new == 0 or new > old),
    "lockout_seconds": lambda old, new: new < old,
    "liveness_required": lambda old, new: old and not new,
    "liveness_risk_low": lambda old, new: new > old,
    "liveness_risk_high": lambda old, new: new > old,
    "liveness_attack_model": lambda old, new: old and not new,
    "require_ir": lambda old, new: old and not new,
}
"""When changing a setting from ``old`` to ``new`` weakens protection: that change needs proof of presence."""
NEVER_LOOSER = frozenset({"signin_timeout_s", "retention_days"})
"""Settings no value of which weakens protection (a longer sign-in wait only keeps the camera looking longer; a
retention applies only to consents given afterwards, each of which shows it to the person first, and destroys
nothing already enrolled)."""


def _current(vault: Vault) -> dict[str, Any] | None:
    try:
        return policy.as_dict(policy.load(vault))
    except PolicyTampered:
        return None


def loosens(vault: Vault, changes: dict[str, Any]) -> bool:
    """Whether applying ``changes`` weakens protection (a policy that cannot be read counts as the strictest)."""
    current = _current(vault)
    return any(current is None or (name in LOOSER and name in current and LOOSER[name](current[name], value))
               for name, value in changes.items())


def _reset_loosens(vault: Vault) -> bool:
    return loosens(vault, policy.as_dict(policy.Policy()))


@needs_presence("loosen the security policy", when=loosens)
def policy_set(vault: Vault, changes: dict[str, Any]) -> PolicyChange:
    """Apply typed ``changes`` if the whole resulting policy is valid; audited with old and new values. The trained
    anti-spoof model is turned on only once it is installed and intact: on without it, every liveness check (and so
    every face sign-in) would fail until someone installs it or turns it off with the admin passphrase."""
    if changes.get("liveness_attack_model") is True:
        from edge_core.biometrics.errors import ModelIntegrityError, PackNotInstalled
        from edge_core.liveness.attack import POLICY_MODEL, attack_model_specs, load_net

        try:
            load_net(attack_model_specs()[POLICY_MODEL])
        except (PackNotInstalled, ModelIntegrityError) as missing:
            raise type(missing)(f"the policy was not changed: {missing}") from None
    rules, changed = policy.change(vault, changes)
    return PolicyChange("changed" if changed else "unchanged", policy.as_dict(rules), changed)


@needs_presence("put back the policy's defaults, which are looser than the policy in force", when=_reset_loosens)
def policy_reset(vault: Vault) -> PolicyChange:
    """Back to the defaults, also the way out of an edited, rolled-back or deleted file; audited (the event says
    which it recovered from)."""
    return PolicyChange("reset", policy.as_dict(policy.reset(vault)))


def parse_policy_changes(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` strings (CLI, a form) into typed settings; unknown names and bad types are refused."""
    return policy.parse_changes(pairs)
