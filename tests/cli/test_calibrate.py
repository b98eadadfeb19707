"""``faceseal calibrate FOLDER`` on real photos through the real pipeline, and every bad folder in one line."""

from __future__ import annotations

import csv
import math

import pytest

from edge_core.biometrics import threshold_text

from tests.conftest import SHARED, cli_json, run_cli, shared_or_skip

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
    low = shown["threshold"]  # a floor at the chosen threshold: the choice stays allowed, a laxer one is not
    cli_json("policy", "set", f"threshold_min={low}", "threshold_max=0.99")
    lax = next(r["threshold"] for r in answer["calibration"]["rows"] if r["label"] == "1 %")
    assert lax < low  # the 1 % point is laxer than the 0.1 % one on these photos
    refused = run_cli("calibrate", str(folder), "--pack", "open", "--det", str(det), "--set", "1%")
    assert refused.returncode != 0, refused.stdout
    assert f"outside the range the policy allows ({threshold_text(low)} to 0.99)" in refused.stderr, refused.stderr
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


@pytest.fixture
def two_groups(tmp_path, models_env):
    """3 people of labels.csv and 3 of kpop_idols.csv, a sub-folder each, and a groups.csv naming their source."""
    root = tmp_path / "two-groups"
    lines = ["identity,group"]
    for labels, group in ((FACES / "labels.csv", "western_public_figures"),
                          (shared_or_skip("faces", "kpop_idols.csv"), "east_asian_kpop")):
        with open(labels, newline="") as handle:
            rows = list(csv.DictReader(handle))
        people = sorted({r["identity"] for r in rows if sum(x["identity"] == r["identity"] for x in rows) >= 3})[:3]
        lines += [f"{person},{group}" for person in people]
        for row in rows:
            if row["identity"] in people:
                (root / row["identity"]).mkdir(parents=True, exist_ok=True)
                (root / row["identity"] / row["file"].replace("/", "_")).symlink_to(FACES / row["file"])
    (root / "groups.csv").write_text("\n".join(lines) + "\n")
    return root


def test_a_groups_csv_gives_the_figures_per_group_at_every_threshold(two_groups, tmp_path):
    report = cli_json("calibrate", str(two_groups), "--pack", "open", "--det", str(tmp_path / "det.png"))
    photos = {person.name: len(list(person.iterdir())) for person in two_groups.iterdir() if person.is_dir()}
    sizes = {g["group"]: (g["people"], g["photos"]) for g in report["groups"]}
    west = sum(n for p, n in photos.items() if not p.startswith("kpop_"))
    east = sum(n for p, n in photos.items() if p.startswith("kpop_"))
    assert sizes == {"western_public_figures": (3, west), "east_asian_kpop": (3, east)}
    assert [row["label"] for row in report["group_rows"]] == [row["label"] for row in report["rows"]]
    for overall, row in zip(report["rows"], report["group_rows"]):
        assert row["threshold"] == overall["threshold"]
        within = {g["group"]: g for g in row["groups"]}
        (across,) = row["across"]
        assert across["group"] == "east_asian_kpop vs western_public_figures" and across["fnmr"] is None
        assert across["fmr"]["trials"] == west * east
        # the groups' pairs are the folder's pairs, split: their false matches add up to the overall rate
        assert sum(g["fnmr"]["trials"] for g in within.values()) == report["genuine_pairs"]
        assert sum(g["fmr"]["trials"] for g in within.values()) + west * east == report["impostor_pairs"]
        false_matches = sum(g["fmr"]["errors"] for g in within.values()) + across["fmr"]["errors"]
        assert false_matches == round(overall["far"] * report["impostor_pairs"])
        for rate in [g[k] for g in within.values() for k in ("fnmr", "fmr")] + [across["fmr"]]:
            assert rate["low"] <= rate["rate"] <= rate["high"]
            if rate["errors"] == 0:
                assert rate["high"] == pytest.approx(1 - 0.025 ** (1 / rate["trials"]))
        spread = row["spread"]
        assert {spread["highest"], spread["lowest"]} <= set(within)
    plain = run_cli("calibrate", str(two_groups), "--pack", "open", "--det", str(tmp_path / "det.png"))
    assert plain.returncode == 0 and "95 % Clopper-Pearson" in plain.stdout and "spread of FMR" in plain.stdout


def test_bad_groups_files_are_one_line_and_exit_2(two_groups):
    good = (two_groups / "groups.csv").read_text().splitlines()
    cases = {
        "\n".join(good[:-1]): "gives no group for 1 of the people",
        "\n".join(["identity,origin"] + good[1:]): "needs the columns 'identity' and 'group'",
        "\n".join(good + [good[1].split(",")[0] + ",elsewhere"]): "in two groups",
        "\n".join(good + ["somebody_else,east_asian_kpop"]): "names 1 people without photos",
        "\n".join(good + [",east_asian_kpop"]): "every row needs an identity and a group",
    }
    for text, message in cases.items():
        (two_groups / "groups.csv").write_text(text + "\n")
        result = run_cli("calibrate", str(two_groups), "--pack", "open")
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
