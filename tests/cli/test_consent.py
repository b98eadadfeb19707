"""Issue 30, item 2 at the command line: no enrolment without consent (``--consent``, or the text at a terminal),
the consent a signed audit event that holds no name, and the retention fixed at consent."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edge_core import ops
from tests.cli.test_cli import _at_a_terminal
from tests.conftest import cli_fails, cli_json, enrol, run_cli


@pytest.fixture
def faces(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(302)
    files = {}
    for name in ("alice", "bob"):
        files[name] = tmp_path / f"{name}.npy"
        np.save(files[name], rng.normal(size=(2, 32)).astype(np.float32))
    return files


def _consents() -> list[dict]:
    return [e for e in cli_json("audit", "list") if e["kind"] == "consent_recorded"]


def test_enrolling_without_consent_is_refused_in_one_line_before_anything(faces, isolated: Path) -> None:
    refused = cli_fails(2, "alice was not enrolled, and nothing was stored: enrolling someone needs their consent",
                        "enroll", "alice", "--embedding", str(faces["alice"]))
    assert "--consent" in refused and "faceseal consent show" in refused
    assert not isolated.exists() or not any(isolated.iterdir()), "no vault was made for a refused enrolment"
    shown = cli_json("consent", "show")
    assert shown["version"] == 1 and shown["retention_days"] is None and "Purpose:" in shown["text"]
    text = Path(__file__).parents[2] / "resources" / "consent" / "v1.txt"
    assert shown["sha256"] == hashlib.sha256(text.read_bytes()).hexdigest(), "the text as shipped, readable"
    assert cli_json("enroll", "alice", "--consent", "--embedding", str(faces["alice"]))["samples"] == 2


def test_at_a_terminal_the_text_is_shown_and_the_answer_decides(faces) -> None:
    cli_json("init")
    said = _at_a_terminal(f"enroll alice --embedding {faces['alice']}", "no")
    assert "Purpose: to recognise you on this device" in said and "Has alice read this" in said
    assert "alice was not enrolled" in said and run_cli("list").stdout.startswith("nobody is enrolled")
    _at_a_terminal(f"enroll alice --embedding {faces['alice']}", "yes")
    assert [p["name"] for p in cli_json("list")] == ["alice"] and len(_consents()) == 1


def test_someone_enrolled_before_consent_is_asked_when_samples_are_added_once(faces, people) -> None:
    enrol(people)  # alice and bob, sealed as before FaceSeal recorded consent
    report = run_cli("subject-report", "alice").stdout
    assert "Consent: consent not recorded" in report
    cli_fails(2, "no consent of theirs is recorded", "enroll", "alice", "--add", "--embedding", str(faces["alice"]))
    assert [p["samples"] for p in cli_json("list") if p["name"] == "alice"] == [2], "nothing was added"
    cli_json("enroll", "alice", "--add", "--consent", "--embedding", str(faces["alice"]))
    cli_json("enroll", "alice", "--add", "--embedding", str(faces["alice"]))  # consented now: not asked again
    assert [e["person"] for e in _consents()] == ["alice"]
    assert cli_json("subject-report", "alice")["consent"]["text_version"] == 1


def test_the_consent_event_is_signed_in_the_chain_and_names_nobody(faces, tmp_path: Path) -> None:
    cli_json("enroll", "alice", "--consent", "--embedding", str(faces["alice"]))
    (event,) = _consents()
    identity = event["identity"]
    assert {k: event[k] for k in ("text_version", "retention_days", "expires_at", "renewed")} == {
        "text_version": 1, "retention_days": None, "expires_at": None, "renewed": False}
    assert event["text_sha256"] == cli_json("consent", "show")["sha256"] and event["purpose"]
    evidence = tmp_path / "evidence.zip"
    cli_json("audit", "export", "--out", str(evidence))
    checked = cli_json("audit", "verify", "--evidence", str(evidence), "--device-key",
                       cli_json("status")["device_key"])
    assert checked["status"] == "intact" and checked["device_key_pinned"] is True, checked
    with zipfile.ZipFile(evidence) as exported:
        contents = b"".join(exported.read(name) for name in exported.namelist())
        events = [json.loads(line) for line in exported.read("events.jsonl").splitlines()]
    signed = [e for e in events if e.get("kind") == "consent_recorded"]
    assert signed and signed[0]["detail"]["identity"] == identity
    assert b"alice" not in contents, "no name in clear anywhere in the signed log"
    salt = bytes.fromhex(cli_json("subject-report", "alice")["consent"]["name_salt"])
    assert event["name_commitment"] == hashlib.sha256(b"faceseal/consent-name/v1\n" + salt + b"alice").hexdigest(), \
        "the person, given the salt in their report, can check that the event is theirs"


def test_the_retention_is_fixed_at_consent_and_renewed_only_by_consenting_again(faces) -> None:
    cli_json("policy", "set", "retention_days=30")
    assert "30 days from today" in cli_json("consent", "show")["kept_for"]
    cli_json("enroll", "alice", "--consent", "--embedding", str(faces["alice"]))
    first = cli_json("subject-report", "alice")["consent"]
    cli_json("policy", "set", "retention_days=5")
    assert cli_json("subject-report", "alice")["consent"]["expires_at"] == first["expires_at"], \
        "a later policy neither shortens nor extends a consent given"
    cli_fails(2, "consent", "consent", "renew", "alice")
    renewed = cli_json("consent", "renew", "alice", "--consent")
    assert renewed["retention_days"] == 5 and renewed["expires_at"] < first["expires_at"]
    assert [e["renewed"] for e in _consents()] == [False, True]
    cli_fails(2, "retention_days must be between 0 (none) and 3650", "policy", "set", "retention_days=3651")
    with ops.open_vault(reading=True) as vault:
        assert ops.consent_record(vault, "alice").expires_at == renewed["expires_at"]
