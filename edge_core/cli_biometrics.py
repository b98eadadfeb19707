"""Command-line glue for biometrics: where an embedding comes from, model packs, ``embed``.

``enroll``, ``verify`` and ``identify`` take their face from exactly one source:
a ready embedding (``--embedding``), photos, a video file or a camera. Photos,
video and camera go through the pack's pipeline; the resulting templates
remember the pack, and a probe from one pack is never compared with templates
of another.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import embeddings, thresholds
from .errors import UsageError

EXTERNAL_PACK = "external"
EXTERNAL_THRESHOLD = 0.45


@dataclass
class Probe:
    """Embeddings from one source, the pack that made them and that pack's measured threshold."""

    vectors: np.ndarray  # (k, d)
    pack: str
    default_threshold: float
    faces: list[dict[str, Any]] | None = None  # every face of a photo, for identify


def add_source_arguments(parser: argparse.ArgumentParser, enrol: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--embedding", type=Path, metavar="FILE.npy",
                       help="a ready embedding: (d,) or, to enrol, (k, d) for k samples")
    group.add_argument("--image", type=Path, nargs="+", metavar="IMAGE", help="one or more photos")
    group.add_argument("--video", type=Path, metavar="FILE", help="a video file")
    group.add_argument("--camera", type=int, metavar="N", help="a camera by index (0 is the first)")
    parser.add_argument("--pack", help="model pack (default: the installed default; 'external' for --embedding)")
    parser.add_argument("--largest", action="store_true", help="use the largest face when there are several")
    if enrol:
        parser.add_argument("--samples", type=int, default=5, help="good samples to take from a video or camera")
    else:
        parser.add_argument("--threshold", type=float,
                            help="cosine similarity needed for a match (default: the one chosen for the pack, else its own)")


def probe_from(args: argparse.Namespace, enrol: bool) -> Probe:
    """Read the source named on the command line into embeddings."""
    if args.embedding is not None:
        vectors = embeddings.load(args.embedding)
        if not enrol and vectors.shape[0] != 1:
            raise UsageError(f"{args.embedding} holds {vectors.shape[0]} vectors; verify and identify take one")
        return Probe(vectors, args.pack or EXTERNAL_PACK, EXTERNAL_THRESHOLD)

    from .biometrics import Camera, ImageFiles, VideoFile, collect_samples, default_pack_name, load_pack, read_image

    pipeline = load_pack(args.pack or default_pack_name())
    if args.image is not None and not enrol:
        if len(args.image) != 1:
            raise UsageError("verify and identify take one --image")
        image = read_image(args.image[0])
        face, vector = pipeline.embed_one(image, largest=True)
        faces = [{"box": _rounded(f.box), "embedding": v} for f, v in pipeline.analyze(image)]
        return Probe(vector[None, :], pipeline.pack, pipeline.threshold, faces)
    if args.image is not None:
        frames, wanted = ImageFiles(args.image), len(args.image)
    elif args.video is not None:
        frames, wanted = VideoFile(args.video), (args.samples if enrol else 1)
    else:
        frames, wanted = Camera(args.camera), (args.samples if enrol else 1)
    if wanted < 1:
        raise UsageError("--samples must be at least 1")
    enrolment = collect_samples(pipeline, frames, samples=wanted, largest=args.largest)
    return Probe(enrolment.embeddings, pipeline.pack, pipeline.threshold)


def threshold_for(args: argparse.Namespace, vault: Any, pack: str, default: float) -> float:
    """``--threshold`` if given, else the one chosen for the pack (window or ``faceseal threshold``), else its default."""
    value = getattr(args, "threshold", None)
    if value is None:
        return thresholds.in_force(vault, pack, default)
    if not -1.0 <= value <= 1.0:
        raise UsageError("--threshold is a cosine similarity between -1 and 1")
    return value


