"""Issue 30, item 2: a retention period ends and exactly that person is crypto-shredded by the next FaceSeal process
that opens the vault (the sign-in agent here; the window in tests/app/test_consent.py), audited, its certificate
kept; the retention is fixed at consent and lives only in the encrypted database. The clock is injected: nothing
sleeps, the system clock is never touched."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from edge_core import ops
from edge_core.agent.server import Agent, CameraChoice
from edge_core.errors import FaceSealError, PolicyViolation, PresenceRequired
from tests.conftest import cli_fails, cli_json, probe, run_cli



def _end(name: str) -> datetime:
    """When ``name``'s retention ends, as recorded at consent: the injected clocks are set around it."""
    with ops.open_vault(reading=True) as vault:
        return datetime.fromisoformat(ops.consent_record(vault, name).expires_at)


def _enrol(vault, name: str, seed: int, retention_days: int) -> None:
    """Enrol ``name`` with their consent, the policy's retention set to ``retention_days`` at that moment."""
    ops.policy_set(vault, {"retention_days": retention_days})
    samples = np.random.default_rng(seed).normal(size=(2, 32)).astype(np.float32)
    ops.enrol(vault, name, probe(samples), consent=ops.consent_terms(vault))


@pytest.fixture
def four(isolated: Path) -> dict[str, str]:
    """alice kept 30 days, bob 90, carol with no retention, dave enrolled before consent was recorded; their ids.
    The policy ends at 7 days, which changes none of the four consents."""
    with ops.open_vault() as vault:
        _enrol(vault, "alice", 1, 30)
        _enrol(vault, "bob", 2, 90)
        _enrol(vault, "carol", 3, 0)
        vault.enroll("dave", np.random.default_rng(4).normal(size=(2, 32)).astype(np.float32), "external")
        ops.policy_set(vault, {"retention_days": 7})
        return {name: vault.identity_id(name) for name in ("alice", "bob", "carol", "dave")}


def _names() -> list[str]:
    with ops.open_vault() as vault:
        return [i.name for i in ops.list_identities(vault)]


def _retention_events() -> list[dict]:
    return [e for e in cli_json("audit", "list") if e.get("cause") == "retention"]


def test_the_sweep_shreds_exactly_those_whose_retention_ended(four) -> None:
    with ops.open_vault() as vault:
        assert ops.consent_record(vault, "alice").retention_days == 30, "fixed at consent, not the policy's 7 now"
    end = _end("alice")
    with ops.open_vault() as vault:
        early = ops.sweep_retention(vault, end - timedelta(days=1, seconds=1))
        assert early.deleted == [] and [e.name for e in early.expiring] == ["alice"]
        assert early.expiring[0].days_left == 1
        assert ops.sweep_retention(vault, end - timedelta(seconds=1)).deleted == [], "not a second early"
        swept = ops.sweep_retention(vault, end)
    assert swept.deleted == ["alice"] and swept.expiring == []
    assert _names() == ["bob", "carol", "dave"]
    with ops.open_vault(reading=True) as vault:  # the record went with her, and the salt of her consent event
        assert vault.conn.execute("SELECT count(*) FROM consents WHERE identity_id = ?", (four["alice"],)).fetchone() \
            == (0,)
    events = _retention_events()
    assert [(e["kind"], e["identity"]) for e in events] == [("identity_shredded", four["alice"]),
                                                          ("key_rotated", four["alice"])]
    assert events[1]["reason"] == "shred" and events[1]["keys_destroyed"]["identity_key"]
    later = datetime.now(timezone.utc) + timedelta(days=3650)
    with ops.open_vault() as vault:  # years later: bob goes; carol (no retention) and dave (none recorded) stay
        assert ops.sweep_retention(vault, later).deleted == ["bob"]
        assert ops.sweep_retention(vault, later).deleted == [], "nobody twice"
    assert _names() == ["carol", "dave"]


def test_a_retention_deletion_keeps_a_certificate_that_checks_offline(four, tmp_path: Path) -> None:
    with ops.open_vault() as vault:
        ops.sweep_retention(vault, _end("alice"))
    out = tmp_path / "alice.json"
    saved = cli_json("retention", "certificate", four["alice"], "--out", str(out))
    assert saved["file"] == str(out) and "alice" not in out.read_text(), "the id, never the name"
    checked = cli_json("audit", "verify-certificate", str(out), "--device-key", cli_json("status")["device_key"])
    assert checked["status"] == "valid" and checked["identity"] == four["alice"]
    assert json.loads(out.read_text())["event"]["detail"]["cause"] == "retention"
    cli_fails(1, "no deletion certificate is kept", "retention", "certificate", four["bob"], "--out",
              str(tmp_path / "bob.json"))


