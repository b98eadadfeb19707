"""Issue 30, items 3 and 4 over real HTTP: the delete routes answer the signed deletion certificate when asked (the
proof of presence still asked first), and the report route says what FaceSeal holds about one person, audited."""

from __future__ import annotations

import json

import httpx
import numpy as np

from tests.conftest import cli_fails, cli_json

PASSPHRASE = "owner at the desk"
HEADER = "X-FaceSeal-Admin-Passphrase"


def proven(server, method: str, path: str, **params: str) -> httpx.Response:
    """``method`` on ``path`` with the token and the admin passphrase, ``params`` in the query."""
    return httpx.request(method, f"{server.base}/api/v1{path}", params=params, timeout=120,
                         headers={**server.headers(), HEADER: PASSPHRASE})


def test_a_deletion_over_http_answers_its_certificate_after_the_proof_of_presence(server, tmp_path):
    key = cli_json("status")["device_key"]
    alice = next(e["identity"] for e in cli_json("audit", "list") if e.get("person") == "alice")
    cli_json("admin-passphrase", "set", extra_env={"FACESEAL_NEW_ADMIN_PASSPHRASE": PASSPHRASE})
    refused = server.call("DELETE", "/identities/alice", params={"certificate": "true"})
    assert refused.status_code == 403 and refused.json()["kind"] == "PresenceRequired"
    assert proven(server, "DELETE", "/identities/alice", name_on_certificate="true").status_code == 400
    assert [p["name"] for p in cli_json("list")] == ["alice", "bob"]

    deleted = proven(server, "DELETE", "/identities/alice", certificate="true")
    assert deleted.status_code == 200, deleted.text
    body = deleted.json()
    assert body["status"] == "deleted" and "certificate_file" not in body
    certificate = body["certificate"]
    assert certificate["identity"] == alice and "alice" not in json.dumps(certificate)
    saved = tmp_path / "from-the-api.json"
    saved.write_text(json.dumps(certificate))
    checked = cli_json("audit", "verify-certificate", str(saved), "--device-key", key)
    assert checked["identity"] == alice and checked["keys_destroyed"]["root_key"]

    named = proven(server, "POST", "/identities/bob/delete", certificate="true",
                   name_on_certificate="true").json()["certificate"]
    saved.unlink()
    saved.write_text(json.dumps({**named, "identity": alice}))
    cli_fails(4, "the certificate was edited", "audit", "verify-certificate", str(saved), "--device-key", key)
    saved.unlink()
    saved.write_text(json.dumps(named))
    assert cli_json("audit", "verify-certificate", str(saved), "--device-key", key)["name"] == "bob"


def test_the_report_route_needs_no_passphrase_holds_no_template_and_is_audited(server):
    cli_json("admin-passphrase", "set", extra_env={"FACESEAL_NEW_ADMIN_PASSPHRASE": PASSPHRASE})
    answer = server.call("GET", "/identities/alice/report")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["name"], report["samples"], len(report["sample_dates"])) == ("alice", 2, 2)
    assert report["attempts"]["verifications"] == 0 and report["events"][0]["kind"] == "identity_enrolled"
    as_text = server.call("GET", "/identities/alice/report", params={"format": "markdown"})
    assert as_text.status_code == 200 and as_text.headers["content-type"].startswith("text/markdown")
    assert as_text.text.startswith("# What FaceSeal holds about alice")
    enrolled = np.asarray(server.people["alice"], dtype=np.float32)
    for text in (answer.text, as_text.text):
        assert not any(f"{float(v):.5f}" in text for v in enrolled.ravel()), "no value of the template"
        assert "score" not in json.dumps(report["events"]) and "risk" not in json.dumps(report["events"])
    assert server.call("GET", "/identities/carol/report").status_code == 404
    assert server.call("GET", "/identities/alice/report", params={"format": "pdf"}).status_code == 422
    asked = [e for e in cli_json("audit", "list") if e["kind"] == "subject_report"]
    assert [e["asked_by"] for e in asked] == ["api", "api"]
