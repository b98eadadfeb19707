"""``faceseal pad-eval``: labelled videos and stills judged by the session's passive signals, with known answers.

The media are tests/liveness/media's generated ones (a person answering
challenges, a still, a print in a moving hand, a bent print, a phone screen
replay), written once per session; a still photo of the person and a still of
the phone screen are PNG files. One row is deliberately mislabelled (the
still video called bona fide) so BPCER has an error to count.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import pytest

from edge_core.liveness import RiskBands, draw_sequence
from edge_core.ops import padeval
from tests.conftest import cli_fails, run_cli

from .media import attacks, sequences, sets

ROWS = [
    ("live.avi", "bona_fide", "", "webcam"),
    ("photo.png", "bona_fide", "", "webcam"),
    ("still.avi", "bona_fide", "", "mislabelled"),
    ("handheld.avi", "attack", "print", "webcam"),
    ("bent.avi", "attack", "print", "webcam"),
    ("screen.avi", "attack", "replay", "phone"),
    ("screen.png", "attack", "replay", "phone"),
]
"""file, label, species, and an extra column that pad-eval ignores."""


@pytest.fixture(scope="session")
def labelled(pipeline, face_mesh, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the media folder, its labels CSV)."""
    folder = tmp_path_factory.mktemp("pad-eval")
    person = sequences.Person.from_photo(sets.SHARED / "faces" / sets.PEOPLE[0], pipeline, face_mesh)
    seed = sets.seeds(1)[0]
    sequences.write(folder / "live.avi", sequences.answering(person, [c.code for c in draw_sequence(seed)]))
    sequences.write(folder / "still.avi", sequences.still(person), noise=0)
    sequences.write(folder / "handheld.avi", sequences.handheld(person, seed=0))
    sequences.write(folder / "bent.avi", sequences.bent_print(person, seed=0))
    sequences.write(folder / "screen.avi", sequences.on_screen(person, seed=0))
    cv2.imwrite(str(folder / "photo.png"), person.frame)
    cv2.imwrite(str(folder / "screen.png"), attacks.screen(person.frame, seed=0))
    labels = folder / "labels.csv"
    with labels.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label", "species", "camera"])
        writer.writerows(ROWS)
    return folder, labels


@pytest.fixture(scope="session")
def judged(pipeline, labelled, installed_models: Path) -> padeval.PadEvaluation:
    with pytest.MonkeyPatch.context() as patch:  # the mesh and iris models load by pack name
        patch.setenv("FACESEAL_MODELS", str(installed_models))
        return padeval.evaluate(*labelled, pipeline, RiskBands())


def test_each_item_gets_its_band_risk_and_signals(judged) -> None:
    items = {item.file: item for item in judged.items}
    assert list(items) == [row[0] for row in ROWS]
    live = items["live.avi"]
    assert live.kind == "video" and live.faces == live.frames > 30
    assert live.band == "low" and not live.refused and live.risk < 0.3
    assert items["photo.png"].kind == "image" and items["photo.png"].faces == 1 and items["photo.png"].band == "low"
    assert items["still.avi"].band == "high" and items["still.avi"].signals["frozen"]["score"] == 1.0
    # a print moved in the hand never turns the head: flat and depth do not judge it (the session's turn
    # challenge refuses it), so the passive signals alone leave it low; a screen's doubts ask one more challenge
    for name in ("handheld.avi", "bent.avi"):
        assert items[name].band == "low" and not items[name].refused, name
        for signal in ("flat", "depth"):
            assert items[name].signals[signal]["note"] == "not judged: the head did not turn", (name, signal)
    assert items["screen.avi"].band == "middle" and not items["screen.avi"].refused
    assert "note" not in live.signals["flat"]  # the live head turned: judged, and no flatter than a head
    assert set(live.signals) >= {"frozen", "flat", "depth", "size", "identity", "moire", "border", "no_blink"}
    assert live.signals["moire"]["measured"] == "moire_prominence"


