"""The security policy as an administrator sees it: show, change (validated, audited), reset."""

from __future__ import annotations

from typing import Any

from edge_core.ops.results import PolicyChange, PolicyReport
from edge_core.policy import rules as policy
from edge_core.vault.store import Vault


def policy_show(vault: Vault) -> PolicyReport:
    """The policy in force and where its file is; an edited, rolled-back or deleted file is refused (PolicyTampered)."""
    return PolicyReport(str(policy.path(vault.layout.home)), policy.as_dict(policy.load(vault)))


def policy_set(vault: Vault, changes: dict[str, Any]) -> PolicyChange:
    """Apply typed ``changes`` if the whole resulting policy is valid; audited with old and new values."""
    rules, changed = policy.change(vault, changes)
    return PolicyChange("changed" if changed else "unchanged", policy.as_dict(rules), changed)


def policy_reset(vault: Vault) -> PolicyChange:
    """Back to the defaults, also the way out of an edited, rolled-back or deleted file; audited (the event says
    which it recovered from)."""
    return PolicyChange("reset", policy.as_dict(policy.reset(vault)))


def parse_policy_changes(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` strings (CLI, a form) into typed settings; unknown names and bad types are refused."""
    return policy.parse_changes(pairs)
