"""Per-group figures on crafted scores whose every false match and false non-match is known, and their bounds."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from edge_core.biometrics import groups as grouping
from edge_core.biometrics.degrade import EYE_DISTANCE, webcam_like

from .conftest import REPO

# two groups of three people, two photos each: photos 0-5 are group "a", 6-11 group "b"
LABELS = ["a1", "a1", "a2", "a2", "a3", "a3", "b1", "b1", "b2", "b2", "b3", "b3"]
GROUPS = {**{f"a{i}": "a" for i in (1, 2, 3)}, **{f"b{i}": "b" for i in (1, 2, 3)}}


def crafted(changes: dict[tuple[int, int], float]) -> np.ndarray:
    """Same person 0.9, different people 0.1, then ``changes`` (pairs of photo indexes) applied both ways."""
    person = np.array(LABELS)
    scores = np.where(person[:, None] == person[None, :], 0.9, 0.1)
    for (i, j), value in changes.items():
        scores[i, j] = scores[j, i] = value
    return scores


def test_counts_per_group_across_groups_and_spread_at_a_threshold():
    # a2/a3 look alike (0.6), b2's two photos disagree (0.3), one pair across the groups matches (0.7)
    found = grouping.pairs(crafted({(2, 4): 0.6, (8, 9): 0.3, (0, 11): 0.7}), LABELS, GROUPS)
    row = grouping.at_threshold(found, "current", 0.5)
    a, b = row.groups
    assert (a.group, a.fnmr.errors, a.fnmr.trials, a.fmr.errors, a.fmr.trials) == ("a", 0, 3, 1, 12)
    assert (b.group, b.fnmr.errors, b.fnmr.trials, b.fmr.errors, b.fmr.trials) == ("b", 1, 3, 0, 12)
    (across,) = row.across
    assert (across.group, across.fnmr, across.fmr.errors, across.fmr.trials) == ("a vs b", None, 1, 36)
    # b has no false match: the spread is undefined, and bounded by b's 95 % upper bound 1 - 0.025^(1/12)
    assert row.spread.ratio is None and (row.spread.highest, row.spread.lowest) == ("a", "b")
    assert row.spread.at_least == pytest.approx((1 / 12) / (1 - 0.025 ** (1 / 12)))
    assert "undefined" in row.spread.text()
    # a threshold above every crafted score: nothing matches, no spread to speak of
    high = grouping.at_threshold(found, "0.01 %", 0.95)
    assert [g.fnmr.errors for g in high.groups] == [3, 3] and [g.fmr.errors for g in high.groups] == [0, 0]
    assert high.spread.ratio is None and high.spread.at_least is None
    assert high.spread.text() == "undefined (no group has a false match)"


def test_spread_is_the_ratio_when_every_group_has_false_matches():
    found = grouping.pairs(crafted({(2, 4): 0.6, (0, 5): 0.6, (0, 2): 0.6, (6, 8): 0.6}), LABELS, GROUPS)
    row = grouping.at_threshold(found, "current", 0.5)
    assert [g.fmr.errors for g in row.groups] == [3, 1]
    assert row.spread.ratio == pytest.approx(3.0) and row.spread.highest == "a" and row.spread.lowest == "b"


def test_nan_scores_are_left_out_of_the_pairs():
    scores = crafted({})
    scores[:, 11] = scores[11, :] = np.nan  # photo 11 (b3's second) gave no face
    row = grouping.at_threshold(grouping.pairs(scores, LABELS, GROUPS), "current", 0.5)
    assert [g.fnmr.trials for g in row.groups] == [3, 2] and [g.fmr.trials for g in row.groups] == [12, 8]
    assert row.across[0].fmr.trials == 30


def test_clopper_pearson_matches_known_values():
    assert grouping.clopper_pearson(0, 300) == (0.0, pytest.approx(1 - 0.025 ** (1 / 300)))
    assert grouping.clopper_pearson(300, 300) == (pytest.approx(0.025 ** (1 / 300)), 1.0)
    low, high = grouping.clopper_pearson(1, 10)  # the textbook example: 0.0025 to 0.4450
    assert round(low, 4) == 0.0025 and round(high, 4) == 0.4450
    # by definition, each bound leaves 2.5 % of the binomial on the far side of the count seen
    for errors, trials in ((3, 12), (7, 300)):
        low, high = grouping.clopper_pearson(errors, trials)
        below = sum(math.comb(trials, k) * high**k * (1 - high) ** (trials - k) for k in range(errors + 1))
        above = sum(math.comb(trials, k) * low**k * (1 - low) ** (trials - k) for k in range(errors, trials + 1))
        assert below == pytest.approx(0.025, rel=1e-6) and above == pytest.approx(0.025, rel=1e-6)


def test_a_person_without_a_group_is_refused():
    with pytest.raises(ValueError, match="no group for 1 people, e.g. b3"):
        grouping.pairs(crafted({}), LABELS, {k: v for k, v in GROUPS.items() if k != "b3"})


def test_the_table_names_every_group_and_the_spread():
    found = grouping.pairs(crafted({(2, 4): 0.6}), LABELS, GROUPS)
    lines = grouping.table([grouping.at_threshold(found, "current", 0.5)], grouping.sizes(LABELS, GROUPS))
    text = "\n".join(lines)
    assert "a 3 people, 6 photos; b 3 people, 6 photos" in text
    assert "1/12 = 8.33 %" in text and "0/36 = 0.00 %" in text and "spread of FMR" in text


def test_webcam_like_copies_are_deterministic_and_scaled_to_the_eye_distance():
    image = np.random.default_rng(5).integers(0, 256, (400, 300, 3), dtype=np.uint8)
    first = webcam_like(image, eyes=EYE_DISTANCE * 4, key=7)
    assert first.shape == (100, 75, 3)
    assert np.array_equal(first, webcam_like(image, eyes=EYE_DISTANCE * 4, key=7))
    assert not np.array_equal(first, webcam_like(image, eyes=EYE_DISTANCE * 4, key=8))  # another photo, other noise
    assert webcam_like(image, eyes=EYE_DISTANCE / 2).shape == image.shape  # never enlarged
    assert first.mean() < image[::4, ::4].mean()  # darker


def test_without_scipy_the_counts_stay_and_the_bounds_are_left_out():
    # the installer leaves SciPy out (packaging/bundle_contents.py): the same figures, no intervals
    found = grouping.pairs(crafted({(2, 4): 0.6}), LABELS, GROUPS)
    row = grouping.at_threshold(found, "current", 0.5, bounds=False)
    assert row.groups[0].fmr == grouping.Rate(1, 12, 1 / 12, None, None)
    assert row.spread.text() == "undefined: b has 0 false matches (its bound needs SciPy)"
    text = "\n".join(grouping.table([row], grouping.sizes(LABELS, GROUPS)))
    assert "intervals need SciPy, absent here" in text and "1/12 = 8.33 %" in text and "[" not in text
    blocked = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['scipy'] = None\n"
         "from edge_core.biometrics import groups; print(groups.bounds_available())"],
        cwd=REPO, capture_output=True, text=True, check=True)
    assert blocked.stdout.strip() == "False" and grouping.bounds_available()
