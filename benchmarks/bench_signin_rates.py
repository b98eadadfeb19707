"""Face sign-in's error rates per attempt, per group, on generated live videos (issue 24).

``python -m benchmarks signin_rates``. A sign-in with liveness (the default
policy) matches two faces of one attempt, the liveness session's start face
and its face after the challenges, and both must reach the pack's sign-in
threshold (``ops.signin.decide_signin``). What a person meets is that rule's
rate per attempt, not the rate of one frame; this measures both on the same
attempts, for each group of ``../shared/faces`` (``bench_groups.photos``).

For every person and each of their first ``HELD_OUT`` photos: the person is
enrolled from their *other* photos, each one template, as ``faceseal enroll
--image`` takes them (``collect_samples``: a photo failing the quality gates is
left out); the held-out photo becomes a live-like video answering a challenge
sequence (``tests.liveness.synthetic``), and the real liveness session runs over
it as the agent runs it over a video (``check_liveness`` with the test seed
and the policy's default risk bands, then ``enforce``), keeping its start and
end embeddings. The agent's wall-clock timeout is not applied: a video's
frames are its clock, and this machine's load is no camera's.

Then, offline, the decision rule: each kept face scored against an enrolment by
``template_score`` (what ``Vault.verify`` computes), accepted at or above the
pack's sign-in threshold (the manifest's ``signin_threshold``, never below the
pack's verify threshold, as ``ops.signin.signin_threshold`` on a vault with no
threshold chosen). Genuine attempts: a video against its person's enrolment
(FNMR). Impostor attempts: a video against every other person's enrolment of
the same round (FMR), within each group and across the groups. Per frame: the
start and end faces counted as separate trials. A video whose session refused
is counted and left out (its attempt never reaches the match), as is an
enrolment none of whose photos passed the gates.

Each session's result is cached under ``$XDG_CACHE_HOME/faceseal-build/signin_rates``,
keyed by the photo, the seed, the pack's files and the sources of the
liveness and biometrics code and of the video generator, so a re-run only scores.

What these figures are not: each video is one photo moved, so its start and
end faces are far more alike than two moments of a real sitting; they say how
the rule behaves on these people, not what real webcam attempts will give.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.bench_groups import SOURCES, photos, with_faces
from benchmarks.model_sources import model_cache, source_folder
from benchmarks.scratch import in_scratch_models

PACKS = ("yunet512", "yunet_w600k")
HELD_OUT = 6
"""Photos of each person made into a video, one round each (the first ones, in the labels files' order): up to 6
of each Western person (they have 1 to 8), every one of each K-pop singer (6); a person with one photo makes none."""
REPO = Path(__file__).resolve().parents[1]
CODE = [*sorted((REPO / "edge_core" / "liveness").glob("*.py")),
        *sorted((REPO / "edge_core" / "biometrics").glob("*.py")), REPO / "tests" / "liveness" / "synthetic.py"]
"""The sources a cached session depends on, besides the photo, the seed and the pack: the session, the detection,
alignment and embedding, and the video generator."""


@dataclass(frozen=True)
class Attempt:
    """One video's session: who, which round, whether it passed, and its start and end faces."""

    person: str
    round: int
    passed: bool
    why: str
    faces: np.ndarray
    """2 x d (start, end), unit rows; empty when the session refused."""


def run() -> dict:
    return with_faces("signin_rates", lambda: in_scratch_models("signin_rates", _measure, "models", "faces"))


def _measure(scratch: Path) -> dict:
    from edge_core.biometrics import install_pack

    source = source_folder(PACKS, scratch / "source")
    figures = {}
    for pack in PACKS:
        install_pack(pack, source)
        figures[pack] = _pack(pack, scratch)
    return figures


def _pack(pack: str, scratch: Path) -> dict:
    from edge_core.biometrics import load_pack
    from edge_core.policy import thresholds

    pipeline = load_pack(pack)
    threshold = max(thresholds.signin_for(pack), pipeline.threshold)
    paths, labels, groups = photos()
    people: dict[str, list[Path]] = defaultdict(list)
    for path, label in zip(paths, labels):
        people[label].append(path)
    templates = {path: _template(pipeline, path) for path in paths}
    enrolments, attempts = {}, []
    for index, (person, mine) in enumerate(sorted(people.items())):
        for round_ in range(min(HELD_OUT, len(mine)) if len(mine) > 1 else 0):
            held = mine[round_]
            kept = [templates[p] for p in mine if p != held and templates[p] is not None]
            enrolments[person, round_] = np.stack(kept) if kept else None
            attempts.append(_attempt(pipeline, pack, person, round_, held, index + round_, scratch))
        print(f"  {pack}: {person} done ({len(attempts)} videos)", flush=True)
    return _rates(attempts, enrolments, groups, threshold, pack)


def _template(pipeline, path: Path) -> np.ndarray | None:
    """The photo's one template as ``faceseal enroll --image`` makes it, or None when it fails the gates."""
    from edge_core.biometrics import CANDIDATES_PER_SAMPLE, ImageFiles, collect_samples
    from edge_core.errors import FaceSealError
    from edge_core.liveness.mesh import features_hidden

    try:
        taken = collect_samples(pipeline, ImageFiles([path]), samples=1, candidates_per_sample=CANDIDATES_PER_SAMPLE,
                                covered=features_hidden(pipeline.pack))
    except FaceSealError:
        return None
    vector = np.asarray(taken.embeddings[0], np.float32)
    return vector / np.linalg.norm(vector)


def _key(pack: str, photo: Path, seed: int) -> str:
    from edge_core.biometrics.packs import pack_info

    digest = hashlib.sha256(f"{pack}|{seed}|".encode() + photo.read_bytes())
    for spec in pack_info(pack).files:
        digest.update(spec.sha256.encode())
    for path in CODE:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _attempt(pipeline, pack: str, person: str, round_: int, photo: Path, turn: int, scratch: Path) -> Attempt:
    """The session over ``photo``'s live video (cached), with a challenge sequence chosen by ``turn``."""
    from tests.liveness import synthetic

    seeds = synthetic.answerable_seeds()
    seed = seeds[turn % len(seeds)]
    cached = model_cache().parent / "signin_rates" / f"{_key(pack, photo, seed)}.npz"
    if not cached.is_file():
        passed, why, faces = _session(pipeline, photo, seed, scratch)
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cached.parent, suffix=".npz", delete=False) as handle:
            np.savez(handle, passed=passed, why=why, faces=faces)
        os.replace(handle.name, cached)
    with np.load(cached) as stored:
        return Attempt(person, round_, bool(stored["passed"]), str(stored["why"]), stored["faces"])


