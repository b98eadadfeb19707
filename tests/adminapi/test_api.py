"""The local admin API over real HTTP: a real ``faceseal serve`` subprocess on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import REPO, run_cli
from tests.sovereignty.conftest import cli_fails, cli_ok, enrol


@dataclass
class Server:
    base: str
    token: str
    process: subprocess.Popen

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token if token is None else token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(isolated, people) -> Iterator[Server]:
    enrol(people)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "edge_core.cli", "serve", "--port", str(port)], cwd=REPO,
                               env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):  # bounded wait for the port to answer (no timing is asserted)
        try:
            httpx.get(base + "/api/v1/openapi.json", timeout=2)
            break
        except httpx.TransportError:
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.1)
    token_file = isolated / "edge_token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    yield Server(base, token_file.read_text().strip(), process)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


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


def test_rotate_answers_as_documented(server):
    answer = httpx.post(server.base + "/api/v1/admin/rotate-key", headers=server.headers())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "rotated" and body["templates_rewrapped"] == 4 and body["rotated_at"]


def test_concurrent_rotations_run_one_at_a_time_and_none_is_lost(server):
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: httpx.post(server.base + "/api/v1/admin/rotate-key",
                                                     headers=server.headers(), timeout=120), range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    fingerprints = [a.json()["root_fingerprint"] for a in answers]
    assert len(set(fingerprints)) == 6  # six distinct roots: no two requests shared a rotation
    events = cli_ok("audit", "list")
    rotations = [e for e in events if e["kind"] == "key_rotated"]
    assert len(rotations) == 6
    assert set(e["root_fingerprint"] for e in rotations) == set(fingerprints)
    assert cli_ok("audit", "verify")["status"] == "intact"
    assert len(cli_ok("list")) == 2


def test_delete_identity_and_malformed_requests(server):
    delete = server.base + "/api/v1/identities/{}/delete"
    assert httpx.post(delete.format("nobody"), headers=server.headers()).status_code == 404
    deleted = httpx.post(delete.format("alice"), headers=server.headers())
    assert deleted.status_code == 200 and deleted.json()["templates_deleted"] == 2
    assert [i["name"] for i in cli_ok("list")] == ["bob"]
    reset = server.base + "/api/v1/settings/delete_identity"
    for body in (b"{", b'{"clear_audit": "perhaps"}', b'{"unknown": true}', b"[]", b"\xff\xfe"):
        answer = httpx.post(reset, headers={**server.headers(), "Content-Type": "application/json"}, content=body)
        assert answer.status_code == 422, (body, answer.text)
    assert [i["name"] for i in cli_ok("list")] == ["bob"]  # nothing was deleted by a bad request


def test_reset_over_http_answers_as_the_reset_command(server):
    answer = httpx.post(server.base + "/api/v1/settings/delete_identity", headers=server.headers(),
                        json={"clear_audit": False})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "deleted" and body["templates_deleted"] == 4 and body["audit_events_deleted"] == 0
    assert body["device_key_rotated"] is True and body["root_key_destroyed"] is True
    assert cli_ok("list") == []
    assert "vault_reset" in [e["kind"] for e in cli_ok("audit", "list")]


def test_lock_and_revoke_reach_the_running_server(server, tmp_path):
    status = server.base + "/api/v1/status"
    cli_ok("lock")
    locked = httpx.get(status, headers=server.headers())
    assert locked.status_code == 503 and "locked" in locked.json()["error"]
    cli_ok("unlock")
    assert httpx.get(status, headers=server.headers()).status_code == 200
    cli_ok("key", "revoke", "--yes")
    revoked = httpx.get(status, headers=server.headers())
    assert revoked.status_code == 503 and revoked.json()["error"].startswith("root key revoked")


def test_openapi_document_is_served(server):
    doc = httpx.get(server.base + "/api/v1/openapi.json").json()
    assert {"/api/v1/status", "/api/v1/admin/rotate-key", "/api/v1/settings/delete_identity",
            "/api/v1/identities/{name}/delete"} <= set(doc["paths"])
    assert json.loads(run_cli("status", "--json").stdout)["identities"] == 2
