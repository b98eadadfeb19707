"""The MAC-protected policy, the verification lockout, and signed audit evidence checked offline."""

from __future__ import annotations

import json
import time
import zipfile

import numpy as np
import pytest

from edge_core.audit import evidence as audit_evidence
from edge_core.policy import rules as policy
from edge_core.errors import EvidenceInvalid, VerificationLockedOut
from edge_core.vault.store import Vault
from tests.conftest import run_cli
from tests.sovereignty.conftest import cli_fails, cli_ok, enrol


def test_policy_changes_are_validated_applied_and_audited(people, isolated):
    enrol(people)
    assert cli_ok("policy", "show")["max_root_age_days"] == 90
    changed = cli_ok("policy", "set", "max_root_age_days=30", "lockout_attempts=3")
    assert changed["changed"] == {"max_root_age_days": [90, 30], "lockout_attempts": [5, 3]}
    assert cli_ok("status")["policy"]["max_root_age_days"] == 30
    for bad, message in [("threshold_min=0.995", "threshold_min <= threshold_max"), ("min_key_bits=100", "one of 128"),
                         ("max_root_age_days=0", "between 1 and 3650"), ("colour=blue", "not a policy setting"),
                         ("telemetry_allowed=maybe", "of type bool"), ("lockout_seconds=1.5", "of type int")]:
        before = (isolated / "policy.json").read_bytes()
        cli_fails(2, message, "policy", "set", bad)
        assert (isolated / "policy.json").read_bytes() == before  # refused, not applied
    events = [e for e in cli_ok("audit", "list") if e["kind"] == "policy_changed"]
    assert len(events) == 1 and events[0]["changed"]["max_root_age_days"] == [90, 30]


def test_an_edited_policy_file_is_refused_until_reset(people, isolated, tmp_path):
    enrol(people)
    cli_ok("policy", "set", "min_key_bits=256", "threshold_min=0.4")
    path = isolated / "policy.json"
    doc = json.loads(path.read_text())
    doc["policy"]["threshold_min"] = 0.0  # a silent edit to let weaker matches through
    path.write_text(json.dumps(doc))
    probe = tmp_path / "probe.npy"
    np.save(probe, people["alice"][0])
    cli_fails(4, "was changed outside FaceSeal", "verify", "alice", "--embedding", str(probe))
    cli_fails(4, "was changed outside FaceSeal", "policy", "show")
    assert cli_ok("status")["policy"]["state"] == "tampered"
    cli_fails(2, "pass --yes", "policy", "reset")
    cli_ok("policy", "reset", "--yes")
    assert cli_ok("policy", "show")["threshold_min"] == 0.1
    assert [e["was_tampered"] for e in cli_ok("audit", "list") if e["kind"] == "policy_reset"] == [True]


def test_threshold_outside_the_policy_range_is_refused(people):
    enrol(people)
    with Vault.open() as vault:
        policy.change(vault, {"threshold_min": 0.5, "threshold_max": 0.8})
        with pytest.raises(policy.PolicyViolation, match="outside the range"):
            vault.verify("alice", people["alice"][0], "external", 0.45)
        assert vault.verify("alice", people["alice"][0], "external", 0.6).match


def test_failed_verifications_lock_one_identity_out_for_a_while(people):
    enrol(people)
    stranger = np.random.default_rng(5).normal(size=32).astype(np.float32)
    with Vault.open() as vault:
        policy.change(vault, {"lockout_attempts": 3, "lockout_seconds": 1})
        for _ in range(3):
            assert not vault.verify("alice", stranger, "external", 0.9).match
        with pytest.raises(VerificationLockedOut, match="too many failed verifications"):
            vault.verify("alice", people["alice"][0], "external", 0.9)  # even the right face waits
        assert vault.verify("bob", people["bob"][0], "external", 0.9).match  # only that identity
        for _ in range(100):  # the lockout ends (bounded wait; nothing about its length is asserted)
            try:
                assert vault.verify("alice", people["alice"][0], "external", 0.9).match
                break
            except VerificationLockedOut:
                time.sleep(0.1)
        else:
            pytest.fail("the lockout never ended")
        kinds = [e.kind for e in vault.audit_events()]
        assert kinds.count("verification_locked_out") == 1


