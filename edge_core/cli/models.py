"""``models list``, ``models install`` (licence consent, progress) and the ``embed`` diagnostic."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from edge_core.biometrics import default_pack_name, install_pack, list_packs, load_pack, pack_info, read_image
from edge_core.cli.framework import Commands, Reply, answer
from edge_core.cli.prompts import confirm


def _list(args: argparse.Namespace) -> Reply:
    default = default_pack_name()
    return answer([
        {"name": p.name, "installed": p.installed, "default": p.name == default, "licence": p.licence,
         "embedding_size": p.embedding_size, "threshold": p.default_threshold, "title": p.title}
        for p in list_packs()
    ])


def _install(args: argparse.Namespace) -> Reply:
    info = pack_info(args.pack)
    if info.requires_consent:
        confirm(args.accept_licence, f"pack '{info.name}': {info.licence_notice}", flag="--accept-licence",
                stakes="Install under these terms?")
    installed = install_pack(args.pack, source=args.source, progress=None if args.json else _progress_bar(info.name))
    if not args.json:
        print(file=sys.stderr)
    return answer({"status": "installed", "pack": installed.name, "location": str(installed.location)})


def _progress_bar(name: str) -> Callable[[int, int | None], None]:
    def show(done: int, total: int | None) -> None:
        if total:
            filled = int(30 * done / total)
            sys.stderr.write(f"\r{name}: [{'#' * filled}{'.' * (30 - filled)}] {done * 100 // total:3d}%")
        else:
            sys.stderr.write(f"\r{name}: {done // 1024} KiB")
        sys.stderr.flush()

    return show


def _embed(args: argparse.Namespace) -> Reply:
    pipeline = load_pack(args.pack or default_pack_name())
    return answer(pipeline.embed_report(read_image(args.image)))


def register(commands: Commands) -> None:
    commands.group("models", "model packs: list and install")
    commands.add("models list", _list, "the packs and whether they are installed")
    p = commands.add("models install", _install, "install a pack, checking every sha256 before use")
    p.add_argument("pack")
    p.add_argument("--from", dest="source", type=Path, metavar="DIR_OR_ZIP",
                   help="copy from a folder or .zip instead of downloading (offline machines)")
    p.add_argument("--accept-licence", action="store_true", help="accept the pack's licence notice")
    p = commands.add("embed", _embed, "diagnostic: every face in a photo with box, landmarks and embedding")
    p.add_argument("image", type=Path)
    p.add_argument("--pack", help="model pack (default: the installed default)")
