"""Apps that capture frames themselves (issue 27): start, frames, finish through the real admin API.

The app is this test: it reads a generated video (a live head answering a known challenge sequence, or a photo held
still), sends its frames as JPEG at the video's frame rate, and asks for the decision. The server fixes the
challenges to that sequence only because FACESEAL_TEST_RUN=1 is in its environment.
"""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import httpx
import pytest

from tests.conftest import cli_json, run_cli, serve_api
from tests.liveness.conftest import pipeline, videos  # noqa: F401 (the generated live and attack videos)
from tests.liveness.synthetic import PERSON, answerable_seeds

SEED = answerable_seeds()[0]


def _frames(video: Path) -> tuple[list[str], float]:
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(base64.b64encode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])[1]).decode())
    capture.release()
    return frames, fps


@pytest.fixture
def api(models_env, isolated, monkeypatch):
    assert run_cli("enroll", "--consent", "alice", "--image", str(PERSON)).returncode == 0
    monkeypatch.setenv("FACESEAL_TEST_RUN", "1")
    monkeypatch.setenv("FACESEAL_LIVENESS_SEED", str(SEED))
    with serve_api(isolated) as (base, token, _process):
        yield lambda method, path, **kw: httpx.request(method, f"{base}/api/v1{path}", timeout=120,
                                                       headers={"Authorization": f"Bearer {token}"}, **kw)


def _session(api, video: Path) -> tuple[dict, list[dict], httpx.Response]:
    frames, fps = _frames(video)
    started = api("POST", "/auth/sessions", json={"name": "alice", "fps": fps})
    assert started.status_code == 200, started.text
    key = started.json()["session"]
    progress = []
    for at in range(0, len(frames), 10):
        answer = api("POST", f"/auth/sessions/{key}/frames", json={"frames": frames[at:at + 10]})
        assert answer.status_code == 200, answer.text
        progress.append(answer.json())
        if answer.json()["done"]:
            break
    return started.json(), progress, api("POST", f"/auth/sessions/{key}/finish")


def test_a_live_head_passes_and_is_audited_as_a_verification(api, videos) -> None:  # noqa: F811
    started, progress, finished = _session(api, videos[f"live_{SEED}"])
    assert 2 <= len(started["challenges"]) <= 3
    assert progress[0]["prompt"] and progress[-1]["done"] is True
    assert finished.status_code == 200, finished.text
    decision = finished.json()
    assert decision["match"] is True and decision["live"] is True
    [event] = [e for e in cli_json("audit", "list") if e["kind"] == "verification"]
    assert event["match"] is True


def test_a_photo_held_still_is_never_live_and_matches_nobody(api, videos) -> None:  # noqa: F811
    _started, _progress, finished = _session(api, videos["still"])
    assert finished.status_code == 200, finished.text
    decision = finished.json()
    assert decision["match"] is False and decision["live"] is False
    assert decision["liveness"]["passed"] is False


def test_sessions_refuse_what_they_do_not_understand(api) -> None:
    for body, status in (({"name": "alice", "fps": "25"}, 422), ({"name": "alice", "fps": 1000}, 422),
                         ({"name": "mallory", "fps": 25}, 404), ({"name": "alice"}, 422)):
        answer = api("POST", "/auth/sessions", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert set(answer.json()) == {"error", "kind"}
    unknown = api("POST", "/auth/sessions/AAAAAAAAAAAAAAAAAAAAAAAA/frames", json={"frames": ["AAAA"]})
    assert unknown.status_code in (400, 404) and set(unknown.json()) == {"error", "kind"}
    key = api("POST", "/auth/sessions", json={"name": "alice", "fps": 25}).json()["session"]
    garbage = api("POST", f"/auth/sessions/{key}/frames", json={"frames": ["not base64!"]})
    assert garbage.status_code == 400 and "frame 1" in garbage.json()["error"]
    not_image = api("POST", f"/auth/sessions/{key}/frames", json={"frames": [base64.b64encode(b"x" * 64).decode()]})
    assert not_image.status_code == 400 and "frame 1" in not_image.json()["error"]
    assert api("POST", f"/auth/sessions/{key}/finish").json()["live"] is False  # no frame: never live
    gone = api("POST", f"/auth/sessions/{key}/finish")
    assert gone.status_code == 400 and "no such authentication session" in gone.json()["error"]