def _session(pipeline, photo: Path, seed: int, scratch: Path) -> tuple[bool, str, np.ndarray]:
    """Run the liveness session over the photo's live video as the agent does; (passed, why, start and end)."""
    from edge_core.biometrics import VideoFile
    from edge_core.errors import FaceSealError
    from edge_core.liveness import RiskBands
    from edge_core.liveness.bands import enforce
    from edge_core.liveness.check import SEED_VARIABLE, check_liveness
    from edge_core.policy.rules import Policy
    from tests.liveness import synthetic

    try:
        frame, landmarks = synthetic.framed(photo, pipeline)
        video = synthetic.live_video(scratch / "live.avi", frame, landmarks, seed)
    except (FaceSealError, AssertionError, IndexError) as error:  # no face, or none the mesh sees to blink
        return False, f"no video: {error or type(error).__name__}", np.zeros((0, pipeline.embedding_size))
    saved = os.environ.get(SEED_VARIABLE)
    os.environ[SEED_VARIABLE] = str(seed)
    try:
        capture = VideoFile(video)
        bands = RiskBands(Policy().liveness_risk_low, Policy().liveness_risk_high)
        result = enforce(check_liveness(pipeline, capture, video=True, fps=capture.fps, bands=bands), bands)
    finally:
        if saved is None:
            os.environ.pop(SEED_VARIABLE, None)
        else:
            os.environ[SEED_VARIABLE] = saved
    if not (result.passed and result.embedding is not None and result.end_embedding is not None):
        return False, result.reason, np.zeros((0, pipeline.embedding_size))
    faces = np.stack([result.embedding, result.end_embedding]).astype(np.float32)
    return True, result.reason, faces / np.linalg.norm(faces, axis=1, keepdims=True)


