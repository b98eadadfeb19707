"""Per-group suite: every shipped pack's error rates per group of people, on clean and webcam-like probes.

``python -m benchmarks groups`` (or ``python -m benchmarks.bench_groups``)
embeds the labelled photos of ``../shared/faces`` in two groups, assigned by
the source set the photos come from, never by judging a face:

* ``western_public_figures``: the 88 photos of 22 people of ``labels.csv``
  (press photos of mostly Western public figures from the test folders of
  deepface, face_recognition and FaceONNX);
* ``east_asian_kpop``: the 90 photos (160x160 crops) of 15 K-pop singers of
  ``kpop_idols.csv`` (tapankarnik/Kpop-Idol-Face-Classifier).

For each shipped pack it prints, at the pack's shipped threshold, at the
thresholds for 1 %, 0.1 % and 0.01 % false matches (chosen by the rule of
``biometrics.evaluation`` on all different-person pairs of both groups
pooled) and at the strictest group's own 0.1 % point (the highest threshold
any group's different-person pairs ask for by that rule: there every group is
held to the design rate, so packs compare at equal fairness), FNMR and FMR
within each group, FMR across the groups and the spread between groups, each
with its 95 % Clopper-Pearson interval (``biometrics.groups``). Then the same on degraded probes: every photo's
webcam-like copy (``biometrics.degrade``: eyes 40 px apart, blur, darker, noise,
JPEG 60; made once, from the ``open`` pack's landmarks on the clean photo, and
used for every pack), each pair scoring the earlier photo clean (the
enrolment) against the later one degraded (the probe), at the same thresholds.
A degraded probe without a face found is counted and left out of the pairs.
It also gives the thresholds each group's own different-person pairs would
ask for by that rule. Last, the markdown tables of docs/BIOMETRICS.md.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from edge_core.biometrics import groups as grouping
from edge_core.biometrics.evaluation import TARGETS, threshold_for_far

SIGNIN_TARGET = 1e-4
"""Face sign-in's false-match target within every group (verify's is 0.1 %)."""

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared"
FACES = SHARED / "faces"
PACKS = ("open", "yunet512", "scrfd", "scrfd512", "yunet_w600k", "buffalo_s")
"""Every shipped pack: its weights from ../shared/models, or from a package registry through the cache of
``benchmarks.model_sources`` (w600k_mbf.onnx, inside a PyPI wheel)."""
SOURCES = (("western_public_figures", "labels.csv"), ("east_asian_kpop", "kpop_idols.csv"))
"""Group name and the labels file of the source set that makes it."""


def photos() -> tuple[list[Path], list[str], dict[str, str]]:
    """(paths, identities, person -> group) of both source sets."""
    paths, labels, groups = [], [], {}
    for group, name in SOURCES:
        with open(FACES / name, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                paths.append(FACES / row["file"])
                labels.append(row["identity"])
                groups[row["identity"]] = group
    return paths, labels, groups


@contextmanager
def _scratch_packs() -> Iterator[None]:
    """The shipped packs installed into a temporary FACESEAL_MODELS, for this run only, from ../shared/models
    and the registry cache (``model_sources``)."""
    from benchmarks.model_sources import source_folder
    from edge_core.biometrics import install_pack

    saved = os.environ.get("FACESEAL_MODELS")
    with tempfile.TemporaryDirectory(prefix="faceseal-groups-") as scratch:
        source = source_folder(PACKS, Path(scratch) / "source")
        os.environ["FACESEAL_MODELS"] = str(Path(scratch) / "models")
        try:
            for name in PACKS:
                install_pack(name, source)
            yield
        finally:
            if saved is None:
                del os.environ["FACESEAL_MODELS"]
            else:
                os.environ["FACESEAL_MODELS"] = saved


def _embed(pipeline, images: list[np.ndarray]) -> np.ndarray:
    """One row per image, NaN where no face is found."""
    from edge_core.errors import FaceSealError

    rows = np.full((len(images), pipeline.embedding_size), np.nan, dtype=np.float32)
    for index, image in enumerate(images):
        try:
            rows[index] = pipeline.embed_one(image, largest=True)[1]
        except FaceSealError:
            pass
    return rows


def degraded_copies(pipeline, images: list[np.ndarray]) -> list[np.ndarray | None]:
    """Each photo's webcam-like copy, its eye distance from ``pipeline``'s landmarks (``None`` without a face)."""
    from edge_core.biometrics.degrade import eye_distance, webcam_like
    from edge_core.errors import FaceSealError

    copies: list[np.ndarray | None] = []
    for index, image in enumerate(images):
        try:
            face, _ = pipeline.embed_one(image, largest=True)
        except FaceSealError:
            copies.append(None)
            continue
        copies.append(webcam_like(image, eye_distance(face.landmarks), key=index))
    return copies


def _no_face(embeddings: np.ndarray, labels: list[str], groups: dict[str, str]) -> dict[str, int]:
    missing = np.isnan(embeddings[:, 0])
    return {group: int(sum(missing[i] for i, label in enumerate(labels) if groups[label] == group))
            for group, _ in SOURCES}


def evaluate(clean: np.ndarray, degraded: np.ndarray, labels: list[str], groups: dict[str, str],
             shipped: float) -> dict:
    """The per-group rows, clean and degraded, at ``shipped`` and at the pooled targets' thresholds."""
    scored = np.nan_to_num(clean, nan=0.0)
    found = ~np.isnan(clean[:, 0])
    pooled = grouping.pairs(np.where(np.outer(found, found), scored @ scored.T, np.nan), labels, groups)
    thresholds = [("current", shipped)] + [
        (f"{t * 100:g} %", round(threshold_for_far(pooled.score[~pooled.same], t), 4)) for t in TARGETS]
    probes = np.nan_to_num(degraded, nan=0.0)
    seen = ~np.isnan(degraded[:, 0])
    worse = grouping.pairs(np.where(np.outer(found, seen), scored @ probes.T, np.nan), labels, groups)
    own = {}  # the threshold each group's own different-person pairs would ask for, by the same rule
    signin = 0.0  # the strictest group's own 0.01 % point, unrounded: what --write records for sign-in
    for g, group in enumerate(pooled.names):
        impostor = pooled.score[(pooled.group_a == g) & (pooled.group_b == g) & ~pooled.same]
        own[group] = {f"{t * 100:g} %": round(threshold_for_far(impostor, t), 4) for t in TARGETS}
        signin = max(signin, threshold_for_far(impostor, SIGNIN_TARGET))
    # last row: the strictest group's own 0.1 % point, where every group is held to the design rate
    thresholds.append(("strictest group's 0.1 %", max(values["0.1 %"] for values in own.values())))
    return {
        "own_thresholds": own,
        "signin_threshold": math.ceil(signin * 1000) / 1000,
        "no_face": {"clean": _no_face(clean, labels, groups), "degraded": _no_face(degraded, labels, groups)},
        "clean": [grouping.at_threshold(pooled, label, value) for label, value in thresholds],
        "degraded": [grouping.at_threshold(worse, label, value) for label, value in thresholds],
    }