def test_apcer_per_species_and_bpcer_are_counted_with_clopper_pearson_bounds(judged) -> None:
    screen_still = next(item for item in judged.items if item.file == "screen.png")
    # a still of a screen shows only doubts (moire, a bezel): the middle band, one more challenge, not refused
    assert screen_still.band == "middle" and not screen_still.refused
    assert screen_still.signals["border"]["score"] > 0 and screen_still.signals["frozen"]["score"] == 0
    assert judged.bpcer.errors == 1 and judged.bpcer.trials == 3  # the still video labelled bona fide
    assert judged.bpcer.low == pytest.approx(0.0084, abs=1e-4) and judged.bpcer.high == pytest.approx(0.9057, abs=1e-4)
    assert sorted(judged.apcer) == ["print", "replay"]
    prints = judged.apcer["print"]  # without challenges nothing passive stops a print moved in the hand
    assert (prints.errors, prints.trials, prints.rate) == (2, 2, 1.0)
    assert prints.low == pytest.approx(0.025 ** 0.5) and prints.high == 1.0
    replay = judged.apcer["replay"]
    assert (replay.errors, replay.trials, replay.rate) == (2, 2, 1.0)


def test_the_cli_answers_the_stated_json_and_a_table(models_env, labelled) -> None:
    folder, labels = labelled
    result = run_cli("pad-eval", "--media", str(folder), "--labels", str(labels), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert {"items", "apcer", "bpcer"} <= set(answer)
    first = answer["items"][0]
    assert {"file", "label", "species", "kind", "faces", "band", "risk", "signals"} <= set(first)
    assert (first["file"], first["label"], first["kind"], first["band"]) == ("live.avi", "bona_fide", "video", "low")
    assert answer["bpcer"]["errors"] == 1 and answer["bpcer"]["trials"] == 3
    assert answer["apcer"]["print"]["trials"] == 2 and answer["apcer"]["print"]["low"] > 0.15
    handheld = next(item for item in answer["items"] if item["file"] == "handheld.avi")
    assert handheld["signals"]["flat"]["note"] == "not judged: the head did not turn"
    assert "camera" not in first  # extra columns are ignored


def _labels(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_bad_input_is_one_clear_line_and_a_non_zero_exit(models_env, labelled, tmp_path: Path) -> None:
    folder, labels = labelled
    cli_fails(2, "is not a folder of media", "pad-eval", "--media", str(tmp_path / "nowhere"), "--labels", str(labels))
    cli_fails(2, "does not exist", "pad-eval", "--media", str(folder), "--labels", str(tmp_path / "none.csv"))
    wrong_columns = _labels(tmp_path, "columns.csv", "name,truth\nlive.avi,bona_fide\n")
    cli_fails(2, "needs the columns file,label,species", "pad-eval", "--media", str(folder), "--labels",
              str(wrong_columns))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81file,label\n")
    cli_fails(2, "is not a readable CSV file", "pad-eval", "--media", str(folder), "--labels", str(binary))
    bad_label = _labels(tmp_path, "label.csv", "file,label,species\nlive.avi,genuine,\n")
    cli_fails(2, "line 2: the label 'genuine' is neither bona_fide nor attack", "pad-eval", "--media", str(folder),
              "--labels", str(bad_label))
    missing = _labels(tmp_path, "missing.csv", "file,label,species\nlive.avi,bona_fide,\ngone.avi,attack,print\n")
    cli_fails(2, "line 3: 'gone.avi' is not a file in", "pad-eval", "--media", str(folder), "--labels", str(missing))
    outside = _labels(tmp_path, "outside.csv", "file,label,species\n../missing.csv,attack,print\n")
    cli_fails(2, "is not inside", "pad-eval", "--media", str(folder), "--labels", str(outside))
    empty = _labels(tmp_path, "empty.csv", "file,label,species\n")
    cli_fails(2, "lists no file", "pad-eval", "--media", str(folder), "--labels", str(empty))
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "notes.avi").write_text("not a video at all\n")
    (tmp_path / "media" / "live.avi").write_bytes((folder / "live.avi").read_bytes())
    not_media = _labels(tmp_path, "not-media.csv", "file,label,species\nlive.avi,bona_fide,\nnotes.avi,attack,replay\n")
    cli_fails(2, "notes.avi", "pad-eval", "--media", str(tmp_path / "media"), "--labels", str(not_media))
