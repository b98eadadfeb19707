"""``models list``, ``models install`` (licence consent, progress), ``models use`` and the ``embed`` diagnostic.

Every command that runs a pack asks :func:`pack_to_use` which one: the rule is
ops's (``--pack``, else the vault's chosen pack, else the default, else an
installed stand-in), the notice when a pack stands in for another is this
front end's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from typing import TYPE_CHECKING

from edge_core import ops
from edge_core.biometrics import install_pack, list_packs, load_pack, pack_info, read_image
from edge_core.cli.framework import Commands, Reply, answer
from edge_core.cli.prompts import confirm
from edge_core.errors import FaceSealError
from edge_core.support import database

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

HOW_TO_CHOOSE = "choose one with 'faceseal models use PACK'"


def pack_to_use(args: argparse.Namespace, vault: Vault | None = None) -> str:
    """The pack this command runs (``args.pack`` or ops's choice); a pack standing in for another is said on stderr.

    Without ``vault`` the choice is read from the vault if there is one (nothing is created)."""
    used = ops.pack_in_use(ops.chosen_pack(vault), args.pack) if vault is not None else ops.pack_for(args.pack)
    notice = used.notice(HOW_TO_CHOOSE)
    if notice:
        print(f"faceseal: note: {notice}", file=sys.stderr)
    return used.pack


def pack_in_use_here() -> tuple[ops.PackInUse, str | None]:
    """The pack in use with the vault's choice, read as any reading command reads it (a read-only open: some
    15 ms with a file or keychain root), and ``None``; or, when the vault cannot be opened (locked, its key or
    the token's PIN missing), the pack used without a choice and why the choice was not read. A locked or
    unreadable vault (a damaged database too) stops neither ``models list`` (what ``make models`` reads) nor
    ``--version`` (what a bug report about that vault quotes)."""
    try:
        return ops.pack_for(), None
    except (FaceSealError, database.Error) as error:
        why = database.translate(error) if isinstance(error, database.Error) else error
        return ops.pack_in_use(None), f"the vault's chosen pack cannot be read ({why})"


def _list(args: argparse.Namespace) -> Reply:
    """Every pack, the one in use marked (:func:`pack_in_use_here`)."""
    used, unread = pack_in_use_here()
    if unread:
        print(f"faceseal: note: {unread}; 'in_use' is the pack used without a choice", file=sys.stderr)
    return answer([
        {"name": p.name, "installed": p.installed, "default": p.name == used.default, "in_use": p.name == used.pack,
         "chosen": p.name == used.chosen, "licence": p.licence, "embedding_size": p.embedding_size,
         "threshold": p.default_threshold, "title": p.title}
        for p in list_packs()
    ])


def _use(args: argparse.Namespace) -> Reply:
    ops.check_usable(args.pack)  # refused before any vault is opened (or made)
    with ops.open_vault() as vault:
        return answer(ops.use_pack(vault, args.pack))


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
    pipeline = load_pack(pack_to_use(args))
    return answer(pipeline.embed_report(read_image(args.image)))


def register(commands: Commands) -> None:
    commands.group("models", "model packs: list, install and choose the one in use")
    commands.add("models list", _list, "the packs, whether they are installed, and which one is in use")
    p = commands.add("models install", _install, "install a pack, checking every sha256 before use")
    p.add_argument("pack")
    p.add_argument("--from", dest="source", type=Path, metavar="DIR_OR_ZIP",
                   help="copy from a folder or .zip instead of downloading (offline machines)")
    p.add_argument("--accept-licence", action="store_true", help="accept the pack's licence notice")
    p = commands.add("models use", _use,
                     "choose the installed pack that enrols and matches (the window's Settings use the same choice)")
    p.add_argument("pack")
    p = commands.add("embed", _embed, "diagnostic: every face in a photo with box, landmarks and embedding")
    p.add_argument("image", type=Path)
    p.add_argument("--pack", help="model pack (default: the one in use, see 'faceseal models list')")
