"""FaceSeal biometrics: face detection, alignment and embedding on the device, with model packs.

The public surface the CLI and the vault use:

* packs: ``list_packs``, ``pack_info``, ``install_pack``, ``default_pack_name``, ``load_pack``,
  ``threshold_text`` (a threshold as every front end shows it)
* ``Pipeline`` (``detect``, ``align``, ``embed``, ``analyze``, ``embed_one``, ``embed_report``)
* capture: ``read_image``, ``ImageFiles``, ``VideoFile``, ``Camera``, ``collect_samples``, ``enrolment_video``
* quality: ``QualityGates``, ``Reason``

Matching embeddings against templates (the max-over-samples cosine rule) is
the vault's job, in ``edge_core.matching``; this package only produces the
embeddings and says which pack made them.

Heavy libraries (onnxruntime, OpenCV) load only when a model runs: each name
below is imported from its module on first use (:mod:`edge_core.support.lazy`),
and the modules import onnxruntime and OpenCV inside the functions that run a
model, so listing or installing packs, and every command that runs no model,
stays quick (issue 28). insightface, scikit-image and scipy
are never imported at run time (tests/biometrics/test_no_insightface.py), with one
exception: ``groups.py`` asks SciPy for confidence intervals when it is installed
(a development machine), and does without them when it is not (the installer).
"""

from typing import TYPE_CHECKING

from edge_core.support import lazy

if TYPE_CHECKING:  # never run: named for the tools that read imports without running them (PyInstaller's bundle)
    from edge_core.biometrics import capture, faces, packs, pipeline, quality  # noqa: F401

_MODULES = {
    "capture": ("CANDIDATES_PER_SAMPLE", "IMAGE_SUFFIXES", "Camera", "Enrolment", "Frame", "ImageFiles",
                "Rejection", "VIDEO_LOOKS_PER_SAMPLE", "VideoFile", "camera_index", "collect_from_video", "collect_samples",
                "decode_image", "shortfall", "enrolment_video", "read_image"),
    "faces": ("Face",),
    "packs": ("PackInfo", "default_pack_name", "install_pack", "list_packs", "load_pack", "pack_info",
              "threshold_text"),
    "pipeline": ("Pipeline",),
    "quality": ("QualityGates", "Reason"),
}
__getattr__, __dir__, __all__ = lazy.exports(__name__, _MODULES)
