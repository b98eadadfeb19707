"""The local admin API over real HTTP: a real ``faceseal serve`` subprocess on 127.0.0.1."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import all_verify, cli_fails, cli_json, free_port, run_cli


def test_status_needs_the_exact_token(server):
    url = server.base + "/api/v1/status"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=server.headers("wrong")).status_code == 401
    almost = server.token[:-1] + ("A" if server.token[-1] != "A" else "B")
    answer = httpx.get(url, headers=server.headers(almost))
    assert answer.status_code == 401 and answer.json()["kind"] == "Unauthorized"
    assert server.token not in answer.text and almost not in answer.text
    assert httpx.get(url, headers={"Authorization": server.token}).status_code == 401  # no scheme
    ok = httpx.get(url, headers=server.headers())
    assert ok.status_code == 200
    assert ok.json()["root_key"]["store"] == "file" and ok.json()["identities"] == 2


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "192.168.1.10:8787", "", "[::2]:1"])
def test_a_foreign_host_header_is_refused_even_with_the_token(server, host):
    answer = httpx.get(server.base + "/api/v1/status", headers={**server.headers(), "Host": host})
    assert answer.status_code in (400, 421)  # 400 from the HTTP server itself for an empty Host
    if answer.status_code == 421:
        assert answer.json()["kind"] == "ForeignHost"


def test_localhost_names_are_accepted(server):
    port = server.base.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", "127.0.0.1", f"[::1]:{port}"):
        assert httpx.get(server.base + "/api/v1/status", headers={**server.headers(), "Host": host}).status_code == 200


def test_non_loopback_bind_is_refused():
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.com"):
        cli_fails(2, "loopback addresses only", "serve", "--host", host, "--port", str(free_port()))


def rotated_at_now(body: dict) -> None:
    """``rotated_at`` is whole epoch seconds of now; ``rotated_at_iso`` is the same instant in ISO 8601."""
    assert isinstance(body["rotated_at"], int) and abs(body["rotated_at"] - time.time()) < 60
    assert datetime.fromisoformat(body["rotated_at_iso"]).timestamp() == body["rotated_at"]


def test_rotate_answers_as_documented(server):
    answer = server.call("POST", "/admin/rotate-key")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "rotated" and body["deep"] is False and body["root_rotated"] is True
    assert body["templates_rewrapped"] == 0 and body["templates_resealed"] == 0  # a shallow one touches no template
    assert body["vault_keys_rewrapped"] >= 1 and body["identity_keys_rewrapped"] == 0
    rotated_at_now(body)


def test_deep_rotation_over_http_reseals_every_template(server):
    before = server.call("GET", "/status").json()
    answer = server.call("POST", "/admin/rotate-key", json={"deep": True})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["deep"] is True and body["templates_resealed"] == before["templates"] == 4
    assert body["identity_keys_rewrapped"] == before["identities"] == 2
    assert body["vault_key_version"] == before["vault_key"]["version"] + 1
    assert body["root_fingerprint"] == server.call("GET", "/status").json()["root_key"]["fingerprint"]
    rotated_at_now(body)
    events = [e for e in cli_json("audit", "list") if e["kind"] == "key_rotated"]
    assert [(e["deep"], e["templates_resealed"]) for e in events] == [(True, 4)]
    all_verify(server.people)


def test_concurrent_rotations_run_one_at_a_time_and_none_is_lost(server):
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: httpx.post(server.base + "/api/v1/admin/rotate-key",
                                                     headers=server.headers(), timeout=120), range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    fingerprints = [a.json()["root_fingerprint"] for a in answers]
    assert len(set(fingerprints)) == 6  # six distinct roots: no two requests shared a rotation
    events = cli_json("audit", "list")
    rotations = [e for e in events if e["kind"] == "key_rotated"]
    assert len(rotations) == 6
    assert set(e["root_fingerprint"] for e in rotations) == set(fingerprints)
    assert cli_json("audit", "verify")["status"] == "intact"
    assert len(cli_json("list")) == 2


def test_delete_identity_and_malformed_requests(server):
    delete = server.base + "/api/v1/identities/{}/delete"
    assert httpx.post(delete.format("nobody"), headers=server.headers()).status_code == 404
    deleted = httpx.post(delete.format("alice"), headers=server.headers())
    assert deleted.status_code == 200 and deleted.json()["templates_deleted"] == 2
    assert [i["name"] for i in cli_json("list")] == ["bob"]
    reset = server.base + "/api/v1/settings/delete_identity"
    for body, status in ((b"{", 400), (b'{"confirm": true, "clear_audit": "perhaps"}', 422),
                         (b'{"confirm": true, "unknown": true}', 422), (b"[]", 422), (b"\xff\xfe", 400)):
        answer = httpx.post(reset, headers={**server.headers(), "Content-Type": "application/json"}, content=body)
        assert answer.status_code == status, (body, answer.text)
    assert [i["name"] for i in cli_json("list")] == ["bob"]  # nothing was deleted by a bad request


@pytest.mark.parametrize("route", ["/admin/reset", "/settings/delete_identity"])  # the route, and its old alias
def test_reset_over_http_answers_as_the_reset_command(server, route):
    answer = server.call("POST", route, json={"confirm": True, "clear_audit": False})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "deleted" and body["templates_deleted"] == 4 and body["audit_events_deleted"] == 0
    assert body["device_key_rotated"] is True and body["root_key_destroyed"] is True
    assert cli_json("list") == []
    assert "vault_reset" in [e["kind"] for e in cli_json("audit", "list")]


def test_lock_and_revoke_reach_the_running_server(server, tmp_path):
    status = server.base + "/api/v1/status"
    cli_json("lock")
    locked = httpx.get(status, headers=server.headers())
    assert locked.status_code == 503 and "locked" in locked.json()["error"]
    cli_json("unlock")
    assert httpx.get(status, headers=server.headers()).status_code == 200
    cli_json("key", "revoke", "--yes")
    revoked = httpx.get(status, headers=server.headers())
    assert revoked.status_code == 503 and revoked.json()["error"].startswith("root key revoked")


def test_openapi_document_is_served(server):
    doc = httpx.get(server.base + "/api/v1/openapi.json").json()
    assert {"/api/v1/status", "/api/v1/admin/rotate-key", "/api/v1/admin/reset", "/api/v1/settings/delete_identity",
            "/api/v1/identities/{name}", "/api/v1/identities/{name}/delete", "/api/v1/verify", "/api/v1/identify",
            "/api/v1/lock", "/api/v1/unlock", "/api/v1/policy", "/api/v1/thresholds/{pack}",
            "/api/v1/audit/verify"} <= set(doc["paths"])
    assert doc["paths"]["/api/v1/settings/delete_identity"]["post"]["deprecated"] is True
    assert json.loads(run_cli("status", "--json").stdout)["identities"] == 2


def test_delete_removes_exactly_one_person(server):
    assert server.call("DELETE", "/identities/nobody").status_code == 404
    deleted = server.call("DELETE", "/identities/alice")
    assert deleted.status_code == 200, deleted.text
    body = deleted.json()
    assert body["status"] == "deleted" and body["name"] == "alice" and body["templates_deleted"] == 2
    assert body["root_rotated"] is True
    assert [i["name"] for i in server.call("GET", "/identities").json()] == ["bob"]
    assert cli_json("status")["templates"] == 2
    assert server.call("DELETE", "/identities/alice").status_code == 404  # gone for good
    all_verify({"bob": server.people["bob"]})


def test_lock_and_unlock_over_http_lock_the_command_line_too(server):
    locked = server.call("POST", "/lock")
    assert locked.status_code == 200 and locked.json()["status"] == "locked"
    cli_fails(3, "the vault is locked", "list")
    assert cli_json("status", code=3)["kind"] == "VaultLocked"
    assert server.call("GET", "/status").status_code == 503
    assert server.call("POST", "/lock").json()["status"] == "locked"  # locking twice is harmless
    unlocked = server.call("POST", "/unlock")
    assert unlocked.status_code == 200 and unlocked.json()["status"] == "unlocked"
    assert unlocked.json()["root_fingerprint"] == cli_json("status")["root_key"]["fingerprint"]
    assert len(cli_json("list")) == 2
    kinds = [e["kind"] for e in cli_json("audit", "list")]
    assert kinds.count("vault_locked") == 1 and kinds.count("vault_unlocked") == 1
    cli_json("lock")  # and a lock from the command line reaches the API
    assert server.call("GET", "/identities").status_code == 503
    assert server.call("POST", "/unlock").status_code == 200
    assert server.call("GET", "/identities").status_code == 200


def match_body(vector, **extra) -> dict:
    return {"embedding": [float(v) for v in vector], **extra}


def test_verify_and_identify_over_http_apply_the_policy(server):
    alice, bob = server.people["alice"][0], server.people["bob"][0]
    verified = server.call("POST", "/verify", json=match_body(alice, name="alice"))
    assert verified.status_code == 200, verified.text
    assert verified.json()["match"] is True and verified.json()["live"] is False  # an embedding is never live
    who = server.call("POST", "/identify", json=match_body(bob))
    assert who.status_code == 200 and who.json()["name"] == "bob"
    for route, extra in (("/verify", {"name": "alice"}), ("/identify", {})):
        for threshold in (0.05, 0.995):  # outside the policy's bounds (0.10 .. 0.99)
            refused = server.call("POST", route, json=match_body(alice, threshold=threshold, **extra))
            assert refused.status_code == 400 and "outside the range" in refused.json()["error"], refused.text
        live = server.call("POST", route, json=match_body(alice, liveness=True, **extra))
        assert live.status_code == 400 and "moving picture" in live.json()["error"]
    kinds = [e["kind"] for e in cli_json("audit", "list")]
    assert kinds.count("verification") == 1 and kinds.count("identification") == 1  # refusals match nothing


@pytest.mark.parametrize("route", ["/verify", "/identify"])
def test_failed_attempts_over_http_lock_out(server, route):
    changed = server.call("POST", "/policy", json={"changes": {"lockout_attempts": 3, "lockout_seconds": 600}})
    assert changed.status_code == 200 and changed.json()["policy"]["lockout_attempts"] == 3
    extra = {"name": "alice"} if route == "/verify" else {}
    stranger = np.random.default_rng(5).normal(size=32)
    for _ in range(3):
        missed = server.call("POST", route, json=match_body(stranger, threshold=0.9, **extra))
        assert missed.status_code == 200 and missed.json()["match"] is False
    right = server.call("POST", route, json=match_body(server.people["alice"][0], threshold=0.9, **extra))
    assert right.status_code == 409 and right.json()["kind"] == "VerificationLockedOut"  # even the right face waits
    kind = "verification_locked_out" if route == "/verify" else "identification_locked_out"
    assert [e["kind"] for e in cli_json("audit", "list")].count(kind) == 1
    probe = server.people["alice"][0]
    np.save(Path(os.environ["FACESEAL_HOME"]).parent / "alice.npy", probe)
    refused = run_cli(route.strip("/"), *(["alice"] if extra else []), "--embedding",
                      str(Path(os.environ["FACESEAL_HOME"]).parent / "alice.npy"))
    assert refused.returncode != 0 and "too many failed" in refused.stderr  # one counter for every front end

