"""Liveness accuracy: false-reject and false-accept rates on the test media (tests/liveness/media).

6 people, one photo each, from ../shared/faces; every person answers
``ANSWERS_EACH`` different challenge sequences:

* ``live``: the person answering the challenge sequence asked of them (a
  synthetic 3-D head for head movements, the face mesh warped for blinks and
  mouth movements), one case per sequence; a refusal is a false reject;
* every attack set (still photo, print in a moving hand, zoomed, bent print,
  photo on a screen, a recorded session replayed on a screen, the recording
  asked another order (one per sequence), another person answering), one case
  per person unless said; a pass is a false accept.

Each video goes through ``check_liveness`` exactly as ``faceseal verify
--video FILE --liveness`` runs it, the order fixed by FACESEAL_LIVENESS_SEED.
Prints one line per set and returns {set: {"cases", "passed", "rate", "refusals"}}.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

from benchmarks.scratch import in_scratch_models

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
ANSWERS_EACH = 3


def run() -> dict:
    """Measure, print and return the rates (false reject for ``live``, false accept for the attacks)."""
    return in_scratch_models("bench_liveness_accuracy", _measure, "models", "faces",
                             restore=("FACESEAL_LIVENESS_SEED",))


def _measure(scratch: Path) -> dict:
    from edge_core.biometrics import VideoFile, install_pack, load_pack
    from edge_core.liveness.check import SEED_VARIABLE, check_liveness
    from edge_core.liveness.mesh import load_mesh
    from tests.liveness.media import sets

    install_pack("open", SHARED / "models")
    pipeline, mesh = load_pack("open"), load_mesh("open")
    made = sets.build(pipeline, mesh, scratch, answers_each=ANSWERS_EACH)
    report: dict[str, dict] = {}
    for name, cases in made.items():
        passed, refusals = 0, Counter()
        for case in cases:
            os.environ[SEED_VARIABLE] = str(case.seed)
            frames = VideoFile(case.video)
            result = check_liveness(pipeline, frames, video=True, fps=frames.fps)
            passed += result.passed
            refusals[result.refusal.code if result.refusal else "passed"] += 1
        errors = len(cases) - passed if name == sets.GENUINE else passed
        kind = "false reject" if name == sets.GENUINE else "false accept"
        report[name] = {"cases": len(cases), "passed": passed, "rate": errors / len(cases),
                        "measure": kind, "outcomes": dict(refusals)}
        print(f"{name:17s} {kind} {errors}/{len(cases)} = {errors / len(cases):.0%}   "
              f"{', '.join(f'{k} {v}' for k, v in sorted(refusals.items()))}", flush=True)
    return report


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    run()