def test_rotation_due_shows_in_status(people, isolated):
    enrol(people)
    from edge_core.keys.keystore import KeyStore

    ks = KeyStore.load(isolated / "keys" / "keystore.json")
    kid = next(iter(ks.wraps))
    ks.root_created[kid] = "2020-01-01T00:00:00+00:00"  # a root made long ago (public fact in the key store)
    ks.save(isolated / "keys" / "keystore.json")
    assert cli_ok("status")["rotation_due"] is True
    cli_ok("rotate-key")
    assert cli_ok("status")["rotation_due"] is False


# ------------------------------------------------------------------ audit evidence
def export(tmp_path, name: str = "evidence.zip"):
    out = tmp_path / name
    cli_ok("audit", "export", "--out", str(out))
    return out


def rewrite(source, target, edit) -> None:
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    lines = members["events.jsonl"].decode().splitlines()
    members["events.jsonl"] = ("\n".join(edit(lines)) + "\n").encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_evidence_exports_and_verifies_offline(people, isolated, tmp_path):
    enrol(people)
    cli_ok("rotate-key")
    out = export(tmp_path)
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == {"events.jsonl", "signed_head.json", "public_key.pem", "README.md"}
        head = json.loads(archive.read("signed_head.json"))
        lines = archive.read("events.jsonl").decode().splitlines()
    assert head["seq"] == len(lines) and json.loads(lines[-1])["hash"] == head["hash"]
    # Offline: no data directory at all.
    report = cli_ok("audit", "verify", "--evidence", str(out), extra_env={"FACESEAL_HOME": str(tmp_path / "none")})
    assert report["status"] == "intact" and report["events"] == len(lines)
    assert not (tmp_path / "none").exists()
    cli_fails(2, "already exists", "audit", "export", "--out", str(out))
    with Vault.open() as vault:  # the head is signed after every write, not only at export
        stored = json.loads(vault.conn.execute("SELECT value FROM meta WHERE key = 'audit_head_signature'").fetchone()[0])
        assert stored["seq"] == len(vault.audit_events())


@pytest.mark.parametrize("tamper, expected", [
    ("edit", "event 2 (identity_enrolled) was edited"),
    ("remove", "events 2..2 were removed"),
    ("reorder", "event 2 (identity_enrolled) is out of order"),
    ("truncate", "were removed from the end"),
    ("duplicate", "appears twice"),
])
def test_edited_removed_or_reordered_events_are_found_and_named(people, tmp_path, tamper, expected):
    enrol(people)
    out = export(tmp_path)
    bad = tmp_path / "bad.zip"

    def edit(lines):
        if tamper == "edit":
            event = json.loads(lines[1])
            event["detail"]["samples"] = 99
            lines[1] = json.dumps(event)
        elif tamper == "remove":
            del lines[1]
        elif tamper == "reorder":
            lines[1], lines[2] = lines[2], lines[1]
        elif tamper == "truncate":
            del lines[-1]
        else:
            lines.insert(2, lines[1])
        return lines

    rewrite(out, bad, edit)
    result = run_cli("audit", "verify", "--evidence", str(bad), "--json")
    assert result.returncode == 4
    report = json.loads(result.stdout)
    assert report["status"] == "tampered"
    assert any(expected in p for p in report["problems"]), report["problems"]


def test_a_forged_head_or_foreign_key_is_found(people, tmp_path):
    enrol(people)
    out = export(tmp_path)
    with zipfile.ZipFile(out) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    head = json.loads(members["signed_head.json"])
    head["seq"] = head["seq"] - 1
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as archive:
        for name, data in {**members, "signed_head.json": json.dumps(head).encode()}.items():
            archive.writestr(name, data)
    report = audit_evidence.verify_evidence(forged)
    assert any("signed head does not verify" in p for p in report["problems"])
    (tmp_path / "junk.zip").write_bytes(b"PK junk")
    cli_fails(4, "damaged or not FaceSeal audit evidence", "audit", "verify", "--evidence", str(tmp_path / "junk.zip"))
    with pytest.raises(EvidenceInvalid):
        audit_evidence.verify_evidence(tmp_path / "junk.zip")
