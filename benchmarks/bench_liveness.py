"""Liveness benchmark: a video file standing in for the camera, through the whole per-frame liveness work.

Measures, in one run on this machine, frames per second over the same
640x480 video (a real photo moving a little, with a camera's noise, MJPG):

* **bare detection**: decode + the open pack's detector, the least a preview
  with a face box does;
* **liveness**: decode + a liveness session's tracking of every frame
  (detection, the face mesh followed from the previous frame's points, head pose by solvePnP, both eyes through
  the iris model, moire and border cues, alignment and embedding for the
  identity check) and the challenge logic, with time limits so long that
  every frame is processed (issue 14 target: >= 20 fps);
* the ratio liveness fps / bare detection fps, and in milliseconds per
  frame the mesh stage alone (two passes from the detector's box, and one
  pass followed from the previous frame's mesh) and the iris model (both eyes).

The contenders are timed in alternating rounds so that load from other
processes on the 2 cores hits both alike; medians are reported. Models come
from ``../shared/models``, installed with ``--from`` into a temporary models
folder (the user's data directory is not touched).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.scratch import in_scratch_models

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
PHOTO = "deepface/img1.jpg"
FRAMES = 120
FPS = 30.0
SIZE = (640, 480)
ROUNDS = 3


def _video(path: Path) -> Path:
    """A 640x480 MJPG file: the photo's face sliding and swaying a little, with sensor noise."""
    from edge_core.biometrics import read_image

    image = read_image(SHARED / "faces" / PHOTO)
    width, height = SIZE
    scale = 0.55 * height / image.shape[0] * 1.6
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    try:
        for i in range(FRAMES):
            angle = 4 * np.sin(i / 9)
            matrix = cv2.getRotationMatrix2D((image.shape[1] / 2, image.shape[0] / 2), angle, scale)
            matrix[:, 2] += (width / 2 - image.shape[1] / 2 + 12 * np.sin(i / 11), height / 2 - image.shape[0] / 2)
            frame = cv2.warpAffine(image, matrix, SIZE, borderMode=cv2.BORDER_REPLICATE)
            writer.write(np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8))
    finally:
        writer.release()
    return path


def _bare(pipeline, video: Path) -> float:
    from edge_core.biometrics import VideoFile

    start, frames = time.perf_counter(), 0
    with VideoFile(video) as source:
        for frame in source:
            pipeline.detect(frame.image)
            frames += 1
    return frames / (time.perf_counter() - start)


def _liveness(pipeline, video: Path, models: tuple = ()) -> tuple[float, int]:
    """Frames per second of a session over ``video`` (with the attack ``models`` shown every frame), and frames."""
    from edge_core.biometrics import VideoFile
    from edge_core.liveness import Challenge, Timing, run_session
    from edge_core.liveness.challenges import Timeline

    endless = Timing(acquire_seconds=1e9, challenge_seconds=1e9, return_seconds=1e9, lost_seconds=1e9)
    source = VideoFile(video)
    start = time.perf_counter()
    result = run_session(pipeline, source, (Challenge.TURN_LEFT, Challenge.BLINK), Timeline(source.fps),
                         timing=endless, models=models)
    return result.frames / (time.perf_counter() - start), result.frames


def _stage_ms(pipeline, video: Path) -> tuple[float, float, float]:
    from edge_core.biometrics import VideoFile
    from edge_core.liveness.eyes import load_eyes
    from edge_core.liveness.mesh import load_mesh

    mesh, eyes = load_mesh(pipeline.pack), load_eyes(pipeline.pack)
    mesh_ms, followed_ms, eyes_ms = [], [], []
    found = None
    with VideoFile(video) as source:
        for frame in source:
            face = pipeline.detect(frame.image)[0]
            if found is not None:
                start = time.perf_counter()
                mesh.fit(frame.image, face, found)
                followed_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            found = mesh.fit(frame.image, face)
            mesh_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            eyes.openness(frame.image, found)
            eyes_ms.append((time.perf_counter() - start) * 1000)
    return statistics.median(mesh_ms), statistics.median(followed_ms), statistics.median(eyes_ms)


def run() -> dict:
    """Measure, print and return the figures (frames per second, milliseconds, ratio)."""
    return in_scratch_models("bench_liveness", _measure, "models")


def _measure(scratch: Path) -> dict:
    from edge_core.biometrics import install_pack, load_pack

    install_pack("open", SHARED / "models")
    pipeline = load_pack("open")
    video = _video(scratch / "camera.avi")
    _liveness(pipeline, video)  # warm-up: sessions built, caches filled
    bare, live, frames = [], [], 0
    for _ in range(ROUNDS):
        bare.append(_bare(pipeline, video))
        fps, frames = _liveness(pipeline, video)
        live.append(fps)
    mesh_ms, followed_ms, eyes_ms = _stage_ms(pipeline, video)
    figures = {
        "bare_detection_fps": round(statistics.median(bare), 1),
        "liveness_fps": round(statistics.median(live), 1),
        "liveness_vs_bare_detection": round(statistics.median(live) / statistics.median(bare), 2),
        "mesh_two_pass_ms": round(mesh_ms, 2),
        "mesh_followed_ms": round(followed_ms, 2),
        "iris_both_eyes_ms": round(eyes_ms, 2),
        "frames_per_round": frames,
        "rounds": ROUNDS,
    }
    print("liveness (640x480 video file standing in for the camera, median of alternating rounds):")
    print(f"  bare detection (decode + YuNet)             {figures['bare_detection_fps']:7.1f} fps")
    print(f"  liveness (detection + mesh + iris + pose + cues + embedding + challenges)"
          f" {figures['liveness_fps']:7.1f} fps   target >= 20 fps")
    print(f"  ratio liveness / bare detection             {figures['liveness_vs_bare_detection']:7.2f}")
    print(f"  mesh stage, two passes                      {figures['mesh_two_pass_ms']:7.2f} ms per frame")
    print(f"  mesh stage, followed from the last frame    {figures['mesh_followed_ms']:7.2f} ms per frame")
    print(f"  iris model, both eyes                       {figures['iris_both_eyes_ms']:7.2f} ms per frame")
    return figures


if __name__ == "__main__":
    run()
