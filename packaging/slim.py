"""Make the Linux bundle lighter after PyInstaller, without changing what it can do.

The steps, each measured in docs/PERFORMANCE.md:

* **Shared objects stripped** of debug info and of the symbols only a debugger
  reads (the Python runtime, SQLCipher, python-pkcs11, cryptography, ...):
  ``strip --strip-unneeded`` keeps every symbol the dynamic linker needs. Files
  auditwheel patched (grafted into a ``<dist>.libs/`` folder, or given an RPATH
  into one) are stripped only if the stripped copy still loads: patchelf
  rewrote their program headers, and ``strip`` can turn those into a file the
  loader refuses ("ELF load command address/offset not page-aligned").
* **ICU data cut to what Qt reads.** Qt links ICU and ICU links its data, a
  32 MB table of every locale, converter and dictionary. Qt formats numbers and
  dates with its own CLDR tables; through ICU it only collates, case-maps, names
  time zones and converts legacy encodings. FaceSeal's text is English and its
  files UTF-8, so the data keeps the root and English locales (collation, zones)
  and drops the other locales, the legacy code-page converters and everything
  Qt never calls (break iterators, transliterators, ...): ICU's own tools
  (``icupkg``, ``genccode``) rebuild the archive and ``ld`` links it under the
  same soname and symbol, and ``linux/icu_check.py`` must get the same answers
  from Qt (collation, case mapping, time-zone names) with it as with the full data.
* **One ICU.** PySide6 brings ICU 73 for Qt, PyICU links the system's (72 on
  Debian 12), which the bundle carries too: Qt's calls (31 stable C functions)
  go to the latter through a bridge under Qt's ICU sonames (``share_icu``).
* **No OpenBLAS.** OpenCV's wheel brings its own OpenBLAS (38 MB), NumPy's
  another (25 MB, with its Fortran runtime 28 MB). The bundle's NumPy is built
  without one (``packaging/numpy_noblas.py``), and ``linux/blas_shim.c`` is
  compiled under the soname cv2 asks for and takes the place of OpenCV's: its
  LAPACK routines and matrix products are answered by the system's LAPACK and
  BLAS (``liblapack.so.3``, ``libblas.so.3``), which the packages depend on;
  ``linux/blas_check.py`` compares OpenCV's results with NumPy's before the
  bundle is packed. Libraries grafted into a ``<dist>.libs/`` folder that no
  file needs any more (OpenBLAS's own Fortran runtime) go too.
* **System twins.** Pillow grafts its own libXau, libxcb and libzstd, which
  the bundle already loads from the system for Qt: a forwarder under the
  grafted name links the system's copy (``forward_system_twins``).
* **No libaom, no libvpx.** OpenCV reads AVIF photos through libavif, and
  libavif links libaom (8.1 MB), its AV1 encoder and decoder; OpenCV's FFmpeg
  links libvpx (3.7 MB) to encode VP8/VP9 and as a second decoder of them.
  FaceSeal promises JPEG, PNG, BMP, WebP and TIFF photos and writes no video,
  and FFmpeg's own decoders read VP8/VP9 videos: ``linux/aom_stub.c`` and
  ``linux/vpx_stub.c`` are compiled under those sonames and take their place,
  every entry point answering "incapable", so an AVIF photo reads as an
  unreadable file, as with an OpenCV built without AVIF. ``linux/codec_check.py``
  checks every promised photo format and VP8/VP9 videos still decode.
* **Search paths inside the bundle.** libpython, the ``lib-dynload`` modules and
  what links them carry the build machine's Python folder as RUNPATH; patchelf
  removes every entry that leaves the bundle (``confine_runpaths``, and
  ``runpath_check.py`` refuses a bundle that still has one).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from runpath_check import RunpathError, check_runpaths, outside_entries  # packaging/*.py, beside this module
from stack_check import StackError, check_stacks

_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]*)*\.res$")
"""A locale's resource bundle (``de.res``, ``zh_Hant_TW.res``, ``es_.res``), as opposed to
ICU's own tables (``root.res``, ``supplementalData.res``, ``zoneinfo64.res``, ...)."""


class SlimError(Exception):
    """A slimming step failed; the message says which tool and why."""


HERE = Path(__file__).resolve().parent


