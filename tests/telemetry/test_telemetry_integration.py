"""Telemetry from real vault operations: recorded only when enabled, never a name, id or embedding."""

from __future__ import annotations

import json

import numpy as np

from edge_core import ops
from edge_core.errors import FaceSealError
from edge_core.telemetry.outbox import Outbox
from tests.conftest import probe, run_cli
from tests.telemetry.leakscan import find_leaks


def test_nothing_is_recorded_while_telemetry_is_off(isolated):
    with ops.open_vault() as vault:
        ops.enrol(vault, "quiet", probe(np.ones((2, 8), np.float32)), consent=ops.consent_terms(vault))
        ops.verify(vault, "quiet", probe(np.ones((1, 8), np.float32)), 0.5)
        assert Outbox(vault.conn).status().queued_events == 0


def test_operations_become_events_without_any_identifying_data(isolated, tmp_path):
    names = ["Ada Lovelace-Byron", "Grace Brewster Hopper"]
    assert run_cli("telemetry", "enable", "--endpoint", "http://127.0.0.1:9/").returncode == 0
    rng = np.random.default_rng(0)
    with ops.open_vault() as vault:
        for name in names:
            ops.enrol(vault, name, probe(rng.normal(size=(2, 64)).astype(np.float32)),
                      consent=ops.consent_terms(vault))
        face = probe(rng.normal(size=(1, 64)).astype(np.float32))
        ops.verify(vault, names[0], face)
        ops.identify(vault, face)
        try:
            ops.verify(vault, "nobody", face)
        except FaceSealError:
            pass
        ops.rotate(vault, deep=True)
        ops.delete_identity(vault, names[1])
        ids = [row[0] for row in vault.conn.execute("SELECT id FROM identities")]
        audit_ids = [e.detail.get("identity") for e in vault.audit_events() if "identity" in e.detail]
    export = tmp_path / "batches.jsonl"
    assert run_cli("telemetry", "export", str(export)).returncode == 0
    lines = export.read_text().splitlines()
    recorded = [event for line in lines for event in json.loads(line)["events"]]
    kinds = sorted(e.get("op", e.get("key")) for e in recorded)
    assert kinds == ["delete", "enrol", "enrol", "identify", "root", "verify", "verify"]
    assert {e["outcome"] for e in recorded} >= {"ok", "no_match", "error"}
    assert find_leaks(lines, names + ids + audit_ids) == []
