"""``faceseal calibrate FOLDER``: error rates on the user's own labelled photos, and a threshold to choose.

A thin front end over :mod:`edge_core.ops.calibrate`: it loads the pack,
prints the report, and sets the chosen threshold through the same use case as
``faceseal threshold`` (policy bounds, audit), either from ``--set`` or, at a
terminal, from a prompt. The use case (with its statistics and plotting) is imported when the command runs, not
by every ``faceseal`` start (issue 28).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge_core import ops
from edge_core.biometrics import load_pack, threshold_text
from edge_core.cli.framework import Commands, Reply, answer
from edge_core.cli.models import pack_to_use
from edge_core.cli.prompts import ask

if TYPE_CHECKING:
    from edge_core.ops import calibrate as calibration
    from edge_core.ops.results import ThresholdReport


def _calibrate(args: argparse.Namespace) -> Reply:
    """Calibrate without making a vault: the one in force is read if there is one, and one is made (or opened)
    only to keep a chosen threshold, so a failed calibration leaves a new folder empty."""
    from edge_core.ops import calibrate as calibration

    target = calibration.parse_target(args.set) if args.set else None  # a typo is refused before any work
    pipeline = load_pack(pack_to_use(args))
    det = args.det or Path(f"faceseal-det-{pipeline.pack}.png")
    if ops.vault_exists():
        with ops.open_vault() as vault:
            report = calibration.calibrate(vault, args.folder, pipeline, det)
    else:
        report = calibration.calibrate(None, args.folder, pipeline, det)
    if target is None and not args.json and sys.stdin.isatty():
        print(report.summary())
        choice = ask(f"Use the threshold for which false-accept rate ({', '.join(calibration.target_labels())}; "
                       "Enter keeps the one in force)? ").strip()
        if not choice:
            return answer(report)
        target = calibration.parse_target(choice)
        return answer(_use(report, target))
    if target is not None:
        chosen = _use(report, target)
        return answer({"calibration": report.as_dict(), "threshold": chosen.as_dict()} if args.json
                      else _Both(report, chosen))
    return answer(report)


def _use(report: calibration.Calibration, target: str) -> ThresholdReport:
    from edge_core.ops import calibrate as calibration

    with ops.open_vault() as vault:
        return calibration.use_threshold(vault, report, target)


class _Both:
    """The report followed by the threshold now in force (plain-text output of ``--set``)."""

    def __init__(self, report: calibration.Calibration, chosen: object) -> None:
        self.report, self.chosen = report, chosen

    def summary(self) -> str:
        return f"{self.report.summary()}\nthreshold of pack {self.chosen.pack} is now {threshold_text(self.chosen.threshold)}"


def register(commands: Commands) -> None:
    p = commands.add("calibrate", _calibrate,
                     "error rates on your own labelled photos (a sub-folder per person, or a labels.csv), "
                     "a DET curve, and a threshold for 1 %, 0.1 % or 0.01 % false accepts; with a groups.csv "
                     "(identity,group) beside them, the rates per group with 95 % intervals")
    p.add_argument("folder", type=Path, metavar="FOLDER")
    p.add_argument("--pack", help="the model pack to calibrate (default: the one in use)")
    p.add_argument("--det", type=Path, metavar="PNG", help="where to write the DET curve (default ./faceseal-det-PACK.png)")
    p.add_argument("--set", metavar="RATE", help="choose the threshold for this false-accept rate: 1%%, 0.1%% or 0.01%%")