def slim(bundle: Path, python: str) -> None:
    """Strip, shrink the ICU data and put the system's BLAS under OpenCV in the onedir ``bundle``, in place.

    ``python`` is the interpreter the bundle was frozen from: it runs the BLAS check.
    """
    strip_shared_objects(bundle, python)
    bridge = share_icu(bundle / "_internal", python)
    for data in (bundle / "_internal").rglob("libicudata.so.*"):
        if data.is_file() and not data.is_symlink() and data not in bridge:
            shrink_icu_data(data, python, preload=bridge)
    share_blas(bundle / "_internal", python)
    drop_unused_codecs(bundle / "_internal", python)
    forward_system_twins(bundle / "_internal", python)
    drop_unneeded_grafts(bundle / "_internal")
    confine_runpaths(bundle)
    try:
        check_stacks(bundle)
        check_runpaths(bundle)
    except (StackError, RunpathError) as error:
        raise SlimError(str(error)) from None


def confine_runpaths(bundle: Path) -> list[Path]:
    """Drop every RUNPATH/RPATH entry that leaves ``bundle`` (runpath_check.py says why), with patchelf, keeping the
    ``$ORIGIN``-relative ones inside it and the kind of tag (an RPATH also serves the libraries a library loads, a
    RUNPATH does not); returns the files changed. Done last, after ``strip``, which can break patchelf's rewrite."""
    changed = outside_entries(bundle)
    for path, (kind, kept, _) in changed.items():
        if kept:
            _run("patchelf", *(["--force-rpath"] if kind == "RPATH" else []), "--set-rpath", ":".join(kept), str(path))
        else:
            _run("patchelf", "--remove-rpath", str(path))
    return list(changed)


def strip_shared_objects(bundle: Path, python: str) -> None:
    for path in sorted(bundle.rglob("*.so*")):
        if path.is_symlink() or not path.is_file() or not _is_elf(path):
            continue
        if _patched_by_auditwheel(path):
            _strip_if_it_still_loads(path, python)
        else:
            _run("strip", "--strip-unneeded", str(path))


def _strip_if_it_still_loads(path: Path, python: str) -> None:
    """Strip a copy of an auditwheel-patched file beside it, and keep it only if the loader still takes it.

    patchelf's rewritten program headers survive ``strip`` in most files (Pillow's
    _imaging loses 2.7 MB of symbols) but not in all (NumPy's OpenBLAS): the
    copy is dlopen'ed where the file lives, so its RPATH finds the same libraries.
    """
    copy = path.with_name(f".stripped-{path.name}")
    try:
        _run("strip", "--strip-unneeded", "-o", str(copy), str(path))
        if copy.stat().st_size < path.stat().st_size and subprocess.run(
                [python, "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])", str(copy)],
                capture_output=True).returncode == 0:
            copy.replace(path)
    finally:
        copy.unlink(missing_ok=True)


def _patched_by_auditwheel(path: Path) -> bool:
    if any(p.name.endswith(".libs") for p in path.parents):
        return True
    return re.search(r"\((?:RPATH|RUNPATH)\).*\.libs", _run("readelf", "-d", str(path))) is not None


UNUSED_ICU_FOLDERS = ("brkitr", "translit", "rbnf", "unit", "curr", "lang", "region")
"""Break iterators and their dictionaries, transliterators, spelled-out numbers, unit names and the names of
currencies, languages and regions: Qt calls none of ubrk_*, utrans_*, unum_*, uloc_getDisplay* or the unit
formatters (it imports only ucnv_*, ucol_*, ucal_* and u_strTo{Lower,Upper} from ICU; checked with
``nm -D --undefined-only`` on Qt's libraries, and :func:`share_icu` lists them), nor PyICU's spoof checker."""


def keep_icu_item(item: str) -> bool:
    """Whether an ICU data item (``coll/de.res``, ``gb18030.cnv``) is one Qt can need for FaceSeal."""
    folder, _, name = item.rpartition("/")
    if folder in UNUSED_ICU_FOLDERS or name == "unames.icu" or name.endswith((".cnv", ".spp")):
        return False  # and legacy code pages, character names, stringprep profiles
    # confusables.cfu stays: PyICU's SpoofChecker reads it for the look-alike name rule (edge_core/vault/lookalikes.py)
    if _LOCALE.match(name):
        return name == "en.res" or name.startswith("en_")
    return True