def cmd_threshold(args: argparse.Namespace) -> tuple[Any, int]:
    from .biometrics import default_pack_name, pack_info
    from .vault import Vault

    pack = args.pack or default_pack_name()
    default = pack_info(pack).default_threshold if pack != EXTERNAL_PACK else EXTERNAL_THRESHOLD
    with Vault.open() as vault:
        if args.value is not None or args.clear:
            thresholds.choose(vault, pack, None if args.clear else args.value)
        return {"pack": pack, "threshold": thresholds.in_force(vault, pack, default), "default": default,
                "chosen": pack in thresholds.chosen(vault)}, 0


def _rounded(values: Any) -> list[float]:
    return [round(float(v), 2) for v in values]


# ------------------------------------------------------------------ commands
def cmd_models_list(args: argparse.Namespace) -> tuple[Any, int]:
    from .biometrics import default_pack_name, list_packs

    default = default_pack_name()
    return [
        {"name": p.name, "installed": p.installed, "default": p.name == default, "licence": p.licence,
         "embedding_size": p.embedding_size, "threshold": p.default_threshold, "title": p.title}
        for p in list_packs()
    ], 0


def cmd_models_install(args: argparse.Namespace) -> tuple[Any, int]:
    from .biometrics import install_pack, pack_info

    info = pack_info(args.pack)
    if info.requires_consent and not args.accept_licence:
        if not sys.stdin.isatty():
            raise UsageError(f"pack '{info.name}': {info.licence_notice} Pass --accept-licence to install it")
        print(info.licence_notice, file=sys.stderr)
        if input("Install under these terms? Type 'yes': ").strip().lower() != "yes":
            raise UsageError("cancelled; nothing was installed")
    installed = install_pack(args.pack, source=args.source, progress=None if args.json else _progress_bar(info.name))
    if not args.json:
        print(file=sys.stderr)
    return {"status": "installed", "pack": installed.name, "location": str(installed.location)}, 0


def _progress_bar(name: str):
    def show(done: int, total: int | None) -> None:
        if total:
            filled = int(30 * done / total)
            sys.stderr.write(f"\r{name}: [{'#' * filled}{'.' * (30 - filled)}] {done * 100 // total:3d}%")
        else:
            sys.stderr.write(f"\r{name}: {done // 1024} KiB")
        sys.stderr.flush()

    return show


def cmd_embed(args: argparse.Namespace) -> tuple[Any, int]:
    from .biometrics import default_pack_name, load_pack, read_image

    pipeline = load_pack(args.pack or default_pack_name())
    return pipeline.embed_report(read_image(args.image)), 0


def register(sub: Any, command: Any) -> None:
    """Add ``models`` and ``embed`` to the main parser (``command`` is cli.py's helper)."""
    models = command("models", None, "model packs: list and install")
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True,
                                    parser_class=type(models))
    actions.add_parser("list", help="the packs and whether they are installed").set_defaults(handler=cmd_models_list)
    install = actions.add_parser("install", help="install a pack, checking every sha256 before use")
    install.add_argument("pack")
    install.add_argument("--from", dest="source", type=Path, metavar="DIR_OR_ZIP",
                         help="copy from a folder or .zip instead of downloading (offline machines)")
    install.add_argument("--accept-licence", action="store_true", help="accept the pack's licence notice")
    install.set_defaults(handler=cmd_models_install)
    threshold = command("threshold", cmd_threshold,
                        "show or choose a pack's match threshold (the window's Settings use the same one)")
    threshold.add_argument("value", nargs="?", type=float, help="the new threshold, within the policy's range")
    threshold.add_argument("--pack", help="model pack (default: the installed default)")
    threshold.add_argument("--clear", action="store_true", help="back to the pack's measured default")
    embed = command("embed", cmd_embed, "diagnostic: every face in a photo with box, landmarks and embedding")
    embed.add_argument("image", type=Path)
    embed.add_argument("--pack", help="model pack (default: the installed default)")
