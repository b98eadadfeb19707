"""Verify from the camera with its liveness check: a video standing in for the camera, a seeded challenge order.

The videos are tests/liveness's synthetic heads (a photo mapped onto a 3D head
answering one seed's sequence) and a still photo; FACESEAL_LIVENESS_SEED fixes
the order, which edge_core honours for a video file only.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_core import ops
from edge_core.liveness import draw_sequence
from edge_core.biometrics import default_pack_name, pack_info, threshold_text
from tests.app.drive import LONG, click, enrol_photos, use_stand_in, verify_from_camera
from tests.liveness import synthetic

SEED = synthetic.answerable_seeds()[0]


@pytest.fixture(scope="module")
def head_videos(installed_models: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{"live": a head answering SEED's sequence, "still": the same photo, frame after frame}."""
    from edge_core.biometrics import load_pack

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACESEAL_MODELS", str(installed_models))
        pipeline = load_pack("open")
    frame, landmarks = synthetic.framed(synthetic.PERSON, pipeline)
    folder = tmp_path_factory.mktemp("app-liveness")
    return {"live": synthetic.live_video(folder / "live.avi", frame, landmarks, SEED),
            "still": synthetic.still_video(folder / "still.avi", frame)}


@pytest.fixture
def alice(qtbot, monkeypatch, window) -> str:
    """Alice Martin enrolled from another photo of the person in the videos; the seed fixed."""
    synthetic_person = [synthetic.SAME_PERSON]
    page = enrol_photos(qtbot, monkeypatch, window, "Alice Martin", synthetic_person)
    assert page.steps.currentIndex() == 2, page.banner.text.text()
    monkeypatch.setenv("FACESEAL_LIVENESS_SEED", str(SEED))
    return "Alice Martin"


def verification_events(window) -> list[dict]:
    return [e.detail for e in window.session.call(ops.audit_list) if e.kind == "verification"]


def test_a_head_answering_the_asked_movements_passes_and_is_matched(qtbot, monkeypatch, window, alice, head_videos):
    use_stand_in(qtbot, monkeypatch, window, head_videos["live"])
    verify = window.show_page("Verify")
    assert not verify.mesh_toggle.isChecked() and not verify.mesh_overlay.isVisible(), "the mesh is off to start"
    verify.mesh_toggle.setChecked(True)
    meshes: list[int] = []
    verify.mesh_feed.found.connect(lambda points, _size: meshes.append(0 if points is None else len(points)))
    page = verify_from_camera(qtbot, window, alice)
    shown: list[tuple[str, float]] = []
    page.task.signals.liveness.connect(
        lambda _p: shown.append((page.challenge.prompt.text(), page.challenge.ring.fraction())))
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)

    assert page.decision.text() == "Match: this is Alice Martin", page.details.text()
    assert "Liveness check passed" in page.details.text() and f"threshold {threshold_text(pack_info(default_pack_name()).default_threshold)}," in page.details.text()
    assert page.live.text().startswith("Not live: the liveness check passed, but a video file stood in")
    prompts = list(dict.fromkeys(prompt for prompt, _ in shown))
    assert prompts == ["Look straight at the camera", *(c.prompt for c in draw_sequence(SEED)),
                       "Look straight at the camera again"]
    fractions = [fraction for _, fraction in shown]
    assert fractions[0] < 0.5 and fractions[-1] == 1.0 and len(set(fractions)) > 3, "the ring fills as it goes"
    assert page.challenge.isVisible() and page.challenge.prompt.text() == "Liveness check passed"
    assert page.challenge.ring.text().endswith("100 % done")
    assert page.challenge.ring.accessibleDescription() == page.challenge.ring.text()
    assert page.view.preview.faces, "the face box is drawn on the preview while the check runs"
    qtbot.waitUntil(lambda: len(meshes) > 10, timeout=LONG)
    assert set(meshes) <= {0, 468} and meshes.count(468) > 10, "the session's own meshes reach the preview"
    assert page.mesh_overlay.isVisible() and page.mesh_overlay.accessibleDescription() == "468 mesh points"

    event = verification_events(window)[-1]
    assert (event["liveness"], event["match"], event["live"], event["source"]) == ("passed", True, False, "video")
    assert "Alice" not in json.dumps(event)
    audit = window.show_page("Audit")
    qtbot.waitUntil(lambda: "verification" in audit.shown_kinds(), timeout=LONG)