def shrink_icu_data(library: Path, python: str, preload: list[Path] | None = None) -> None:
    """Replace ``library`` (``libicudata.so.<major>``) by one holding only :func:`keep_icu_item` items,
    once Qt and PyICU (in ``python``, with the ``preload`` libraries: :func:`share_icu`'s bridge) answer
    ``linux/icu_check.py`` the same with it as with the full data."""
    major = library.name.split(".so.")[1].split(".")[0]
    symbol = f"icudt{major}_dat"
    offset, size = _symbol_extent(library, symbol)
    with tempfile.TemporaryDirectory(prefix="faceseal-icu-") as scratch:
        work = Path(scratch)
        package = work / f"icudt{major}l.dat"  # icupkg wants the file named like its items' prefix
        with open(library, "rb") as handle:
            handle.seek(offset)
            package.write_bytes(handle.read(size))
        items = _run("icupkg", "-l", str(package)).split()
        (work / "drop.txt").write_text("".join(f"{item}\n" for item in items if not keep_icu_item(item)))
        (work / "out").mkdir()
        _run("icupkg", "-r", str(work / "drop.txt"), str(package), str(work / "out" / package.name))
        _run("genccode", "-q", "-o", "-m", str(library), "-e", f"icudt{major}", "-d", str(work),
             str(work / "out" / package.name))
        rebuilt = work / library.name
        # genccode's object has no .note.GNU-stack: without -z noexecstack the library would ask for an
        # executable stack, which glibc 2.41 refuses (stack_check.py)
        _run("ld", "-shared", "-z", "noexecstack", "-soname", library.name, "-o", str(rebuilt),
             str(work / f"icudt{major}l_dat.o"))
        _symbol_extent(rebuilt, symbol)  # the one symbol libicuuc looks for is exported
        full, cut = (_icu_answers(python, [*(preload or []), *extra]) for extra in ([], [rebuilt]))
        if full.returncode != 0 or cut.returncode != 0 or full.stdout != cut.stdout:
            raise SlimError(f"Qt answers differently with the cut ICU data: {cut.stdout.strip() or cut.stderr.strip()}")
        shutil.copyfile(rebuilt, library)


def _icu_answers(python: str, preload: list[Path]) -> subprocess.CompletedProcess[str]:
    """``linux/icu_check.py`` run with ``preload`` loaded first (each then stands for every library of its soname)."""
    env = dict(os.environ, LD_PRELOAD=" ".join(map(str, preload))) if preload else None
    return subprocess.run([python, str(HERE / "linux" / "icu_check.py")], capture_output=True, text=True, env=env)


_JUMP = {"x86_64": "jmp {target}@PLT", "aarch64": "b {target}"}
"""A tail jump to another library's function, per processor: the arguments pass through untouched, whatever they are."""


