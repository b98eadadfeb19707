"""The endpoint a user types: base or full URL, https off loopback, one health check, certificate pinning.

Pinning is tested against a real TLS server on 127.0.0.1 (a relay to the real
collector) whose self-signed certificate is made here with ``cryptography``.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.endpoint import parse_pin, validate_endpoint
from edge_core.telemetry.errors import InvalidEndpoint, InvalidPin
from edge_core.telemetry.outbox import Outbox
from edge_core.telemetry.uploader import flush
from tests.conftest import cli_json, run_cli

from .conftest import fill
from .relays import TlsRelay, self_signed
from .servers import Collector


def enrol_one(tmp_path: Path) -> None:
    np.save(tmp_path / "someone.npy", np.ones((2, 16), np.float32))
    cli_json("enroll", "--consent", "someone", "--embedding", str(tmp_path / "someone.npy"))


@pytest.mark.parametrize("given", ["{base}", "{base}/", "{base}/v1/batches", "{base}/v1/batches/"])
def test_the_base_or_the_full_batches_url_both_deliver(given: str, collector: Collector,
                                                       make_outbox: Callable[..., Outbox], key: DeviceKey) -> None:
    outbox = make_outbox(given.format(base=collector.url))
    assert outbox.settings().endpoint == collector.url  # stored as the base: never /v1/batches/v1/batches
    fill(outbox, 3)
    report = flush(outbox, key)
    assert (report.delivered, report.failed_attempts) == (1, 0)
    assert collector.event_count(key.device_id) == 3


def test_a_path_prefix_is_kept_and_only_the_batches_path_is_taken_off() -> None:
    assert validate_endpoint("https://ops.example.org/telemetry/v1/batches") == "https://ops.example.org/telemetry"
    assert validate_endpoint("https://ops.example.org/telemetry/") == "https://ops.example.org/telemetry"


@pytest.mark.parametrize("url", ["http://collector.example.org", "http://10.0.0.5:8750", "http://[fe80::1]/"])
def test_plain_http_is_refused_off_loopback(url: str) -> None:
    with pytest.raises(InvalidEndpoint, match="https"):
        validate_endpoint(url)
    refused = run_cli("telemetry", "enable", "--endpoint", url)
    assert refused.returncode == 2 and "https" in refused.stderr and len(refused.stderr.splitlines()) == 1


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9", "http://127.8.9.10"])
def test_plain_http_is_accepted_on_loopback(url: str) -> None:
    assert validate_endpoint(url) == url


def test_enable_checks_the_collector_once_and_says_what_it_found(collector: Collector) -> None:
    found = cli_json("telemetry", "enable", "--endpoint", collector.url + "/v1/batches")
    assert (found["endpoint"], found["health"]) == (collector.url, "ok")
    said = run_cli("telemetry", "enable", "--endpoint", collector.url)
    assert "a FaceSeal collector answered its health check" in said.stdout


def test_enable_says_when_nothing_or_something_else_answers_and_still_opts_in(free_port_url: str) -> None:
    nothing = run_cli("telemetry", "enable", "--endpoint", free_port_url)
    assert nothing.returncode == 0 and "no collector could be reached" in nothing.stdout
    assert cli_json("telemetry", "status")["enabled"] is True

    class NotACollector(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotACollector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        other = cli_json("telemetry", "enable", "--endpoint", f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert other["health"] == "not_a_collector_404" and "not a FaceSeal collector" in other["found"]


@pytest.fixture
def free_port_url() -> str:
    from tests.conftest import free_port

    return f"http://127.0.0.1:{free_port()}"


def test_pins_are_parsed_in_every_documented_form_and_anything_else_is_refused(tmp_path: Path) -> None:
    cert = self_signed(tmp_path)
    raw_hex = base64.b64decode(cert.pin.removeprefix("sha256//")).hex()
    assert parse_pin(cert.pin) == parse_pin(cert.pin.removeprefix("sha256//")) == parse_pin(raw_hex) == cert.pin
    assert parse_pin(":".join(raw_hex[i:i + 2] for i in range(0, 64, 2))) == cert.pin
    for bad in ("", "sha256//", "abc", raw_hex[:-2], "sha256//" + "A" * 44, raw_hex + "00"):
        with pytest.raises(InvalidPin):
            parse_pin(bad)
    refused = run_cli("telemetry", "enable", "--endpoint", "https://127.0.0.1:9", "--pin-sha256", "nonsense")
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1 and "pin" in refused.stderr
    plain = run_cli("telemetry", "enable", "--endpoint", "http://127.0.0.1:9", "--pin-sha256", cert.pin)
    assert plain.returncode == 2 and "https" in plain.stderr
    assert cli_json("telemetry", "status")["enabled"] is False


def test_a_pinned_self_signed_collector_gets_batches_and_any_other_key_gets_nothing(
        tmp_path: Path, collector: Collector) -> None:
    right, other = self_signed(tmp_path, "right"), self_signed(tmp_path, "other")
    with TlsRelay(collector.url, right) as relay:
        # Without a pin, a self-signed certificate is not trusted: nothing is written to it.
        unpinned = cli_json("telemetry", "enable", "--endpoint", relay.url)
        assert unpinned["health"] == "tls_untrusted" and unpinned["pin_sha256"] is None
        enrol_one(tmp_path)
        refused = cli_json("telemetry", "flush", "--wait", "0")
        assert refused["delivered"] == 0 and relay.seen.requests == 0
        assert cli_json("telemetry", "status")["last_error"] == "tls_untrusted"

        # Pinned to the relay's key: the health check and the batch go through, over TLS.
        pinned = cli_json("telemetry", "enable", "--endpoint", relay.url + "/v1/batches", "--pin-sha256", right.pin)
        assert (pinned["health"], pinned["pin_sha256"], pinned["endpoint"]) == ("ok", right.pin, relay.url)
        device_id = cli_json("status")["device_id"]
        delivered = cli_json("telemetry", "flush", "--wait", "0")
        assert delivered["delivered_events"] == 1 and collector.event_count(device_id) == 1
        assert relay.seen.posts_per_batch().total() == 1

        # The relay now presents another key: the pin is checked on every connection, so the next one is refused
        # after the handshake, before a byte of the batch is written, and the batch waits.
        relay.use(other)
        handshakes = relay.handshakes
        enrol_one_more = tmp_path / "more.npy"
        np.save(enrol_one_more, np.eye(2, 16, dtype=np.float32))  # not a look-alike of "someone"
        cli_json("enroll", "--consent", "someone else", "--embedding", str(enrol_one_more))
        mismatch = cli_json("telemetry", "flush", "--wait", "0")
        assert (mismatch["delivered"], mismatch["pending"]) == (0, 1)
        assert relay.handshakes > handshakes and relay.seen.posts_per_batch().total() == 1
        status = cli_json("telemetry", "status")
        assert status["last_error"] == "pin_mismatch" and status["pending_batches"] == 1
        assert "pinned key" in cli_json("telemetry", "enable", "--endpoint", relay.url,
                                        "--pin-sha256", right.pin)["found"]

        # Back to the pinned key: the waiting batch is delivered, once.
        relay.use(right)
        assert cli_json("telemetry", "flush", "--wait", "30")["delivered"] == 1
        assert collector.event_count(device_id) == 2
        assert set(relay.seen.posts_per_batch().values()) == {1}  # the refused connection carried no batch
