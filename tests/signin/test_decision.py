"""The sign-in decision judges two faces of a liveness session, seconds apart, each at the sign-in threshold."""

from __future__ import annotations

import numpy as np

from edge_core import ops
from edge_core.liveness.result import LivenessResult
from edge_core.ops import Probe, Source
from edge_core.ops import signin
from edge_core.policy import thresholds

PACK = "yunet512"


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def _session(start: np.ndarray, end: np.ndarray) -> LivenessResult:
    return LivenessResult(passed=True, refusal=None, reason="done", risk=0.05, signals={}, challenges=(),
                          completed=2, frames=40, embedding=start, end_embedding=end, band="low")


def test_the_face_after_the_challenges_must_match_too(isolated) -> None:
    rng = np.random.default_rng(3)
    owner = _unit(rng.normal(size=512))
    other = rng.normal(size=512)
    other = _unit(other - owner * float(owner @ other))  # orthogonal to the owner
    signin_point = thresholds.signin_for(PACK)
    verify_point = ops.default_threshold(PACK)
    between = (signin_point + verify_point) / 2  # enough for verify, not for sign-in
    halfway = _unit(between * owner + np.sqrt(1 - between ** 2) * other)
    assert verify_point < float(halfway @ owner) < signin_point
    with ops.open_vault() as vault:
        vault.enroll("alice", np.stack([owner, owner]), PACK)
        signin.signin_enable(vault, "gdm-password", "alice")
        request = signin.SignInRequest(service="gdm-password")
        name = signin.admit_signin(vault, request)
        both = signin.decide_signin(vault, request, name, Probe(Source.CAMERA, PACK, verify_point,
                                                                liveness=_session(owner, owner)))
        assert both.accepted and both.frames == 2
        later = signin.decide_signin(vault, request, name, Probe(Source.CAMERA, PACK, verify_point,
                                                                 liveness=_session(owner, halfway)))
        assert not later.accepted and later.frames == 2  # the start alone would have passed
        events = [e for e in vault.audit_events() if e.kind == "signin"]
        assert [(e.detail["outcome"], e.detail["frames"]) for e in events] == [("accepted", 2), ("rejected", 2)]
