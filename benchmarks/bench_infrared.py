"""IR cameras (issue 27): the liveness session and the match on IR-like frames, against the same media in colour.

The media are the liveness evaluation sets (tests/liveness/media/sets.py: 6 people, each answering one challenge
sequence, and every replay) and the same scenes as an IR camera would record them
(tests/liveness/media/infrared.py: one channel, skin and paper red-like under the camera's own emitter, a screen
dark but for the emitter's reflection). Per set and per kind of frame: how many sessions passed (a false reject
for ``live``, a false accept for the attacks) and in how many frames (every 5th) the detector found a face at all.
And the match: the cosine of each person's IR-like photo against their colour photo, against the same photo's
colour self (1.0) and the pack's threshold: what enrolling in colour and signing in with an IR camera would cost
on these photos (real IR faces differ from colour ones more than this channel mix does: not measurable here).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from benchmarks.scratch import in_scratch_models

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SETS = ("live", "handheld", "bent", "screen", "screen_recording")


def run() -> dict:
    """Measure, print and return the pass counts in colour and in IR, and the cross-spectral match."""
    return in_scratch_models("bench_infrared", _measure, "models", "faces", restore=("FACESEAL_LIVENESS_SEED",))


def _frames(video: Path) -> tuple[list, float | None]:
    from edge_core.biometrics import VideoFile

    capture = VideoFile(video)
    fps = capture.fps
    return [frame.image for frame in capture], fps


def _measure(scratch: Path) -> dict:
    from edge_core.biometrics import Frame, install_pack, load_pack, read_image
    from edge_core.liveness.check import SEED_VARIABLE, check_liveness
    from edge_core.liveness.mesh import load_mesh
    from tests.liveness.media import sets
    from tests.liveness.media.infrared import ir_like, ir_on_screen

    install_pack("open", SHARED / "models")
    pipeline, mesh = load_pack("open"), load_mesh("open")
    made = sets.build(pipeline, mesh, scratch)
    report: dict[str, dict] = {}
    for name in SETS:
        counts = {"cases": len(made[name]), "colour_passed": 0, "ir_passed": 0, "colour_frames": 0, "ir_frames": 0,
                  "colour_frames_with_face": 0, "ir_frames_with_face": 0}
        for i, case in enumerate(made[name]):
            os.environ[SEED_VARIABLE] = str(case.seed)
            colour, fps = _frames(case.video)
            if name.startswith("screen"):  # in IR the screen shows nothing of what it plays: its source matters not
                source, _ = _frames(made["live" if name == "screen_recording" else "still"][i].video)
                infrared = ir_on_screen(source, seed=i)
            else:
                infrared = [ir_like(frame) for frame in colour]
            for kind, frames in (("colour", colour), ("ir", infrared)):
                result = check_liveness(pipeline, [Frame(f"frame {n}", f) for n, f in enumerate(frames)],
                                        video=True, fps=fps)
                counts[f"{kind}_passed"] += result.passed
            for kind, frames in (("colour", colour), ("ir", infrared)):  # every 5th frame: is there a face at all?
                counts[f"{kind}_frames_with_face"] += sum(bool(pipeline.detect(frame)) for frame in frames[::5])
                counts[f"{kind}_frames"] += len(frames[::5])
        report[name] = counts
        print(f"{name:17s} passed colour {counts['colour_passed']}/{counts['cases']}, IR {counts['ir_passed']}/"
              f"{counts['cases']}; frames with a face: colour {counts['colour_frames_with_face']}/"
              f"{counts['colour_frames']}, IR {counts['ir_frames_with_face']}/{counts['ir_frames']}",
              flush=True)
    scores = []
    for photo in sets.PEOPLE:
        colour = read_image(SHARED / "faces" / photo)
        scores.append(float(pipeline.embed_one(ir_like(colour))[1] @ pipeline.embed_one(colour)[1]))
    report["ir_against_colour"] = {"pack": pipeline.pack, "threshold": pipeline.threshold,
                                   "cosine_min": round(min(scores), 3), "cosine_max": round(max(scores), 3)}
    print(f"IR-like photo against its colour self ({pipeline.pack}, threshold {pipeline.threshold}): cosine "
          f"{min(scores):.3f} to {max(scores):.3f}", flush=True)
    return report


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    run()
