"""``faceseal --version``: FaceSeal's version, the model pack in use, and the libraries that decide behaviour.

A bug report needs more than FaceSeal's own number: the same release scores
faces differently with another model pack, and behaves differently with
another onnxruntime, OpenCV, Qt or SQLCipher. Library versions are read from
the installed distributions' metadata (an installer ships it), so ``--version``
never imports onnxruntime, OpenCV or Qt, which would take most of a second.
"""

from __future__ import annotations

import argparse
from importlib import metadata
from typing import Any

from edge_core import __version__
from edge_core.biometrics import pack_info
from edge_core.biometrics.packs import BUNDLED_DIR
from edge_core.cli.models import pack_in_use_here

LIBRARIES = (
    ("cryptography", ("cryptography",)),
    ("onnxruntime", ("onnxruntime", "onnxruntime-gpu")),
    ("opencv", ("opencv-python-headless", "opencv-python")),
    ("PySide6", ("PySide6-Essentials", "PySide6")),
    ("sqlcipher3", ("sqlcipher3", "sqlcipher3-binary")),
)
"""(label, distributions that provide it, first found wins)."""
OPTIONAL_LIBRARIES = (("tpm2-pytss", ("tpm2-pytss",)),)
"""Libraries of an optional extra (``faceseal[tpm]``, the TPM root): named only where installed."""


def report() -> str:
    """The lines ``faceseal --version`` prints; the first is ``faceseal <version>`` alone."""
    lines = [f"faceseal {__version__}", f"model pack: {_pack()}"]
    lines += [f"{label}: {_distribution_version(names)}" for label, names in LIBRARIES]
    lines += [f"{label}: {found}" for label, names in OPTIONAL_LIBRARIES
              if (found := _distribution_version(names)) != "not found"]
    lines.append(f"SQLCipher: {_sqlcipher()}")
    return "\n".join(lines)


def _pack() -> str:
    """The pack in use, the digest of its file list (which weights exactly), where it comes from, and the pack it
    stands in for. The vault's choice decides it (``faceseal models use``), so it is read as ``models list`` reads
    it: a read-only open, cheap with a file or keychain root; a vault that cannot be opened is said, not fatal."""
    used, unread = pack_in_use_here()
    info = pack_info(used.pack)
    if not info.installed:
        where = "not installed"
    elif info.location.is_relative_to(BUNDLED_DIR):
        where = "bundled"
    else:
        where = f"installed in {info.location}"
    notes = [where] + ([f"standing in: {used.reason}"] if used.reason else []) + ([unread] if unread else [])
    return f"{info.name} {info.fingerprint[:12]} ({'; '.join(notes)})"


def _distribution_version(names: tuple[str, ...]) -> str:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not found"


def _sqlcipher() -> str:
    """The SQLCipher library FaceSeal's vault really runs on (sqlcipher3 may carry its own)."""
    import sqlcipher3

    connection = sqlcipher3.connect(":memory:")
    try:
        row = connection.execute("PRAGMA cipher_version").fetchone()
    finally:
        connection.close()
    return row[0] if row else "unknown"


class VersionAction(argparse.Action):
    """``--version``: prints :func:`report` and exits 0, computed only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the versions of FaceSeal, its model pack and key libraries, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(report())
        parser.exit()