def measure() -> dict:
    from edge_core.biometrics import load_pack, read_image
    from edge_core.ops.results import plain

    paths, labels, groups = photos()
    images = [read_image(path) for path in paths]
    sizes = grouping.sizes(labels, groups)
    figures = {}
    with _scratch_packs():
        copies = degraded_copies(load_pack("open"), images)
        for name in PACKS:
            pipeline = load_pack(name)
            clean = _embed(pipeline, images)
            degraded = _embed(pipeline, [c for c in copies if c is not None])
            full = np.full((len(images), degraded.shape[1]), np.nan, dtype=np.float32)
            full[[i for i, c in enumerate(copies) if c is not None]] = degraded
            figures[name] = evaluate(clean, full, labels, groups, pipeline.threshold)
            _print(name, figures[name], sizes)
    print("\nat each pack's shipped threshold:\n" + "\n".join(markdown(figures)))
    print("\nat the threshold for 0.1 % false matches on both groups pooled:\n" + "\n".join(markdown(figures, 2)))
    print("\nat the strictest group's own threshold for 0.1 % false matches:\n" + "\n".join(markdown(figures, 4)))
    own = [f"| {name} | " + " | ".join(f"{values['0.1 %']:.3f} / {values['0.01 %']:.3f}"
                                         for values in result["own_thresholds"].values()) + " |"
           for name, result in figures.items()]
    print("\nthresholds each group's own pairs ask for, 0.1 % / 0.01 %:\n| pack | "
          + " | ".join(group for group in next(iter(figures.values()))["own_thresholds"]) + " |\n|---|---|---|\n"
          + "\n".join(own))
    return {"groups": plain(sizes), "packs": plain(figures)}


