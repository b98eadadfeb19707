"""``faceseal pad-eval --media DIR --labels FILE.csv``: the passive liveness signals on labelled recordings.

A thin front end over :mod:`edge_core.ops.padeval`: it loads the pack, takes
the risk bands of the policy in force (the defaults when there is no vault
yet; none is made), shows which file is being judged at a terminal, and
prints the per-item table and APCER/BPCER, or ``--json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge_core import ops
from edge_core.biometrics import default_pack_name, load_pack
from edge_core.cli.framework import Commands, Reply, answer
from edge_core.liveness import RiskBands
from edge_core.ops import padeval


def _bands() -> RiskBands:
    if not ops.vault_exists():
        return RiskBands()
    with ops.open_vault(reading=True) as vault:
        return ops.liveness_bands(vault)


def _pad_eval(args: argparse.Namespace) -> Reply:
    padeval.read_labels(args.media, args.labels)  # a bad CSV is refused before the models load
    pipeline = load_pack(args.pack or default_pack_name())
    shown = not args.json and sys.stderr.isatty()

    def show(done: int, total: int, file: str) -> None:
        sys.stderr.write(f"\r{f'judging {done + 1} of {total}: {file}':<78.78}")
        sys.stderr.flush()

    report = padeval.evaluate(args.media, args.labels, pipeline, _bands(), show if shown else None)
    if shown:
        sys.stderr.write("\n")
    return answer(report)


def register(commands: Commands) -> None:
    p = commands.add("pad-eval", _pad_eval,
                     "judge labelled videos and photos (a CSV: file,label,species; label bona_fide or attack) with "
                     "the passive liveness signals a session uses, without challenges: per item the band, risk and "
                     "each signal; APCER per attack species and BPCER with 95 % intervals")
    p.add_argument("--media", type=Path, required=True, metavar="DIR", help="the folder holding the files")
    p.add_argument("--labels", type=Path, required=True, metavar="FILE.csv",
                   help="columns file,label,species (file relative to DIR); other columns are ignored")
    p.add_argument("--pack", help="the model pack (default: the default pack)")
