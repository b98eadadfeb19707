"""Model packs: what the manifest promises, installing it safely, and loading it once.

A pack is a detector plus a recognizer with their pre-processing and a default
threshold, described in ``models/packs.json`` (files, sha256, download URL,
licence). Three rules drive this module:

* nothing is downloaded unless the user asked for it (``install_pack``);
  loading never touches the network (models run directly in onnxruntime,
  no library with an auto-download of its own is involved);
* every byte is checked against the manifest's sha256 before it is used: when
  installing (a mismatch installs nothing) and again when loading (a file
  corrupted or swapped on disk is refused);
* an install is atomic: files are staged in a private temporary folder next to
  the destination and renamed into place only when all of them verified.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from edge_core.biometrics.errors import (
    ManifestError,
    ModelIntegrityError,
    PackNotInstalled,
    PackSourceError,
    UnknownPack,
)
from edge_core.biometrics.pipeline import Pipeline
from edge_core.support.paths import atomic_write, ensure_private_dir, fsync_dir, models_dir

_ROOT = Path(getattr(sys, "_MEIPASS", None) or Path(__file__).resolve().parents[2])
"""The repository root, or the unpacked data folder of a PyInstaller bundle (``sys._MEIPASS``)."""

MANIFEST_PATH = _ROOT / "models" / "packs.json"
"""The manifest shipped with FaceSeal (``models/packs.json`` at the repository root)."""

BUNDLED_DIR = _ROOT / "models" / "bundled"
"""Packs built into an installer (``make package MODELS=DIR``), read-only: an installed FaceSeal
works offline from its first start. A pack installed under ``models_dir()`` takes precedence."""

MARKER = "pack.json"
"""Written last into an installed pack's folder: a folder without it is not installed."""

ACCEPTED = ".accepted-{name}.json"
"""Under ``models_dir()``: this user accepted the licence notice of bundled pack ``name``. An installer may
carry a pack whose notice asks for consent, but shipping it must not consent on the user's behalf: until this
record exists (written by ``install_pack`` once the caller has asked), the bundled copy does not count."""

Progress = Callable[[int, "int | None"], None]
"""Called as ``progress(bytes_done, bytes_total)`` while downloading; total None if unknown."""

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 16
_DOWNLOAD_TIMEOUT = 30


@dataclass(frozen=True)
class ModelFile:
    """One file of a pack, as the manifest describes it."""

    name: str
    sha256: str
    size: int
    url: str
    """Where to download it, or the archive that holds it when ``archive_member`` is set."""
    archive_member: str | None
    licence: str


@dataclass(frozen=True)
class Stage:
    """The detector or the recognizer of a pack: its family, file and parameters."""

    family: str
    file: str
    params: Mapping[str, Any]


def threshold_text(value: float) -> str:
    """A match threshold as people read it everywhere (window, CLI, API messages): as it is stored.

    Packs' defaults and calibration use a third decimal (0.412); rounding it
    away would show a score of 0.411 refused at "0.41", while a plain ``:g``
    shows 0.4 in one place and 0.40 in another."""
    return f"{value:.2f}" if round(value, 2) == round(value, 3) else f"{value:.3f}"


@dataclass(frozen=True)
class PackInfo:
    """A pack as the CLI lists it: the manifest entry plus whether it is installed here."""

    name: str
    title: str
    licence: str
    licence_notice: str
    """Text to show before installing; the CLI asks for consent when ``requires_consent``."""
    requires_consent: bool
    detector: Stage
    recognizer: Stage
    embedding_size: int
    default_threshold: float
    threshold_note: str
    """Where the default threshold comes from (measured on which data, or not measured)."""
    enrol_min_score: float
    """Detection score an enrolment sample needs; detector families score on different scales."""
    preprocessing: str
    files: tuple[ModelFile, ...]
    installed: bool
    location: Path
    signin_threshold: float | None = None
    """The stricter operating point of face sign-in (docs/SIGNIN.md); None where it was not measured, and such a
    pack signs nobody in."""
    awaits_consent: bool = False
    """The installer carries this pack, but this user has not accepted its licence notice yet: installing it
    (no source, no download) records the consent and uses the bundled copy."""

    @property
    def fingerprint(self) -> str:
        """Digest of the file list: an installed copy made from another manifest version is stale."""
        lines = sorted(f"{f.name} {f.sha256}" for f in self.files)
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    @property
    def settings(self) -> str:
        """Everything that shapes the pipeline, as one string (the load cache key)."""
        stages = [(s.family, s.file, sorted(s.params.items())) for s in (self.detector, self.recognizer)]
        return repr((self.fingerprint, stages, self.embedding_size, self.default_threshold, self.enrol_min_score))


