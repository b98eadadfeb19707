"""Identify's answer, decided once in the use case: the best matching face of a photo, never a locked-out person,
and a no-match that names nobody (issue 26, items 2 and 3; issue 25, item 9).

Faces here are external embeddings in a real vault, so which face is the largest and which matches best are
chosen, not hoped for; tests/rules/test_rules_everywhere.py drives the same rules through the three front ends.
"""

from __future__ import annotations

import numpy as np

from edge_core import ops
from tests.conftest import enrol

LARGE = [0.0, 0.0, 400.0, 400.0]
SMALL = [500.0, 0.0, 600.0, 100.0]


def _near(vector: np.ndarray, noise: float, seed: int) -> np.ndarray:
    return (vector + noise * np.linalg.norm(vector) / np.sqrt(vector.size)
            * np.random.default_rng(seed).normal(size=vector.size)).astype(np.float32)


def _photo(*faces: tuple[list[float], np.ndarray]) -> ops.Probe:
    """A photo's probe as the front ends make it: the largest face first, and every face with its box."""
    largest = max(faces, key=lambda face: (face[0][2] - face[0][0]) * (face[0][3] - face[0][1]))[1]
    return ops.Probe(ops.Source.PHOTO, ops.EXTERNAL_PACK, ops.EXTERNAL_THRESHOLD, largest[None, :], tuple(faces))


def test_the_answer_is_the_best_matching_face_not_the_largest(people) -> None:
    enrol(people)
    weak_bob, strong_alice = _near(people["bob"][0], 0.9, 1), people["alice"][0]
    with ops.open_vault() as vault:
        decision = ops.identify(vault, _photo((LARGE, weak_bob), (SMALL, strong_alice)))
    scores = {face.name: face.score for face in decision.faces}
    assert scores["bob"] < scores["alice"] and all(face.match for face in decision.faces), decision
    assert (decision.match, decision.name, round(decision.score, 6)) == (True, "alice", scores["alice"])


def test_a_photo_where_only_a_smaller_face_matches_is_a_match(people) -> None:
    enrol({"alice": people["alice"]})
    with ops.open_vault() as vault:
        decision = ops.identify(vault, _photo((LARGE, people["bob"][0]), (SMALL, people["alice"][0])))
    assert (decision.match, decision.name) == (True, "alice")
    assert [(face.name, face.match) for face in decision.faces] == [(None, False), ("alice", True)]


def test_a_no_match_names_nobody_and_says_when_nobody_is_enrolled(people) -> None:
    stranger = np.random.default_rng(5).normal(size=32).astype(np.float32)
    with ops.open_vault() as vault:
        empty = ops.identify(vault, _photo((LARGE, stranger)))
    assert (empty.match, empty.name, empty.nobody_enrolled) == (False, None, True)
    enrol(people)
    with ops.open_vault() as vault:
        plain = ops.identify(vault, _photo((LARGE, stranger)))
        diagnostic = ops.identify(vault, _photo((LARGE, stranger)), show_score=True)
    assert (plain.match, plain.name, plain.score, plain.nobody_enrolled) == (False, None, None, None)
    assert "name" in plain.as_dict() and plain.as_dict()["name"] is None and "nobody_enrolled" not in plain.as_dict()
    assert [face.name for face in plain.faces] == [None]
    assert diagnostic.name is None and diagnostic.score is not None  # the audited diagnostic: a score, no name


def test_someone_locked_out_of_verify_is_not_identified_nor_taken_for_the_next_best(people) -> None:
    enrol(people)
    alice = people["alice"][0]
    with ops.open_vault() as vault:
        ops.policy_set(vault, {"lockout_attempts": 3})
        for _ in range(3):
            assert not ops.verify(vault, "alice", ops.Probe(ops.Source.EMBEDDING, ops.EXTERNAL_PACK,
                                                            ops.EXTERNAL_THRESHOLD, people["bob"][:1])).match
        alone = ops.identify(vault, _photo((LARGE, alice)))
        shown = ops.identify(vault, _photo((LARGE, alice)), show_score=True)
        together = ops.identify(vault, _photo((LARGE, alice), (SMALL, people["bob"][0])))
        events = [e.detail for e in ops.audit_list(vault) if e.kind == "identification"]
        alice_id = vault.identity_id("alice")
    assert (alone.match, alone.name, alone.faces[0].name, alone.faces[0].score) == (False, None, None, None)
    assert shown.score is None and shown.faces[0].score is None  # not even a diagnostic tells a lockout apart
    assert (together.name, [face.name for face in together.faces]) == ("bob", [None, "bob"])
    assert events[0]["locked_out"] == [alice_id] and events[0]["identities"] == [] and events[0]["match"] is False
