"""Schemathesis fuzzes the real collector from its own served document, as an outside client would.

Positive and negative data, every phase and every check (tests/fuzz.py), with
well-formed envelopes half re-signed by a real device key (fuzz_hooks.py), so
that the signature, vocabulary and time rules are all reached. Afterwards the
collector's database may hold only events of envelopes it accepted that verify
again, word for word, with real times inside the window.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.envelope import verify_envelope
from edge_core.telemetry.events import Event, parse_timestamp
from faceseal_collector.database import parse_database
from faceseal_collector.store import CollectorStore
from tests.collector.conftest import BackendCollector
from tests.fuzz import schemathesis

CHECKS = {
    # 401 (a signature the fuzzer cannot make, the operator token), 403 (a device id not derived from the key),
    # 409 (a batch id reused with other content), 422 (events outside the vocabulary's cross-field rule or the
    # time window) and 400 (a fleet date such as 2026-02-30, which no pattern states) are rules of the content.
    "positive_data_acceptance": ["2xx", "400", "401", "403", "409", "422"],
}


def test_the_collector_keeps_its_contract_under_schemathesis(tmp_path: Path) -> None:
    database = str(tmp_path / "collector.db")
    token = secrets.token_urlsafe(32)
    store = CollectorStore(parse_database(database))
    store.set_token("operator", "operator", token)
    store.close()
    seed = secrets.token_bytes(32)
    collector = BackendCollector(database).start()
    try:
        run = schemathesis(collector.url + "/v1/openapi.json", tmp_path / "fuzz", checks=CHECKS,
                           headers={"Authorization": f"Bearer {token}"}, hooks=Path(__file__).with_name("fuzz_hooks.py"),
                           env={"FACESEAL_FUZZ_DEVICE_SEED": seed.hex()})
        assert run.returncode == 0, run.explain()
        assert {(e.method, e.url.split("?")[0].rsplit("/", 1)[1]) for e in run.exchanges} >= {
            ("POST", "batches"), ("GET", "devices"), ("GET", "summary"), ("GET", "health")}
        assert any(e.status == 201 for e in run.exchanges)  # signed, well-dated batches were stored

        stored = [(batch_id, int(index), json.loads(body))
                  for batch_id, index, body in collector.rows("SELECT batch_id, idx, body FROM events")]
        devices = {device for (device,) in collector.rows("SELECT device_id FROM batches")}
    finally:
        collector.stop()
    assert stored and devices == {DeviceKey.from_seed(seed).device_id}  # only what the device key signed
    # Every stored event is, word for word, an event of an envelope the collector accepted (201) and that verifies
    # again now: signature, attribution and vocabulary.
    accepted = {batch.batch_id: batch for batch in (verify_envelope(json.loads(e.request_body))
                                                    for e in run.exchanges if e.status == 201)}
    now = datetime.now(UTC)
    for batch_id, index, body in stored:
        assert body == accepted[batch_id].events[index].as_dict(), (batch_id, index)
        Event(body)  # every stored event is in the vocabulary
        at = parse_timestamp(body["at"])
        assert at is not None and now - timedelta(days=31) < at < now + timedelta(minutes=10), body["at"]
