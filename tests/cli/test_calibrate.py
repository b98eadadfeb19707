"""``faceseal calibrate FOLDER`` on real photos through the real pipeline, and every bad folder in one line."""

from __future__ import annotations

import csv
import math

import pytest

from tests.conftest import SHARED, cli_json, run_cli

FACES = SHARED / "faces"


@pytest.fixture
def folder(tmp_path, models_env):
    """One sub-folder per person: 8 people of the labelled photos, every photo of each."""
    with open(FACES / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    people = sorted({r["identity"] for r in rows if sum(x["identity"] == r["identity"] for x in rows) >= 3})[:8]
    root = tmp_path / "my-photos"
    for row in rows:
        if row["identity"] in people:
            person = root / row["identity"]
            person.mkdir(parents=True, exist_ok=True)
            (person / row["file"].replace("/", "_")).symlink_to(FACES / row["file"])
    return root


def test_report_at_the_current_and_target_thresholds_with_a_det_curve(folder, tmp_path):
    det = tmp_path / "det.png"
    report = cli_json("calibrate", str(folder), "--pack", "open", "--det", str(det))
    assert report["pack"] == "open" and report["people"] == 8 and report["unusable"] == []
    labels = [row["label"] for row in report["rows"]]
    assert labels == ["current", "1 %", "0.1 %", "0.01 %"]
    current = report["rows"][0]
    assert current["threshold"] == cli_json("threshold", "--pack", "open")["threshold"]
    for row in report["rows"]:
        assert 0 <= row["frr"] <= 1 and 0 <= row["far"] <= 1
    # stricter targets never lower the threshold
    thresholds = [row["threshold"] for row in report["rows"][1:]]
    assert thresholds == sorted(thresholds)
    assert det.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plain = run_cli("calibrate", str(folder), "--pack", "open", "--det", str(det))
    assert plain.returncode == 0 and "for 0.1 % FA" in plain.stdout and "in force" in plain.stdout


def test_set_chooses_the_threshold_within_the_policy_and_audits_it(folder, tmp_path):
    det = tmp_path / "det.png"
    answer = cli_json("calibrate", str(folder), "--pack", "open", "--det", str(det), "--set", "0.1%")
    wanted = next(r["threshold"] for r in answer["calibration"]["rows"] if r["label"] == "0.1 %")
    assert answer["threshold"]["threshold"] == math.ceil(wanted * 1000) / 1000
    shown = cli_json("threshold", "--pack", "open")
    assert shown["chosen"] is True and shown["threshold"] == answer["threshold"]["threshold"]
    assert any(e["kind"] == "threshold_changed" for e in cli_json("audit", "list"))
    cli_json("policy", "set", "threshold_min=0.4", "threshold_max=0.99")
    refused = run_cli("calibrate", str(folder), "--pack", "open", "--det", str(det), "--set", "1%")
    assert refused.returncode != 0 and "outside the range the policy allows (0.40 to 0.99)" in refused.stderr
    assert cli_json("threshold", "--pack", "open")["threshold"] == shown["threshold"]


def test_a_labels_csv_folder_is_read_too(models_env, tmp_path):
    report = cli_json("calibrate", str(FACES), "--pack", "open", "--det", str(tmp_path / "det.png"))
    assert (report["photos"], report["people"], report["genuine_pairs"], report["impostor_pairs"]) == (88, 22, 172, 3656)


def test_bad_folders_are_one_line_and_exit_2(models_env, tmp_path, folder):
    few = tmp_path / "few"
    for person in sorted(folder.iterdir())[:2]:
        (few / person.name).mkdir(parents=True)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "labels.csv").write_text("name,who\na.jpg,x\n")
    cases = {
        str(tmp_path / "nowhere"): "is not a folder",
        str(few): "at least 4",
        str(broken): "'file' and 'identity'",
    }
    for path, text in cases.items():
        result = run_cli("calibrate", path, "--pack", "open")
        assert result.returncode == 2 and text in result.stderr, result.stderr
    typo = run_cli("calibrate", str(folder), "--pack", "open", "--set", "5%")
    assert typo.returncode == 2 and "0.1 %" in typo.stderr
