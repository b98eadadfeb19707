"""What the Verify page says about a decision: the headline, the numbers, and whether the face was live.

The words are the window's; the decision is edge_core's (``ops.verify`` and
``ops.identify`` return a :class:`~edge_core.ops.results.Decision`). A refused
liveness check names its reason the way a person would say it, never a code.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_core.biometrics import threshold_text
from edge_core.liveness import LivenessResult, Refusal
from edge_core.ops import Source
from edge_core.ops.results import Decision, FaceMatch

PLAINER = {
    "flat": "the face did not move like a real head (a photo or a screen?)",
    "frozen": "the picture did not change from one frame to the next (a still photo?)",
    "size": "the face was too small for a real head at any usual distance (a photo or a screen?)",
    "identity_jump": "the face turned into someone else's during the check (another person answering?)",
    "flat_depth": "the face had no depth of its own as it moved (a flat or bent photo?)",
    "moire": "the face showed the fine stripes of a screen's pixels (a phone or tablet screen?)",
    "border": "straight edges framed the face, like a phone's bezel or the edge of a print",
    "no_blink": "the eyes never blinked (a photo?)",
}
"""Refusals (by ``Refusal.code``) whose edge_core sentence describes the measurement; the person wants to know
what it means. Keyed by the stable code so a refusal edge_core adds later falls back to its own sentence."""

SIGNAL_WORDS = {
    "frozen": "the picture hardly changed between frames",
    "flat": "the face moved like a flat picture",
    "size": "the face was too small for a real head at a usual distance",
    "identity": "the face looked like a different person at moments",
    "depth": "the face showed little depth of its own",
    "moire": "the face showed a screen's pixel stripes",
    "border": "straight edges framed the face",
    "no_blink": "the eyes did not blink for a long time",
}
"""Passive signals (``LivenessResult.signals`` names) in a person's words, for naming the strongest one."""
NOTICEABLE = 0.1
"""A signal scoring below this (0..1) is not worth naming."""

NOT_LIVE = {
    Source.PHOTO: "Not live: a photo was matched; nothing shows that a live person was there.",
    Source.EMBEDDING: "Not live: an embedding was matched; nothing shows that a live person was there.",
    Source.VIDEO: "Not live: a video file stood in for the camera, and the policy does not ask for a liveness "
                  "check.",
    Source.CAMERA: "Not live: the policy does not ask for a liveness check, so a photo held to the camera would be "
                   "matched too.",
}

VIDEO_CHOSEN = "Not live: a video file was matched; nothing shows that a live person was there."


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
    faces: tuple[str, ...] = ()
    """One line per face of a group photo (identify), left to right."""


def _skipped(decision: Decision) -> str:
    """A sentence about stored samples that could not be read, or nothing."""
    if not decision.skipped:
        return ""
    samples = "sample" if decision.skipped == 1 else "samples"
    return (f" {decision.skipped} stored {samples} could not be read (damaged) and "
            f"{'was' if decision.skipped == 1 else 'were'} left out; the audit log names them.")


def decision_text(decision: Decision, verifying: bool) -> tuple[str, str]:
    """(headline, details) for a decision: the decision first, then the numbers it rests on.

    The score is shown on a match only: on a no-match edge_core gives none (it
    would help someone improve a forged face step by step), and an
    identification's no-match names nobody (it would list who is enrolled).
    """
    if decision.nobody_enrolled:
        return "No match", "Nobody is enrolled with this model pack yet." + _skipped(decision)
    threshold = f"threshold {threshold_text(decision.threshold)}, model pack {decision.pack}"
    numbers = threshold if decision.score is None else f"score {decision.score:.3f}, {threshold}"
    if decision.match:
        headline = f"Match: this is {decision.name}" if verifying else f"Identified: {decision.name}"
        return headline, f"The score reaches the threshold ({numbers})." + _skipped(decision)
    headline = f"No match: this is not {decision.name}" if verifying else "No match: not anyone enrolled"
    return headline, f"The similarity is below the threshold ({numbers})." + _skipped(decision)


def face_line(number: int, face: FaceMatch, nobody_enrolled: bool = False) -> str:
    """One face of a group photo: who it is, with its score, when it matched; a no-match names nobody."""
    numbers = (f"threshold {threshold_text(face.threshold)}" if face.score is None
               else f"score {face.score:.3f}, threshold {threshold_text(face.threshold)}")
    if face.match:
        return f"Face {number}: {face.name} ({numbers})"
    if nobody_enrolled:
        return f"Face {number}: nobody enrolled with this model pack ({numbers})"
    return f"Face {number}: not anyone enrolled ({numbers})"


