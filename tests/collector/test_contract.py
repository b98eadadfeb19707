"""The collector's contract as an outside client meets it: event times that exist and fit the batch, the
methods of each path, and an OpenAPI document that says what a batch and the operator token are."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from edge_core.support.canonical import canonical_json
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.events import utc_timestamp
from faceseal_collector.database import parse_database
from faceseal_collector.store import CollectorStore
from tests.collector.conftest import BackendCollector as Collector
from tests.collector.test_collector import post


def signed(key: DeviceKey, events: list[dict[str, object]], created: datetime | None = None) -> dict[str, object]:
    """An envelope of raw events, correctly signed by ``key`` (the device's own builder would refuse bad ones)."""
    unsigned: dict[str, object] = {
        "v": 1, "device_id": key.device_id, "public_key": key.public_key_b64, "batch_id": str(uuid.uuid4()),
        "created_at": utc_timestamp(created), "events": events,
    }
    return {**unsigned, "signature": key.sign_batch(unsigned)}


def started(at: str) -> dict[str, object]:
    return {"kind": "app_started", "at": at, "app_version": "0.1.0"}


def stored_events(collector: Collector) -> int:
    return len(collector.rows("SELECT body FROM events"))


@pytest.mark.parametrize("at", ["0081-14-92T08:00:00Z", "0000-00-00T00:00:00Z", "2026-02-30T00:00:00Z",
                                "2026-01-01T24:00:00Z"])
def test_a_signed_event_time_that_does_not_exist_is_refused_by_its_index(key: DeviceKey, collector: Collector,
                                                                        at: str) -> None:
    now = utc_timestamp()
    answer = post(collector, signed(key, [started(now), started(now), started(at)]))
    assert answer.status_code == 422 and answer.json()["error"] == "forbidden_event", answer.text
    assert answer.json()["detail"].startswith("event 2: field 'at' must be a UTC timestamp"), answer.text
    assert stored_events(collector) == 0


def test_event_times_are_held_to_the_batch_window(key: DeviceKey, collector: Collector) -> None:
    now = datetime.now(UTC)
    too_old, too_late = "more than 30 days before the collector's clock", "more than 5 minutes after the batch's created_at"
    for at, why in (("1970-01-01T00:00:00Z", too_old), ("2999-01-01T00:00:00Z", too_late),
                    (utc_timestamp(now - timedelta(days=31)), too_old),
                    (utc_timestamp(now + timedelta(minutes=6)), too_late)):
        answer = post(collector, signed(key, [started(utc_timestamp(now)), started(at)], created=now))
        assert answer.status_code == 422, answer.text
        assert answer.json() == {"error": "out_of_window", "detail": f"event 1: at lies {why}"}, answer.text
    assert stored_events(collector) == 0
    inside = [started(utc_timestamp(now - timedelta(days=29))), started(utc_timestamp(now + timedelta(minutes=4)))]
    assert post(collector, signed(key, inside, created=now)).status_code == 201  # the edges of the window hold
    assert stored_events(collector) == 2


def test_a_wrong_method_names_every_method_of_the_path(collector: Collector) -> None:
    for path, allowed in (("/v1/batches", "OPTIONS, POST"), ("/v1/devices", "GET, OPTIONS"),
                          ("/v1/summary", "GET, OPTIONS")):
        wrong = httpx.request("DELETE", collector.url + path, timeout=10)
        assert wrong.status_code == 405 and wrong.headers["allow"] == allowed, (path, wrong.headers)
        assert wrong.json() == {"error": "method_not_allowed",
                                "detail": f"DELETE is not a method of {path}; it takes {allowed}"}, wrong.text
        options = httpx.request("OPTIONS", collector.url + path, timeout=10)
        assert options.status_code == 204 and options.headers["allow"] == allowed
    nothing = httpx.request("OPTIONS", collector.url + "/v1/nothing", timeout=10)
    assert nothing.status_code == 404 and nothing.json() == {
        "error": "not_found", "detail": "there is no /v1/nothing in this API (see /v1/openapi.json)"}


def test_the_openapi_document_describes_the_envelope_the_token_and_every_refusal(collector: Collector) -> None:
    doc = httpx.get(collector.url + "/v1/openapi.json", timeout=10).json()
    batches = doc["paths"]["/v1/batches"]["post"]
    envelope = batches["requestBody"]["content"]["application/json"]["schema"]
    assert envelope["required"] == ["batch_id", "created_at", "device_id", "events", "public_key", "signature", "v"]
    assert envelope["additionalProperties"] is False and envelope["properties"]["events"]["maxItems"] == 1000
    kinds = {variant["properties"]["kind"]["const"] for variant in envelope["properties"]["events"]["items"]["oneOf"]}
    assert kinds == {"app_started", "operation", "key_rotated"}
    assert {"200", "201", "400", "401", "403", "409", "413", "415", "422", "503"} <= set(batches["responses"])
    assert doc["paths"]["/v1/devices"]["get"]["security"] == [{"HTTPBearer": []}]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    # The document's patterns are the verifier's: a real envelope matches them.
    key = DeviceKey.generate()
    real = signed(key, [started(utc_timestamp())])
    for field in ("device_id", "public_key", "batch_id", "created_at", "signature"):
        assert re.fullmatch(envelope["properties"][field]["pattern"].strip("^$"), str(real[field])), field
    assert json.loads(json.dumps(real))  # and it is plain JSON


def test_a_duration_beyond_what_a_date_can_hold_is_a_refusal_not_a_failure(collector: Collector) -> None:
    """Schemathesis found it: ``dead_after=780646d`` reached back before year 1 and failed with a 500."""
    operator = _operator(collector)
    for value in ("780646d", "0d", "07d", " 7d", "7 d"):
        answer = httpx.get(collector.url + "/v1/devices", params={"dead_after": value}, headers=operator, timeout=10)
        assert answer.status_code == 400 and answer.json()["error"] == "bad_query", (value, answer.text)
    assert httpx.get(collector.url + "/v1/devices", params={"dead_after": "99999d", "since": "99999d"},
                     headers=operator, timeout=10).status_code == 200


def _operator(collector: Collector) -> dict[str, str]:
    token = secrets.token_urlsafe(16)
    store = CollectorStore(parse_database(str(collector.db)))
    store.set_token("operator", "operator", token)
    store.close()
    return {"Authorization": f"Bearer {token}"}


def test_the_operator_token_is_checked_before_the_query(collector: Collector) -> None:
    answer = httpx.get(collector.url + "/v1/devices", params={"dead_after": "0d"}, timeout=10)
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"


def test_a_query_parameter_or_body_no_route_reads_is_refused(collector: Collector) -> None:
    """``dead_afterr=1d`` answered for the default 7d as if it had been read."""
    operator = _operator(collector)
    for path, params, body in (("/v1/devices", {"dead_afterr": "1d"}, None), ("/v1/summary", {"sinc": "1d"}, None),
                               ("/v1/health", {"verbose": "1"}, None), ("/v1/devices", {}, b'{"dead_after": "1d"}')):
        answer = httpx.request("GET", collector.url + path, params=params, content=body, headers=operator, timeout=10)
        assert answer.status_code == 400 and answer.json()["error"] == "bad_query", (path, answer.text)
        assert answer.json()["detail"].startswith(f"GET {path} takes no "), answer.text
    unknown_without_token = httpx.get(collector.url + "/v1/devices", params={"dead_afterr": "1d"}, timeout=10)
    assert unknown_without_token.status_code == 401  # the token is still checked first


def test_a_batch_with_a_query_parameter_is_not_stored(key: DeviceKey, collector: Collector) -> None:
    envelope = signed(key, [started(utc_timestamp())])
    answer = httpx.post(collector.url + "/v1/batches", params={"dry_run": "1"}, json=envelope, timeout=10)
    assert answer.status_code == 400 and answer.json() == {
        "error": "bad_query", "detail": "POST /v1/batches takes no query parameter 'dry_run'"}, answer.text
    assert stored_events(collector) == 0
    assert post(collector, envelope).status_code == 201  # the same batch without it is stored


def test_a_signed_batch_with_a_repeated_key_is_refused(key: DeviceKey, collector: Collector) -> None:
    """The device's own canonical bytes with a decoy ``events`` before or after the signed one: a reader keeping
    the first copy (a proxy, a log) and one keeping the last (orjson, the collector's fast parser) would each see
    another batch, and the signed copy last would verify for the second. Refused either way, nothing stored."""
    now = utc_timestamp()
    body = canonical_json(signed(key, [started(now), started(now)])).decode()
    decoy = json.dumps([started(now)], separators=(",", ":"))
    for repeated in (body.replace('"events":', f'"events":{decoy},"events":', 1),
                     body.replace('"public_key":', f'"events":{decoy},"public_key":', 1)):
        answer = post(collector, repeated)
        assert answer.status_code == 400 and answer.json() == {
            "error": "malformed", "detail": "a JSON object repeats a key"}, answer.text
    assert stored_events(collector) == 0
    assert post(collector, body).status_code == 201


def test_one_authorization_header_or_none_is_taken(collector: Collector) -> None:
    """With the operator's token and a wrong one, which one counts depends on who reads: refused."""
    right = _operator(collector)["Authorization"]
    for values in ([right, "Bearer wrong"], ["Bearer wrong", right], [right, right]):
        answer = httpx.get(collector.url + "/v1/devices", headers=[("Authorization", value) for value in values],
                           timeout=10)
        assert answer.status_code == 401 and answer.json()["error"] == "unauthorized", (values, answer.text)
    assert httpx.get(collector.url + "/v1/devices", headers={"Authorization": right}, timeout=10).status_code == 200


def test_a_date_before_year_1000_still_sorts_before_today(key: DeviceKey, collector: Collector) -> None:
    """glibc's %Y wrote year 999 as "999", which sorts after "2026": such a since matched nothing."""
    assert post(collector, signed(key, [started(utc_timestamp())])).status_code == 201
    for since in ("0999-01-01", "0001-01-01", "1999-01-01"):
        summary = httpx.get(collector.url + "/v1/summary", params={"since": since}, headers=_operator(collector),
                            timeout=10).json()
        assert summary["batches"] == 1 and summary["since"].startswith(since), summary


def test_only_ascii_digits_make_a_version(key: DeviceKey, collector: Collector) -> None:
    event = {**started(utc_timestamp()), "app_version": "\u0660.\u0661.\u0660"}  # Arabic-Indic digits
    answer = post(collector, signed(key, [event]))
    assert answer.status_code == 422 and answer.json()["error"] == "forbidden_event", answer.text
    assert stored_events(collector) == 0


def test_a_trailing_slash_is_a_404_not_a_redirect_to_the_callers_host(collector: Collector) -> None:
    answer = httpx.post(collector.url + "/v1/batches/", content=b"{}", timeout=10,
                        headers={"Content-Type": "application/json", "Host": "evil.example"})
    assert answer.status_code == 404 and "location" not in answer.headers and answer.json()["error"] == "not_found"


def test_the_fleet_routes_document_only_the_refusal_shape(collector: Collector) -> None:
    doc = httpx.get(collector.url + "/v1/openapi.json", timeout=10).json()
    for path in ("/v1/devices", "/v1/summary"):
        answers = doc["paths"][path]["get"]["responses"]
        assert "422" not in answers and "HTTPValidationError" not in json.dumps(answers)