@dataclass(frozen=True)
class Manifest:
    """The parsed manifest: packs by name and the default pack."""

    default: str
    packs: Mapping[str, Mapping[str, Any]]

    def names(self) -> list[str]:
        """Pack names in manifest order."""
        return list(self.packs)


def load_manifest(path: Path = MANIFEST_PATH) -> Manifest:
    """Read and check a manifest; tests and mirrors can point at another file."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        packs = document["packs"]
        default = document["default_pack"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ManifestError(f"the model manifest {path} is unreadable ({error})") from None
    if default not in packs:
        raise ManifestError(f"the model manifest {path} names a default pack it does not define")
    manifest = Manifest(default=default, packs=packs)
    for name in manifest.names():
        _describe(manifest, name)  # validates every pack up front
    return manifest


def _describe(manifest: Manifest, name: str) -> PackInfo:
    """Build the PackInfo of ``name``, checking the manifest entry as it goes."""
    if name not in manifest.packs:
        known = ", ".join(manifest.names())
        raise UnknownPack(f"there is no model pack named '{name}' (known packs: {known})")
    entry = manifest.packs[name]
    try:
        files = tuple(
            ModelFile(
                name=f["name"],
                sha256=f["sha256"],
                size=int(f["bytes"]),
                url=f["url"],
                archive_member=f.get("archive_member"),
                licence=f["licence"],
            )
            for f in entry["files"]
        )
        stages = {}
        for role in ("detector", "recognizer"):
            section = dict(entry[role])
            stages[role] = Stage(family=section.pop("family"), file=section.pop("file"), params=section)
        location = models_dir() / name
        info = PackInfo(
            name=name,
            title=entry["title"],
            licence=entry["licence"],
            licence_notice=entry["licence_notice"],
            requires_consent=bool(entry["requires_consent"]),
            detector=stages["detector"],
            recognizer=stages["recognizer"],
            embedding_size=int(entry["embedding_size"]),
            default_threshold=float(entry["default_threshold"]),
            threshold_note=entry["threshold_note"],
            enrol_min_score=float(entry["enrol_min_score"]),
            preprocessing=entry["preprocessing"],
            files=files,
            installed=False,
            location=location,
            signin_threshold=None if entry.get("signin_threshold") is None else float(entry["signin_threshold"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ManifestError(f"model pack '{name}' is malformed in the manifest ({error!r})") from None
    names = {f.name for f in files}
    if len(names) != len(files) or any(not _SHA256.match(f.sha256) for f in files):
        raise ManifestError(f"model pack '{name}' lists a file twice or a malformed sha256")
    if not {info.detector.file, info.recognizer.file} <= names or any("/" in n or n.startswith(".") for n in names):
        raise ManifestError(f"model pack '{name}' uses a file it does not list, or an unsafe file name")
    for candidate in (location, BUNDLED_DIR / name):
        if _complete(candidate, info):
            if candidate != location and info.requires_consent and not _accepted(info):
                return PackInfo(**{**info.__dict__, "awaits_consent": True})
            return PackInfo(**{**info.__dict__, "installed": True, "location": candidate})
    return info


def _complete(folder: Path, info: PackInfo) -> bool:
    """Whether ``folder`` holds every file of ``info`` under a marker of the same fingerprint."""
    return _read_marker(folder).get("fingerprint") == info.fingerprint and all(
        (folder / f.name).is_file() for f in info.files)


def _accepted(info: PackInfo) -> bool:
    """Whether this user accepted the licence notice of bundled pack ``info`` (for these very files)."""
    try:
        record = json.loads((models_dir() / ACCEPTED.format(name=info.name)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("fingerprint") == info.fingerprint


def _read_marker(location: Path) -> dict:
    """The install marker of a pack folder, or {} when absent or unreadable (= not installed)."""
    try:
        return json.loads((location / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _manifest(manifest: Manifest | None) -> Manifest:
    return manifest if manifest is not None else load_manifest()


def default_pack_name(manifest: Manifest | None = None) -> str:
    """The pack used when ``--pack`` is not given: the manifest's ``default_pack`` (README says why)."""
    return _manifest(manifest).default


