"""The spoof test at a camera and its signed report (issue 31, item 3): ``faceseal pad-eval --camera`` and ``verify``.

A video standing in for the camera holds, 4 s (40 frames at 10 fps) each, what
the guide asks for with ``--attempts 1``: the person answering challenges
(bona fide), their photo on a phone screen, their print in a moving hand, and
a recording of them answering replayed on a screen. The guided run reads it as
it would a camera; the figures it reports are checked against each 40-frame
piece judged by ``padeval.judge`` (the ``--media`` path), and against the
labels the guide gave. The ``--media`` form's signed report carries exactly
test_pad_eval's known answers.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import sqlcipher3

from edge_core import ops
from edge_core.audit.evidence import key_fingerprint
from edge_core.biometrics import Frame, VideoFile
from edge_core.liveness import RiskBands, draw_sequence
from edge_core.audit import padreport
from edge_core.ops import padeval, padtest
from edge_core.telemetry.device import DeviceKey
from tests.conftest import cli_fails, run_cli
from tests.ops.test_shred_rekey import column_in, database_key

from .media import sequences, sets
from .test_pad_eval import labelled  # noqa: F401 (the session's labelled media, shared)

SECONDS = 4
"""Seconds per attempt: 40 frames of the 10 fps stand-in."""
EXPECTED = [("bona_fide-1", "bona_fide", ""), ("phone_screen-1", "attack", "phone_screen"),
            ("print-1", "attack", "print"), ("video_replay-1", "attack", "video_replay")]


@pytest.fixture(scope="session")
def stand_in(pipeline, face_mesh, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The video standing in for the camera: the four attempts of ``--attempts 1``, one after the other."""
    person = sequences.Person.from_photo(sets.SHARED / "faces" / sets.PEOPLE[0], pipeline, face_mesh)
    answering = sequences.answering(person, [c.code for c in draw_sequence(sets.seeds(1)[0])])
    frames = SECONDS * 10
    assert len(answering) >= frames
    pieces = [answering[:frames], sequences.on_screen(person, seed=0, frames=frames),
              sequences.handheld(person, seed=0, frames=frames),
              sequences.screen_recording(answering[:frames], seed=1)]
    return sequences.write(tmp_path_factory.mktemp("pad-camera") / "camera.avi",
                           [frame for piece in pieces for frame in piece])


def _guided(stand_in: Path, out: Path, *extra: str):
    """The guided run, Enter pressed before each of the four attempts."""
    return run_cli("pad-eval", "--camera-video", str(stand_in), "--attempts", "1", "--seconds", str(SECONDS),
                   "--out", str(out), "--pack", "open", *extra, input="\n" * 4, check_clean=False)


def _judged_pieces(stand_in: Path, pipeline) -> list[padeval.PadItem]:
    """Each attempt's 40 frames of the stand-in judged in this process, as ``--media`` judges a file."""
    frames = [Frame(f.label, f.image) for f in VideoFile(stand_in)]
    size = SECONDS * 10
    return [padeval.judge(name, label, species, "video", frames[i * size:(i + 1) * size], 10.0, pipeline, RiskBands())
            for i, (name, label, species) in enumerate(EXPECTED)]


def _fingerprint() -> str:
    with ops.open_vault(reading=True) as vault:
        return ops.status(vault).device_key