def test_a_still_photo_is_refused_with_its_reason_and_counts_towards_the_lockout(
        qtbot, monkeypatch, window, alice, head_videos):
    window.session.call(lambda v: ops.policy_set(v, {"lockout_attempts": 1}))
    use_stand_in(qtbot, monkeypatch, window, head_videos["still"])
    page = verify_from_camera(qtbot, window, alice)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)

    assert page.decision.text() == "Refused: the liveness check failed"
    assert page.details.text().startswith("The picture did not change from one frame to the next (a still photo?).")
    assert "counts towards the lockout" in page.details.text()
    assert page.live.text() == "Not live: the liveness check failed."
    assert page.challenge.prompt.text() == "Liveness check failed"
    assert page.challenge.ring.isHidden(), f"the ring still says {page.challenge.ring.text()}"
    assert page.view.hint.text() == "Refused: the liveness check failed", "no 'follow the prompt' once it is over"
    event = verification_events(window)[-1]
    assert (event["liveness"], event["refusal"], event["match"]) == ("failed", "frozen", False)

    again = verify_from_camera(qtbot, window, alice)
    qtbot.waitUntil(lambda: again.task is None, timeout=LONG)
    assert again.decision.text() == "No decision"
    assert "too many failed verifications for this identity" in again.details.text().lower()


def identify_from_camera(qtbot, window):
    """Start identifying from the camera; returns the page with its task running."""
    page = window.show_page("Verify")
    page.identify_mode.click()
    page.source.buttons["camera"].click()
    click(qtbot, page.go_button)
    return page


def identification_events(window) -> list[dict]:
    return [e.detail for e in window.session.call(ops.audit_list) if e.kind == "identification"]


def test_identify_from_the_camera_runs_the_liveness_check_like_verify(qtbot, monkeypatch, window, alice, head_videos):
    use_stand_in(qtbot, monkeypatch, window, head_videos["live"])
    page = identify_from_camera(qtbot, window)
    prompts: list[str] = []
    page.task.signals.liveness.connect(lambda _p: prompts.append(page.challenge.prompt.text()))
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)

    assert page.decision.text() == "Identified: Alice Martin", page.details.text()
    assert "Liveness check passed" in page.details.text()
    assert page.live.text().startswith("Not live: the liveness check passed, but a video file stood in")
    assert list(dict.fromkeys(prompts))[1:-1] == [c.prompt for c in draw_sequence(SEED)]
    assert page.challenge.prompt.text() == "Liveness check passed"
    event = identification_events(window)[-1]
    assert (event["liveness"], event["match"], event["live"], event["source"]) == ("passed", True, False, "video")


def test_identify_from_a_still_photo_at_the_camera_is_refused_and_counts_towards_the_lockout(
        qtbot, monkeypatch, window, alice, head_videos):
    window.session.call(lambda v: ops.policy_set(v, {"lockout_attempts": 1}))
    use_stand_in(qtbot, monkeypatch, window, head_videos["still"])
    page = identify_from_camera(qtbot, window)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)

    assert page.decision.text() == "Refused: the liveness check failed"
    assert page.details.text().startswith("The picture did not change from one frame to the next (a still photo?).")
    assert "counts towards the lockout" in page.details.text()
    assert page.live.text() == "Not live: the liveness check failed."
    event = identification_events(window)[-1]
    assert (event["liveness"], event["refusal"], event["match"]) == ("failed", "frozen", False)

    again = identify_from_camera(qtbot, window)
    qtbot.waitUntil(lambda: again.task is None, timeout=LONG)
    assert again.decision.text() == "No decision"
    assert again.details.text().startswith("Too many failed identifications")


def _faceless_video(path: Path) -> Path:
    """Empty frames at 1000 fps: the check waits 5 s of video (5000 frames) for a face, long enough to stop it."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 1000.0, synthetic.SIZE)
    try:
        for _ in range(3000):
            writer.write(np.full((synthetic.SIZE[1], synthetic.SIZE[0], 3), 90, np.uint8))
    finally:
        writer.release()
    return path


def test_stop_ends_the_check_without_a_verification(qtbot, monkeypatch, window, alice, tmp_path):
    use_stand_in(qtbot, monkeypatch, window, _faceless_video(tmp_path / "empty.avi"))
    page = verify_from_camera(qtbot, window, alice)
    qtbot.waitUntil(lambda: page.challenge.prompt.text() == "Look straight at the camera", timeout=LONG)
    click(qtbot, page.stop_button)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)

    assert page.decision.text() == "No decision" and page.details.text() == "Stopped; nothing was saved."
    assert not page.challenge.isVisible(), "no prompt is left standing once stopped"
    assert page.go_button.isEnabled()
    assert verification_events(window) == [], "a stopped check is no attempt: neither audited nor counted"


def test_the_window_weighs_the_attack_model_the_policy_turns_on(qtbot, monkeypatch, window, alice, head_videos):
    """The policy's trained anti-spoof model joins the window's session as it joins the CLI's: on while its file is
    not installed (turned on when it was, removed since: this test's models folder has none), the check is refused
    before it starts, saying how to install it, and nothing is judged without it."""
    from edge_core.policy import rules

    window.session.call(lambda v: rules.change(v, {"liveness_attack_model": True}))
    use_stand_in(qtbot, monkeypatch, window, head_videos["live"])
    page = verify_from_camera(qtbot, window, alice)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)
    said = f"{page.banner.text.text()} {page.details.text()}"
    assert "scripts/attack_model.py --install" in said and "Traceback" not in said, said
    assert page.decision.text() != "Match: this is Alice Martin"
