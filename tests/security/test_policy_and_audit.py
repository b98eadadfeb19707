"""Attacks on the policy file and the audit log, each reproduced with the real ``faceseal`` command.

1. A policy file rolled back to an older copy, or deleted, passed its MAC and was obeyed.
2. Evidence rewritten and re-signed with any key under the victim's device id verified "intact".
3. With the database key: a deleted last event was hidden by the next append, the signed head
   was never checked, and a non-JSON event detail crashed ``audit verify`` and ``audit list``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import zipfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_core import ops
from edge_core.audit.chain import entry_hash
from edge_core.support.canonical import canonical_json
from edge_core.telemetry.device import audit_head_message, device_id_for
from tests.conftest import cli_json, enrol, run_cli, tree_snapshot


def one_line_refusal(result, code: int, text: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert text in result.stderr, result.stderr


def audit_kinds() -> list[dict]:
    return cli_json("audit", "list")


# ------------------------------------------------------------------ 1. policy rollback and deletion
def test_a_rolled_back_policy_file_is_refused_until_an_audited_reset(isolated, tmp_path):
    cli_json("policy", "set", "lockout_attempts=20", "liveness_required=false")
    old = tmp_path / "old-policy.json"
    shutil.copy(isolated / "policy.json", old)
    cli_json("policy", "set", "lockout_attempts=3", "liveness_required=true")
    shutil.copy(old, isolated / "policy.json")  # the older copy, with its valid MAC, put back

    before = tree_snapshot(isolated)
    one_line_refusal(run_cli("policy", "show"), 4, "policy")
    one_line_refusal(run_cli("policy", "set", "lockout_seconds=60"), 4, "policy")
    assert cli_json("status")["policy"]["state"] == "tampered"
    assert (isolated / "policy.json").read_bytes() == before["policy.json"]

    cli_json("policy", "reset", "--yes")
    shown = cli_json("policy", "show")
    assert shown["lockout_attempts"] == 5 and shown["liveness_required"] is True  # the defaults, not the old file
    reset_event = [e for e in audit_kinds() if e["kind"] == "policy_reset"][-1]
    assert reset_event["was_tampered"] is True and reset_event["recovered_from"] == "rollback"
    assert cli_json("status")["policy"]["state"] == "valid"
    assert cli_json("audit", "verify")["status"] == "intact"


def test_a_deleted_policy_file_is_refused_and_telemetry_stays_forbidden(isolated):
    cli_json("policy", "set", "telemetry_allowed=false")
    (isolated / "policy.json").unlink()

    one_line_refusal(run_cli("telemetry", "enable", "--endpoint", "https://collector.example/v1"), 4, "policy")
    assert cli_json("telemetry", "status")["enabled"] is False
    assert cli_json("status")["policy"]["state"] == "tampered"
    one_line_refusal(run_cli("policy", "show"), 4, "missing")

    cli_json("policy", "reset", "--yes")
    reset_event = [e for e in audit_kinds() if e["kind"] == "policy_reset"][-1]
    assert reset_event["was_tampered"] is True and reset_event["recovered_from"] == "deletion"
    assert cli_json("status")["policy"]["state"] == "valid"


def test_the_policy_version_survives_a_reset_so_a_rollback_stays_refused(isolated, tmp_path):
    cli_json("policy", "set", "max_root_age_days=60")
    old = tmp_path / "old-policy.json"
    shutil.copy(isolated / "policy.json", old)
    cli_json("policy", "set", "max_root_age_days=30")
    cli_json("reset", "--yes")
    assert cli_json("policy", "show")["max_root_age_days"] == 30  # kept, and still valid
    assert cli_json("status")["policy"]["state"] == "valid"
    shutil.copy(old, isolated / "policy.json")
    one_line_refusal(run_cli("policy", "show"), 4, "policy")
    (isolated / "policy.json").unlink()
    one_line_refusal(run_cli("policy", "show"), 4, "policy")


def test_a_vault_without_a_policy_still_takes_the_defaults(isolated):
    assert cli_json("init")["policy"]["state"] == "default"
    assert cli_json("policy", "show")["lockout_attempts"] == 5


# ------------------------------------------------------------------ 2. forged evidence
def export(tmp_path, name="evidence.zip"):
    out = tmp_path / name
    cli_json("audit", "export", "--out", str(out))
    return out


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_zip(path, contents: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def forge(original, target, keep_device_id: bool) -> None:
    """Rewrite an event, recompute the chain, sign the head with a fresh key (the attacker's)."""
    contents = members(original)
    events = [json.loads(line) for line in contents["events.jsonl"].decode().splitlines()]
    events[1]["detail"]["samples"] = 99
    prev = bytes(32)
    for event in events:
        event["prev_hash"] = prev.hex()
        digest = entry_hash(prev, event["seq"], event["ts"], event["kind"], canonical_json(event["detail"]).decode())
        event["hash"] = digest.hex()
        prev = digest
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes_raw()
    head = json.loads(contents["signed_head.json"])
    head.update(hash=prev.hex(), public_key=base64.b64encode(raw).decode())
    if not keep_device_id:
        head["device_id"] = device_id_for(raw)
    head["signature"] = base64.b64encode(key.sign(audit_head_message(head))).decode()
    contents["events.jsonl"] = "".join(json.dumps(e, sort_keys=True) + "\n" for e in events).encode()
    contents["signed_head.json"] = json.dumps(head).encode()
    contents["public_key.pem"] = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    write_zip(target, contents)


def verify_evidence(path, *extra):
    result = run_cli("audit", "verify", "--evidence", str(path), *extra, "--json")
    assert "Traceback" not in result.stderr
    return result.returncode, (json.loads(result.stdout) if result.stdout.strip() else None), result.stderr


def test_evidence_resigned_under_the_victims_device_id_is_tampered(people, tmp_path):
    enrol(people)
    out = export(tmp_path)
    forged = tmp_path / "forged.zip"
    forge(out, forged, keep_device_id=True)
    code, report, _ = verify_evidence(forged)
    assert code == 4 and report["status"] == "tampered"
    assert any("device id" in p for p in report["problems"]), report["problems"]


def test_the_verifier_pins_the_device_key_and_always_names_it(people, tmp_path):
    enrol(people)
    status = cli_json("status")
    fingerprint = status["device_key"]
    out = tmp_path / "evidence.zip"
    exported = cli_json("audit", "export", "--out", str(out))
    assert exported["device_key"] == fingerprint

    code, report, _ = verify_evidence(out)  # unpinned: intact, and it says which key it trusted
    assert code == 0 and report["device_key"] == fingerprint
    for pin in (fingerprint, fingerprint.upper().split(":", 1)[-1], status["device_id"]):
        code, report, _ = verify_evidence(out, "--device-key", pin)
        assert code == 0 and report["status"] == "intact" and report["device_key"] == fingerprint, pin
    pem = tmp_path / "victim.pem"
    pem.write_bytes(members(out)["public_key.pem"])
    code, report, _ = verify_evidence(out, "--device-key", str(pem))
    assert code == 0 and report["status"] == "intact"

    # A consistent forgery (the attacker's own key and device id) passes alone, but never the pin.
    forged = tmp_path / "forged.zip"
    forge(out, forged, keep_device_id=False)
    code, report, _ = verify_evidence(forged)
    assert code == 0 and report["device_key"] != fingerprint
    for pin in (fingerprint, status["device_id"], str(pem)):
        code, report, _ = verify_evidence(forged, "--device-key", pin)
        assert code == 4 and report["status"] == "tampered", pin
        assert any("not the expected" in p for p in report["problems"]), report["problems"]
    human = run_cli("audit", "verify", "--evidence", str(forged), "--device-key", fingerprint)
    assert human.returncode == 4 and fingerprint in human.stdout

    bad = run_cli("audit", "verify", "--evidence", str(out), "--device-key", "not-a-fingerprint")
    one_line_refusal(bad, 2, "device key")


def test_a_zip_bomb_is_refused_in_one_line(people, tmp_path):
    enrol(people)
    contents = members(export(tmp_path))
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in ("signed_head.json", "public_key.pem", "README.md"):
            archive.writestr(name, contents[name])
        with archive.open("events.jsonl", "w", force_zip64=True) as member:
            chunk = b"\n" * (1 << 20)
            for _ in range(1100):  # 1.1 GiB of newlines, about 1 MB compressed
                member.write(chunk)
    assert bomb.stat().st_size < 8 << 20
    one_line_refusal(run_cli("audit", "verify", "--evidence", str(bomb)), 2, "too large")

    many = tmp_path / "many.zip"
    write_zip(many, {**contents, **{f"pad/{i}": b"" for i in range(5000)}})
    one_line_refusal(run_cli("audit", "verify", "--evidence", str(many)), 2, "too many")


# ------------------------------------------------------------------ 3. tampering with the database key
def rows(conn):
    return conn.execute("SELECT seq, ts, kind, detail, prev_hash, hash FROM audit_events ORDER BY seq").fetchall()


def test_a_deleted_last_event_is_not_hidden_by_the_next_append(people, isolated):
    enrol(people)
    with ops.open_vault() as vault:
        last = rows(vault.conn)[-1]
        vault.conn.execute("DELETE FROM audit_events WHERE seq = ?", (last[0],))
        kept = rows(vault.conn)
    policy_before = (isolated / "policy.json").read_bytes() if (isolated / "policy.json").exists() else None

    one_line_refusal(run_cli("policy", "set", "lockout_attempts=4"), 4, "audit log")
    with ops.open_vault(reading=True) as vault:  # a write is refused by the rollback anchor too now
        assert rows(vault.conn) == kept  # nothing appended, nothing changed
    now = (isolated / "policy.json").read_bytes() if (isolated / "policy.json").exists() else None
    assert now == policy_before
    result = run_cli("audit", "verify", "--json")
    assert result.returncode == 4
    assert any(f"head says {last[0]}" in p for p in json.loads(result.stdout)["problems"])


def test_a_consistently_rewritten_chain_fails_the_signed_head(people, isolated):
    enrol(people)
    with ops.open_vault() as vault:
        conn = vault.conn
        original = rows(conn)
        prev = bytes(32)
        for seq, ts, kind, detail, _prev, _hash in original:
            if seq == 2:
                body = json.loads(detail)
                body["samples"] = 99
                detail = canonical_json(body).decode()
            digest = entry_hash(prev, seq, ts, kind, detail)
            conn.execute("UPDATE audit_events SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                         (detail, prev, digest, seq))
            prev = digest
        conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{original[-1][0]}:{prev.hex()}",))
    result = run_cli("audit", "verify", "--json")
    assert result.returncode == 4, result.stdout
    problems = json.loads(result.stdout)["problems"]
    assert any("signed head" in p for p in problems), problems
    # The next write does not sign the rewritten chain: it is refused, and no evidence is made of it.
    one_line_refusal(run_cli("policy", "set", "lockout_attempts=4"), 4, "audit log")
    assert run_cli("audit", "verify").returncode == 4
    one_line_refusal(run_cli("audit", "export", "--out", str(isolated.parent / "e.zip")), 4, "audit")
    assert not (isolated.parent / "e.zip").exists()


@pytest.mark.parametrize("tamper, named", [
    ("append", "come after the signed head"),
    ("unsign", "never signed"),
    ("device key", "device key"),
])
def test_events_added_or_the_signature_removed_are_never_signed_over(people, isolated, tamper, named):
    enrol(people)
    with ops.open_vault() as vault:
        conn = vault.conn
        if tamper == "append":  # a forged event, correctly chained, the head in meta moved to it
            seq, _ts, _kind, _detail, _prev, last_hash = rows(conn)[-1]
            ts, detail = "2026-01-01T00:00:00.000000+00:00", canonical_json({"identity": "x"}).decode()
            digest = entry_hash(bytes(last_hash), seq + 1, ts, "identity_deleted", detail)
            conn.execute("INSERT INTO audit_events VALUES (?,?,?,?,?,?)",
                         (seq + 1, ts, "identity_deleted", detail, bytes(last_hash), digest))
            conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{seq + 1}:{digest.hex()}",))
        elif tamper == "unsign":
            conn.execute("DELETE FROM meta WHERE key = 'audit_head_signature'")
        else:
            conn.execute("DELETE FROM secrets WHERE name = 'device-key'")
        kept = rows(conn)
    result = run_cli("audit", "verify", "--json")
    assert result.returncode == 4
    assert any(named in p for p in json.loads(result.stdout)["problems"]), result.stdout
    one_line_refusal(run_cli("policy", "set", "lockout_attempts=4"), 4, "audit log")  # never signed over
    with ops.open_vault() as vault:
        assert rows(vault.conn) == kept
    assert run_cli("audit", "verify").returncode == 4


@pytest.mark.parametrize("detail", ["not json", "[1, 2]"])
def test_a_non_json_detail_is_named_and_nothing_crashes(people, detail):
    enrol(people)
    with ops.open_vault() as vault:
        kind = rows(vault.conn)[1][2]
        vault.conn.execute("UPDATE audit_events SET detail = ? WHERE seq = 2", (detail,))
    result = run_cli("audit", "verify", "--json")
    assert result.returncode == 4, result.stderr
    assert f"event 2 ({kind}) was edited, or inserted" in json.loads(result.stdout)["problems"]
    one_line_refusal(run_cli("audit", "list"), 4, "event 2")