def share_icu(internal: Path, python: str) -> list[Path]:
    """Run Qt on the ICU PyICU links, instead of carrying two ICUs; returns the files now under Qt's ICU sonames.

    PySide6 ships its own ICU (73: libicuuc, libicui18n and the data, 10 MB once stripped and cut) and PyICU
    (the look-alike name rule, edge_core/vault/lookalikes.py) is built against the system's (72 on Debian 12), which
    the bundle carries too: its C++ API cannot run on another ICU release, but Qt only calls ICU's C functions,
    whose signatures ICU keeps from release to release (31 of them: ucol_*, ucal_*, ucnv_*, u_strTo*; ICU suffixes
    each name with its major version). So a bridge takes Qt's ``libicuuc.so.<qt>``: for each function Qt imports,
    a jump to the same function of the bundle's other ICU; its ``libicui18n`` and ``libicudata`` become empty
    libraries under their sonames, and Qt's own copies go. Qt's answers (``linux/icu_check.py``: collation, case
    mapping, time-zone names) must not change. Nothing happens when there is no second ICU (or Qt's is the same
    release) or on a processor :data:`_JUMP` has no jump for.
    """
    qt = internal / "PySide6" / "Qt" / "lib"
    own = {p.name: p for p in qt.glob("libicu*.so.*") if p.is_file() and not p.is_symlink()}
    other = {p.name.split(".so.")[0]: p for p in internal.rglob("libicu*.so.*")
             if p.is_file() and not p.is_symlink() and p.parent != qt}
    majors = {name.split(".so.")[1].split(".")[0] for name in own}
    jump = _JUMP.get(os.uname().machine)
    if len(majors) != 1 or not {"libicuuc", "libicui18n"} <= other.keys() or jump is None:
        return []
    qt_major, major = majors.pop(), other["libicuuc"].name.split(".so.")[1].split(".")[0]
    if qt_major == major:
        return []
    provided = {name for path in own.values() for name in _defined(path)}
    users = [p for p in internal.rglob("*") if p.is_file() and not p.is_symlink() and _is_elf(p)
             and p not in own.values()]
    wanted = sorted({name for user in users for name in _undefined(user) if name in provided})
    functions = {name for lib in ("libicuuc", "libicui18n") for name in _defined(other[lib], kinds="T")}
    targets = {name: f"{name.removesuffix(f'_{qt_major}')}_{major}" for name in wanted}
    missing = sorted(name for name, target in targets.items() if target not in functions)
    if missing or not all(name.endswith(f"_{qt_major}") for name in wanted):
        raise SlimError(f"Qt calls ICU {qt_major} functions the bundle's ICU {major} lacks: "
                        f"{', '.join(missing or wanted)}")
    with tempfile.TemporaryDirectory(prefix="faceseal-icu-bridge-") as scratch:
        work = Path(scratch)
        source = work / "bridge.S"
        source.write_text("\t.text\n" + "".join(
            f"\t.globl {name}\n\t.type {name}, %function\n{name}:\n\t{jump.format(target=target)}\n"
            f"\t.size {name}, .-{name}\n" for name, target in targets.items())
            + '\t.section .note.GNU-stack,"",%progbits\n')
        built = []
        for name in own:
            soname = name if name.count(".") == 2 else ".".join(name.split(".")[:3])
            if soname.startswith("libicuuc."):
                _run("gcc", "-shared", "-o", str(work / name), f"-Wl,-soname,{soname}", str(source),
                     "-Wl,--no-as-needed", str(other["libicuuc"]), str(other["libicui18n"]), "-Wl,--no-undefined")
            else:
                empty = work / "empty.c"
                empty.write_text("/* nothing: Qt's calls go to the bridge under its libicuuc soname */\n")
                _run("gcc", "-shared", "-o", str(work / name), f"-Wl,-soname,{soname}", str(empty))
            built.append(work / name)
        own_answers, bridged = _icu_answers(python, []), _icu_answers(python, built)
        if own_answers.returncode != 0 or bridged.returncode != 0 or own_answers.stdout != bridged.stdout:
            said, own_said = (bridged.stdout or bridged.stderr).strip()[-300:], own_answers.stdout.strip()[-300:]
            raise SlimError(f"Qt answers differently on ICU {major}: {said} instead of {own_said}")
        for path in built:
            shutil.copyfile(path, own[path.name])
    return list(own.values())


SYSTEM_LAPACK = ("liblapack.so.3", "libblas.so.3")
"""The system's LAPACK and BLAS, which answer OpenCV's calls in the bundle: every distribution ships them
under these sonames with the standard Fortran interface (Debian liblapack3 and libblas3, Fedora lapack and
blas, openSUSE liblapack3 and libblas3), and the packages depend on them (packaging/layout.system_libraries)."""


def share_blas(internal: Path, python: str) -> None:
    """Put the BLAS shim in place of OpenCV's OpenBLAS, onto the system's LAPACK and BLAS; checked numerically.

    The bundle's NumPy has no BLAS of its own (packaging/numpy_noblas.py), so after this the bundle carries none.
    """
    cv2 = internal / "cv2" / "cv2.abi3.so"
    wanted = [n for n in _needed(cv2) if n.startswith("libopenblas")] if cv2.is_file() else []
    if sorted((internal / "numpy.libs").glob("libscipy_openblas*")):
        raise SlimError("the bundle's NumPy carries its own OpenBLAS; build it with packaging/numpy_noblas.py")
    if not wanted:
        return  # an OpenCV without BLAS
    target = next((p for p in internal.rglob(wanted[0]) if p.is_file() and not p.is_symlink()), None)
    if target is None:
        raise SlimError(f"cv2 needs {wanted[0]}, which the bundle does not hold")
    with tempfile.TemporaryDirectory(prefix="faceseal-blas-") as scratch:
        shim = compile_blas_shim(wanted[0], Path(scratch))
        lapack = [Path(_system_libraries()[name]) for name in SYSTEM_LAPACK]  # present: the shim linked them
        imported = set(_undefined(cv2)) & set(_defined(target))  # what cv2 takes from its OpenBLAS
        missing = imported - {name for library in (shim, *lapack) for name in _defined(library)}
        if missing:
            raise SlimError(f"neither linux/blas_shim.c nor the system's LAPACK has {', '.join(sorted(missing))}")
        check = subprocess.run([python, str(HERE / "linux" / "blas_check.py")], capture_output=True, text=True,
                               env=dict(os.environ, LD_PRELOAD=str(shim)))
        if check.returncode != 0 or check.stdout.strip() != "ok":
            raise SlimError(f"OpenCV on the system's LAPACK gives wrong results: {(check.stderr or check.stdout).strip()[-300:]}")
        shutil.copyfile(shim, target)