def test_the_agent_sweeps_when_it_opens_the_vault(four) -> None:
    """The agent opens the vault per attempt: the attempt after the retention ended shreds alice first, whatever
    becomes of the attempt itself (here: nobody is chosen for sign-in, so it is refused before any camera)."""
    home, alice, bob = Path(ops.layout_for().home), _end("alice"), _end("bob")
    agent = Agent(home, CameraChoice(), clock=lambda: alice)
    with pytest.raises(FaceSealError, match="nobody is chosen for face sign-in"):
        agent.signin({"user": agent.login, "service": "sudo"}, lambda _message: None)
    assert _names() == ["bob", "carol", "dave"]
    Agent(home, CameraChoice(), clock=lambda: bob).sweep_at_start()
    assert _names() == ["carol", "dave"], "and when it starts"


def test_a_retention_that_ended_is_not_renewed_so_the_sweep_still_deletes(four) -> None:
    """Fourth outside round: the command line and the API do not sweep, so alice, whose retention had ended, was
    renewed there (her end moved on, no deletion) while the window, which sweeps first, would have deleted her;
    and a renewal committed between a sweep's choice and its shred was deleted anyway. A second before the end
    renewing keeps the person; at the end it is refused, nothing is recorded, and the sweep deletes them."""
    alice, bob = _end("alice"), _end("bob")
    with ops.open_vault() as vault:
        terms = ops.consent_terms(vault)
        kept = ops.renew_consent(vault, "bob", terms, at=bob - timedelta(seconds=1))
        assert kept.expires_at > bob.isoformat(), "bob consented in time: counted from today"
        with pytest.raises(PolicyViolation, match="alice's consent was not renewed, and nothing was stored: "
                                                  "her|their retention ended"):
            ops.renew_consent(vault, "alice", terms, at=alice)
        assert ops.consent_record(vault, "alice").expires_at == alice.isoformat()
        assert ops.sweep_retention(vault, bob).deleted == ["alice"]
    assert _names() == ["bob", "carol", "dave"]
    assert [e["renewed"] for e in cli_json("audit", "list") if e["kind"] == "consent_recorded"] == \
        [False, False, False, True], "one renewal recorded: bob's"


def test_a_renewal_that_ends_someone_sooner_asks_for_the_admin_passphrase(four) -> None:
    """Fourth outside round: with an admin passphrase set, deleting a person asks for it, but the retention is set
    without it and a renewal asked nothing: `policy set retention_days=1` and a renewal (the API's token, or any
    program of the user) deleted alice (30 days) and dave (enrolled before consent was recorded, so never) the
    next day at the sweep. A renewal that brings the end nearer now asks, as a deletion does; one that moves it
    later does not."""
    passphrase = "owner at the desk"
    alice = _end("alice")
    with ops.open_vault() as vault:
        ops.set_admin_passphrase(vault, passphrase)
        ops.policy_set(vault, {"retention_days": 1})
        terms = ops.consent_terms(vault)
        for name in ("alice", "dave"):
            with pytest.raises(PresenceRequired, match="renew a consent to a shorter retention"):
                ops.renew_consent(vault, name, terms)
        assert ops.consent_record(vault, "alice").expires_at == alice.isoformat()
        assert ops.consent_record(vault, "dave") is None
        ops.policy_set(vault, {"retention_days": 365})
        assert ops.renew_consent(vault, "alice", ops.consent_terms(vault)).retention_days == 365, "later: not asked"
        ops.policy_set(vault, {"retention_days": 1})
        shorter = ops.renew_consent(vault, "alice", ops.consent_terms(vault), proof=ops.prove(vault, passphrase))
    assert shorter.retention_days == 1
    refused = run_cli("consent", "renew", "bob", "--consent")
    assert refused.returncode != 0 and "admin passphrase" in refused.stderr, refused.stderr


def test_the_expiry_lives_only_inside_the_encrypted_database(four, isolated: Path) -> None:
    """Someone who can write into the data folder finds no file holding a retention to extend or drop: neither
    the expiry nor the person's id is in any file in clear; the record is a row of the SQLCipher database."""
    with ops.open_vault() as vault:
        record = ops.consent_record(vault, "alice")
        row = vault.conn.execute("SELECT expires_at FROM consents WHERE identity_id = ?", (four["alice"],)).fetchone()
    assert record is not None and record.expires_at is not None and row == (record.expires_at,)
    for path in (p for p in isolated.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for secret in (record.expires_at, record.expires_at[:10], four["alice"], record.name_salt):
            assert secret.encode() not in data, f"{secret} in clear in {path.relative_to(isolated)}"
