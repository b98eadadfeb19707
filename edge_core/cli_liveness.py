"""Command-line glue for ``faceseal verify``: liveness from a camera or video file, "not live" otherwise.

``verify NAME --camera N --liveness`` runs the challenge session on the
camera; ``--video FILE --liveness`` runs it on a file (for tests: the file's
frame rate turns time limits into frame budgets, and FACESEAL_LIVENESS_SEED
fixes the challenge order, honoured for video files only, never for a
camera; ``verification.check_liveness`` decides both, for the window too).
A camera without ``--liveness`` is refused while the policy requires
liveness (the default). Everything else is verified as before and marked
``"live": false``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import policy
from .cli_biometrics import probe_from, threshold_for
from .errors import PolicyViolation, UsageError
from .vault import Vault

CAMERA_FRAMES = 1800
"""A camera session stops after this many frames whatever the clock says (a minute at 30 fps)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--liveness", action="store_true",
                        help="ask for head movements first, so a photo or a screen cannot pass (camera or video)")


def _source_name(args: argparse.Namespace) -> str:
    if args.camera is not None:
        return "camera"
    if args.video is not None:
        return "video"
    return "photo" if args.image is not None else "embedding"


def _show(progress: Any) -> None:
    sys.stderr.write(f"\r[{progress.step}/{progress.steps}] {progress.prompt:<40}")
    sys.stderr.flush()


def verify(args: argparse.Namespace) -> dict[str, Any]:
    """The ``verify`` answer: the match, ``live``, and with ``--liveness`` the session's outcome."""
    source = _source_name(args)
    if args.liveness and source not in ("camera", "video"):
        raise UsageError("--liveness needs a moving picture: use it with --camera N or --video FILE")
    from .liveness import verification

    with Vault.open() as vault:
        if source == "camera" and not args.liveness and policy.liveness_required(vault):
            raise PolicyViolation(
                "verifying from a camera needs a liveness check: add --liveness (the policy requires it; "
                "'faceseal policy set liveness_required=false' lifts that)"
            )
        if not args.liveness:
            probe = probe_from(args, enrol=False)
            threshold = threshold_for(args, vault, probe.pack, probe.default_threshold)
            return verification.verify_not_live(vault, args.name, probe.vectors[0], probe.pack, threshold, source)
        verification.identity_id(vault, args.name)  # unknown or locked out: say so before the camera opens
        pipeline, liveness = _session(args)
        threshold = threshold_for(args, vault, pipeline.pack, pipeline.threshold)
        return verification.verify_after_liveness(vault, args.name, liveness, pipeline.pack, threshold, source)


def _session(args: argparse.Namespace):
    from .biometrics import Camera, VideoFile, default_pack_name, load_pack
    from .liveness.verification import check_liveness

    pipeline = load_pack(args.pack or default_pack_name())
    video = args.video is not None
    frames = VideoFile(args.video) if video else Camera(args.camera, max_frames=CAMERA_FRAMES)
    interactive = sys.stderr.isatty() and not args.json
    result = check_liveness(pipeline, frames, video=video, fps=frames.fps if video else None,
                            on_progress=_show if interactive else None)
    if interactive:
        sys.stderr.write("\n")
    return pipeline, result
