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
* **attack sessions**: each filmed print, screen and screen recording through
  ``check_liveness``, asked the sequence the recording answers: their outcomes;
* **live sessions**: every person answering ``ANSWERS_EACH`` drawn sequences filmed
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
SIGNALS = ("frozen", "flat", "depth", "size", "identity", "moire", "border", "no_blink")
Table = dict[str, dict[str, list[float]]]
"""signal -> {"value": the measured values, "not judged": one entry per item the signal did not judge}"""


def run() -> dict[str, Any]:
    return in_scratch_models("bench_pad_camera", _measure, "models", "faces", restore=("FACESEAL_LIVENESS_SEED",))


def _spread(values: list[float]) -> str:
    return f"{np.median(values):.3g} [{min(values):.3g}-{max(values):.3g}]" if values else "-"


def _judged(table: Table, item: dict[str, dict]) -> None:
    """Collect one judged item's signals: the measured value, or a count of the items a signal did not judge."""
    for signal, found in item.items():
        kind = "not judged" if found.get("note") else "value"
        table.setdefault(signal, {}).setdefault(kind, []).append(float(found["value"]))


def _measure(scratch: Path) -> dict[str, Any]:
    from edge_core.biometrics import install_pack, load_pack
    from edge_core.liveness.mesh import load_mesh
    from tests.liveness.media import camera, sequences, sets

    install_pack("open", SHARED / "models")
    pipeline, mesh = load_pack("open"), load_mesh("open")
    people = [sequences.Person.from_photo(SHARED / "faces" / photo, pipeline, mesh) for photo in sets.PEOPLE]
    asked = sets.seeds(len(people) * ANSWERS_EACH)
    tables, bands_seen, attacked = _signals_and_attacks(pipeline, mesh, people, asked[::ANSWERS_EACH], scratch)
    report: dict[str, Any] = {"signals": {}, "bands": bands_seen,
                              "detectors": _challenge_detectors(pipeline, mesh, people)}
    tables.update(_real_stills(pipeline))
    for group, table in tables.items():
        report["signals"][group] = {s: {k: _spread(v) if k == "value" else len(v) for k, v in table[s].items()}
                                    for s in SIGNALS if s in table}
        print(f"{group:26s} " + "  ".join(f"{s} {_spread(table[s].get('value', []))}"
                                          + (f" (not judged {len(table[s]['not judged'])})"
                                             if table[s].get("not judged") else "")
                                          for s in SIGNALS if s in table), flush=True)
        if group in bands_seen:
            print(f"{'':26s} bands {bands_seen[group]}", flush=True)
    report["sessions"] = {"filmed attacks": attacked}
    for name, found in attacked.items():
        print(f"filmed {name} in a session: {found}", flush=True)
    for name, filming in (("webcam", camera.Camera()), ("poor", camera.POOR)):
        report["sessions"][name] = _live_sessions(pipeline, people, asked, scratch, name, filming)
    return report