def group_text(decision: Decision) -> tuple[str, str, tuple[str, ...]]:
    """(headline, details, lines) for a photo of several faces: every face is named, left to right."""
    faces = sorted(decision.faces or [], key=lambda face: face.box[0])
    lines = tuple(face_line(number, face, bool(decision.nobody_enrolled))
                  for number, face in enumerate(faces, start=1))
    named = list(dict.fromkeys(face.name for face in faces if face.match and face.name))
    if named:
        headline = f"Identified {len(named)} of {len(faces)} faces: {', '.join(named)}"
    else:
        headline = f"No match: none of the {len(faces)} faces is anyone enrolled"
    details = (f"The photo shows {len(faces)} faces, numbered from the left; each was matched on its own "
               f"(model pack {decision.pack}).")
    return headline, details, lines


def strongest_signal(liveness: LivenessResult) -> str | None:
    """The passive signal that weighed most on the risk, in plain words; None when none stood out."""
    scored = [(score, name) for name, score in liveness.signals.items() if score >= NOTICEABLE]
    if not scored:
        return None
    name = max(scored)[1]
    return SIGNAL_WORDS.get(name, f"the {name.replace('_', ' ')} check flagged the picture")


def refusal_reason(liveness: LivenessResult) -> str:
    """Why the check refused, in a person's words, naming the movement when one was missed.

    A refusal by the risk names the signal behind it; a step-up that did not
    bring the risk down names the signal that kept it up.
    """
    missed = liveness.challenges[liveness.completed] if liveness.completed < len(liveness.challenges) else None
    code = liveness.refusal.code if liveness.refusal else ""
    if liveness.refusal is Refusal.TIMEOUT and missed is not None:
        return f"time ran out for '{missed.value}'"
    if liveness.refusal is Refusal.WRONG_MOVE and missed is not None:
        return f"you moved the wrong way: the check asked you to {missed.value}"
    if code == "step_up_failed":
        signal = strongest_signal(liveness)
        because = f": {signal}" if signal else ""
        return f"one more movement was asked, and the picture still looked like a photo or a screen{because}"
    return PLAINER.get(code, liveness.reason)


def _after_liveness(decision: Decision, liveness: LivenessResult, verifying: bool) -> Verdict:
    done = f"{liveness.completed} of {len(liveness.challenges)} movements done, risk {liveness.risk:.2f}"
    if not liveness.passed or liveness.embedding is None:
        reason = refusal_reason(liveness)
        return Verdict("nomatch", "Refused: the liveness check failed",
                       f"{reason[:1].upper()}{reason[1:]}. Nothing was matched, and this attempt counts towards "
                       f"the lockout ({done}).", "Not live: the liveness check failed.", passed=False)
    headline, details = decision_text(decision, verifying)
    moves = ", ".join(c.value for c in liveness.challenges)
    if liveness.stepped_up:
        signal = strongest_signal(liveness)
        moves += f" (one more movement was asked{' because ' + signal if signal else ''})"
    live = ("Live: the liveness check passed at the camera." if decision.live else
            "Not live: the liveness check passed, but a video file stood in for the camera; only a camera "
            "can be live.")
    return Verdict("match" if decision.match else "nomatch", headline,
                   f"{details} Liveness check passed: {moves}, all by the same face ({done}).", live, passed=True)


def verdict(decision: Decision, verifying: bool, source: Source, stand_in: bool = False) -> Verdict:
    """The page's words for a verification (``verifying``) or an identification from ``source``.

    ``stand_in``: the video file stood in for the camera (Settings), rather than being chosen as the probe.
    """
    if decision.liveness is not None:
        return _after_liveness(decision, decision.liveness, verifying)
    live = NOT_LIVE[source] if source is not Source.VIDEO or stand_in else VIDEO_CHOSEN
    if not verifying and decision.faces and len(decision.faces) > 1:
        headline, details, lines = group_text(decision)
        matched = any(face.match for face in decision.faces)
        return Verdict("match" if matched else "nomatch", headline, details, live, faces=lines)
    headline, details = decision_text(decision, verifying)
    return Verdict("match" if decision.match else "nomatch", headline, details, live)
