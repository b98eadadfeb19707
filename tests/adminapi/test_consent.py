"""Issue 30, item 2 over real HTTP: ``POST /enrol`` without the person's consent is a 400 that says so, the terms
come from ``GET /consent``, and terms other than those in force are refused, nothing stored."""

from __future__ import annotations

import httpx
import numpy as np

from tests.adminapi.conftest import Server
from tests.conftest import cli_json


def _body(name: str, **extra) -> dict:
    samples = np.random.default_rng(len(name)).normal(size=(2, 32)).astype(np.float32)
    return {"name": name, "embeddings": samples.tolist(), **extra}


def test_the_api_enrols_only_with_consent_to_the_terms_in_force(server: Server) -> None:
    before = [p["name"] for p in server.call("GET", "/identities").json()]
    refused = server.call("POST", "/enrol", json=_body("carol"))
    assert refused.status_code == 400 and refused.json()["kind"] == "ConsentRequired"
    assert refused.json()["error"].startswith("carol was not enrolled, and nothing was stored: enrolling someone "
                                              "needs their consent") and "GET /api/v1/consent" in refused.json()["error"]
    terms = server.call("GET", "/consent").json()
    assert terms["version"] == 1 and terms["retention_days"] is None and terms["purpose"] in terms["text"]
    other_text = server.call("POST", "/enrol", json=_body("carol", consent={"sha256": "0" * 64,
                                                                            "retention_days": None}))
    other_retention = server.call("POST", "/enrol", json=_body("carol", consent={**server.consent(),
                                                                                 "retention_days": 30}))
    for answer in (other_text, other_retention):
        assert answer.status_code == 400 and "changed since they were shown it" in answer.json()["error"], answer.text
    assert [p["name"] for p in server.call("GET", "/identities").json()] == before, "nothing stored"

    enrolled = server.call("POST", "/enrol", json=_body("carol", consent=server.consent()))
    assert enrolled.status_code == 200, enrolled.text
    consents = [e for e in cli_json("audit", "list") if e["kind"] == "consent_recorded"]
    assert [e["person"] for e in consents] == ["carol"]
    assert server.call("GET", "/identities/carol/report").json()["consent"]["text_sha256"] == terms["sha256"]


def test_adding_samples_to_someone_enrolled_before_consent_asks_for_it(server: Server) -> None:
    """alice was enrolled before FaceSeal recorded consent (the fixture seals her as the old versions did)."""
    assert server.call("GET", "/identities/alice/report").json()["consent"] is None
    refused = server.call("POST", "/enrol", json=_body("alice", add=True))
    assert refused.status_code == 400 and "no consent of theirs is recorded" in refused.json()["error"]
    assert server.call("POST", "/enrol", json=_body("alice", add=True, consent=server.consent())).status_code == 200
    assert server.call("POST", "/enrol", json=_body("alice", add=True)).status_code == 200, "asked once"


def test_the_api_renews_a_consent_only_to_the_terms_in_force(server: Server) -> None:
    """``POST /identities/{name}/consent``: how an operator keeps someone whose retention ends soon."""
    before = server.consent()
    assert server.call("POST", "/enrol", json=_body("carol", consent=before)).status_code == 200
    cli_json("policy", "set", "retention_days=30", check_clean=False)
    stale = server.call("POST", "/identities/carol/consent", json=before)  # shown before the retention changed
    assert stale.status_code == 400 and stale.json()["error"].startswith(
        "carol's consent was not renewed, and nothing was stored: the consent text or the retention changed"), stale.text
    assert server.call("GET", "/identities/carol/report").json()["consent"]["retention_days"] is None
    renewed = server.call("POST", "/identities/carol/consent", json=server.consent())
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["retention_days"] == 30 and renewed.json()["expires_at"]
    assert server.call("GET", "/identities/carol/report").json()["consent"]["expires_at"] == renewed.json()["expires_at"]
    assert [e["renewed"] for e in cli_json("audit", "list") if e["kind"] == "consent_recorded"] == [False, True]
    assert server.call("POST", "/identities/nobody/consent", json=server.consent()).status_code == 404
    garbage = server.call("POST", "/identities/carol/consent", json={"sha256": "nope"})
    assert garbage.status_code in (400, 422) and "Traceback" not in garbage.text


def test_a_renewal_that_ends_someone_sooner_asks_the_api_for_the_admin_passphrase(server: Server) -> None:
    """Fourth outside round: the token alone, a one-day retention and a renewal deleted anyone at the next sweep;
    with an admin passphrase set, such a renewal is 403 without its header and goes through with it."""
    assert server.call("POST", "/enrol", json=_body("carol", consent=server.consent())).status_code == 200
    passphrase = "owner at the desk"
    cli_json("admin-passphrase", "set", extra_env={"FACESEAL_NEW_ADMIN_PASSPHRASE": passphrase})
    cli_json("policy", "set", "retention_days=1", check_clean=False)
    refused = server.call("POST", "/identities/carol/consent", json=server.consent())
    assert refused.status_code == 403 and refused.json()["kind"] == "PresenceRequired", refused.text
    assert server.call("GET", "/identities/carol/report").json()["consent"]["expires_at"] is None, "nothing changed"
    given = httpx.request("POST", f"{server.base}/api/v1/identities/carol/consent", json=server.consent(), timeout=120,
                          headers={**server.headers(), "X-FaceSeal-Admin-Passphrase": passphrase})
    assert given.status_code == 200 and given.json()["retention_days"] == 1, given.text