def list_packs(manifest: Manifest | None = None) -> list[PackInfo]:
    """Every pack of the manifest with its install state under ``models_dir()``."""
    manifest = _manifest(manifest)
    return [_describe(manifest, name) for name in manifest.names()]


def pack_info(name: str, manifest: Manifest | None = None) -> PackInfo:
    """One pack's descriptor (e.g. to show its licence notice before installing)."""
    return _describe(_manifest(manifest), name)


# --- installing ------------------------------------------------------------


def install_pack(
    name: str,
    source: Path | None = None,
    progress: Progress | None = None,
    *,
    manifest: Manifest | None = None,
) -> PackInfo:
    """Install pack ``name`` from ``source`` (a folder or a .zip) or, when None, download it.

    Every file is hashed while it is copied and compared with the manifest
    before the pack becomes visible; any mismatch, missing file or network
    failure raises and leaves the models folder exactly as it was (a previous
    install of the same pack included). Asking the user to accept the licence
    notice is the caller's job (see ``PackInfo.requires_consent``).
    """
    info = pack_info(name, manifest)
    root = ensure_private_dir(models_dir())
    if source is None and info.awaits_consent:
        # The installer carries this pack: the caller has just asked for consent, so record it; nothing to copy.
        record = {"pack": name, "fingerprint": info.fingerprint}
        atomic_write(root / ACCEPTED.format(name=name), (json.dumps(record) + "\n").encode("utf-8"))
        return pack_info(name, manifest)
    staging = Path(tempfile.mkdtemp(prefix=f".install-{name}-", dir=root))
    try:
        target = staging / name
        target.mkdir()
        with _opened_source(info, source, staging, progress) as (label, members):
            for spec in info.files:
                opener = members(spec)
                if opener is None:
                    needed = ", ".join(f.name for f in info.files)
                    raise PackSourceError(
                        f"{spec.name} is not in {label}; pack '{name}' needs {needed}. Nothing was installed"
                    )
                with opener() as stream:
                    _copy_verified(stream, target / spec.name, spec, label)
        marker = {"pack": name, "fingerprint": info.fingerprint, "files": {f.name: f.sha256 for f in info.files}}
        (target / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        _publish(target, root / name)  # never info.location: that may be the read-only bundled copy
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return pack_info(name, manifest)


Opener = Callable[[], contextlib.AbstractContextManager[IO[bytes]]]


@contextlib.contextmanager
def _opened_source(
    info: PackInfo, source: Path | None, staging: Path, progress: Progress | None
) -> Iterator[tuple[str, Callable[[ModelFile], Opener | None]]]:
    """Yield a label for messages and a lookup from a file spec to a way of opening it.

    Downloads land in ``staging`` first, then are read like a local source, so
    one verification path serves folders, zips and the network.
    """
    if source is None:
        downloads = staging / "downloads"
        downloads.mkdir()
        archives = _download(info, downloads, progress)
        with contextlib.ExitStack() as stack:
            opened = {url: stack.enter_context(_open_archive(path, "the download")) for url, path in archives.items()}

            def lookup(spec: ModelFile) -> Opener | None:
                if spec.archive_member is not None:
                    return opened[spec.url](spec.archive_member)
                return _folder_member(downloads, spec.name)

            yield "the download", lookup
        return
    source = Path(source).expanduser()
    if source.is_dir():
        yield str(source), lambda spec: _folder_member(source, spec.name)
    elif source.is_file() and zipfile.is_zipfile(source):
        with _open_zip(source, str(source)) as archive:
            yield str(source), lambda spec: _zip_member(archive, spec.name)
    elif source.exists():
        raise PackSourceError(f"{source} is neither a folder nor a .zip archive of model files")
    else:
        raise PackSourceError(f"{source} does not exist")


def _folder_member(folder: Path, name: str) -> Opener | None:
    path = folder / name
    return (lambda: open(path, "rb")) if path.is_file() else None


def _zip_member(archive: zipfile.ZipFile, name: str) -> Opener | None:
    """The archive entry whose base name is ``name`` (packs are often zipped inside a folder)."""
    for entry in archive.infolist():
        if not entry.is_dir() and entry.filename.rsplit("/", 1)[-1] == name:
            return lambda: archive.open(entry)
    return None


def _tar_member(archive: tarfile.TarFile, name: str) -> Opener | None:
    """The regular file whose base name is ``name`` in a tar archive (an npm package is a .tgz)."""
    for entry in archive.getmembers():
        if entry.isfile() and entry.name.rsplit("/", 1)[-1] == name:
            return lambda: contextlib.closing(archive.extractfile(entry))
    return None


@contextlib.contextmanager
def _open_archive(path: Path, label: str) -> Iterator[Callable[[str], Opener | None]]:
    """A downloaded archive, zip or (gzipped) tar, as a lookup from a member's base name to an opener."""
    if zipfile.is_zipfile(path):
        with _open_zip(path, label) as archive:
            yield lambda name: _zip_member(archive, name)
        return
    try:
        archive = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError):
        raise PackSourceError(f"{label} is neither a readable .zip nor a .tar archive") from None
    with archive:
        yield lambda name: _tar_member(archive, name)


