"""The real collector on loopback: what it stores, what it refuses and why, and its command line."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from edge_core.support.canonical import canonical_json
from edge_core.telemetry import events as ev
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.envelope import build_envelope
from edge_core.telemetry.outbox import BatchLimits, Outbox
from edge_core.telemetry.uploader import flush
from faceseal_collector.cli import main as collector_main
from tests.collector.conftest import BackendCollector as Collector
from tests.telemetry.conftest import fill


def post(collector: Collector, envelope: object) -> httpx.Response:
    body = envelope if isinstance(envelope, str) else json.dumps(envelope)
    return httpx.post(
        f"{collector.url}/v1/batches",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )


def refused(collector: Collector, envelope: object) -> tuple[int, str]:
    answer = post(collector, envelope)
    return answer.status_code, answer.json()["error"]


def test_batches_are_accepted_and_stored_once(
    make_outbox: Callable[..., Outbox], key: DeviceKey, collector: Collector
) -> None:
    outbox = make_outbox(collector.url, limits=BatchLimits(max_events=40))
    fill(outbox, 100)
    report = flush(outbox, key)
    assert (report.sealed, report.delivered, report.delivered_events, report.pending) == (
        3,
        3,
        100,
        0,
    )
    assert collector.markers(key.device_id) == list(range(100))
    [(public_key,)] = collector.rows(
        "SELECT public_key FROM devices WHERE device_id = ?", (key.device_id,)
    )
    assert public_key == key.public_key_b64  # registered on its first batch
    assert flush(outbox, key).delivered == 0  # nothing left to send
    bodies = [str(body) for (body,) in collector.rows("SELECT body FROM events")]
    assert bodies and all(body == canonical_json(json.loads(body)).decode() for body in bodies)  # the one JSON form


def test_collector_refusals_have_clear_codes(
    make_outbox: Callable[..., Outbox], key: DeviceKey, collector: Collector
) -> None:
    outbox = make_outbox(collector.url)
    fill(outbox, 2)
    flush(outbox, key)
    line = next(outbox.envelopes())
    envelope = json.loads(line)

    identical = post(collector, line)
    assert identical.status_code == 200 and identical.json()["status"] == "duplicate"

    tampered = line.replace('"latency_ms":0', '"latency_ms":1', 1)
    assert refused(collector, tampered) == (401, "bad_signature")
    replay = build_envelope(key, envelope["batch_id"], envelope["created_at"], [ev.app_started()])
    assert refused(collector, replay) == (409, "replay")
    misattributed = dict(envelope, device_id=DeviceKey.generate().device_id)
    assert refused(collector, misattributed) == (403, "device_mismatch")
    unsigned = {k: v for k, v in envelope.items() if k != "signature"}
    assert refused(collector, unsigned) == (400, "unsigned")
    assert refused(collector, "not json") == (400, "malformed")
    assert refused(collector, '{"a":1,"a":1}') == (400, "malformed")
    smuggled = dict(envelope, events=[{"kind": "app_started", "name": "x"}])
    assert refused(collector, smuggled) == (401, "bad_signature")
    assert refused(collector, "x" * (1 << 20 + 1)) == (413, "too_large")
    assert httpx.post(f"{collector.url}/v1/batches", content=line, timeout=10).status_code == 415
    assert httpx.get(f"{collector.url}/v1/nothing", timeout=10).json()["error"] == "not_found"
    assert collector.markers(key.device_id) == [0, 1]  # nothing refused was stored


def test_a_device_id_registered_with_another_key_is_refused(
    make_outbox: Callable[..., Outbox], key: DeviceKey, collector: Collector
) -> None:
    """The operator's registry wins over whatever key an envelope carries."""
    stranger = DeviceKey.generate().public_key_b64
    collector.execute("INSERT INTO devices VALUES (?, ?, 'x', 'x')", (key.device_id, stranger))
    outbox = make_outbox(collector.url)
    fill(outbox, 1)
    report = flush(outbox, key)
    assert report.dead_lettered == 1
    assert outbox.dead_letters()[0].last_error == "refused:key_mismatch"


def test_collector_cli_reports_bad_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert collector_main(["--db", str(tmp_path / "missing" / "c.db"), "--port", "8750"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("faceseal-collector: cannot open database") and err.count("\n") == 1
    with pytest.raises(SystemExit) as caught:
        collector_main(["--db", str(tmp_path / "c.db"), "--port", "70000"])
    assert caught.value.code == 2


def test_a_batch_body_that_never_ends_is_answered_408_and_its_connection_closed(tmp_path: Path) -> None:
    """A sender that announces a body and then trickles it (or stops) held its connection for as long as it liked:
    thousands of such connections exhaust a collector whose health still answers. Past ``--body-timeout`` the
    collector answers 408 ``too_slow`` and closes the connection; a whole batch is stored as before."""
    running = Collector(str(tmp_path / "c.db"), None, "--body-timeout", "1").start()
    try:
        with socket.create_connection(("127.0.0.1", running.port), timeout=20) as slow:
            slow.sendall(b"POST /v1/batches HTTP/1.1\r\nHost: collector\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100000\r\n\r\n{\"version\"")
            answer = b""
            while chunk := slow.recv(4096):  # ends only when the collector closes the connection
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408 ") and b'"error":"too_slow"' in answer
        assert httpx.get(f"{running.url}/v1/health", timeout=10).status_code == 200
    finally:
        running.stop()


def test_the_body_timeout_is_checked_on_the_command_line(capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    for value in ("0", "never", "1e9"):
        with pytest.raises(SystemExit) as caught:
            collector_main(["--db", str(tmp_path / "c.db"), "--body-timeout", value])
        assert caught.value.code == 2
        assert "body-timeout is a number of seconds from 0.5 to 3600" in capsys.readouterr().err