def compile_blas_shim(soname: str, folder: Path) -> Path:
    """``folder/soname``: linux/blas_shim.c built under that soname, linked to the system's LAPACK and BLAS."""
    system = _system_libraries()
    absent = [name for name in SYSTEM_LAPACK if name not in system]
    if absent:
        raise SlimError(f"the system's {' and '.join(absent)} is not installed (Debian packages liblapack3 and "
                        "libblas3; scripts/system-deps.sh installs them)")
    shim = folder / soname
    _run("gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(shim), f"-Wl,-soname,{soname}",
         str(HERE / "linux" / "blas_shim.c"), "-Wl,--no-as-needed", *(system[name] for name in SYSTEM_LAPACK),
         "-Wl,--no-undefined")
    return shim


def _system_libraries() -> dict[str, str]:
    """Soname -> path of the system's 64-bit shared libraries, as ``ldconfig -p`` lists them."""
    # 64-bit entries only (a multilib system lists 32-bit copies as plain "libc6")
    return dict(re.findall(r"^\s*(\S+) \(libc6,(?:x86-64|AArch64)[^)]*\) => (\S+)$", _run("ldconfig", "-p"), re.M))


UNUSED_CODECS = {"libaom": ("libavif", "aom_", "aom_stub.c"), "libvpx": ("libavcodec", "vpx_", "vpx_stub.c")}
"""Codec library -> (the library that links it, the prefix of what it imports, the stub in linux/)."""


def drop_unused_codecs(internal: Path, python: str) -> None:
    """Put the AV1 and libvpx stubs in place of libaom and libvpx; checked on photos and videos."""
    with tempfile.TemporaryDirectory(prefix="faceseal-codecs-") as scratch:
        work = Path(scratch)
        stubs: dict[Path, Path] = {}  # stub -> the library it replaces
        for codec, (owner_name, prefix, source) in UNUSED_CODECS.items():
            owners = [p for p in internal.rglob(f"{owner_name}*.so*") if p.is_file() and not p.is_symlink()]
            wanted = sorted({name for owner in owners for name in _needed(owner) if name.startswith(codec)})
            if not wanted:
                continue  # an OpenCV built without this codec
            target = next((p for p in internal.rglob(wanted[0]) if p.is_file() and not p.is_symlink()), None)
            if target is None:
                raise SlimError(f"{owners[0].name} needs {wanted[0]}, which the bundle does not hold")
            stub = work / wanted[0]
            _run("gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(stub), f"-Wl,-soname,{wanted[0]}",
                 str(HERE / "linux" / source))
            missing = {name for name in _undefined(owners[0]) if name.startswith(prefix)} - set(_defined(stub))
            if missing:
                raise SlimError(f"{owners[0].name} imports functions linux/{source} lacks: {', '.join(sorted(missing))}")
            stubs[stub] = target
        if not stubs:
            return
        media = work / "media"
        media.mkdir()
        check = [python, str(HERE / "linux" / "codec_check.py")]
        wrote = subprocess.run([*check, "write", str(media)], capture_output=True, text=True)
        read = subprocess.run([*check, "read", str(media)], capture_output=True, text=True,
                              env=dict(os.environ, LD_PRELOAD=" ".join(str(stub) for stub in stubs)))
        if wrote.returncode != 0 or read.returncode != 0 or read.stdout.strip() != "ok":
            failed = read if wrote.returncode == 0 else wrote
            raise SlimError(f"OpenCV without libaom and libvpx: {(failed.stdout or failed.stderr).strip()[-300:]}")
        for stub, target in stubs.items():
            shutil.copyfile(stub, target)


SYSTEM_TWINS = ("libXau", "libxcb", "libzstd")
"""Libraries Pillow's wheel grafts (``pillow.libs/lib<name>-<hash>.so.<n>``) that every target distribution
ships with the same ABI and no symbol versions, and that the bundle already loads from the system for Qt
(bundle_contents.SYSTEM_PROVIDED): a forwarder under the grafted name that links the system's copy takes
their place (libXau's graft alone is 2.1 MB, the system's 15 kB)."""


