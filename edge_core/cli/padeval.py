"""``faceseal pad-eval``: the passive liveness signals on labelled recordings, from a folder or the camera.

A thin front end over :mod:`edge_core.ops.padeval` and :mod:`edge_core.ops.padtest`:
``--media DIR --labels FILE.csv`` judges files (with the policy's bands, the
defaults when there is no vault yet and no ``--out``: none is made);
``--camera`` guides a person at the terminal through :func:`padtest.plan`'s
attempts, Enter before each; ``--out`` signs either report with the device
key; ``pad-eval verify REPORT.json`` checks one offline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from itertools import islice
from edge_core import ops
from edge_core.biometrics import Camera, VideoFile, camera_index, default_pack_name, load_pack
from edge_core.cli.framework import Commands, Parser, Reply, answer
from edge_core.biometrics.errors import CameraUnavailable
from edge_core.errors import UsageError
from edge_core.liveness import RiskBands
from edge_core.ops import padeval, padtest
from edge_core.ops.padeval import ModelMaker



def _judging() -> tuple[RiskBands, ModelMaker]:
    """The policy's bands and attack models, read with the vault held only for that (the defaults when there is
    none yet)."""
    if not ops.vault_exists():
        return padtest.judging(None)
    with ops.open_vault(reading=True) as vault:
        return padtest.judging(vault)


def _pad_eval(args: argparse.Namespace) -> Reply:
    if args.pad_eval_action == "verify":
        return answer(padtest.verify_report(args.report, args.device_key))
    if args.pad_eval_action == "recordings":
        if args.delete is None:
            with ops.open_vault(reading=True) as vault:
                return answer(padtest.recordings(vault))
        with ops.open_vault() as vault:
            return answer(padtest.delete_recordings(vault, None if args.delete == "all" else args.delete))
    camera = args.camera is not None or args.camera_video is not None
    if camera == (args.media is not None):
        raise UsageError("give --media DIR --labels FILE.csv, or --camera (the guided test at your camera)")
    if (args.media is None) != (args.labels is None):
        raise UsageError("--media DIR and --labels FILE.csv go together")
    if not camera and args.keep:
        raise UsageError("--keep keeps what the camera recorded: it goes with --camera")
    if camera and args.out is None:
        raise UsageError("the guided test at the camera needs --out REPORT.json, where its signed report goes")
    if args.out is not None:
        padtest.check_out(args.out)
    return _guided(args) if camera else _media(args)


def _media(args: argparse.Namespace) -> Reply:
    padeval.read_labels(args.media, args.labels)  # a bad CSV is refused before the models load
    pipeline = load_pack(args.pack or default_pack_name())
    shown = not args.json and sys.stderr.isatty()

    def show(done: int, total: int, file: str) -> None:
        sys.stderr.write(f"\r{f'judging {done + 1} of {total}: {file}':<78.78}")
        sys.stderr.flush()

    bands, models = _judging()
    report = padeval.evaluate(args.media, args.labels, pipeline, bands, show if shown else None, models)
    if shown:
        sys.stderr.write("\n")
    if args.out is None:
        return answer(report)
    with ops.open_vault() as vault:  # held for the signing only, never while the files are judged
        return answer(padtest.sign_report(vault, report, source="media", pack=pipeline.pack, out=args.out))


def _camera(args: argparse.Namespace) -> Camera | VideoFile:
    """The camera (or the video standing in for it), opened now so a missing one is said before the models load."""
    if args.camera_video is not None:
        return VideoFile(args.camera_video)
    try:
        return Camera(args.camera, max_frames=None)
    except CameraUnavailable:
        raise CameraUnavailable(f"no camera found at index {args.camera}; connect one or choose another with "
                                "--camera N, or judge recorded files with --media DIR --labels FILE.csv") from None


def _guided(args: argparse.Namespace) -> Reply:
    """At the terminal: say what to present, wait for Enter, record and judge; then sign the report."""
    steps = padtest.numbered(padtest.plan(args.attempts))
    padtest.attempt_frames(args.seconds, None)  # a bad length is refused before the models load
    source = _camera(args)
    attempts = []
    try:
        pipeline = load_pack(args.pack or default_pack_name())
        bands, models = _judging()
        wanted = padtest.attempt_frames(args.seconds, source.fps)
        frames = iter(source)
        for number, (step, name) in enumerate(steps, start=1):
            print(f"[{number}/{len(steps)}] {step.ask} Press Enter to record {args.seconds:g} s.",
                  file=sys.stderr, flush=True)
            if not sys.stdin.readline():
                raise UsageError("the guide waits for Enter before each attempt, and the input ended: "
                                 "nothing was recorded or kept")
            attempt = padtest.record(step, name, islice(frames, wanted), source.fps, pipeline, bands, keep=args.keep,
                                     models=models)
            if attempt.item.frames == 0:
                raise UsageError(f"{source.description} gave no more frames at attempt {number}: nothing was "
                                 "recorded or kept")
            attempts.append(attempt)
    finally:
        source.close()
    with ops.open_vault() as vault:  # held for the signing only, never while the person records (as the window)
        return answer(padtest.camera_report(vault, attempts, bands, pipeline.pack, args.out))


def register(commands: Commands) -> None:
    p = commands.add("pad-eval", _pad_eval,
                     "a spoof test: judge labelled videos and photos (--media with a CSV: file,label,species; label "
                     "bona_fide or attack), or be guided through bona fide and attack attempts at your camera "
                     "(--camera), with the passive liveness signals a session uses, without challenges: per item "
                     "the band, risk and each signal; APCER per attack species and BPCER with 95 % intervals, a "
                     "suggested risk band; --out signs the report with the device key")
    p.add_argument("--media", type=Path, metavar="DIR", help="the folder holding the files")
    p.add_argument("--labels", type=Path, metavar="FILE.csv",
                   help="columns file,label,species (file relative to DIR); other columns are ignored")
    p.add_argument("--camera", type=camera_index, nargs="?", const=0, metavar="CAMERA",
                   help="the guided test at a camera: its index (0 when left out), /dev/videoN or its name")
    p.add_argument("--camera-video", type=Path, metavar="FILE",
                   help="a video file standing in for the camera, read on from attempt to attempt (demos, tests)")
    p.add_argument("--attempts", type=int, default=2, metavar="N",
                   help=f"attempts of each kind at the camera: bona fide and each attack (1 to "
                        f"{padtest.MAX_ATTEMPTS}; default 2)")
    p.add_argument("--seconds", type=float, default=padtest.ATTEMPT_SECONDS, metavar="S",
                   help=f"how long each attempt records (default {padtest.ATTEMPT_SECONDS:g})")
    p.add_argument("--keep", action="store_true",
                   help="keep the recordings, sealed in the vault (else they are gone once judged)")
    p.add_argument("--out", type=Path, metavar="REPORT.json",
                   help="write the report signed by the device key to this new file")
    p.add_argument("--pack", help="the model pack (default: the default pack)")
    actions = p.add_subparsers(dest="pad_eval_action", metavar="ACTION", parser_class=Parser)
    check = actions.add_parser("verify", help="check a signed report offline (exit 4 when it must not be believed)",
                               description="check a signed spoof-test report offline: its signature under the key it "
                                           "carries, and with --device-key that key")
    check.add_argument("report", type=Path, metavar="REPORT.json")
    check.add_argument("--device-key", metavar="FINGERPRINT|KEY.pem",
                       help="the device key it must be signed with (the fingerprint 'faceseal status' shows on "
                            "the device that made it)")
    kept = actions.add_parser("recordings", help="the recordings --keep sealed in the vault, per report; --delete them",
                              description="the spoof-test recordings --keep sealed in the vault, per report")
    kept.add_argument("--delete", metavar="REPORT_ID|all", help="delete one report's recordings, or all of them "
                                                              "(audited)")
