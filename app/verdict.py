"""What the Verify page says about a decision: the headline, the numbers, and whether the face was live.

The words are the window's; the decisions are edge_core's (``verify_not_live``,
``verify_after_liveness``, ``Vault.identify``). A refused liveness check names
its reason the way a person would say it, never a code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge_core.liveness import LivenessResult, Refusal
from edge_core.vault.matching import MatchResult

PLAINER = {
    Refusal.FLAT: "the face did not move like a real head (a photo or a screen?)",
    Refusal.FROZEN: "the picture did not change from one frame to the next (a still photo?)",
    Refusal.SIZE: "the face was too small or too large for a real head at that distance (a photo or a screen?)",
}
"""Refusals whose edge_core sentence describes the measurement; the person wants to know what it means."""

NOT_LIVE = {
    "photo": "Not live: a photo was matched; nothing shows that a live person was there.",
    "video": "Not live: a video file stood in for the camera, and the policy does not ask for a liveness check.",
    "camera": "Not live: the policy does not ask for a liveness check, so a photo held to the camera would be "
              "matched too.",
}


@dataclass(frozen=True)
class Verdict:
    """One decision as the page shows it."""

    outcome: str
    """The style of the headline: "match", "nomatch" (a refusal looks like a no match), or ""."""
    headline: str
    details: str
    live: str
    """"Live: ..." or "Not live: ...", with why."""
    passed: bool | None = None
    """The liveness check's outcome, None when none ran."""


def decision_text(result: MatchResult, verifying: bool) -> tuple[str, str]:
    """(headline, details) for a result: the decision first, then the numbers it rests on."""
    numbers = f"score {result.score:.3f}, threshold {result.threshold:.2f}, model pack {result.pack}"
    if result.name is None:
        return "No match", "Nobody is enrolled with this model pack yet."
    if result.match:
        headline = f"Match: this is {result.name}" if verifying else f"Identified: {result.name}"
        return headline, f"The score reaches the threshold ({numbers})."
    headline = f"No match: this is not {result.name}" if verifying else "No match: not anyone enrolled"
    closest = "" if verifying else f" Closest was {result.name}."
    return headline, f"The score is below the threshold ({numbers}).{closest}"


def _matched(answer: dict[str, Any]) -> MatchResult:
    return MatchResult(answer["name"], answer["score"], answer["threshold"], answer["pack"])


def identified(result: MatchResult) -> Verdict:
    """Identify runs no liveness check (as ``faceseal identify``)."""
    headline, details = decision_text(result, verifying=False)
    return Verdict("match" if result.match else "nomatch", headline, details,
                   "Not live: identify does not run a liveness check.")


def not_live(answer: dict[str, Any], source: str) -> Verdict:
    """A verification matched without a liveness check (``verify_not_live``'s answer)."""
    headline, details = decision_text(_matched(answer), verifying=True)
    return Verdict("match" if answer["match"] else "nomatch", headline, details, NOT_LIVE[source])


def refusal_reason(liveness: LivenessResult) -> str:
    """Why the check refused, in a person's words, naming the movement when one was missed."""
    missed = liveness.challenges[liveness.completed] if liveness.completed < len(liveness.challenges) else None
    if liveness.refusal is Refusal.TIMEOUT and missed is not None:
        return f"time ran out for '{missed.value}'"
    if liveness.refusal is Refusal.WRONG_MOVE and missed is not None:
        return f"you moved the wrong way: the check asked you to {missed.value}"
    return PLAINER.get(liveness.refusal, liveness.reason)


def after_liveness(answer: dict[str, Any], liveness: LivenessResult) -> Verdict:
    """A verification after a liveness session (``verify_after_liveness``'s answer)."""
    done = f"{liveness.completed} of {len(liveness.challenges)} movements done, risk {liveness.risk:.2f}"
    if not liveness.passed:
        reason = refusal_reason(liveness)
        return Verdict("nomatch", "Refused: the liveness check failed",
                       f"{reason[:1].upper()}{reason[1:]}. Nothing was matched, and this attempt counts towards "
                       f"the lockout ({done}).", "Not live: the liveness check failed.", passed=False)
    headline, details = decision_text(_matched(answer), verifying=True)
    moves = ", ".join(c.value for c in liveness.challenges)
    live = ("Live: the liveness check passed at the camera." if answer["live"] else
            "Not live: the liveness check passed, but a video file stood in for the camera; only a camera "
            "can be live.")
    return Verdict("match" if answer["match"] else "nomatch", headline,
                   f"{details} Liveness check passed: {moves}, all by the same face ({done}).", live, passed=True)
