"""Generated media through a camera model, beside the plain generated media and the real stills (issue 33).

Every liveness threshold was first set on generated media, sharp and clean;
real cameras blur, resample, mosaic, add light-dependent noise, bend the
tones, compress and read their rows one by one. This suite makes each
generated scene twice, *plain* (as the tests write it: sensor noise sigma 2,
MJPG) and *filmed* through ``tests/liveness/media/camera.Camera`` (rolling
shutter, defocus, resampling, Bayer mosaic and noise, tone curve, JPEG), for
the 6 people of the accuracy sets (``sets.PEOPLE``):

* **signals**: a person answering their first challenge sequence, a print in a
  moving hand, a bent print, a photo on a phone screen in a hand, the answering
  recording replayed on that screen; each judged by ``passive_check`` (what
  ``faceseal pad-eval`` runs); per signal the measured value's median and range
  per set and source, and the real stills of ``benchmarks/pad_real_media.csv``
  when ``FACESEAL_PAD_MEDIA`` names a folder holding them (per-frame signals only:
  they are stills);
* **challenge detectors**: per person and camera (none, the default, ``POOR``),
  what the blink (both eyes' aspect ratio over the resting one, the larger of
  the two eyes' lowest; the target is 0.7 or less), the open mouth (the lips'
  gap over the mouth width, its rise; target 0.18) and the turn and nod
  (solvePnP degrees; targets 12 and 10) measure on the same frames;
* **sessions**: every person answering ``ANSWERS_EACH`` drawn sequences filmed
  through the default camera and through ``camera.POOR`` (half the resolution,
  focus well off, a dim room, heavy JPEG), each through ``check_liveness`` as
  ``faceseal verify --video FILE --liveness`` runs it: BPCER per attempt, and
  per person (refused at least once), with 95 % Clopper-Pearson bounds. Each
  recording goes on to answer the extra challenge a step-up would draw, as a
  live person asked one more would (a session that does not step up has
  finished before it); the step-ups are counted.

``python -m benchmarks pad_camera``; prints the tables and returns them.
"""

from __future__ import annotations

import os
import sys
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_pad_real import FOLDER_VARIABLE, MANIFEST, checked
from benchmarks.scratch import SHARED, in_scratch_models

ANSWERS_EACH = 3
SETS = ("live", "handheld", "bent", "screen", "screen_recording")
SIGNALS = ("frozen", "flat", "depth", "size", "identity", "moire", "border", "no_blink")


def run() -> dict[str, Any]:
    return in_scratch_models("bench_pad_camera", _measure, "models", "faces", restore=("FACESEAL_LIVENESS_SEED",))


def _spread(values: list[float]) -> str:
    return f"{np.median(values):.3g} [{min(values):.3g}-{max(values):.3g}]" if values else "-"


def _judged(signals: dict[str, dict[str, list[float]]], name: str, item: dict[str, dict]) -> None:
    """Collect one judged item's signals: the measured value, or a count of the items a signal did not judge."""
    for signal, found in item.items():
        if found.get("note"):
            signals[signal].setdefault("not judged", []).append(1.0)
        else:
            signals[signal].setdefault(name, []).append(float(found["value"]))


def _measure(scratch: Path) -> dict[str, Any]:
    from edge_core.biometrics import VideoFile, install_pack, load_pack
    from edge_core.biometrics.groups import Rate, bounds_available
    from edge_core.liveness import RiskBands, draw_sequence
    from edge_core.liveness.check import SEED_VARIABLE, check_liveness, passive_check
    from edge_core.liveness.mesh import load_mesh
    from tests.liveness.media import camera, sequences, sets

    install_pack("open", SHARED / "models")
    pipeline, mesh = load_pack("open"), load_mesh("open")
    bands = RiskBands()
    people = [sequences.Person.from_photo(SHARED / "faces" / photo, pipeline, mesh) for photo in sets.PEOPLE]
    asked = sets.seeds(len(people) * ANSWERS_EACH)
    table: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(dict))
    bands_seen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i, person in enumerate(people):
        codes = [c.code for c in draw_sequence(asked[i * ANSWERS_EACH])]
        answer = sequences.answering(person, codes)
        scenes = {"live": answer, "handheld": sequences.handheld(person, seed=i),
                  "bent": sequences.bent_print(person, seed=i), "screen": sequences.on_screen(person, seed=i),
                  "screen_recording": sequences.screen_recording(answer, seed=i)}
        for name, frames in scenes.items():
            for source, made in (("plain", frames), ("filmed", camera.film(frames, seed=i))):
                video = sequences.write(scratch / f"{source}_{name}_{i}.avi", made, seed=i,
                                        noise=sequences.synthetic.NOISE if source == "plain" else 0.0)
                found = passive_check(pipeline, VideoFile(video), fps=sequences.synthetic.FPS, mesh=mesh)
                item = {s.name: {"value": s.value, "note": s.note} for s in found.assessment.signals}
                _judged(table[f"{name} {source}"], "value", item)
                bands_seen[f"{name} {source}"][found.assessment.band(bands).value if found.tracked else "none"] += 1
    report_detectors = _challenge_detectors(pipeline, mesh, people)
    real = _real_stills(pipeline, bands)
    for name, signals in real.items():
        table[name] = signals
    report: dict[str, Any] = {"signals": {}, "bands": {k: dict(v) for k, v in bands_seen.items()},
                              "detectors": report_detectors}
    for group, signals in table.items():
        report["signals"][group] = {s: {k: _spread(v) if k == "value" else len(v) for k, v in signals[s].items()}
                                    for s in SIGNALS if s in signals}
        print(f"{group:26s} " + "  ".join(f"{s} {_spread(signals[s].get('value', []))}"
                                          + (f" (not judged {len(signals[s]['not judged'])})"
                                             if signals[s].get("not judged") else "")
                                          for s in SIGNALS if s in signals), flush=True)
        if group in bands_seen:
            print(f"{'':26s} bands {dict(bands_seen[group])}", flush=True)
    report["sessions"] = {}
    for name, filming in (("webcam", camera.Camera()), ("poor", camera.POOR)):
        passed: dict[int, list[bool]] = defaultdict(list)
        stepped_up, refusals = 0, Counter()
        for i, person in enumerate(people):
            for seed in asked[i * ANSWERS_EACH:(i + 1) * ANSWERS_EACH]:
                answer = _answering_with_extra(person, seed)
                video = sequences.write(scratch / f"session_{name}_{i}_{seed}.avi",
                                        camera.film(answer, seed=100 + seed, camera=filming), seed=seed, noise=0.0)
                os.environ[SEED_VARIABLE] = str(seed)
                frames = VideoFile(video)
                result = check_liveness(pipeline, frames, video=True, fps=frames.fps)
                passed[i].append(result.passed)
                stepped_up += result.stepped_up
                refusals[result.reason] += not result.passed
                print(f"{name} session, person {i}, {', '.join(c.code for c in draw_sequence(seed))}: "
                      f"{'passed' if result.passed else result.reason}", flush=True)
        attempts = [ok for found in passed.values() for ok in found]
        bounds = bounds_available()
        per_attempt = Rate.count(attempts.count(False), len(attempts), bounds=bounds)
        per_person = Rate.count(sum(not all(found) for found in passed.values()), len(passed), bounds=bounds)
        report["sessions"][name] = {"per_attempt": per_attempt.text(), "per_person": per_person.text(),
                                    "stepped_up": stepped_up, "refusals": {k: v for k, v in refusals.items() if v}}
        print(f"{name} camera, live sessions: BPCER per attempt {per_attempt.text()}, "
              f"per person (refused at least once) {per_person.text()}, stepped up {stepped_up}", flush=True)
    return report