@pytest.fixture
def guided(stand_in: Path, tmp_path: Path) -> tuple[Path, dict]:
    """(the signed report of a guided run without --keep, its parsed body)."""
    out = tmp_path / "report.json"
    result = _guided(stand_in, out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    asked = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert [line[:5] for line in asked] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert "Look at the camera yourself" in asked[0] and "printed photo" in asked[2] and "Press Enter" in asked[3]
    return out, json.loads(out.read_text())


def test_the_guided_report_is_the_attempts_judged_as_media_are(guided, stand_in: Path, pipeline) -> None:
    _out, report = guided
    items = report["items"]
    assert [(i["file"], i["label"], i["species"]) for i in items] == EXPECTED
    for item, expected in zip(items, _judged_pieces(stand_in, pipeline)):
        assert item["frames"] == expected.frames == SECONDS * 10
        assert (item["faces"], item["band"], item["refused"]) == (expected.faces, expected.band, expected.refused)
        assert item["risk"] == pytest.approx(expected.risk, abs=1e-3)
        assert set(item["signals"]) == set(expected.signals)
        assert item.get("caught_by") == expected.caught_by
    live = items[0]
    assert live["band"] == "low" and not live["refused"]
    # the figures follow from the guide's labels: one attack per species, its APCER 1 or 0 as it was let through
    assert sorted(report["apcer"]) == ["phone_screen", "print", "video_replay"]
    for item in items[1:]:
        rate = report["apcer"][item["species"]]
        assert (rate["errors"], rate["trials"]) == (0 if item["refused"] else 1, 1)
        assert rate["low"] is not None and rate["high"] is not None
        if item["refused"]:
            assert item["caught_by"] in item["signals"] or item["caught_by"].startswith(("stopped", "no face"))
    assert (report["bpcer"]["errors"], report["bpcer"]["trials"]) == (0, 1)
    assert report["bpcer"]["high"] == pytest.approx(0.975)  # Clopper-Pearson: 0 of 1
    assert report["source"] == "camera" and report["pack"] == "open" and report["bands"] == {"low": 0.3, "high": 0.6}
    suggestion = report["suggested_bands"]
    assert suggestion["current"] == {"low": 0.3, "high": 0.6} and suggestion["why"]


def test_the_report_verifies_and_any_tampering_is_refused(guided, tmp_path: Path) -> None:
    out, report = guided
    fingerprint = _fingerprint()
    assert report["key_fingerprint"] == fingerprint  # the device key faceseal status (and telemetry) shows
    valid = run_cli("pad-eval", "verify", str(out), "--device-key", fingerprint)
    assert valid.returncode == 0 and "valid spoof-test report" in valid.stdout and fingerprint in valid.stdout
    assert run_cli("pad-eval", "verify", str(out)).returncode == 0  # against the key it carries, named

    text = out.read_text()
    body = tmp_path / "body.json"
    body.write_text(text.replace('"band":"low"', '"band":"high"', 1))
    cli_fails(4, "its signature does not verify", "pad-eval", "verify", str(body))
    signature = tmp_path / "signature.json"
    raw = bytearray(base64.b64decode(report["signature"]))
    raw[0] ^= 1
    signature.write_text(text.replace(report["signature"], base64.b64encode(bytes(raw)).decode()))
    cli_fails(4, "its signature does not verify", "pad-eval", "verify", str(signature))
    other = DeviceKey.generate()
    key = tmp_path / "key.json"  # another key, with its own id and fingerprint: the signature is not its
    key.write_text(text.replace(report["public_key"], other.public_key_b64)
                   .replace(report["device_id"], other.device_id)
                   .replace(report["key_fingerprint"], key_fingerprint(other.public_key_raw)))
    cli_fails(4, "its signature does not verify", "pad-eval", "verify", str(key))
    lone_key = tmp_path / "lone-key.json"
    lone_key.write_text(text.replace(report["public_key"], other.public_key_b64))
    cli_fails(4, "is not its public key's", "pad-eval", "verify", str(lone_key))
    spaced = tmp_path / "spaced.json"
    spaced.write_text(json.dumps(report, indent=1, sort_keys=True))
    cli_fails(4, "not in its canonical form", "pad-eval", "verify", str(spaced))
    pinned_elsewhere = key_fingerprint(other.public_key_raw)
    cli_fails(4, f"not the expected {pinned_elsewhere}", "pad-eval", "verify", str(out), "--device-key",
              pinned_elsewhere)
    not_a_report = tmp_path / "not-a-report.json"
    not_a_report.write_text('{"format": "something else"}\n')
    cli_fails(4, "is not a FaceSeal spoof-test report", "pad-eval", "verify", str(not_a_report))
    cli_fails(2, "does not exist", "pad-eval", "verify", str(tmp_path / "none.json"))


def test_a_report_signed_by_any_key_cannot_print_a_pinned_line(tmp_path: Path) -> None:
    """Fourth outside round: a report signed by the attacker's own key verifies against the key it carries (the
    output says so), but its report id, time or source could hold a line break and terminal escapes: verified
    without --device-key, it printed after "valid" a line claiming the pinned key of the victim's device, and
    hid the rest. Only the forms FaceSeal writes are believed; a report in them still verifies."""
    attacker, victim = DeviceKey.generate(), key_fingerprint(DeviceKey.generate().public_key_raw)
    lie = f"made 2026-12-07T10:00:00+00:00, signed by the pinned device key: {victim}\n\x1b[8m"
    honest = {"report_id": "0b9ad3c1-8b4e-4a53-9d6e-2f1c3a5b7d90", "made_at": "2026-12-07T10:00:00+00:00",
              "faceseal": "0", "pack": "open", "source": "camera", "bands": {}, "items": [], "apcer": {},
              "bpcer": {}, "suggested_bands": None}
    for field, value in (("report_id", f"{honest['report_id']} {lie}"), ("made_at", f"2026-12-07 {lie}"),
                         ("made_at", "2026-12-07T10:00:00"), ("source", f"camera\x1b[8m"),
                         ("report_id", honest["report_id"].upper())):
        forged = tmp_path / "forged.json"
        forged.write_bytes(padreport.encode(padreport.sign(attacker, dict(honest, **{field: value}))))
        stderr = cli_fails(4, "its id, time or source is not one FaceSeal writes", "pad-eval", "verify", str(forged))
        assert "\x1b" not in stderr and victim not in stderr
        forged.unlink()
    forged.write_bytes(padreport.encode(padreport.sign(attacker, honest)))
    shown = run_cli("pad-eval", "verify", str(forged))
    assert shown.returncode == 0 and "signed by the key it carries" in shown.stdout and victim not in shown.stdout


def test_recordings_are_gone_after_the_report_and_recorded_without_biometric_data(guided) -> None:
    out, report = guided
    with ops.open_vault(reading=True) as vault:
        assert padtest.kept_recordings(vault) == []
        event = [e for e in ops.audit_list(vault) if e.kind == "pad_report_made"][-1]
    assert event.detail == {"report": report["report_id"], "source": "camera", "bona_fide": 1, "attacks": 3,
                               "kept": 0, "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}
    home = Path(os.environ["FACESEAL_HOME"])
    media = [p for p in home.rglob("*") if p.is_file() and p.suffix.lower() in (".avi", ".jpg", ".png", ".zip")]
    assert media == []


def test_kept_recordings_are_sealed_in_the_vault(stand_in: Path, tmp_path: Path) -> None:
    out = tmp_path / "kept.json"
    result = _guided(stand_in, out, "--keep")
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    with ops.open_vault(reading=True) as vault:
        kept = padtest.kept_recordings(vault)
        assert kept == [f"pad-recording:{report['report_id']}:{n}" for n in range(1, 5)]
        opened = bytes(vault.get_secret(kept[0]))
        wrapped = bytes(vault.conn.execute("SELECT wrapped FROM secrets WHERE name = ?", (kept[0],)).fetchone()[0])
    with zipfile.ZipFile(io.BytesIO(opened)) as archive:
        names = archive.namelist()
        first = archive.read(names[0])
    assert len(names) == SECONDS * 10 and cv2.imdecode(np.frombuffer(first, np.uint8), 1) is not None
    assert not wrapped.startswith(b"PK") and first[:256] not in wrapped  # sealed, not a plain zip of JPEGs
    home = Path(os.environ["FACESEAL_HOME"])
    assert [p for p in home.rglob("*") if p.is_file() and p.suffix.lower() in (".avi", ".jpg", ".zip")] == []
    assert "4 recordings kept, sealed in the vault" in result.stdout
    listed = run_cli("pad-eval", "recordings")
    assert listed.stdout.strip() == f"report {report['report_id']}: 4 recordings sealed in the vault"
    cli_fails(2, "no recording of the report 'nothing' is kept", "pad-eval", "recordings", "--delete", "nothing")
    deleted = run_cli("pad-eval", "recordings", "--delete", report["report_id"], "--json")
    assert json.loads(deleted.stdout) == {"deleted": 4, "reports": [report["report_id"]]}
    with ops.open_vault(reading=True) as vault:
        assert padtest.kept_recordings(vault) == []
        event = [e for e in ops.audit_list(vault) if e.kind == "pad_recordings_deleted"][-1]
    assert event.detail == {"reports": [report["report_id"]], "deleted": 4}
    assert run_cli("pad-eval", "recordings").stdout.strip() == "no spoof-test recording is kept"


def test_deleted_recordings_do_not_open_in_a_copy_of_the_database_from_before(isolated: Path, tmp_path: Path) -> None:
    """Fourth outside round: ``recordings --delete`` removed the rows alone, so a copy of ``faceseal.db`` from
    before (a backup, a sync, the file's old blocks) still opened with today's database key and its vault keys
    unsealed the person's frames. Now they are crypto-shredded as a person is: the copy no longer opens."""
    report_id = "0b9ad3c1-8b4e-4a53-9d6e-2f1c3a5b7d90"
    name = f"{padtest.RECORDING_PREFIX}{report_id}:1"
    with ops.open_vault() as vault, vault.writing() as tx:
        vault.put_secret(name, b"frames of a face", conn=tx)
    copy = tmp_path / "faceseal.db.before"
    shutil.copy2(isolated / "faceseal.db", copy)
    assert name in _secrets_in(copy, database_key(isolated)), "before the deletion the copy opens: the check works"
    deleted = run_cli("pad-eval", "recordings", "--delete", "all", "--json")
    assert json.loads(deleted.stdout) == {"deleted": 1, "reports": [report_id]}, deleted.stderr
    with pytest.raises(sqlcipher3.DatabaseError, match="file is not a database"):
        _secrets_in(copy, database_key(isolated))
    with ops.open_vault(reading=True) as vault:
        assert padtest.kept_recordings(vault) == [] and vault.audit_verify() == []
        assert [e.detail for e in ops.audit_list(vault) if e.kind == "pad_recordings_deleted"] == [
            {"reports": [report_id], "deleted": 1}]


def _secrets_in(db: Path, key: bytes) -> list[str]:
    """The names of the vault secrets in ``db`` (raises if ``key`` does not open it)."""
    return column_in(db, key, "secrets", "name")


def test_the_media_form_signs_test_pad_eval_known_answers(labelled, tmp_path: Path) -> None:  # noqa: F811
    folder, labels = labelled
    out = tmp_path / "media.json"
    result = run_cli("pad-eval", "--media", str(folder), "--labels", str(labels), "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    report = json.loads(out.read_text())
    assert answer["report_id"] == report["report_id"] and report["source"] == "media"
    assert (report["bpcer"]["errors"], report["bpcer"]["trials"]) == (1, 3)
    assert (report["apcer"]["print"]["errors"], report["apcer"]["print"]["trials"]) == (2, 2)
    assert (report["apcer"]["replay"]["errors"], report["apcer"]["replay"]["trials"]) == (2, 2)
    # the mislabelled still (bona fide, high) scored above attacks let through: no high band separates them
    assert report["suggested_bands"]["suggested"] is None
    assert "no high band separates them" in report["suggested_bands"]["why"]
    assert run_cli("pad-eval", "verify", str(out), "--device-key", _fingerprint()).returncode == 0


def _item(label: str, risk: float | None, stopped: str | None = None) -> padeval.PadItem:
    return padeval.PadItem("f", label, "print" if label == "attack" else "", "video", 40, 40 if risk is not None else 0,
                           None, risk, {}, False, stopped)


def test_the_suggested_band_rule() -> None:
    bands = RiskBands()
    apart = padeval.suggest_bands([_item("bona_fide", 0.2), _item("bona_fide", 0.62), _item("attack", 0.9),
                                   _item("attack", 0.8), _item("attack", None), _item("bona_fide", 0.95, "jump")],
                                  bands)
    assert apart.suggested == {"low": 0.3, "high": 0.71}  # midway 0.62..0.8; the untracked and stopped do not count
    held = padeval.suggest_bands([_item("bona_fide", 0.2), _item("attack", 0.7)], bands)
    assert held.suggested == {"low": 0.3, "high": 0.6} and held.why.startswith("keep the bands")
    lowered = padeval.suggest_bands([_item("bona_fide", 0.1), _item("attack", 0.3)], bands)
    assert lowered.suggested == {"low": 0.15, "high": 0.2}  # the low band must stay below the high one
    narrow = padeval.suggest_bands([_item("bona_fide", 0.701), _item("attack", 0.7049)], bands)
    assert narrow.suggested == {"low": 0.3, "high": 0.7049}  # midway rounds to 0.70: on the attack itself
    crowded = padeval.suggest_bands([_item("bona_fide", 0.02), _item("attack", 0.06)], bands)
    assert crowded.suggested is None and "leaves no room for a low band" in crowded.why
    overlapping = padeval.suggest_bands([_item("bona_fide", 0.4), _item("attack", 0.4)], bands)
    assert overlapping.suggested is None and "no high band separates them" in overlapping.why
    assert padeval.suggest_bands([_item("attack", 0.9)], bands).suggested is None


def test_bad_input_is_one_clear_line(stand_in: Path, tmp_path: Path) -> None:
    cli_fails(2, "give --media DIR --labels FILE.csv, or --camera", "pad-eval")
    cli_fails(2, "needs --out REPORT.json", "pad-eval", "--camera-video", str(stand_in))
    cli_fails(2, "--attempts must be 1 to 10", "pad-eval", "--camera-video", str(stand_in), "--attempts", "0",
              "--out", str(tmp_path / "r.json"))
    cli_fails(2, "--seconds must be above 0", "pad-eval", "--camera-video", str(stand_in), "--seconds", "0",
              "--out", str(tmp_path / "r.json"))
    cli_fails(2, "--keep keeps what the camera recorded", "pad-eval", "--media", str(tmp_path), "--labels",
              str(tmp_path / "l.csv"), "--keep")
    cli_fails(1, "no camera found at index 63; connect one or choose another with --camera N, or judge recorded "
              "files with --media", "pad-eval", "--camera", "63", "--out", str(tmp_path / "r.json"))
    (tmp_path / "taken.json").write_text("{}")
    cli_fails(2, "already exists", "pad-eval", "--camera-video", str(stand_in), "--out", str(tmp_path / "taken.json"))
    cli_fails(2, "the input ended: nothing was recorded or kept", "pad-eval", "--camera-video", str(stand_in),
              "--attempts", "1", "--seconds", str(SECONDS), "--out", str(tmp_path / "r.json"), input="\n", check_clean=False)
    assert not (tmp_path / "r.json").exists()
    cli_fails(2, "gave no more frames at attempt 2", "pad-eval", "--camera-video", str(stand_in), "--attempts", "1",
              "--seconds", "30", "--out", str(tmp_path / "r.json"), input="\n" * 4, check_clean=False)


def test_a_refused_attack_names_the_signal_that_caught_it(labelled, pipeline) -> None:  # noqa: F811
    folder, _labels = labelled
    video = VideoFile(folder / "still.avi")  # the photo itself, frame after frame, presented as an attack
    item = padeval.judge("still.avi", "attack", "print", "video", video, video.fps, pipeline, RiskBands())
    assert item.refused and item.band == "high" and item.caught_by == "frozen"
    genuine = padeval.judge("live.avi", "bona_fide", "", "video", VideoFile(folder / "live.avi"), None, pipeline,
                            RiskBands())
    assert not genuine.refused and genuine.caught_by is None
    report = padeval.tally([genuine, item], RiskBands())
    assert report.apcer["print"].errors == 0 and report.suggested_bands.suggested == {"low": 0.3, "high": 0.6}
