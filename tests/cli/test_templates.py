"""Templates as a person meets them on the command line: how a probe is scored, and re-enrolling with a cap.

Embeddings are given as files (``--embedding``) built so that every cosine is
known: the score shown must be the mean of the person's two best samples, and
identification must follow that rule, not the best single sample.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge_core.ops.identities import TEMPLATE_CAP
from tests.conftest import cli_json, run_cli

DIM = 16


def _unit(index: int) -> np.ndarray:
    vector = np.zeros(DIM, np.float32)
    vector[index] = 1.0
    return vector


def _with_cosine(cosine: float, spare: int) -> np.ndarray:
    """A unit vector whose cosine with the probe (axis 0) is ``cosine``; ``spare`` picks an orthogonal axis."""
    return cosine * _unit(0) + np.sqrt(1 - cosine**2) * _unit(spare)


@pytest.fixture
def files(tmp_path):
    arrays = {
        "probe": _unit(0),
        # one excellent sample and two poor ones: max 0.95, mean of top two 0.60
        "lucky": np.stack([_with_cosine(0.95, 1), _with_cosine(0.25, 2), _with_cosine(0.1, 3)]),
        # two consistently good samples: max 0.80, mean of top two 0.80
        "steady": np.stack([_with_cosine(0.8, 4), _with_cosine(0.8, 5)]),
    }
    out = {}
    for name, array in arrays.items():
        out[name] = tmp_path / f"{name}.npy"
        np.save(out[name], array.astype(np.float32))
    return out


def test_a_probe_scores_the_mean_of_the_two_best_samples(files):
    cli_json("enroll", "--consent", "lucky", "--embedding", str(files["lucky"]))
    # both were built to match one probe, so they are look-alikes of each other: accepted on purpose here
    assert cli_json("enroll", "--consent", "steady", "--allow-look-alike", "--embedding", str(files["steady"]))["resembles"] == "lucky"
    lucky = cli_json("verify", "lucky", "--embedding", str(files["probe"]))
    assert lucky["match"] is True and lucky["score"] == pytest.approx(0.60, abs=1e-5)
    who = cli_json("identify", "--embedding", str(files["probe"]))
    assert (who["name"], who["match"]) == ("steady", True) and who["score"] == pytest.approx(0.80, abs=1e-5)


def test_a_single_sample_scores_its_own_cosine(files, tmp_path):
    single = tmp_path / "single.npy"
    np.save(single, _with_cosine(0.7, 6)[None, :])
    cli_json("enroll", "--consent", "solo", "--embedding", str(single))
    assert cli_json("verify", "solo", "--embedding", str(files["probe"]))["score"] == pytest.approx(0.7, abs=1e-5)


def test_re_enrolling_asks_first_and_drops_the_most_redundant_samples_not_the_oldest(tmp_path):
    photos, copies, probe = tmp_path / "photos.npy", tmp_path / "copies.npy", tmp_path / "probe.npy"
    rng = np.random.default_rng(3)
    np.save(photos, np.stack([_unit(1), _unit(2), _unit(3)]))  # three different pictures
    np.save(copies, (_unit(4) + 0.01 * rng.normal(size=(TEMPLATE_CAP, DIM))).astype(np.float32))  # one moment
    assert cli_json("enroll", "--consent", "dana", "--embedding", str(photos))["samples"] == 3
    refused = run_cli("enroll", "--consent", "dana", "--embedding", str(copies))
    assert refused.returncode != 0 and "--add" in refused.stderr  # never silently mixed into someone else
    unasked = run_cli("enroll", "--consent", "dana", "--add", "--embedding", str(copies))
    assert unasked.returncode != 0 and "dana has 3 samples" in unasked.stderr and "3 of the 13" in unasked.stderr
    assert {item["name"]: item["samples"] for item in cli_json("list")} == {"dana": 3}, "nothing changed unasked"
    added = cli_json("enroll", "--consent", "dana", "--add", "--yes", "--embedding", str(copies))
    assert (added["samples"], added["dropped"]) == (TEMPLATE_CAP - 3, 0), "three near-copies gave way"
    assert {item["name"]: item["samples"] for item in cli_json("list")} == {"dana": TEMPLATE_CAP}
    for axis in (1, 2, 3):  # every earlier photo is still there: a probe equal to it scores (1 + 0) / 2
        np.save(probe, _unit(axis))
        shown = cli_json("verify", "dana", "--show-score", "--embedding", str(probe))
        assert shown["score"] > 0.45  # 0.01 or so, had it gone
    events = [e for e in cli_json("audit", "list") if e["kind"] == "identity_enrolled"]
    assert events[-1]["dropped"] == 3


def test_one_capture_larger_than_the_cap_says_so_first_then_keeps_the_cap(tmp_path):
    many = tmp_path / "many.npy"
    np.save(many, np.eye(DIM, dtype=np.float32)[: TEMPLATE_CAP + 3])
    unasked = run_cli("enroll", "--consent", "erin", "--embedding", str(many))
    assert unasked.returncode != 0 and f"of the {TEMPLATE_CAP + 3} taken, 3 are dropped" in unasked.stderr
    assert cli_json("enroll", "--consent", "erin", "--yes", "--embedding", str(many))["samples"] == TEMPLATE_CAP
