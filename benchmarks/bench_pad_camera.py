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
* **sessions**: every person answering ``ANSWERS_EACH`` drawn sequences filmed
  through the camera, each through ``check_liveness`` as ``faceseal verify
  --video FILE --liveness`` runs it: BPCER per attempt, and per person (refused
  at least once), with 95 % Clopper-Pearson bounds.

``python -m benchmarks pad_camera``; prints the tables and returns them.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
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
    from edge_core.ops import padeval
    from tests.liveness.media import camera, sequences, sets

    install_pack("open", SHARED / "models")
    pipeline, mesh = load_pack("open"), load_mesh("open")
    bands = RiskBands()
    people = [sequences.Person.from_photo(SHARED / "faces" / photo, pipeline, mesh) for photo in sets.PEOPLE]
    asked = sets.seeds(len(people) * ANSWERS_EACH)
    table: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(dict))
    bands_seen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    attempts: list[bool] = []
    refused_people = 0
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
        refused_here = False
        for seed in asked[i * ANSWERS_EACH:(i + 1) * ANSWERS_EACH]:
            filmed = camera.film(sequences.answering(person, [c.code for c in draw_sequence(seed)]), seed=100 + seed)
            video = sequences.write(scratch / f"session_{i}_{seed}.avi", filmed, seed=seed, noise=0.0)
            os.environ[SEED_VARIABLE] = str(seed)
            frames = VideoFile(video)
            result = check_liveness(pipeline, frames, video=True, fps=frames.fps)
            attempts.append(result.passed)
            refused_here |= not result.passed
            print(f"session person {i} seed {seed}: {'passed' if result.passed else result.reason}", flush=True)
        refused_people += refused_here
    real = _real_stills(pipeline, bands, padeval)
    for name, signals in real.items():
        table[name] = signals
    report: dict[str, Any] = {"signals": {}, "bands": {k: dict(v) for k, v in bands_seen.items()}}
    for group, signals in table.items():
        report["signals"][group] = {s: {k: _spread(v) if k == "value" else len(v) for k, v in signals[s].items()}
                                    for s in SIGNALS if s in signals}
        print(f"{group:26s} " + "  ".join(f"{s} {_spread(signals[s].get('value', []))}"
                                          + (f" (not judged {len(signals[s]['not judged'])})"
                                             if signals[s].get("not judged") else "")
                                          for s in SIGNALS if s in signals), flush=True)
        if group in bands_seen:
            print(f"{'':26s} bands {dict(bands_seen[group])}", flush=True)
    bounds = bounds_available()
    per_attempt = Rate.count(attempts.count(False), len(attempts), bounds=bounds)
    per_person = Rate.count(refused_people, len(people), bounds=bounds)
    report["sessions"] = {"per_attempt": per_attempt.text(), "per_person": per_person.text()}
    print(f"filmed live sessions: BPCER per attempt {per_attempt.text()}, per person {per_person.text()}", flush=True)
    return report


def _real_stills(pipeline, bands, padeval) -> dict[str, dict[str, dict[str, list[float]]]]:
    """The real stills' signals, grouped "real live" / "real attack" (empty without FACESEAL_PAD_MEDIA)."""
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
