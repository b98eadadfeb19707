"""The build refuses a bundle holding a library whose stack is executable or undeclared.

glibc 2.41 (Debian 13, Fedora 42) will not load such a library into a process
with a non-executable stack: the ICU data relinked by ``slim`` without
``-z noexecstack`` kept the installed window from starting there. These
libraries are linked here with the real ``ld`` exactly as that one was (a data
object with no ``.note.GNU-stack``), and the real ICU relink is checked too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from slim import SlimError, shrink_icu_data, tool
from stack_check import StackError, check_stacks, elf_files, stack_flags


def _link(folder: Path, name: str, *flags: str) -> Path:
    """A shared library of pure data, linked like genccode's output (its object declares no stack)."""
    (folder / "blob").write_bytes(bytes(range(256)) * 4)
    subprocess.run(["ld", "-r", "-b", "binary", "-o", str(folder / "blob.o"), "blob"], cwd=folder, check=True)
    library = folder / name
    subprocess.run(["ld", "-shared", *flags, "-o", str(library), str(folder / "blob.o")], check=True)
    (folder / "blob.o").unlink()
    (folder / "blob").unlink()
    return library


def test_a_library_without_gnu_stack_or_with_an_executable_one_is_refused_by_name(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle" / "_internal"
    bundle.mkdir(parents=True)
    good = _link(bundle, "libgood.so", "-z", "noexecstack")
    assert check_stacks(tmp_path / "bundle") == 1  # a sound bundle passes, and the library was looked at
    missing = _link(bundle, "libicudata.so.73")
    executable = _link(bundle, "libexec.so", "-z", "execstack")
    assert stack_flags([good, missing, executable]) == {good: "RW", missing: None, executable: "RWE"}
    with pytest.raises(StackError) as refused:
        check_stacks(tmp_path / "bundle")
    message = str(refused.value)
    assert "_internal/libicudata.so.73 (no GNU_STACK header)" in message
    assert "_internal/libexec.so (executable stack)" in message and "libgood.so" not in message


def test_only_what_the_loader_maps_is_checked(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not ELF")
    (tmp_path / "blob").write_bytes(b"\0" * 64)
    subprocess.run(["ld", "-r", "-b", "binary", "-o", "data.o", "blob"], cwd=tmp_path, check=True)
    (tmp_path / "link.so").symlink_to("data.o")
    assert elf_files(tmp_path) == []  # a relocatable object has no program headers to declare a stack in


@pytest.mark.skipif(tool("icupkg") is None or tool("genccode") is None, reason="icu-devtools is not installed")
def test_the_icu_data_slim_relinks_declares_a_stack_that_is_not_executable(tmp_path: Path) -> None:
    import PySide6

    system = sorted(Path(PySide6.__file__).parent.glob("Qt/lib/libicudata.so.*"))
    if not system:
        pytest.skip("this PySide6 wheel bundles no ICU data")
    library = tmp_path / system[0].name
    library.write_bytes(system[0].read_bytes())
    try:
        shrink_icu_data(library, sys.executable)
    except SlimError as error:  # Qt must answer the same with the cut data: a failure here is a real one
        pytest.fail(str(error))
    assert stack_flags([library]) == {library: "RW"}
