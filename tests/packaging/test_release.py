"""Verifiable downloads: SHA256SUMS signed with minisign, checked the way README tells a user to,
and ``make package-check`` (packaging/check.py) on what the build made."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.packaging.conftest import Built

needs_minisign = pytest.mark.skipif(shutil.which("minisign") is None, reason="minisign is not installed")


@pytest.fixture
def release(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two small 'installers', their SHA256SUMS signed with a throw-away key: (folder, sums, public key)."""
    from release import sign, write_sums

    keys = tmp_path / "keys"
    keys.mkdir()
    subprocess.run(["minisign", "-G", "-W", "-p", str(keys / "k.pub"), "-s", str(keys / "k.key")], check=True,
                   capture_output=True)
    dist = tmp_path / "dist"
    dist.mkdir()
    for name in ("faceseal_9.9_amd64.deb", "faceseal-9.9-1.x86_64.rpm"):
        (dist / name).write_bytes(name.encode() * 1000)
    sums = write_sums(sorted(dist.iterdir()))
    sign(sums, keys / "k.key")
    return dist, sums, keys / "k.pub"


def _user_verifies(sums: Path, public_key: Path) -> bool:
    """README's two commands, as a user types them in the download folder."""
    key = public_key.read_text().splitlines()[1]
    signed = subprocess.run(["minisign", "-Vm", sums.name, "-P", key], cwd=sums.parent, capture_output=True)
    summed = subprocess.run(["sha256sum", "--check", "--ignore-missing", sums.name], cwd=sums.parent,
                            capture_output=True)
    return signed.returncode == 0 and summed.returncode == 0


@needs_minisign
def test_a_signed_release_verifies_as_readme_says(release: tuple[Path, Path, Path]) -> None:
    dist, sums, public = release
    assert sums.read_text().count("\n") == 2
    assert (dist / "faceseal-release.pub").read_text() == public.read_text()  # recreated from the secret key
    assert _user_verifies(sums, public)


@needs_minisign
@pytest.mark.parametrize("target", ["installer", "SHA256SUMS"])
def test_a_flipped_byte_fails_verification(release: tuple[Path, Path, Path], target: str) -> None:
    from release import ReleaseError, verify

    dist, sums, public = release
    victim = dist / "faceseal_9.9_amd64.deb" if target == "installer" else sums
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    assert not _user_verifies(sums, public)
    with pytest.raises(ReleaseError):
        verify(sums, public)


@needs_minisign
def test_another_key_does_not_verify(release: tuple[Path, Path, Path], tmp_path: Path) -> None:
    from release import ReleaseError, verify

    _, sums, _ = release
    subprocess.run(["minisign", "-G", "-W", "-p", str(tmp_path / "o.pub"), "-s", str(tmp_path / "o.key")],
                   check=True, capture_output=True)
    with pytest.raises(ReleaseError, match="minisign -V failed"):
        verify(sums, tmp_path / "o.pub")


def test_a_missing_signing_key_stops_the_build_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "packaging" / "build.py"), "--signing-key",
                             str(tmp_path / "nokey"), "--work", str(tmp_path / "work"), "--dist", str(tmp_path / "dist")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr == f"make package: error: the signing key {tmp_path / 'nokey'} does not exist\n"
    assert not (tmp_path / "dist").exists()


@pytest.mark.slow
def test_the_build_signs_its_checksums(built: Built) -> None:
    listed = sorted(line.split("  ", 1)[1] for line in built.sums.read_text().splitlines())
    assert listed == sorted([built.deb.name, built.rpm.name])
    assert _user_verifies(built.sums, built.public_key)


@pytest.mark.slow
def test_package_check_passes_on_the_build_and_fails_on_a_damaged_one(built: Built, tmp_path: Path) -> None:
    check = [sys.executable, str(REPO / "packaging" / "check.py"), "--public-key", str(built.public_key)]
    result = subprocess.run([*check, "--dist", str(built.dist)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok  SHA256SUMS: signature good for the given public key")
    assert len([line for line in lines if "self-test passed; man page renders" in line]) == 2
    damaged = tmp_path / "dist"
    shutil.copytree(built.dist, damaged)
    rpm = damaged / built.rpm.name
    with open(rpm, "r+b") as handle:  # one byte in the middle of the payload
        handle.seek(rpm.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0x01]))
    result = subprocess.run([*check, "--dist", str(damaged)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 1
    assert result.stderr == f"make package-check: error: {built.rpm.name} does not match its SHA256SUMS entry\n"
