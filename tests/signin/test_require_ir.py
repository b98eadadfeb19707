"""``require_ir`` (issue 27): with it, face sign-in and apps refuse a colour camera, and an IR camera signs in.

The real agent runs as a real user; a generated video stands in for its camera: a colour one, and the same live
head as an IR camera would record it (single-channel frames, tests/liveness/media/infrared.py).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import cv2
import numpy as np

from edge_core.biometrics import VideoFile, read_image
from tests.liveness.media.infrared import ir_like, write_grey
from tests.liveness import synthetic
from tests.liveness.synthetic import PERSON, answerable_seeds
from tests.signin.test_apps import APP

SEED = answerable_seeds()[0]


def ir_copy(video: Path, folder: Path) -> Path:
    capture = VideoFile(video)
    fps = capture.fps
    return write_grey(folder / f"ir_{video.name}", [ir_like(frame.image) for frame in capture], fps)


def starting_black(video: Path, folder: Path) -> Path:
    """A colour webcam as many start: a few black frames (three equal channels, as a grey frame has) first."""
    frames = [frame.image for frame in VideoFile(video)]
    return synthetic.write(folder / f"black_{video.name}", [np.zeros_like(frames[0])] * 3 + frames, noise=0)


def test_require_ir_refuses_a_colour_camera_and_an_ir_camera_signs_in(agent_user, videos, tmp_path) -> None:
    enrolled_in_ir = agent_user.base / "alice_ir.png"  # enrolled as an IR camera sees her
    cv2.imwrite(str(enrolled_in_ir), ir_like(read_image(PERSON)))
    for args in (("enroll", "--consent", "alice", "--image", str(enrolled_in_ir)), ("signin", "enable", "apps", "--name", "alice"),
                 ("policy", "set", "signin_timeout_s=60", "require_ir=true")):
        done = agent_user.run(*args)
        assert done.returncode == 0, done.stderr

    agent_user.start_agent(starting_black(videos[f"live_{SEED}"], tmp_path), SEED)  # a colour camera
    tried = agent_user.run("signin", "try")
    assert tried.returncode == 1 and "requires an IR camera" in tried.stderr, tried.stderr
    asked = agent_user.run("assertion", "request", "--audience", APP, f"--nonce={secrets.token_urlsafe(24)}",
                           "--reason", "open your notes")
    assert asked.returncode == 1 and "requires an IR camera" in asked.stderr, asked.stderr
    agent_user.stop_agents()

    agent_user.start_agent(ir_copy(videos[f"live_{SEED}"], tmp_path), SEED)  # the same head, in IR
    tried = agent_user.run("signin", "try", "--json")
    assert tried.returncode == 0 and json.loads(tried.stdout)["accepted"] is True, tried.stdout + tried.stderr

    events = [e for e in json.loads(agent_user.run("audit", "list", "--json").stdout) if e["kind"] == "signin"]
    assert [(e["service"], e["outcome"]) for e in events] == [("try-it-now", "refused"), ("apps", "refused"),
                                                             ("try-it-now", "accepted")]
    assert "require_ir" in events[0]["why"]
