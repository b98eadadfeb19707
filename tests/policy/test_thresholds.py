"""A chosen threshold lives in the vault: bounded by the policy, audited, and used when none is named."""

from __future__ import annotations

import numpy as np

from tests.conftest import cli_json, run_cli


def test_a_chosen_threshold_decides_verify_until_cleared(tmp_path):
    rng = np.random.default_rng(4)
    base = rng.normal(size=32)
    np.save(tmp_path / "enrol.npy", base[None, :].astype(np.float32))
    probe = base + 0.9 * rng.normal(size=32)  # similar, but not very: a score between the two thresholds
    np.save(tmp_path / "probe.npy", probe.astype(np.float32))
    cli_json("enroll", "--consent", "sam", "--embedding", str(tmp_path / "enrol.npy"))
    first = cli_json("verify", "sam", "--embedding", str(tmp_path / "probe.npy"))
    assert first["match"] is True and first["threshold"] == 0.45
    stricter = round(first["score"] + 0.05, 3)
    assert cli_json("threshold", "--pack", "external", str(stricter))["threshold"] == stricter
    second = cli_json("verify", "sam", "--embedding", str(tmp_path / "probe.npy"), code=10)
    assert second["threshold"] == stricter and second["match"] is False
    named = cli_json("verify", "sam", "--embedding", str(tmp_path / "probe.npy"), "--threshold", "0.45")
    assert named["match"] is True  # a threshold named on the command line wins
    kinds = [e for e in cli_json("audit", "list") if e["kind"] == "threshold_changed"]
    assert kinds[-1]["pack"] == "external" and kinds[-1]["threshold"] == stricter
    cli_json("threshold", "--pack", "external", "--clear")
    assert cli_json("verify", "sam", "--embedding", str(tmp_path / "probe.npy"))["threshold"] == 0.45


def test_a_threshold_outside_the_policy_is_refused_and_nothing_changes():
    for value, message in (("0.05", "outside the range the policy allows"), ("1.5", "between -1 and 1")):
        refused = run_cli("threshold", "--pack", "external", value)
        assert refused.returncode == 2 and message in refused.stderr
    assert cli_json("threshold", "--pack", "external") == {"pack": "external", "threshold": 0.45, "default": 0.45,
                                                           "chosen": False, "low": 0.1, "high": 0.99}
