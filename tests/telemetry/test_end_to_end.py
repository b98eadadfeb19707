"""The real ``faceseal`` with telemetry on, delivering to the real collector on 127.0.0.1."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import cli_json, run_cli

from .leakscan import find_leaks
from .servers import Collector


@pytest.fixture
def collector(tmp_path):
    server = Collector(tmp_path / "collector.db").start()
    yield server
    server.stop()


def test_operations_reach_the_collector_signed_by_the_device_and_reset_rotates_its_key(collector, tmp_path):
    names = ["Marie Sklodowska", "Lise Meitner"]
    embeddings = {}
    for index, name in enumerate(names):
        embeddings[name] = tmp_path / f"{index}.npy"
        np.save(embeddings[name], (np.random.default_rng(index).normal(size=64) + 0.05 * np.random.default_rng(index + 100).normal(size=(2, 64))).astype(np.float32))
    assert cli_json("init")["telemetry"] == {"enabled": False, "endpoint": None}
    cli_json("telemetry", "enable", "--endpoint", collector.url)
    for name in names:
        cli_json("enroll", "--consent", name, "--embedding", str(embeddings[name]))
    probe = tmp_path / "probe.npy"
    np.save(probe, np.load(embeddings[names[0]])[0])
    cli_json("verify", names[0], "--embedding", str(probe))
    cli_json("rotate-key")
    device_id = cli_json("status")["device_id"]
    report = cli_json("telemetry", "flush", "--wait", "0")
    assert report["delivered_events"] == 4 and report["pending"] == 0
    assert collector.event_count(device_id) == 4
    stored = [row[0] for row in collector.rows("SELECT * FROM events")]
    export = tmp_path / "export.jsonl"
    cli_json("telemetry", "export", str(export))
    ids = [row["name"] for row in cli_json("list")]
    assert find_leaks(export.read_text().splitlines(), names + ids) == []
    assert not any(name in json.dumps(stored) for name in names)

    # Flushing again sends nothing twice.
    assert cli_json("telemetry", "flush", "--wait", "0")["delivered_events"] == 0
    assert collector.event_count(device_id) == 4

    kept = cli_json("reset", "--yes", "--keep-outbox", "--keep-device-key")
    assert kept["device_key_rotated"] is False and cli_json("status")["device_id"] == device_id
    cli_json("reset", "--yes", "--keep-outbox")
    new_id = cli_json("status")["device_id"]
    assert new_id != device_id
    cli_json("enroll", "--consent", names[0], "--embedding", str(embeddings[names[0]]))
    cli_json("telemetry", "flush", "--wait", "0")
    assert collector.event_count(new_id) == 1 and collector.event_count(device_id) == 4


def test_nothing_is_sent_or_recorded_without_opting_in(collector, tmp_path):
    vectors = tmp_path / "v.npy"
    np.save(vectors, np.ones((2, 16), np.float32))
    cli_json("enroll", "--consent", "someone", "--embedding", str(vectors))
    refused = run_cli("telemetry", "flush")
    assert refused.returncode != 0 and len(refused.stderr.splitlines()) == 1
    assert collector.rows("SELECT count(*) FROM events")[0][0] == 0
    assert cli_json("telemetry", "status")["queued_events"] == 0


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "not a url", "http://user:pw@127.0.0.1/", "http:///nohost"])
def test_a_bad_endpoint_is_refused_in_one_line(url):
    result = run_cli("telemetry", "enable", "--endpoint", url)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert cli_json("status")["telemetry"]["enabled"] is False


def test_the_policy_can_forbid_telemetry_and_that_switches_it_off(collector):
    cli_json("telemetry", "enable", "--endpoint", collector.url)
    cli_json("policy", "set", "telemetry_allowed=false")
    assert cli_json("status")["telemetry"]["enabled"] is False
    refused = run_cli("telemetry", "enable", "--endpoint", collector.url)
    assert refused.returncode != 0 and "policy does not allow telemetry" in refused.stderr
    cli_json("policy", "set", "telemetry_allowed=true")
    assert cli_json("telemetry", "enable", "--endpoint", collector.url)["enabled"] is True
