"""The policy file across versions and resets: the operator's decisions are neither lost nor 'tampered'."""

from __future__ import annotations

import json

import numpy as np

from edge_core import ops
from edge_core.policy import rules as policy
from tests.conftest import cli_json, run_cli


def test_an_edited_policy_is_still_refused(isolated):
    with ops.open_vault() as vault:
        policy.change(vault, {"lockout_attempts": 3})
    file = isolated / policy.FILENAME
    file.write_text(file.read_text().replace('"lockout_attempts": 3', '"lockout_attempts": 100'))
    result = run_cli("policy", "show")
    assert result.returncode != 0 and "changed outside FaceSeal" in result.stderr


def test_the_policy_survives_a_reset(isolated):
    with ops.open_vault() as vault:
        vault.enroll("someone", np.ones((2, 16), np.float32), "external")
        policy.change(vault, {"max_root_age_days": 30})
        ops.reset(vault)
    shown = cli_json("policy", "show")
    assert json.dumps(shown).count("30") >= 1
    with ops.open_vault() as vault:
        assert policy.load(vault).max_root_age_days == 30
