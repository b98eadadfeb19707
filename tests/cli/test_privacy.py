"""Issue 30, items 3 and 4 at the command line: deletion certificates anyone can check offline (and forged, edited
or other-device ones refused in one line), and "what do you hold about me?" without a template byte or a score."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
import pytest

from edge_core import ops
from edge_core.audit.evidence import event_hash, key_fingerprint, signed_head
from edge_core.telemetry.device import DeviceKey
from tests.conftest import cli_fails, cli_json, run_cli

REFUSED = 4


@pytest.fixture
def embeddings(tmp_path: Path) -> dict[str, Path]:
    """alice (3 samples), bob (2) and a probe of alice, as embedding files."""
    rng = np.random.default_rng(30)
    alice, bob = rng.normal(size=(1, 64)), rng.normal(size=(1, 64))
    arrays = {"alice": alice + 0.05 * rng.normal(size=(3, 64)), "bob": bob + 0.05 * rng.normal(size=(2, 64)),
              "alice_probe": (alice + 0.05 * rng.normal(size=(1, 64)))[0], "bob_probe": bob[0]}
    files = {}
    for name, array in arrays.items():
        files[name] = tmp_path / f"{name}.npy"
        np.save(files[name], array.astype(np.float32))
    return files


def enrol_both(embeddings: dict[str, Path]) -> dict[str, str]:
    """Enrol alice and bob; their random ids."""
    for name in ("alice", "bob"):
        cli_json("enroll", "--consent", name, "--embedding", str(embeddings[name]))
    return {e["person"]: e["identity"] for e in cli_json("audit", "list") if e["kind"] == "identity_enrolled"}


def device_key() -> str:
    return cli_json("status")["device_key"]


def certified_deletion(tmp_path: Path, *extra: str) -> tuple[Path, dict]:
    out = tmp_path / "alice-deleted.json"
    deleted = cli_json("delete-identity", "alice", "--yes", "--certificate", str(out), *extra)
    assert deleted["certificate_file"] == str(out) and "certificate" not in deleted
    return out, json.loads(out.read_text())


def test_a_deletion_certificate_proves_the_erasure_offline_by_id_only(embeddings, tmp_path):
    ids = enrol_both(embeddings)
    key = device_key()
    out, cert = certified_deletion(tmp_path)
    assert "alice" not in out.read_text(), "the name is never on a certificate unless asked for"
    checked = cli_json("audit", "verify-certificate", str(out), "--device-key", key)
    assert checked["status"] == "valid" and checked["identity"] == ids["alice"] and "name" not in checked
    assert checked["device_key"] == key
    destroyed = checked["keys_destroyed"]
    assert destroyed["root_key"] and destroyed["identity_key"] and destroyed["vault_keys"]
    closing = [e for e in cli_json("audit", "list") if e["kind"] == "key_rotated"][-1]
    assert closing["identity"] == ids["alice"] and checked["audit_seq"] == closing["seq"]
    assert checked["deleted_at"] == closing["ts"]
    assert [p["name"] for p in cli_json("list")] == ["bob"]
    human = run_cli("audit", "verify-certificate", str(out), "--device-key", key)
    assert human.returncode == 0 and f"identity: {ids['alice']}" in human.stdout
    assert cli_json("audit", "verify")["status"] == "intact", "the certificate's event is part of the chain"


def _rewrite(cert: dict, out: Path, **fields) -> Path:
    out.write_text(json.dumps({**cert, **fields}))
    return out


def _forged(cert: dict, identity: str, key: DeviceKey) -> dict:
    """The certificate re-made for another identity, its event re-hashed and signed by ``key``: a perfect forgery
    but for whose key signed it."""
    event = json.loads(json.dumps(cert["event"]))
    event["detail"]["identity"] = identity
    event["hash"] = event_hash(event).hex()
    head = signed_head(key, f"{event['seq']}:{event['hash']}")
    return {**cert, "identity": identity, "event": event, "signed_head": head, "audit_head": event["hash"],
            "device_id": key.device_id}


def test_forged_edited_and_other_device_certificates_are_refused_in_one_line(embeddings, tmp_path, monkeypatch):
    ids = enrol_both(embeddings)
    key = device_key()
    out, cert = certified_deletion(tmp_path)
    raw = out.read_bytes()
    signature, prev = cert["signed_head"]["signature"], cert["event"]["prev_hash"]
    flipped = bytearray(base64.b64decode(signature))
    flipped[7] ^= 0x01
    variants = {
        "signature byte flipped": raw.replace(signature.encode(), base64.b64encode(bytes(flipped))),
        "event byte flipped": raw.replace(prev.encode(), (prev[:-1] + ("1" if prev.endswith("0") else "0")).encode()),
        "identity id changed on top": _rewrite(cert, tmp_path / "top.json", identity=ids["bob"]).read_bytes(),
        "identity id changed in the event": raw.replace(f'"identity": "{ids["alice"]}"'.encode(),
                                                        f'"identity": "{ids["bob"]}"'.encode()),
        "keys destroyed edited": _rewrite(cert, tmp_path / "keys.json",
                                          keys_destroyed={**cert["keys_destroyed"], "root_key": None}).read_bytes(),
        "re-signed by another device key": json.dumps(_forged(cert, ids["bob"], DeviceKey.generate())).encode(),
        "not a certificate": b'{"format": "something else"}',
        "not JSON": b"\x00\xff" * 10,
    }
    for what, data in variants.items():
        assert data != raw, what
        bad = tmp_path / "bad.json"
        bad.write_bytes(data)
        said = cli_fails(REFUSED, "faceseal: error:", "audit", "verify-certificate", str(bad), "--device-key", key)
        assert len(said.strip().splitlines()) == 1, (what, said)
        assert "deletion certificate" in said, (what, said)

    forger = DeviceKey.generate()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(_forged(cert, ids["bob"], forger)))
    assert cli_json("audit", "verify-certificate", str(forged), "--device-key",
                    key_fingerprint(forger.public_key_raw))["status"] == "valid", \
        "a forgery checks out only against the forger's own key: pinning the device key is what refuses it"

    monkeypatch.setenv("FACESEAL_HOME", str(tmp_path / "another-device"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "another-state"))
    cli_json("enroll", "--consent", "alice", "--embedding", str(embeddings["alice"]))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other, _ = certified_deletion(elsewhere)
    said = cli_fails(REFUSED, "not the expected", "audit", "verify-certificate", str(other), "--device-key", key)
    assert len(said.strip().splitlines()) == 1


def test_the_name_is_on_a_certificate_only_when_asked_and_cannot_be_changed(embeddings, tmp_path):
    enrol_both(embeddings)
    key = device_key()
    cli_fails(2, "--certificate FILE", "delete-identity", "alice", "--yes", "--name-on-certificate")
    out, cert = certified_deletion(tmp_path, "--name-on-certificate")
    assert cli_json("audit", "verify-certificate", str(out), "--device-key", key)["name"] == "alice"
    events = json.dumps(cli_json("audit", "list"))
    assert '"alice"' not in events and cert["event"]["detail"]["name_commitment"] in events, \
        "the log keeps a salted commitment to the name, never the name"
    renamed = _rewrite(cert, tmp_path / "renamed.json", name="mallory")
    cli_fails(REFUSED, "the name on it is not the one", "audit", "verify-certificate", str(renamed),
              "--device-key", key)


def test_a_certificate_that_cannot_be_written_deletes_nobody(embeddings, tmp_path):
    enrol_both(embeddings)
    taken = tmp_path / "taken.json"
    taken.write_text("mine")
    cli_fails(2, "already exists", "delete-identity", "alice", "--yes", "--certificate", str(taken))
    cli_fails(2, "is not a folder", "delete-identity", "alice", "--yes", "--certificate",
              str(tmp_path / "no-such-folder" / "c.json"))
    assert taken.read_text() == "mine"
    assert [p["name"] for p in cli_json("list")] == ["alice", "bob"], "nothing was deleted"
    assert not [e for e in cli_json("audit", "list") if e["kind"] == "identity_shredded"]


def _template_blobs(identity: str) -> list[bytes]:
    with ops.open_vault(reading=True) as vault:
        return [bytes(b) for (b,) in vault.conn.execute("SELECT blob FROM templates WHERE identity_id = ?",
                                                        (identity,)).fetchall()]


def test_the_subject_report_holds_the_record_and_attempts_never_a_template_or_a_score(embeddings, tmp_path):
    ids = enrol_both(embeddings)
    match = cli_json("verify", "alice", "--embedding", str(embeddings["alice_probe"]))
    cli_json("verify", "alice", "--embedding", str(embeddings["bob_probe"]), "--show-score", code=10)
    report = cli_json("subject-report", "alice")
    assert (report["name"], report["identity"], report["samples"]) == ("alice", ids["alice"], 3)
    assert len(report["sample_dates"]) == 3 and report["consent"]["text_version"] == 1
    assert report["attempts"]["verifications"] == 2 and report["attempts"]["lockouts"] == 0
    assert [e["kind"] for e in report["events"]] == ["identity_enrolled", "consent_recorded", "verification",
                                                     "verification"]
    assert [e["facts"]["match"] for e in report["events"][2:]] == [True, False]

    as_md, as_json = tmp_path / "alice.md", tmp_path / "alice.json"
    assert cli_json("subject-report", "alice", "--out", str(as_md))["file"] == str(as_md)
    cli_json("subject-report", "alice", "--out", str(as_json))
    assert json.loads(as_json.read_text())["identity"] == ids["alice"]
    assert "# What FaceSeal holds about alice" in as_md.read_text() and "- verifications: 2" in as_md.read_text()

    enrolled = np.load(embeddings["alice"])
    blobs = _template_blobs(ids["alice"])
    for written in (as_md.read_bytes(), as_json.read_bytes(), run_cli("subject-report", "alice").stdout.encode()):
        text = written.decode()
        assert enrolled.tobytes() not in written and enrolled[0].tobytes()[:16] not in written
        for value in enrolled.ravel():
            assert f"{float(value):.6f}" not in text and repr(float(value))[:9] not in text
        for blob in blobs:
            assert blob[-24:] not in written and blob[-24:].hex() not in text
            assert base64.b64encode(blob)[-24:].decode() not in text
        assert f"{match['score']:.4f}" not in text, "no score, not even a match's"
        assert not {"score", "risk", "threshold"} & {k for e in report["events"] for k in e["facts"]}

    asked = [e for e in cli_json("audit", "list") if e["kind"] == "subject_report"]
    assert len(asked) == 4 and {e["asked_by"] for e in asked} == {"cli"}
    assert set(asked[0]) == {"seq", "ts", "kind", "identity", "asked_by", "uid", "person"}, \
        "who asked and when, never what the report said"
    assert (asked[0]["identity"], asked[0]["uid"]) == (ids["alice"], os.getuid())


def test_a_subject_report_refuses_bad_requests_in_one_line(embeddings, tmp_path):
    enrol_both(embeddings)
    cli_fails(1, "carol", "subject-report", "carol")
    taken = tmp_path / "taken.md"
    taken.write_text("mine")
    cli_fails(2, "already exists", "subject-report", "alice", "--out", str(taken))
    assert taken.read_text() == "mine"
    assert not [e for e in cli_json("audit", "list") if e["kind"] == "subject_report"]
