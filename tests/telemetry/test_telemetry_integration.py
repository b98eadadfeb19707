"""Telemetry from real vault operations: recorded only when enabled, never a name, id or embedding."""

from __future__ import annotations

import json

import numpy as np

from edge_core import keyops
from edge_core.errors import FaceSealError
from edge_core.telemetry.outbox import Outbox
from edge_core.vault.store import Vault
from tests.conftest import run_cli
from tests.telemetry.leakscan import find_leaks


def test_nothing_is_recorded_while_telemetry_is_off(isolated):
    with Vault.open() as vault:
        vault.enroll("quiet", np.ones((2, 8), np.float32), "external")
        vault.verify("quiet", np.ones(8, np.float32), "external", 0.5)
        assert Outbox(vault.conn).status().queued_events == 0


def test_operations_become_events_without_any_identifying_data(isolated, tmp_path):
    names = ["Ada Lovelace-Byron", "Grace Brewster Hopper"]
    assert run_cli("telemetry", "enable", "--endpoint", "http://127.0.0.1:9/").returncode == 0
    rng = np.random.default_rng(0)
    with Vault.open() as vault:
        for name in names:
            vault.enroll(name, rng.normal(size=(2, 64)).astype(np.float32), "external")
        probe = rng.normal(size=64).astype(np.float32)
        vault.verify(names[0], probe, "external", 0.45)
        vault.identify(probe, "external", 0.45)
        try:
            vault.verify("nobody", probe, "external", 0.45)
        except FaceSealError:
            pass
        keyops.rotate_key(vault, deep=True)
        keyops.delete_identity(vault, names[1])
        ids = [row[0] for row in vault.conn.execute("SELECT id FROM identities")]
        audit_ids = [e.detail.get("identity") for e in vault.audit_events() if "identity" in e.detail]
    export = tmp_path / "batches.jsonl"
    assert run_cli("telemetry", "export", str(export)).returncode == 0
    lines = export.read_text().splitlines()
    recorded = [event for line in lines for event in json.loads(line)["events"]]
    ops = sorted(e.get("op", e.get("key")) for e in recorded)
    assert ops == ["delete", "enrol", "enrol", "identify", "root", "verify", "verify"]
    assert {e["outcome"] for e in recorded} >= {"ok", "no_match", "error"}
    assert find_leaks(lines, names + ids + audit_ids) == []
