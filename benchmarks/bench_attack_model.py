"""The trained anti-spoof models (issue 31): what each signal alone and the fused risk do, model on and off.

Attack presentation classification error rate (APCER) per attack type and bona fide presentation
classification error rate (BPCER), ISO/IEC 30107-3 terms, with 95 % Clopper-Pearson bounds, for:

* every passive signal **alone** (an item counts as flagged when that signal's score alone leaves the low
  band, >= the default low threshold 0.3), each attack model alone (its median spoof probability >= 0.5),
  and the **fused** risk's band (not low) with the models off and with each on (its manifest ramp);
* attacks: the 6 people of the accuracy sets, each as a print in a hand, a bent print, a photo on a phone
  screen, the answering recording replayed on it, and the three the older sets lacked: a halftone print on
  paper, a screen filmed close (pixel grid, gamma off) and a print with the eyes cut out over the blinking
  person; each *plain* and *filmed* through ``tests/liveness/media/camera``; all judged by ``passive_check``
  (what ``faceseal pad-eval`` runs, no challenge);
* bona fide: the same 6 people answering a sequence (plain and filmed) and every photo of ../shared/faces
  as a still (one frame; the motion signals cannot judge a still, the per-frame ones and the models can).

Then the preview speed with each model on, as ``bench_liveness`` measures it (alternating rounds, medians).
``python -m benchmarks attack_model``; needs the converted models (``make attack-model``).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.scratch import SHARED, in_scratch_models

FLAGGED = 0.3
"""A signal alone flags an item when its score reaches the default low band's upper edge."""
MODEL_FLAGGED = 0.5
ATTACKS = ("handheld", "bent", "screen", "screen_recording", "halftone_print", "screen_grid", "eyes_cut_out")


def run() -> dict[str, Any]:
    return in_scratch_models("bench_attack_model", _measure, "models", "faces")


def _rate(errors: int, trials: int) -> str:
    from edge_core.biometrics.groups import clopper_pearson

    low, high = clopper_pearson(errors, trials)
    return f"{errors}/{trials} = {100 * errors / trials:.1f} % [{100 * low:.1f}-{100 * high:.1f} %]"


def _item(found, models) -> dict[str, Any]:
    """What one judged presentation gave: every signal's score, each model's median, the bands off and on."""
    from edge_core.liveness import RiskBands

    names = [m.name for m in models]
    assessment = found.assessment
    off = assessment.without(names)
    item: dict[str, Any] = {"scores": {s.name: s.score for s in off.signals},
                            "medians": {m.name: m.median() for m in models},
                            "band_off": off.band(RiskBands()).value}
    for name in names:
        item[f"band_{name}"] = assessment.without([n for n in names if n != name]).band(RiskBands()).value
    return item


def _measure(scratch: Path) -> dict[str, Any]:
    from edge_core.biometrics import Frame, VideoFile, install_pack, load_pack, read_image
    from edge_core.liveness import draw_sequence
    from edge_core.liveness.attack import TrackedAntiSpoof, attack_model_specs, install, load_net
    from edge_core.liveness.check import passive_check
    from edge_core.liveness.mesh import load_mesh
    from tests.liveness.media import camera, sequences, sets

    install_pack("open", SHARED / "models")
    pipeline, mesh = load_pack("open"), load_mesh("open")
    nets = [load_net(spec, install(spec)) for spec in attack_model_specs().values()]
    people = [sequences.Person.from_photo(SHARED / "faces" / photo, pipeline, mesh) for photo in sets.PEOPLE]
    asked = sets.seeds(len(people))
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i, person in enumerate(people):
        answer = sequences.answering(person, [c.code for c in draw_sequence(asked[i])])
        scenes = {"live": answer, "handheld": sequences.handheld(person, seed=i),
                  "bent": sequences.bent_print(person, seed=i), "screen": sequences.on_screen(person, seed=i),
                  "screen_recording": sequences.screen_recording(answer, seed=i),
                  "halftone_print": sequences.halftone_print(person, seed=i),
                  "screen_grid": sequences.screen_grid(person, seed=i),
                  "eyes_cut_out": sequences.eyes_cut_out(person)}
        for name, frames in scenes.items():
            for source, made in (("plain", frames), ("filmed", camera.film(frames, seed=i))):
                video = sequences.write(scratch / f"{source}_{name}_{i}.avi", made, seed=i,
                                        noise=sequences.synthetic.NOISE if source == "plain" else 0.0)
                models = [TrackedAntiSpoof(net) for net in nets]
                found = passive_check(pipeline, VideoFile(video), fps=sequences.synthetic.FPS, mesh=mesh,
                                      models=models)
                if found.tracked:
                    items[name].append(_item(found, models))
                else:
                    items[f"{name} (never tracked)"].append({})
        print(f"person {i + 1}/{len(people)} judged", flush=True)
    for photo in sorted((SHARED / "faces").rglob("*.jpg")):
        image = read_image(photo)
        models = [TrackedAntiSpoof(net) for net in nets]
        found = passive_check(pipeline, [Frame(photo.name, image)], models=models, mesh=mesh)
        if found.tracked:
            items["still photos"].append(_item(found, models))
    report = _tables(items, [n.spec.name for n in nets])
    report["speed"] = _speed(scratch, pipeline, nets)
    return report


