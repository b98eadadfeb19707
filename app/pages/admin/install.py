"""Installing a model pack from the window: the licence consent first when the pack needs it, then the install
off the UI thread with its progress dialog; and choosing the pack in use. Shared by Settings (the quick way out
of "no pack") and Admin › Models, so both ask the same question and show the same progress and outcome."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from app.session import Session
from app.widgets.banner import Banner
from app.widgets.confirm import ConfirmDialog
from app.widgets.progress import WorkProgress
from app.workers import Reporter, Task
from edge_core.biometrics import PackInfo, install_pack
from edge_core.ops import PackChoice


class Installing(Protocol):
    """A page or section that installs: its banner, its ``run``, and where the dialogs are kept (tests look)."""

    banner: Banner
    dialog: ConfirmDialog | None
    progress: WorkProgress | None
    session: Session

    def run(self, fn: Callable[[Reporter], Any], done: Callable[[Any], None],
            failed: Callable[[str], None] | None = None,
            watch: Callable[[Task], None] | None = None) -> Task: ...


def downloadable(info: PackInfo) -> bool:
    """Whether every file of the pack has a download address: only then is a download offered (no shipped pack
    has yet: the face-mesh conversions have none, so packs come from a folder or a .zip)."""
    return all(spec.url for spec in info.files)


def install(owner: Installing, info: PackInfo, source: Path | None, done: Callable[[PackInfo], None]) -> None:
    """Ask for the licence consent when ``info`` needs it, then install from ``source`` (None: download).

    ``owner`` is the page or section (a widget) the dialogs belong to.
    """
    if not info.requires_consent:
        _start(owner, info, source, done)
        return
    owner.dialog = ConfirmDialog(owner, f"Licence of pack '{info.name}'",  # type: ignore[arg-type]
                                 info.licence_notice, "I accept, install it")
    owner.dialog.accepted.connect(lambda: _start(owner, info, source, done))
    owner.dialog.open()


def _start(owner: Installing, info: PackInfo, source: Path | None, done: Callable[[PackInfo], None]) -> None:
    owner.banner.clear()
    what = f"Checking and installing '{info.name}'…" if source is not None else \
        f"Downloading '{info.name}' and checking every file…"

    def watch(task: Task) -> None:
        owner.progress = WorkProgress(owner, "Installing model pack", what, task)  # type: ignore[arg-type]

    owner.run(lambda reporter: install_pack(info.name, source, reporter.progress), done, watch=watch)


def use(owner: Installing, name: str, before: str = "", done: Callable[[], None] | None = None) -> None:
    """Make pack ``name`` the one in use for every front end (``ops.use_pack``, off the UI thread) and say so on
    ``owner``'s banner after ``before`` (what was done first), with who must be enrolled again to be recognised."""

    def used(choice: PackChoice) -> None:
        text = f"{before}Model pack '{choice.pack}' is now in use, here and by the command line (kept in the vault)."
        for pack, count in sorted(choice.stranded.items()):
            text += (f" {count} {'person is' if count == 1 else 'people are'} enrolled with {pack}: enrol them "
                     f"again to recognise them with {choice.pack}.")
        owner.banner.show_message("warning" if choice.stranded else "success", text)
        owner.session.notify()

    def refused(message: str) -> None:
        owner.banner.show_message("error", before + message)
        if done is not None:
            done()

    owner.run(lambda _reporter: owner.session.use_pack(name), used, refused)