def _print(name: str, result: dict, sizes: list) -> None:
    own = "; ".join(f"{group} " + ", ".join(f"{v:.3f} for {k}" for k, v in values.items())
                    for group, values in result["own_thresholds"].items())
    print(f"\npack {name}: thresholds each group's own different-person pairs ask for: {own}")
    for condition in ("clean", "degraded"):
        print(f"\npack {name}, {condition} probes (no face found: {result['no_face'][condition]})")
        print("\n".join(grouping.table(result[condition], sizes, title="per group")))


def _cell(rate) -> str:
    if rate is None or not rate.trials:
        return ""
    bound = "" if rate.low is None else f" [{rate.low * 100:.2f}, {rate.high * 100:.2f}]"
    return f"{rate.rate * 100:.2f} %{bound} ({rate.errors}/{rate.trials})"


def markdown(figures: dict, row: int = 0) -> list[str]:
    """docs/BIOMETRICS.md's table: each pack at its shipped threshold (``row`` 0; 1-3 the targets'), clean and degraded."""
    lines = ["| pack (threshold) | group | FNMR clean | FMR clean | FNMR degraded | FMR degraded |",
             "|---|---|---|---|---|---|"]
    for name, result in figures.items():
        clean, worse = result["clean"][row], result["degraded"][row]
        title = f"{name} ({clean.threshold:.3f})"
        for index, (a, b) in enumerate(zip(clean.groups + clean.across, worse.groups + worse.across)):
            lines.append(f"| {title if index == 0 else ''} | {a.group} | {_cell(a.fnmr)} | {_cell(a.fmr)} | "
                         f"{_cell(b.fnmr)} | {_cell(b.fmr)} |")
        spreads = [row.spread.text() if row.spread else "" for row in (clean, worse)]
        lines.append(f"| | spread of FMR | | {spreads[0]} | | {spreads[1]} |")
    return lines


def with_faces(suite: str, measuring: Callable[[], dict]) -> dict:
    """``measuring()``, or a note that ``suite`` was skipped when ../shared/faces is absent."""
    if not FACES.is_dir():
        print(f"{suite}: skipped, {FACES.resolve()} is absent")
        return {"skipped": f"{FACES.resolve()} is absent"}
    return measuring()


def write(figures: dict) -> None:
    """Record each shipped pack's sign-in threshold: the strictest group's own 0.01 % point, rounded up.

    Face sign-in unlocks a session, so its false-match rate must hold within
    every group, not on average: a threshold chosen on one group's pairs lets
    another through tens of times as often (docs/SIGNIN.md, "The sign-in
    threshold"). The verify thresholds are left as they are.
    """
    from edge_core.biometrics.packs import MANIFEST_PATH

    document = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    for name, result in figures.items():
        document["packs"][name]["signin_threshold"] = result["signin_threshold"]
    MANIFEST_PATH.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def run() -> dict:
    """``make bench``: measure and print."""
    return with_faces("bench_groups", measure)


if __name__ == "__main__":
    measured = run()
    if "--write" in sys.argv[1:] and "skipped" not in measured:
        write(measured["packs"])