def _tables(items: dict[str, list[dict[str, Any]]], models: list[str]) -> dict[str, Any]:
    signals = sorted({s for group in items.values() for item in group for s in item.get("scores", {})})
    report: dict[str, Any] = {"counts": {k: len(v) for k, v in items.items()}, "medians": {}, "rates": {}}
    print("median spoof probability per set, median [range]:")
    for name in models:
        for group, found in items.items():
            values = [item["medians"][name] for item in found if item]
            if values:
                report["medians"][f"{name} {group}"] = [round(statistics.median(values), 3), round(min(values), 3),
                                                        round(max(values), 3)]
                print(f"  {name:16s} {group:22s} {statistics.median(values):.3f} [{min(values):.3f}-"
                      f"{max(values):.3f}]", flush=True)
    bona_fide = ("live", "still photos")
    deciders = [*(f"{s} alone" for s in signals), *(f"{m} alone" for m in models), "fused, models off",
                *(f"fused, {m} on" for m in models)]

    def flagged(decider: str, item: dict[str, Any]) -> bool:
        if decider == "fused, models off":
            return item["band_off"] != "low"
        if decider.startswith("fused, "):
            return item[f"band_{decider[7:-3]}"] != "low"
        name = decider[:-6]
        if name in models:
            return item["medians"][name] >= MODEL_FLAGGED
        return item["scores"][name] >= FLAGGED

    print("APCER per attack type / BPCER (flagged = left the low band), 95 % Clopper-Pearson:")
    for decider in deciders:
        row = {}
        for group in (*ATTACKS, *bona_fide):
            found = [item for item in items.get(group, []) if item]
            hits = sum(flagged(decider, item) for item in found)
            errors = hits if group in bona_fide else len(found) - hits
            if found:
                row[group] = _rate(errors, len(found))
        report["rates"][decider] = row
        print(f"  {decider}:", flush=True)
        for group, text in row.items():
            print(f"    {'BPCER' if group in bona_fide else 'APCER'} {group:18s} {text}", flush=True)
    return report


def _speed(scratch: Path, pipeline, nets) -> dict[str, Any]:
    from benchmarks.bench_liveness import ROUNDS, _bare, _liveness, _video
    from edge_core.liveness.attack import TrackedAntiSpoof

    video = _video(scratch / "camera.avi")
    _liveness(pipeline, video)
    bare, off, on = [], [], defaultdict(list)
    for _ in range(ROUNDS):
        bare.append(_bare(pipeline, video))
        off.append(_liveness(pipeline, video)[0])
        for net in nets:
            on[net.spec.name].append(_liveness(pipeline, video, (TrackedAntiSpoof(net),))[0])
    figures = {"bare_detection_fps": round(statistics.median(bare), 1),
               "liveness_fps": round(statistics.median(off), 1)}
    print(f"speed: bare detection {figures['bare_detection_fps']} fps, liveness {figures['liveness_fps']} fps "
          f"(ratio {statistics.median(off) / statistics.median(bare):.2f})", flush=True)
    for name, fps in on.items():
        figures[f"liveness_{name}_fps"] = round(statistics.median(fps), 1)
        figures[f"liveness_{name}_vs_bare"] = round(statistics.median(fps) / statistics.median(bare), 2)
        print(f"  with {name}: {statistics.median(fps):.1f} fps (ratio {figures[f'liveness_{name}_vs_bare']}; "
              "target >= 20 fps)", flush=True)
    return figures


if __name__ == "__main__":
    run()
