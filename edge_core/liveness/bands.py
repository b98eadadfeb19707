"""The risk bands: below the low threshold a liveness check passes, at or above the high one it is refused.

Between them the session asks for one more random challenge, once, and then
passes only below the low threshold (SentinelID's R1/R2 policy). The values in
force live in the policy file (``liveness_risk_low``, ``liveness_risk_high``,
bounded there); ``enforce`` is how the use cases hold a session's result to
them, whatever bands the front end ran the session with.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from edge_core.liveness.result import LivenessResult, Refusal


class Band(enum.Enum):
    """Where a risk falls between the policy's two thresholds."""

    LOW = "low"
    """Below the low threshold: passes."""
    MIDDLE = "middle"
    """Between: one more random challenge (once), then it must be low."""
    HIGH = "high"
    """At or above the high threshold: refused."""


@dataclass(frozen=True)
class RiskBands:
    """The two thresholds splitting the risk into bands; the policy file holds the values in force."""

    low: float = 0.3
    high: float = 0.6

    def band(self, risk: float) -> Band:
        return Band.LOW if risk < self.low else Band.HIGH if risk >= self.high else Band.MIDDLE


def enforce(result: LivenessResult, bands: RiskBands) -> LivenessResult:
    """``result``, refused if it passed with a risk the policy's ``bands`` do not call low."""
    if not result.passed or bands.band(result.risk) is Band.LOW:
        return result
    reason = (f"{Refusal.RISK_ABOVE_POLICY.value} (risk {result.risk:.2f}, the policy passes below "
              f"{bands.low:g})")
    return replace(result, passed=False, refusal=Refusal.RISK_ABOVE_POLICY, reason=reason, embedding=None,
                   band=bands.band(result.risk).value)
