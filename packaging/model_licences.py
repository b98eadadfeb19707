"""The licence texts the bundled model files need, shipped beside them in /usr/share/doc/faceseal/models/.

Apache-2.0 (section 4) and MIT both ask that whoever redistributes the work
passes its licence text on; the installers redistribute the default pack's
files, so they carry the texts the models folder keeps in ``licenses/``
(../shared/models/README.md says which file is under which). The copyright file
(packaging/layout.py) names each model file's text.
"""

from __future__ import annotations

import fnmatch
import zipfile
from pathlib import Path

LICENCE_TEXTS = {
    "*_mediapipe.onnx": "mediapipe-LICENSE",  # MediaPipe Face Mesh and Iris, converted to ONNX (Apache-2.0)
    "face_detection_yunet_*.onnx": "YUNET-LICENSE-MIT.txt",
    "faceplugin_*.onnx": "FACEPLUGIN-npm-LICENSE-MIT.txt",
    "mobilefacenet_foamliu*.onnx": "MOBILEFACENET-foamliu-LICENSE-Apache-2.0.txt",
}
"""Model file name pattern -> the name of its licence text in the models folder's ``licenses/``."""


class LicenceError(Exception):
    """A bundled model file has no licence text to ship; the message names it."""


def licence_of(model_file: str) -> str:
    """The licence text's file name for ``model_file``."""
    for pattern, text in LICENCE_TEXTS.items():
        if fnmatch.fnmatch(model_file, pattern):
            return text
    raise LicenceError(f"no licence text is known for the bundled model file {model_file} "
                       "(add it to packaging/model_licences.py)")


def copy_texts(source: Path, model_files: list[str], target: Path) -> dict[str, str]:
    """Copy the licence texts ``model_files`` need from ``source`` (a models folder or .zip) into ``target``.

    Returns model file -> licence text name.
    """
    needed = {name: licence_of(name) for name in model_files}
    target.mkdir(parents=True, exist_ok=True)
    for text in sorted(set(needed.values())):
        (target / text).write_bytes(_read(source, text))
    return needed


def _read(source: Path, text: str) -> bytes:
    if source.is_dir():
        path = source / "licenses" / text
        if path.is_file():
            return path.read_bytes()
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            member = next((n for n in archive.namelist() if n == f"licenses/{text}" or n.endswith(f"/licenses/{text}")),
                          None)
            if member is not None:
                return archive.read(member)
    raise LicenceError(f"{source} holds no licenses/{text}, the licence text a bundled model file needs")
