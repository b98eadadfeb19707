"""Signed audit evidence: exported from the vault, checked offline, and every kind of tampering named."""

from __future__ import annotations

import json
import zipfile

import pytest

from edge_core import ops
from edge_core.errors import EvidenceInvalid
from tests.conftest import cli_fails, cli_json, enrol, run_cli


def export(tmp_path, name: str = "evidence.zip"):
    out = tmp_path / name
    cli_json("audit", "export", "--out", str(out))
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
    cli_json("rotate-key")
    out = export(tmp_path)
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == {"events.jsonl", "signed_head.json", "public_key.pem", "README.md"}
        head = json.loads(archive.read("signed_head.json"))
        lines = archive.read("events.jsonl").decode().splitlines()
    assert head["seq"] == len(lines) and json.loads(lines[-1])["hash"] == head["hash"]
    # Offline: no data directory at all.
    report = cli_json("audit", "verify", "--evidence", str(out), extra_env={"FACESEAL_HOME": str(tmp_path / "none")})
    assert report["status"] == "intact" and report["events"] == len(lines)
    assert not (tmp_path / "none").exists()
    cli_fails(2, "already exists", "audit", "export", "--out", str(out))
    with ops.open_vault() as vault:  # the head is signed after every write, not only at export
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
    report = ops.verify_evidence(forged)
    assert not report.intact and any("signed head does not verify" in p for p in report.problems)
    (tmp_path / "junk.zip").write_bytes(b"PK junk")
    cli_fails(4, "damaged or not FaceSeal audit evidence", "audit", "verify", "--evidence", str(tmp_path / "junk.zip"))
    with pytest.raises(EvidenceInvalid):
        ops.verify_evidence(tmp_path / "junk.zip")