@contextlib.contextmanager
def _open_zip(path: Path, label: str) -> Iterator[zipfile.ZipFile]:
    try:
        with zipfile.ZipFile(path) as archive:
            yield archive
    except zipfile.BadZipFile:
        raise PackSourceError(f"{label} is not a readable .zip archive") from None


def _copy_verified(stream: IO[bytes], dest: Path, spec: ModelFile, label: str) -> None:
    """Copy ``stream`` to ``dest`` while hashing; refuse it unless size and sha256 match."""
    digest = hashlib.sha256()
    written = 0
    try:
        with open(dest, "wb") as out:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                written += len(chunk)
                if written > spec.size:
                    break
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError) as error:
        raise PackSourceError(f"{spec.name} could not be read from {label} ({error}); nothing was installed") from None
    if written != spec.size or digest.hexdigest() != spec.sha256:
        raise ModelIntegrityError(
            f"{spec.name} from {label} is not the file the manifest expects (sha256 mismatch); "
            "it was refused and nothing was installed"
        )


def _download(info: PackInfo, folder: Path, progress: Progress | None) -> dict[str, Path]:
    """Fetch every URL of the pack once into ``folder``; return {archive URL: local zip}.

    A file without a URL (our own conversions, such as the face mesh, have no
    public home yet) can only come from a folder or a zip: say so before
    anything is fetched.
    """
    unhosted = [f.name for f in info.files if not f.url]
    if unhosted:
        raise PackSourceError(
            f"pack '{info.name}' cannot be downloaded: {', '.join(unhosted)} "
            f"{'has' if len(unhosted) == 1 else 'have'} no download address; "
            f"install it from a folder or zip with: faceseal models install {info.name} --from DIR_OR_ZIP"
        )
    direct = {f.url: f for f in info.files if f.archive_member is None}
    archive_urls = list(dict.fromkeys(f.url for f in info.files if f.archive_member is not None))
    done = 0
    total: int | None = sum(f.size for f in direct.values())
    archives: dict[str, Path] = {}
    for index, url in enumerate([*direct, *archive_urls]):
        spec = direct.get(url)
        dest = folder / spec.name if spec else folder / f"archive-{index}"

        def started(length: int | None, archive: bool = spec is None) -> None:
            nonlocal total
            if archive:  # the manifest has each file's size, not its archive's: the server's counts
                total = total + length if (total is not None and length) else None

        def received(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress(done, total)

        try:
            _fetch(url, dest, spec.size if spec else None, started, received)
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            raise PackSourceError(
                f"could not download pack '{info.name}' ({reason}); nothing was installed. "
                f"On a machine without internet use: faceseal models install {info.name} --from DIR_OR_ZIP"
            ) from None
        if spec is None:
            archives[url] = dest
    return archives


def _fetch(url: str, dest: Path, limit: int | None, started: Callable[[int | None], None] = lambda _: None,
           received: Callable[[int], None] = lambda _: None) -> None:
    """Download ``url`` to ``dest``, stopping past ``limit`` bytes (the sha256 check then refuses it).

    ``started`` gets the Content-Length (None if the server gives none), ``received`` each chunk's size.
    """
    with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT) as response, open(dest, "wb") as out:
        length = response.headers.get("Content-Length")
        started(int(length) if length else None)
        written = 0
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            written += len(chunk)
            if limit is not None and written > limit:
                break  # larger than promised: the sha256 check refuses it
            out.write(chunk)
            received(len(chunk))


