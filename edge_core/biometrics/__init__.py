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

Heavy libraries (onnxruntime sessions) load only when a pack is loaded, so
listing or installing packs stays quick. insightface, scikit-image and scipy
are never imported at run time (tests/biometrics/test_no_insightface.py), with one
exception: ``groups.py`` asks SciPy for confidence intervals when it is installed
(a development machine), and does without them when it is not (the installer).
"""

from edge_core.biometrics.capture import (
    CANDIDATES_PER_SAMPLE,
    Camera,
    Enrolment,
    Frame,
    ImageFiles,
    Rejection,
    VIDEO_LOOKS_PER_SAMPLE,
    VideoFile,
    camera_index,
    collect_from_video,
    collect_samples,
    shortfall,
    enrolment_video,
    read_image,
)
from edge_core.biometrics.detectors import Face
from edge_core.biometrics.packs import (
    PackInfo,
    default_pack_name,
    install_pack,
    list_packs,
    load_pack,
    pack_info,
    threshold_text,
)
from edge_core.biometrics.pipeline import Pipeline
from edge_core.biometrics.quality import QualityGates, Reason

__all__ = [
    "CANDIDATES_PER_SAMPLE",
    "Camera",
    "camera_index",
    "Enrolment",
    "Face",
    "Frame",
    "ImageFiles",
    "PackInfo",
    "Pipeline",
    "QualityGates",
    "Reason",
    "Rejection",
    "VIDEO_LOOKS_PER_SAMPLE",
    "VideoFile",
    "collect_from_video",
    "collect_samples",
    "shortfall",
    "enrolment_video",
    "default_pack_name",
    "install_pack",
    "list_packs",
    "load_pack",
    "pack_info",
    "read_image",
    "threshold_text",
]
