"""Every ELF file of the bundle must declare a stack that is not executable.

An ELF object without a ``PT_GNU_STACK`` program header is taken by the loader
to need an executable stack. glibc 2.41 (Debian 13, Fedora 42) refuses to load
such a library into a process whose stack is not executable, so one library
lacking the header (the ICU data ``slim`` used to relink with plain ``ld``) kept
the installed window from starting at all, while older glibc let it pass. The
build refuses any such file, and any that asks for an executable stack
(``RWE``), naming them, rather than ship a bundle that starts on one
distribution and not the next.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
_FILE = re.compile(r"^File: (.+)$", re.M)
_STACK = re.compile(r"^\s*GNU_STACK\s+(?:\S+\s+){5}(R?W?E?)\s", re.M)  # the Flg column
_BATCH = 200


class StackError(Exception):
    """A file of the bundle lacks a non-executable stack; the message names them."""


LOADED_TYPES = (2, 3)  # ET_EXEC, ET_DYN: what the loader maps (relocatable objects have no program headers)


def elf_files(folder: Path) -> list[Path]:
    """The executables and shared objects below ``folder`` (links are left to their targets)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as stream:
                header = stream.read(18)
            if len(header) == 18 and header[:4] == ELF_MAGIC and \
                    int.from_bytes(header[16:18], "little" if header[5] == 1 else "big") in LOADED_TYPES:
                found.append(path)
    return found


def stack_flags(files: list[Path]) -> dict[Path, str | None]:
    """Each file's ``GNU_STACK`` flags as ``readelf`` shows them (``RW``, ``RWE``), or None where it has none."""
    readelf = shutil.which("readelf")
    if readelf is None:
        raise StackError("readelf is not installed (scripts/system-deps.sh installs binutils)")
    flags: dict[Path, str | None] = {}
    for start in range(0, len(files), _BATCH):
        batch = files[start:start + _BATCH]
        shown = subprocess.run([readelf, "-lW", *map(str, batch)], capture_output=True, text=True).stdout
        if len(batch) == 1:
            shown = f"File: {batch[0]}\n{shown}"
        starts = list(_FILE.finditer(shown))
        for index, match in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(shown)
            stack = _STACK.search(shown, match.end(), end)
            flags[Path(match.group(1))] = stack.group(1) if stack else None
    return {path: flags.get(path) for path in files}


def check_stacks(folder: Path) -> int:
    """Raise :class:`StackError` naming every ELF file below ``folder`` whose stack is executable or undeclared;
    return how many files were checked."""
    files = elf_files(folder)
    bad = [f"{path.relative_to(folder)} ({'no GNU_STACK header' if flags is None else 'executable stack'})"
           for path, flags in stack_flags(files).items() if flags is None or "E" in flags]
    if bad:
        raise StackError(f"{len(bad)} file(s) would need an executable stack, which glibc 2.41 and later refuse "
                         f"to load: {', '.join(bad)}")
    return len(files)
