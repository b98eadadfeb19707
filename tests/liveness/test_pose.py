"""Head pose by solvePnP on the mesh, on the synthetic 3-D heads at known angles and on photos moved as planes.

The synthetic head is a photo mapped onto an ellipsoid with a nose ridge
(``synthetic.turned_head``), rendered at a known yaw or pitch; the real
detector and mesh then measure the rendered frame. The head is not the
canonical face, so the measured angles are smaller than the rendered ones
(about 0.6x): the tests pin the sign, the growth with the angle, that nods
are measured like turns, and that a flat photo moved in the hand stays far
below the challenge targets.
"""

from __future__ import annotations

import math

import pytest

from edge_core.liveness import Targets
from edge_core.liveness.pose import measure

from . import synthetic
from .synthetic import OTHER_PERSON, PERSON


def _pose(pipeline, face_mesh, image):
    face = pipeline.detect(image)[0]
    found = face_mesh.fit(image, face)
    assert found is not None
    return measure(found, image.shape[1], image.shape[0])


@pytest.fixture(scope="module", params=[PERSON, OTHER_PERSON], ids=lambda p: p.stem)
def head(request, pipeline):
    return synthetic.framed(request.param, pipeline)


def test_turns_and_nods_are_measured_with_their_sign_and_grow_with_the_angle(pipeline, face_mesh, head) -> None:
    frame, landmarks = head
    rest = _pose(pipeline, face_mesh, frame)
    for axis in ("yaw", "pitch"):
        for sign in (1, -1):
            changes = []
            for degrees in (10, 20, 30):
                radians = sign * math.radians(degrees)
                yaw, pitch = (radians, 0.0) if axis == "yaw" else (0.0, radians)
                pose = _pose(pipeline, face_mesh, synthetic.turned_head(frame, landmarks, yaw, pitch=pitch))
                changes.append(sign * (getattr(pose, axis) - getattr(rest, axis)))
                other = "pitch" if axis == "yaw" else "yaw"
                assert abs(getattr(pose, other) - getattr(rest, other)) < 4.0, (axis, sign, degrees, pose)
            assert changes == sorted(changes) and changes[0] > 2.0, (axis, sign, changes)
            assert changes[-1] >= Targets().look, (axis, sign, changes)  # a 30 degree turn or nod reaches a target


def test_a_flat_photo_turned_or_rotated_in_the_hand_does_not_turn_the_head(pipeline, face_mesh, head) -> None:
    frame, _ = head
    rest = _pose(pipeline, face_mesh, frame)
    for turn in (-0.5, -0.25, 0.25, 0.5):  # about 29 degrees out of plane
        pose = _pose(pipeline, face_mesh, synthetic.moved_photo(frame, turn=turn))
        assert abs(pose.yaw - rest.yaw) < Targets().turn / 2 and abs(pose.pitch - rest.pitch) < Targets().look / 2
    for angle in (-10.0, 10.0):
        pose = _pose(pipeline, face_mesh, synthetic.moved_photo(frame, angle_deg=angle))
        assert abs(pose.roll - rest.roll - angle) < 2.0
        assert abs(pose.yaw - rest.yaw) < 3.0 and abs(pose.pitch - rest.pitch) < 3.0
