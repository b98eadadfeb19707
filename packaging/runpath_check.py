"""No ELF file of the bundle may tell the loader to look for libraries outside the bundle.

A ``DT_RUNPATH`` or ``DT_RPATH`` names folders the loader searches before the
system's, for every library the file needs. The build machine's Python leaves
its own ``lib`` folder in libpython and its ``lib-dynload`` modules
(``/root/.pyenv/versions/3.11.7/lib``), and so does what links against it
(tpm2-pytss's extension). Built under an ordinary user's home, that folder would
be one that user, or anyone who later gets that user name on a target machine,
could create there, and every installed FaceSeal would load libraries from it.
``$ORIGIN``-relative folders that stay inside the bundle (auditwheel's
``$ORIGIN/../numpy.libs``) are what makes the bundle find its own libraries and stay;
anything else (absolute folders, ``$ORIGIN`` climbing out, an empty entry, which
means the current folder, or ``$LIB``/``$PLATFORM``) is refused. ``slim.confine_runpaths``
removes them; this check refuses a bundle that still has one, naming the files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from stack_check import elf_files

_ORIGIN = re.compile(r"^\$(ORIGIN|\{ORIGIN\})(?=/|$)")


class RunpathError(Exception):
    """A file of the bundle searches for libraries outside it; the message names the files and folders."""


def search_path(path: Path) -> tuple[str, list[str]] | None:
    """``("RUNPATH" | "RPATH", entries)`` of an ELF file, or None when it has neither (read with pyelftools)."""
    with path.open("rb") as stream:
        try:
            for section in ELFFile(stream).iter_sections():
                if isinstance(section, DynamicSection):
                    for tag in section.iter_tags():
                        if tag.entry.d_tag == "DT_RUNPATH":
                            return "RUNPATH", tag.runpath.split(":")
                        if tag.entry.d_tag == "DT_RPATH":
                            return "RPATH", tag.rpath.split(":")
        except ELFError as error:
            raise RunpathError(f"{path.name}: its dynamic section cannot be read ({error})") from None
    return None


def inside(entry: str, file: Path, bundle: Path) -> bool:
    """Whether a search-path ``entry`` of ``file`` is a folder of ``bundle``: ``$ORIGIN``-relative and not climbing
    out of it (the bundle moves as a whole, so only ``$ORIGIN`` names the same place on every machine)."""
    if not _ORIGIN.match(entry) or "$" in _ORIGIN.sub("", entry):
        return False
    folder = os.path.normpath(_ORIGIN.sub(lambda _: str(file.parent.absolute()), entry))
    return Path(folder).is_relative_to(bundle.absolute())


def outside_entries(bundle: Path, files: list[Path] | None = None) -> dict[Path, tuple[str, list[str], list[str]]]:
    """Each ELF file below ``bundle`` (or each of ``files``) whose search path leaves it:
    ``(kind, entries inside, entries outside)``."""
    found = {}
    for path in elf_files(bundle) if files is None else files:
        read = search_path(path)
        if read is None:
            continue
        kind, entries = read
        outside = [entry for entry in entries if not inside(entry, path, bundle)]
        if outside:
            found[path] = (kind, [entry for entry in entries if entry not in outside], outside)
    return found


def check_runpaths(bundle: Path) -> int:
    """Raise :class:`RunpathError` naming every ELF file below ``bundle`` that searches outside it; return how many
    files were checked."""
    files = elf_files(bundle)
    bad = [f"{path.relative_to(bundle)} ({kind} {':'.join(outside)})"
           for path, (kind, _, outside) in outside_entries(bundle, files).items()]
    if bad:
        raise RunpathError(f"{len(bad)} file(s) would load libraries from folders outside the installed bundle, "
                           f"which another user of a target machine could create: {', '.join(bad)}")
    return len(files)
