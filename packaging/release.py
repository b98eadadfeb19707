"""``SHA256SUMS`` for the installers and its detached minisign signature (Ed25519).

The builder gives the release key (``make package SIGNING_KEY=path/to/minisign.key``);
it is never part of the repository. minisign (Debian and Homebrew package
``minisign``; the format is also read by OpenBSD's signify and by rsign) signs
the checksum file once, so one signature covers every artefact. A user checks a
download with the project's public key::

    minisign -Vm SHA256SUMS -P <public key>      # the file list is the one that was signed
    sha256sum --check --ignore-missing SHA256SUMS  # the file downloaded is one of them

After signing, the signature is verified with the public key recreated from the
secret key, so a wrong passphrase or a damaged key cannot produce a release
whose signature nobody can check.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

SUMS = "SHA256SUMS"


class ReleaseError(Exception):
    """Checksums or the signature could not be made or do not verify; the message says why."""


def write_sums(artefacts: Sequence[Path]) -> Path:
    """``SHA256SUMS`` beside the artefacts (all in one folder), in ``sha256sum`` format."""
    folder = artefacts[0].parent
    if any(path.parent != folder for path in artefacts):
        raise ReleaseError("the artefacts to sum are not in one folder")
    lines = [f"{_sha256(path)}  {path.name}\n" for path in sorted(artefacts)]
    sums = folder / SUMS
    sums.write_text("".join(lines), "ascii")
    return sums


def sign(sums: Path, secret_key: Path) -> tuple[Path, Path]:
    """Sign ``sums`` with a minisign secret key; returns (signature, public key), both beside it.

    minisign asks for the key's passphrase on the terminal when the key has one.
    """
    _need_minisign()
    if not secret_key.is_file():
        raise ReleaseError(f"the signing key {secret_key} does not exist")
    signature = sums.with_name(sums.name + ".minisig")
    public = sums.parent / "faceseal-release.pub"
    comment = f"FaceSeal release checksums ({sums.name})"
    # not captured: minisign prompts on the terminal for a key with a passphrase
    if subprocess.run(["minisign", "-S", "-s", str(secret_key), "-m", str(sums), "-x", str(signature),
                       "-t", comment]).returncode != 0:
        raise ReleaseError("minisign could not sign SHA256SUMS (its message is above)")
    _minisign("-R", "-s", str(secret_key), "-p", str(public))
    verify(sums, public)
    return signature, public


def verify(sums: Path, public_key: Path) -> None:
    """The signature of ``sums`` matches ``public_key``, and every file ``sums`` lists that is present
    beside it has the listed digest. Raises :class:`ReleaseError` naming what failed."""
    _need_minisign()
    _minisign("-V", "-q", "-p", str(public_key), "-m", str(sums), "-x", str(sums.with_name(sums.name + ".minisig")))
    for line in sums.read_text("ascii").splitlines():
        digest, name = line.split("  ", 1)
        path = sums.parent / name
        if path.exists() and _sha256(path) != digest:
            raise ReleaseError(f"{name} does not match its SHA256SUMS entry")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _need_minisign() -> None:
    if shutil.which("minisign") is None:
        raise ReleaseError("minisign is not installed (scripts/system-deps.sh installs it; "
                           "on macOS: brew install minisign)")


def _minisign(*args: str) -> None:
    result = subprocess.run(["minisign", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        message = (result.stderr.strip() or result.stdout.strip() or f"exit {result.returncode}").splitlines()[-1]
        raise ReleaseError(f"minisign {args[0]} failed: {message}")
