"""The look-alike rule of ``ops.enrol`` on crafted embeddings in a real vault: both directions of a later match,
the threshold in force, and nothing sealed on a refusal (issue 34, part 3). The front ends, with real photos:
tests/app/test_defects_enrol.py and tests/adminapi/test_look_alike.py."""

from __future__ import annotations

import numpy as np
import pytest

from edge_core import ops
from edge_core.errors import IdentityExists, LookAlikeEnrolled
from tests.conftest import probe


def _unit(seed: int, near: np.ndarray | None = None, noise: float = 0.0) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=64)
    if near is not None:
        vector = near + noise * vector / np.linalg.norm(vector)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def test_someone_enrolled_who_would_be_taken_for_the_newcomer_is_a_look_alike(isolated) -> None:
    """Alice's first sample is Carol's face, her second someone else's: each of Carol's samples scores only about
    0.5 against Alice (the mean of her two best), below the threshold of 0.7, but Alice's first sample as a probe
    against Carol's two samples scores about 1: the vault would take Alice for Carol. Only that direction shows it."""
    face = _unit(1)
    alice = np.stack([face, _unit(2)])
    carol = np.stack([_unit(3, face, 0.2), _unit(4, face, 0.2)])
    with ops.open_vault() as vault:
        ops.enrol(vault, "alice", probe(alice), consent=ops.consent_terms(vault))
        ops.threshold(vault, ops.EXTERNAL_PACK, ops.EXTERNAL_THRESHOLD, 0.7)
        assert max(float(np.mean(alice @ sample)) for sample in carol) < 0.7  # one direction alone stays below
        with pytest.raises(LookAlikeEnrolled) as refused:
            ops.enrol(vault, "carol", probe(carol), consent=ops.consent_terms(vault))
        assert refused.value.resembles == "alice" and str(refused.value).startswith("carol looks like alice")
        assert [i.name for i in ops.list_identities(vault)] == ["alice"], "nothing of carol was sealed"

        ops.threshold(vault, ops.EXTERNAL_PACK, ops.EXTERNAL_THRESHOLD, 0.99)  # the threshold in force decides
        enrolled = ops.enrol(vault, "carol", probe(carol), consent=ops.consent_terms(vault))
        assert enrolled.resembles is None and enrolled.samples == 2


def test_adding_samples_checks_them_with_the_ones_already_kept(isolated) -> None:
    """Dan adds a sample like Erin's face; with Dan's own earlier sample close to Erin too, his template's two
    best samples would both answer for Erin: refused, and accepted only when asked, in the audit log."""
    face = _unit(5)
    with ops.open_vault() as vault:
        ops.enrol(vault, "erin", probe(np.stack([face, _unit(6, face, 0.1)])), consent=ops.consent_terms(vault))
        ops.enrol(vault, "dan", probe(np.stack([_unit(7)])), consent=ops.consent_terms(vault))
        with pytest.raises(LookAlikeEnrolled):
            ops.enrol(vault, "dan", probe(np.stack([_unit(8, face, 0.1)])), add=True)
        with pytest.raises(IdentityExists):  # without add, that dan exists is the first thing to say
            ops.enrol(vault, "dan", probe(np.stack([_unit(8, face, 0.1)])), consent=ops.consent_terms(vault))
        assert [i.samples for i in ops.list_identities(vault)] == [1, 2]
        added = ops.enrol(vault, "dan", probe(np.stack([_unit(8, face, 0.1)])), add=True, allow_look_alike=True)
        assert added.resembles == "erin" and added.samples == 1
        last = [e for e in vault.audit_events() if e.kind == "identity_enrolled"][-1]
        assert last.detail["look_alike"] == vault.identity_id("erin") and last.detail["added"] is True