def _signals_and_attacks(pipeline, mesh, people, first: list[int], scratch: Path
                         ) -> tuple[dict[str, Table], dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Each person's scenes, plain and filmed, judged by ``passive_check``: the signals' tables and bands per
    "set source"; and each filmed attack in a session asked ``first[i]``'s sequence (the one the recording
    answers): outcomes per set."""
    from edge_core.biometrics import VideoFile
    from edge_core.liveness import RiskBands, draw_sequence
    from edge_core.liveness.check import SEED_VARIABLE, check_liveness, passive_check
    from tests.liveness.media import camera, sequences

    tables: dict[str, Table] = defaultdict(dict)
    bands_seen: dict[str, Counter] = defaultdict(Counter)
    attacked: dict[str, Counter] = defaultdict(Counter)
    for i, person in enumerate(people):
        answer = sequences.answering(person, [c.code for c in draw_sequence(first[i])])
        scenes = {"live": answer, "handheld": sequences.handheld(person, seed=i),
                  "bent": sequences.bent_print(person, seed=i), "screen": sequences.on_screen(person, seed=i),
                  "screen_recording": sequences.screen_recording(answer, seed=i)}
        for name, frames in scenes.items():
            for source, made in (("plain", frames), ("filmed", camera.film(frames, seed=i))):
                video = sequences.write(scratch / f"{source}_{name}_{i}.avi", made, seed=i,
                                        noise=sequences.synthetic.NOISE if source == "plain" else 0.0)
                found = passive_check(pipeline, VideoFile(video), fps=sequences.synthetic.FPS, mesh=mesh)
                _judged(tables[f"{name} {source}"], {s.name: {"value": s.value, "note": s.note}
                                                     for s in found.assessment.signals})
                band = found.assessment.band(RiskBands()).value if found.tracked else "none"
                bands_seen[f"{name} {source}"][band] += 1
                if source == "filmed" and name != "live":
                    os.environ[SEED_VARIABLE] = str(first[i])
                    played = VideoFile(video)
                    result = check_liveness(pipeline, played, video=True, fps=played.fps)
                    attacked[name][result.refusal.code if result.refusal else "passed"] += 1
    return (dict(tables), {k: dict(v) for k, v in bands_seen.items()}, {k: dict(v) for k, v in attacked.items()})


def _live_sessions(pipeline, people, asked: list[int], scratch: Path, name: str, filming) -> dict[str, Any]:
    """Every person answering ``ANSWERS_EACH`` sequences (and a step-up's extra one) filmed through ``filming``,
    each in a session: BPCER per attempt and per person, the step-ups and the refusals."""
    from edge_core.biometrics import VideoFile
    from edge_core.biometrics.groups import Rate, bounds_available
    from edge_core.liveness import draw_sequence
    from edge_core.liveness.check import SEED_VARIABLE, check_liveness
    from tests.liveness.media import camera, sequences

    passed: dict[int, list[bool]] = defaultdict(list)
    stepped_up, refusals = 0, Counter()
    for i, person in enumerate(people):
        for seed in asked[i * ANSWERS_EACH:(i + 1) * ANSWERS_EACH]:
            video = sequences.write(scratch / f"session_{name}_{i}_{seed}.avi",
                                    camera.film(_answering_with_extra(person, seed), seed=100 + seed, camera=filming),
                                    seed=seed, noise=0.0)
            os.environ[SEED_VARIABLE] = str(seed)
            frames = VideoFile(video)
            result = check_liveness(pipeline, frames, video=True, fps=frames.fps)
            passed[i].append(result.passed)
            stepped_up += result.stepped_up
            if not result.passed:
                refusals[result.reason] += 1
            print(f"{name} session, person {i}, {', '.join(c.code for c in draw_sequence(seed))}: "
                  f"{'passed' if result.passed else result.reason}", flush=True)
    attempts = [ok for found in passed.values() for ok in found]
    bounds = bounds_available()
    per_attempt = Rate.count(attempts.count(False), len(attempts), bounds=bounds)
    per_person = Rate.count(sum(not all(found) for found in passed.values()), len(passed), bounds=bounds)
    print(f"{name} camera, live sessions: BPCER per attempt {per_attempt.text()}, "
          f"per person (refused at least once) {per_person.text()}, stepped up {stepped_up}", flush=True)
    return {"per_attempt": per_attempt.text(), "per_person": per_person.text(), "stepped_up": stepped_up,
            "refusals": dict(refusals)}


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


def _real_stills(pipeline) -> dict[str, Table]:
    """The real stills' signals, grouped "real live" / "real attack" (empty without FACESEAL_PAD_MEDIA)."""
    from edge_core.liveness import RiskBands
    from edge_core.ops import padeval

    folder = os.environ.get(FOLDER_VARIABLE)
    if not folder:
        print(f"real stills: skipped, set {FOLDER_VARIABLE}", flush=True)
        return {}
    checked(Path(folder))
    found: dict[str, Table] = defaultdict(dict)
    for item in padeval.evaluate(Path(folder), MANIFEST, pipeline, RiskBands()).items:
        group = "real live (stills)" if item.label == padeval.BONA_FIDE else "real attack (stills)"
        _judged(found[group], item.signals)
    return dict(found)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    run()