def _rates(attempts: list[Attempt], enrolments: dict, groups: dict[str, str], threshold: float, pack: str) -> dict:
    """Per group (and across): FNMR and FMR per attempt (both faces must match) and per face, at ``threshold``."""
    from edge_core.biometrics.groups import ACROSS, Rate
    from edge_core.ops.results import plain
    from edge_core.vault.matching import MatchResult, template_score

    cells = [name for name, _ in SOURCES] + [ACROSS]
    counts = {cell: defaultdict(int) for cell in cells}
    alike: dict[str, list[float]] = defaultdict(list)
    highest: dict[str, list[float]] = defaultdict(list)
    for attempt in attempts:
        own = counts[groups[attempt.person]]
        own["videos"] += 1
        if not attempt.passed:
            own["refused"] += 1
            continue
        alike[groups[attempt.person]].append(float(attempt.faces[0] @ attempt.faces[1]))
        for (person, round_), enrolled in enrolments.items():
            if round_ != attempt.round or enrolled is None:
                continue
            scores = [template_score(enrolled @ face) for face in attempt.faces]
            matched = [MatchResult(person, score, threshold, pack).match for score in scores]
            same_group = groups[person] == groups[attempt.person]
            cell = counts[groups[person] if same_group else ACROSS]
            kind = "genuine" if person == attempt.person else "impostor"
            wrong = [not m for m in matched] if kind == "genuine" else matched
            cell[f"{kind}_attempts"] += 1
            cell[f"{kind}_attempt_errors"] += any(wrong) if kind == "genuine" else all(wrong)
            cell[f"{kind}_faces"] += len(wrong)
            cell[f"{kind}_face_errors"] += sum(wrong)
            if kind == "impostor":  # how near a false match came: an attempt scores its lower face
                highest[groups[person] if same_group else ACROSS].append(min(scores))

    def rate(cell: dict, kind: str, unit: str) -> Rate:
        return Rate.count(cell[f"{kind}_{unit}_errors"], cell[f"{kind}_{unit}s"])

    rows = {cell: {"videos": counts[cell]["videos"], "session_refused": counts[cell]["refused"],
                   "start_end_cosine_median": round(float(np.median(alike[cell])), 3) if alike[cell] else None,
                   "impostor_attempt_highest": round(max(highest[cell]), 3) if highest[cell] else None,
                   **{f"{kind}_per_{unit}": rate(counts[cell], kind, unit)
                      for kind in ("genuine", "impostor") for unit in ("attempt", "face")}}
            for cell in cells}
    refusals = sorted({a.why for a in attempts if not a.passed})
    print(f"\n{pack} at its sign-in threshold {threshold:.3f}:" + "".join(f"\n  session refused: {why}"
                                                                      for why in refusals))
    print("\n".join(markdown(pack, threshold, rows)))
    return {"threshold": threshold, "held_out": HELD_OUT, "rows": plain(rows)}


def _cell(rate) -> str:
    if not rate.trials:
        return ""
    upper = "" if rate.high is None else f", ≤ {rate.high * 100:.2f} %"
    return f"{rate.errors}/{rate.trials} ({rate.rate * 100:.2f} %{upper})"


def markdown(pack: str, threshold: float, rows: dict) -> list[str]:
    """docs/SIGNIN.md's table: each group's videos, FNMR and FMR per attempt and per face (95 % upper bound)."""
    lines = [f"| {pack} ({threshold:.3f}) | videos (session refused) | start-end cosine | FNMR per attempt | "
             "FNMR per face | FMR per attempt | FMR per face | highest impostor attempt |",
             "|---|---|---|---|---|---|---|---|"]
    for cell, row in rows.items():
        videos = f"{row['videos']} ({row['session_refused']})" if row["videos"] else ""
        cosine, near = (f"{row[key]:.3f}" if row[key] is not None else ""
                        for key in ("start_end_cosine_median", "impostor_attempt_highest"))
        lines.append(f"| {cell} | {videos} | {cosine} | {_cell(row['genuine_per_attempt'])} | "
                     f"{_cell(row['genuine_per_face'])} | {_cell(row['impostor_per_attempt'])} | "
                     f"{_cell(row['impostor_per_face'])} | {near} |")
    return lines


if __name__ == "__main__":
    run()
