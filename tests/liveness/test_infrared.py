"""IR cameras (issue 27): single-channel frames through detection, alignment, embedding, enrolment and the liveness
session, and what a screen replay becomes in IR. The frames are generated (tests/liveness/media/infrared.py says
what is assumed about IR and cannot be measured here)."""

from __future__ import annotations

import cv2
import numpy as np

from edge_core.biometrics import Frame, VideoFile, collect_samples, read_image
from edge_core.biometrics.infrared import IR_FORMATS, fourcc_text, is_infrared, single_channel
from edge_core.liveness.check import SEED_VARIABLE, check_liveness
from tests.liveness.media import attacks
from tests.liveness.media.infrared import ir_like, ir_on_screen, write_grey
from tests.liveness.synthetic import PERSON, SAME_PERSON, answerable_seeds

SEED = answerable_seeds()[0]


def frames_of(video) -> tuple[list[np.ndarray], float]:
    capture = VideoFile(video)
    fps = capture.fps
    return [frame.image for frame in capture], fps


def test_a_single_channel_face_is_detected_aligned_embedded_and_matches_its_colour_photo(pipeline) -> None:
    colour = read_image(PERSON)
    grey = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    _face, from_colour = pipeline.embed_one(colour)
    for shape in (grey, grey[:, :, None], grey.astype(np.uint16) * 257, ir_like(colour)):  # 2-D, HxWx1, Y16, IR
        face, embedding = pipeline.embed_one(shape)
        assert pipeline.align(shape, face).shape == (112, 112, 3)
        assert float(embedding @ from_colour) >= pipeline.threshold, shape.dtype
    other = ir_like(read_image(SAME_PERSON))
    assert float(pipeline.embed_one(other)[1] @ from_colour) >= pipeline.threshold  # another photo of them, in "IR"
    enrolled = collect_samples(pipeline, [Frame("ir", ir_like(colour))], samples=1)
    assert enrolled.embeddings.shape == (1, pipeline.embedding_size)


def test_a_grey_live_head_passes_the_session_and_a_screen_shows_no_face_in_ir(pipeline, videos, monkeypatch) -> None:
    monkeypatch.setenv(SEED_VARIABLE, str(SEED))
    colour, fps = frames_of(videos[f"live_{SEED}"])
    live = check_liveness(pipeline, [Frame(f"frame {i}", ir_like(f)) for i, f in enumerate(colour)], video=True,
                          fps=fps)
    assert live.passed and live.end_embedding is not None, live.reason
    # The same recording replayed on a screen: in colour the face is there to find in every frame (the session has
    # to catch the screen by its signals); in IR the panel shows nothing, so there is no face to answer anything.
    in_colour = [attacks.moved(attacks.screen(f, SEED), a, s, z)
                 for f, (a, s, z) in zip(colour, attacks.hand_motion(len(colour), SEED, 5.0, 15.0))]
    assert all(pipeline.detect(frame) for frame in in_colour[::6])
    in_ir = ir_on_screen(colour, SEED)
    assert not any(pipeline.detect(frame) for frame in in_ir)
    replayed = check_liveness(pipeline, [Frame(f"frame {i}", f) for i, f in enumerate(in_ir)], video=True, fps=fps)
    assert not replayed.passed and replayed.completed == 0, replayed.reason


def test_what_counts_as_an_ir_camera(tmp_path) -> None:
    colour = read_image(PERSON)
    assert single_channel(cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)) and not single_channel(colour)
    assert is_infrared("GREY", colour) and is_infrared("YUYV", cv2.cvtColor(ir_like(colour), cv2.COLOR_GRAY2BGR))
    assert not is_infrared("YUYV", colour) and not is_infrared("MJPG", colour)
    assert fourcc_text(cv2.VideoWriter_fourcc(*"Y16 ")) in IR_FORMATS and fourcc_text(0) == ""
    video = write_grey(tmp_path / "ir.avi", [ir_like(colour)] * 3, fps=10.0)
    first = next(iter(VideoFile(video))).image  # OpenCV hands a grey video's frames over as BGR, channels equal
    assert first.shape[2] == 3 and single_channel(first)
