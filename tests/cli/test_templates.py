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
    for name in ("lucky", "steady"):
        cli_json("enroll", name, "--embedding", str(files[name]))
    lucky = cli_json("verify", "lucky", "--embedding", str(files["probe"]))
    assert lucky["match"] is True and lucky["score"] == pytest.approx(0.60, abs=1e-5)
    who = cli_json("identify", "--embedding", str(files["probe"]))
    assert (who["name"], who["match"]) == ("steady", True) and who["score"] == pytest.approx(0.80, abs=1e-5)


def test_a_single_sample_scores_its_own_cosine(files, tmp_path):
    single = tmp_path / "single.npy"
    np.save(single, _with_cosine(0.7, 6)[None, :])
    cli_json("enroll", "solo", "--embedding", str(single))
    assert cli_json("verify", "solo", "--embedding", str(files["probe"]))["score"] == pytest.approx(0.7, abs=1e-5)


def test_re_enrolling_adds_samples_up_to_the_cap_and_drops_the_oldest(tmp_path):
    rng = np.random.default_rng(3)
    base = rng.normal(size=DIM)
    batches = []
    for index in range(4):
        path = tmp_path / f"batch{index}.npy"
        np.save(path, (base + 0.1 * rng.normal(size=(4, DIM))).astype(np.float32))
        batches.append(path)
    assert cli_json("enroll", "dana", "--embedding", str(batches[0]))["samples"] == 4
    refused = run_cli("enroll", "dana", "--embedding", str(batches[1]))
    assert refused.returncode != 0 and "--add" in refused.stderr  # never silently mixed into someone else
    for path in batches[1:]:
        assert cli_json("enroll", "dana", "--add", "--embedding", str(path))["samples"] == 4
    listed = {item["name"]: item["samples"] for item in cli_json("list")}
    assert listed == {"dana": TEMPLATE_CAP}
    # the oldest batch went: a probe equal to one of its samples no longer finds that exact sample
    first = np.load(batches[0])[0]
    probe = tmp_path / "probe.npy"
    np.save(probe, first)
    score = cli_json("verify", "dana", "--embedding", str(probe))["score"]
    assert score < 0.999
    events = [e for e in cli_json("audit", "list") if e["kind"] == "identity_enrolled"]
    assert [e.get("dropped", 0) for e in events][-2:] == [2, 4]


def test_one_capture_larger_than_the_cap_keeps_the_first_samples(tmp_path):
    many = tmp_path / "many.npy"
    np.save(many, np.eye(DIM, dtype=np.float32)[: TEMPLATE_CAP + 3])
    assert cli_json("enroll", "erin", "--embedding", str(many))["samples"] == TEMPLATE_CAP