def forward_system_twins(internal: Path, python: str) -> None:
    """Replace grafted copies of :data:`SYSTEM_TWINS` by forwarders to the system's; keep any whose users stop loading."""
    system = _system_libraries()
    elves = [p for p in internal.rglob("*") if p.is_file() and not p.is_symlink() and _is_elf(p)]
    for graft in [p for p in elves if p.parent.name.endswith(".libs")]:
        match = re.fullmatch(r"(lib\w+?)-[0-9a-f]{8}\.so\.(\d+)[.\d]*", graft.name)
        if not match or match.group(1) not in SYSTEM_TWINS or "Version definition" in _run("readelf", "-V", str(graft)):
            continue
        twin = system.get(f"{match.group(1)}.so.{match.group(2)}")
        if twin is None:
            continue  # the build machine lacks it: keep the graft
        users = [p for p in elves if graft.name in _needed(p)]
        saved = graft.with_name(f".graft-{graft.name}")
        graft.rename(saved)
        _run("gcc", "-shared", "-o", str(graft), f"-Wl,-soname,{graft.name}", "-Wl,--no-as-needed", twin)
        loads = all(subprocess.run([python, "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])", str(user)],
                                   capture_output=True).returncode == 0 for user in users)
        if loads:
            saved.unlink()
        else:
            saved.replace(graft)


def _undefined(path: Path) -> list[str]:
    return _run("nm", "-D", "--undefined-only", str(path)).split()[1::2]


def _defined(path: Path, kinds: str | None = None) -> list[str]:
    """The dynamic symbols ``path`` exports; only those of ``nm``'s ``kinds`` (``"T"``: functions) when given."""
    rows = [line.split() for line in _run("nm", "-D", "--defined-only", str(path)).splitlines() if line.strip()]
    return [row[-1] for row in rows if kinds is None or row[-2] in kinds]


def drop_unneeded_grafts(internal: Path) -> None:
    """Remove auditwheel-grafted libraries no file in the bundle needs, then links left dangling."""
    while True:  # a dropped library may have been the last to need another
        elves = [p for p in internal.rglob("*") if p.is_file() and not p.is_symlink() and _is_elf(p)]
        needed = {name for path in elves for name in _needed(path)}
        unneeded = [p for p in elves if any(d.name.endswith(".libs") for d in p.parents) and p.name not in needed]
        if not unneeded:
            break
        for path in unneeded:
            path.unlink()
    for link in [p for p in internal.rglob("*") if p.is_symlink() and not p.exists()]:
        link.unlink()


def _needed(path: Path) -> list[str]:
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", _run("readelf", "-d", str(path)))


def _is_elf(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"\x7fELF"


def _symbol_extent(library: Path, symbol: str) -> tuple[int, int]:
    """File offset and size of an exported data symbol (the ICU archive inside libicudata)."""
    table = _run("readelf", "-W", "--dyn-syms", str(library))
    match = re.search(rf"^\s*\d+:\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+OBJECT\s+GLOBAL\s+DEFAULT\s+(\d+)\s+{symbol}$",
                      table, re.M)
    if not match:
        raise SlimError(f"{library.name} exports no {symbol}; cannot shrink its ICU data")
    address, size, section = int(match.group(1), 16), int(match.group(2), 0), int(match.group(3))
    headers = _run("readelf", "-W", "-S", str(library))
    row = re.search(rf"^\s*\[\s*{section}\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)", headers, re.M)
    if not row:
        raise SlimError(f"cannot find section {section} of {library.name}")
    return address - int(row.group(1), 16) + int(row.group(2), 16), size


SYSTEM_TOOL_PATH = os.pathsep.join(filter(None, [os.environ.get("PATH"), "/usr/sbin", "/sbin"]))
"""Where build tools are looked for: icupkg, genccode and ldconfig live in /usr/sbin, which is not on an
ordinary user's PATH on Debian."""


def tool(name: str) -> str | None:
    """The path of a build tool, on PATH or in the system's sbin folders; None when it is not installed."""
    return shutil.which(name, path=SYSTEM_TOOL_PATH)


def _run(*command: str) -> str:
    found = tool(command[0])
    if found is None:
        raise SlimError(f"{command[0]} is not installed (scripts/system-deps.sh installs it)")
    result = subprocess.run([found, *command[1:]], capture_output=True, text=True)
    if result.returncode != 0:
        raise SlimError(f"{command[0]} failed on {command[-1]}: {result.stderr.strip()[-300:]}")
    return result.stdout
