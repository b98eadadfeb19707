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

from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

ELF_MAGIC = b"\x7fELF"
LOADED_TYPES = (2, 3)  # ET_EXEC, ET_DYN: what the loader maps (relocatable objects have no program headers)
_FLAGS = ((4, "R"), (2, "W"), (1, "E"))  # PF_R, PF_W, PF_X, in the order readelf shows them


class StackError(Exception):
    """A file of the bundle lacks a non-executable stack; the message names them."""


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
    """Each file's ``GNU_STACK`` flags as ``readelf -l`` shows them (``RW``, ``RWE``), or None where it has none,
    read from its program headers with pyelftools."""
    flags: dict[Path, str | None] = {}
    for path in files:
        with path.open("rb") as stream:
            try:
                stack = next((segment for segment in ELFFile(stream).iter_segments()
                              if segment["p_type"] == "PT_GNU_STACK"), None)
            except ELFError as error:
                raise StackError(f"{path.name}: its program headers cannot be read ({error})") from None
        flags[path] = None if stack is None else "".join(letter for bit, letter in _FLAGS if stack["p_flags"] & bit)
    return flags


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