def fetch_file(spec: ModelFile, dest: Path) -> Path:
    """Download one file of a pack to ``dest`` (from its URL, or out of the archive there), checked by sha256.

    For build and test tools that keep a registry's copy of a model outside the repository (such as a pack
    file that ``../shared/models`` lacks): ``dest`` appears only once the file verified, so an interrupted
    or refused download leaves nothing behind. Raises PackSourceError or ModelIntegrityError.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=dest.parent) as scratch:
        download = Path(scratch) / "download"
        try:
            _fetch(spec.url, download, None if spec.archive_member else spec.size)
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            raise PackSourceError(f"could not download {spec.name} from {spec.url} ({reason})") from None
        staged = Path(scratch) / spec.name
        if spec.archive_member is None:
            with open(download, "rb") as stream:
                _copy_verified(stream, staged, spec, spec.url)
        else:
            with _open_archive(download, spec.url) as members:
                opener = members(spec.archive_member)
                if opener is None:
                    raise PackSourceError(f"{spec.archive_member} is not in {spec.url}")
                with opener() as stream:
                    _copy_verified(stream, staged, spec, spec.url)
        os.replace(staged, dest)
    return dest


def _publish(staged: Path, location: Path) -> None:
    """Rename the verified pack into place, replacing an older install only once the new one is whole."""
    retired = None
    if location.exists():
        retired = location.with_name(f".retired-{location.name}-{os.getpid()}")
        os.replace(location, retired)
    try:
        os.replace(staged, location)
    except OSError:
        if retired is not None:
            os.replace(retired, location)
        raise
    fsync_dir(location.parent)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


# --- loading -----------------------------------------------------------------

_PIPELINES: dict[tuple[str, str], Pipeline] = {}
_PIPELINES_LOCK = threading.Lock()


def load_pack(name: str | None = None, *, manifest: Manifest | None = None) -> Pipeline:
    """A ready Pipeline for pack ``name`` (default pack when None), built once per process.

    Sessions take hundreds of milliseconds to build and are safe to share, so
    the first call verifies every file's sha256 and builds them; later calls
    with the same pack and models folder return the same Pipeline.
    """
    manifest = _manifest(manifest)
    info = pack_info(name or manifest.default, manifest)
    key = (str(info.location), info.settings)
    with _PIPELINES_LOCK:
        if key not in _PIPELINES:
            _PIPELINES[key] = _build(info)
        return _PIPELINES[key]


def _build(info: PackInfo) -> Pipeline:
    from edge_core.biometrics.detectors import ScrfdDetector, YuNetDetector
    from edge_core.biometrics.embedders import OnnxEmbedder
    from edge_core.biometrics.runtime import read_verified

    if not info.installed:
        raise PackNotInstalled(
            f"model pack '{info.name}' is not installed; run 'faceseal models install {info.name}' "
            f"(offline: add --from DIR_OR_ZIP)"
        )
    detectors = {"scrfd": ScrfdDetector, "yunet": YuNetDetector}
    # The family names what the recognizer is; all of them run the same way (embedders.py).
    embedders = {"mobilefacenet": OnnxEmbedder, "arcface": OnnxEmbedder, "faceplugin": OnnxEmbedder}
    by_name = {f.name: f for f in info.files}

    def build(stage: Stage, families: dict, **extra: Any) -> Any:
        if stage.family not in families:
            raise ManifestError(f"model pack '{info.name}' uses an unknown {stage.family} model family")
        model = read_verified(info.location / stage.file, by_name[stage.file].sha256,
                              by_name[stage.file].size, pack=info.name)
        try:
            return families[stage.family](model, name=stage.file, pack=info.name, **stage.params, **extra)
        except TypeError as error:
            raise ManifestError(f"model pack '{info.name}' has wrong {stage.family} parameters ({error})") from None

    return Pipeline(
        pack=info.name,
        embedding_size=info.embedding_size,
        threshold=info.default_threshold,
        min_enrol_score=info.enrol_min_score,
        recognizer_sha256=by_name[info.recognizer.file].sha256,
        detector=build(info.detector, detectors),
        embedder=build(info.recognizer, embedders, embedding_size=info.embedding_size),
    )