def _challenge_detectors(pipeline, mesh, people) -> dict[str, list[str]]:
    """What the blink, open-mouth, turn and nod detectors measure on each person's frames through each camera."""
    from edge_core.liveness.eyes import load_eyes
    from edge_core.liveness.tracking import Track
    from tests.liveness.media import camera, sequences

    found: dict[str, list[str]] = defaultdict(list)
    for i, person in enumerate(people):
        frames = [person.frame] * 3 + [person.expression("blink", d) for d in (0.5, 1.0, 1.0)]
        frames += [person.expression("open_mouth", 1.0)]
        frames += [sequences.synthetic.turned_head(person.frame, person.landmarks, yaw, 1.0, pitch)
                   for yaw, pitch in (sequences.MOVES["turn_left"], sequences.MOVES["look_up"])]
        for name, filming in (("plain", replace(camera.PLAIN, read_noise=sequences.synthetic.NOISE)),
                              ("webcam", camera.Camera()), ("poor", camera.POOR)):
            track = Track(pipeline, mesh, load_eyes(pipeline.pack))
            points = [track.follow(k, k / 10, image) for k, image in enumerate(camera.film(frames, i, filming))]
            rest = points[:3]
            right = np.median([p.expression.right_eye for p in rest])
            left = np.median([p.expression.left_eye for p in rest])
            blink = max(min(p.expression.right_eye for p in points[4:6]) / right,
                        min(p.expression.left_eye for p in points[4:6]) / left)
            mouth = points[6].expression.mouth_open - np.median([p.expression.mouth_open for p in rest])
            turn, nod = points[7].pose.yaw - rest[0].pose.yaw, points[8].pose.pitch - rest[0].pose.pitch
            line = f"blink {blink:.2f} mouth +{mouth:.2f} turn {turn:.1f} nod {nod:.1f}"
            found[name].append(line)
            print(f"detectors, person {i}, {name}: {line}", flush=True)
    return dict(found)


def _answering_with_extra(person, seed: int) -> list:
    """The person answering ``seed``'s sequence, holding still, then answering the step-up's extra challenge."""
    from edge_core.liveness import draw_sequence
    from edge_core.liveness.challenges import draw_extra
    from tests.liveness.media import sequences

    asked = draw_sequence(seed)
    codes = [c.code for c in asked]
    closer = sequences.CLOSER if "come_closer" in codes else 1.0
    return (sequences.answering(person, codes)
            + sequences.answering(person, [draw_extra(asked, seed).code], closer=closer)[4:])


def _real_stills(pipeline, bands) -> dict[str, dict[str, dict[str, list[float]]]]:
    """The real stills' signals, grouped "real live" / "real attack" (empty without FACESEAL_PAD_MEDIA)."""
    from edge_core.ops import padeval

    folder = os.environ.get(FOLDER_VARIABLE)
    if not folder:
        print(f"real stills: skipped, set {FOLDER_VARIABLE}", flush=True)
        return {}
    checked(Path(folder))
    found: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(dict))
    for item in padeval.evaluate(Path(folder), MANIFEST, pipeline, bands).items:
        group = "real live (stills)" if item.label == padeval.BONA_FIDE else "real attack (stills)"
        _judged(found[group], "value", item.signals)
    return found


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    run()
