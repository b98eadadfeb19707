"""Where a command line's face comes from: exactly one of a ready embedding, photos, a video file or a camera.

Photos, video and camera go through the pack's pipeline; the resulting probe
remembers the pack, and a probe from one pack is never compared with
templates of another. With ``--liveness`` (or when the policy requires it for
a camera) the face comes from a liveness session instead, its prompts shown
on stderr. Whether liveness is needed, and what its outcome means, the use
cases decide (:mod:`edge_core.ops.identities`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from edge_core import ops
from edge_core.biometrics import (
    CANDIDATES_PER_SAMPLE,
    Camera,
    Frame,
    camera_index,
    ImageFiles,
    Reason,
    VideoFile,
    collect_from_video,
    collect_samples,
    load_pack,
    read_image,
)
from edge_core.errors import PolicyViolation, UsageError
from edge_core.liveness import Progress, RiskBands
from edge_core.cli.models import pack_to_use
from edge_core.liveness.check import check_liveness
from edge_core.liveness.mesh import features_hidden
from edge_core.ops import Probe, Source
from edge_core.vault import embeddings

if TYPE_CHECKING:
    from edge_core.liveness.passive import AttackModel
    from edge_core.vault.store import Vault

CAMERA_FRAMES = 1800
"""A camera session stops after this many frames whatever the clock says (a minute at 30 fps)."""


def add_source_arguments(parser: argparse.ArgumentParser, enrol: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--embedding", type=Path, metavar="FILE.npy",
                       help="a ready embedding: (d,) or, to enrol, (k, d) for k samples")
    group.add_argument("--image", type=Path, nargs="+", action="extend", metavar="IMAGE",
                       help="one or more photos (--image A B and --image A --image B alike)")
    group.add_argument("--video", type=Path, metavar="FILE", help="a video file")
    group.add_argument("--camera", type=camera_index, metavar="CAMERA",
                       help="a camera: its index (0 is the first), /dev/videoN (or a link to it) or its name")
    parser.add_argument("--pack", help="model pack (default: the one in use, see 'faceseal models list'; "
                                       "'external' for --embedding)")
    parser.add_argument("--largest", action="store_true", help="use the largest face when there are several")
    if enrol:
        parser.add_argument("--samples", type=int, default=5, help="good samples to take from a video or camera")
    else:
        parser.add_argument("--threshold", type=float,
                            help="cosine similarity needed for a match (default: the one chosen for the pack, "
                                 "else its own), within the policy's bounds")
        parser.add_argument("--liveness", action="store_true",
                            help="ask for head movements first, so a photo or a screen cannot pass (camera or video)")
        parser.add_argument("--show-score", action="store_true",
                            help="diagnostic: show the similarity score on a no-match too (recorded in the audit log)")


def source_of(args: argparse.Namespace) -> Source:
    if args.camera is not None:
        return Source.CAMERA
    if args.video is not None:
        return Source.VIDEO
    return Source.PHOTO if args.image is not None else Source.EMBEDDING


def samples_to_take(args: argparse.Namespace) -> int:
    """How many samples the enrolment named on the command line will offer (each photo, or ``--samples``)."""
    source = source_of(args)
    if source is Source.EMBEDDING:
        return len(embeddings.load(args.embedding))
    return len(args.image) if source is Source.PHOTO else max(1, args.samples)


def enrolment_probe(args: argparse.Namespace) -> Probe:
    """The samples to enrol from the source named on the command line."""
    source = source_of(args)
    if source is Source.EMBEDDING:
        return Probe(source, args.pack or ops.EXTERNAL_PACK, ops.EXTERNAL_THRESHOLD, embeddings.load(args.embedding))
    pipeline = load_pack(pack_to_use(args))
    if args.samples < 1 and source is not Source.PHOTO:
        raise UsageError("--samples must be at least 1")
    with progress(args, source) as on_frame:
        if source is Source.VIDEO:
            enrolment = collect_from_video(pipeline, args.video, args.samples, largest=args.largest,
                                           on_frame=on_frame, covered=features_hidden(pipeline.pack))
        else:
            frames, wanted = (ImageFiles(args.image), len(args.image)) if source is Source.PHOTO else \
                (Camera(args.camera), args.samples)
            enrolment = collect_samples(pipeline, frames, samples=wanted, largest=args.largest,
                                        candidates_per_sample=CANDIDATES_PER_SAMPLE, on_frame=on_frame,
                                        covered=features_hidden(pipeline.pack))
    return Probe(source, pipeline.pack, pipeline.threshold, enrolment.embeddings)


@contextmanager
def progress(args: argparse.Namespace, source: Source) -> Iterator[Callable[[Frame, Reason | None], None] | None]:
    """A line on the terminal saying which frame is being read and what became of it ("reading frame 12 of 3000:
    no face found"), for the long reads (a video, a camera); nothing when stderr is not a terminal or with
    ``--json``, where a script reads the answer."""
    if source not in (Source.VIDEO, Source.CAMERA) or args.json or not sys.stderr.isatty():
        yield None
        return
    live = source is Source.CAMERA
    total = VideoFile(args.video).frame_count if source is Source.VIDEO else 0
    shown = False

    def show(frame: Frame, reason: Reason | None) -> None:
        nonlocal shown
        said = "a good face" if reason is None else reason.said(live)
        line = f"{'' if live else 'reading '}{frame.label}{f' of {total}' if total else ''}: {said}"
        sys.stderr.write(f"\r{line:<78}")
        sys.stderr.flush()
        shown = True

    try:
        yield show
    finally:
        if shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def match_probe(args: argparse.Namespace, vault: Vault, name: str | None) -> Probe:
    """The face to verify (``name``) or identify (``None``), after the checks that come before any capture.

    An unknown or locked-out identity is refused before the camera opens; a
    camera the policy wants a liveness check for, without ``--liveness``, is
    refused with the flag that fixes it.
    """
    source = source_of(args)
    if ops.liveness_needed(vault, source, args.liveness) and not args.liveness:
        raise PolicyViolation("matching a face from a camera needs a liveness check: add --liveness (the policy "
                              "requires it; 'faceseal policy set liveness_required=false' lifts that)")
    ops.admit(vault, name)
    if args.liveness:
        return _live_probe(args, source, ops.liveness_bands(vault), pack_to_use(args, vault), ops.liveness_models(vault))
    if source is Source.EMBEDDING:
        vectors = embeddings.load(args.embedding)
        if vectors.shape[0] != 1:
            raise UsageError(f"{args.embedding} holds {vectors.shape[0]} vectors; verify and identify take one")
        return Probe(source, args.pack or ops.EXTERNAL_PACK, ops.EXTERNAL_THRESHOLD, vectors)
    pipeline = load_pack(pack_to_use(args, vault))
    if source is Source.PHOTO:
        if len(args.image) != 1:
            raise UsageError("verify and identify take one --image")
        image = read_image(args.image[0])
        _face, vector = pipeline.embed_one(image, largest=True)
        faces = tuple((list(map(float, f.box)), v) for f, v in pipeline.analyze(image))
        return Probe(source, pipeline.pack, pipeline.threshold, vector[None, :], faces, largest=args.largest)
    frames = VideoFile(args.video) if source is Source.VIDEO else Camera(args.camera)
    with progress(args, source) as on_frame:
        enrolment = collect_samples(pipeline, frames, samples=1, largest=args.largest, on_frame=on_frame,
                                    covered=features_hidden(pipeline.pack))
    return Probe(source, pipeline.pack, pipeline.threshold, enrolment.embeddings)


def _live_probe(args: argparse.Namespace, source: Source, bands: RiskBands, pack: str,
                models: Sequence[AttackModel]) -> Probe:
    pipeline = load_pack(pack)
    video = source is Source.VIDEO
    frames = VideoFile(args.video) if video else Camera(args.camera, max_frames=CAMERA_FRAMES)
    interactive = sys.stderr.isatty() and not args.json
    result = check_liveness(pipeline, frames, video=video, fps=frames.fps if video else None,
                            on_progress=_show if interactive else None, bands=bands, models=models)
    if interactive:
        sys.stderr.write("\n")
    return Probe(source, pipeline.pack, pipeline.threshold, liveness=result)


def _show(progress: Progress) -> None:
    sys.stderr.write(f"\r[{progress.step}/{progress.steps}] {progress.prompt:<40}")
    sys.stderr.flush()
