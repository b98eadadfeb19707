"""The FaceSeal pipeline: detector -> aligner -> embedder, bound to one model pack.

A ``Pipeline`` is what ``packs.load_pack`` returns and what the CLI, the vault
and later the UI hold on to: its sessions are built once per process and reused
for every frame. It also carries the pack's identity (name, embedding size,
threshold, recognizer sha256) because a template is only comparable with
embeddings from the very same recognizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge_core.biometrics.align import align
from edge_core.biometrics.embedders import Embedder
from edge_core.biometrics.errors import ImageUnreadable, MultipleFaces, NoFaceFound
from edge_core.biometrics.faces import Detector, Face
from edge_core.biometrics.infrared import as_bgr


PAD_FRACTION = 0.25
"""Border added on each side, as a fraction of the longer side, when a first search finds no face."""


def _check_image(image: object) -> np.ndarray:
    """Refuse anything but a non-empty 8-bit BGR image before a model sees it; a grey (IR) frame is given with its
    channel copied three times first (:mod:`edge_core.biometrics.infrared`)."""
    image = as_bgr(image)  # type: ignore[arg-type]
    if (
        not isinstance(image, np.ndarray)
        or image.dtype != np.uint8
        or image.ndim != 3
        or image.shape[2] != 3
        or image.shape[0] < 8
        or image.shape[1] < 8
    ):
        raise ImageUnreadable("the image is not an 8-bit colour picture of usable size")
    return image


@dataclass(frozen=True)
class Pipeline:
    """Detection, alignment and embedding with one pack's models."""

    pack: str
    """Name of the pack that built it; templates record it."""
    embedding_size: int
    threshold: float
    """The pack's default cosine threshold for a match."""
    min_enrol_score: float
    """Detection score the enrolment quality gate asks for (scales differ between detectors)."""
    recognizer_sha256: str
    """sha256 of the recognizer file: two packs with the same one make comparable embeddings."""
    detector: Detector
    embedder: Embedder

    def detect(self, image: np.ndarray) -> list[Face]:
        """All faces in a BGR uint8 image, best detection score first.

        A face that fills the picture (a tight crop, a passport photo) leaves
        SCRFD no context to anchor on: it found none of the 88 labelled faces
        cropped to 112-200 px. When nothing is found, the image is framed in a
        black border of ``PAD_FRACTION`` of its longer side and searched again
        (every such crop was then found, both detectors); the coordinates are
        given back in the original image. Only a picture without a face pays
        the second pass.
        """
        image = _check_image(image)
        faces = self.detector.detect(image)
        if faces:
            return faces
        import cv2  # here, not at the top: naming a Pipeline must not load OpenCV (issue 28)

        pad = max(1, round(max(image.shape[:2]) * PAD_FRACTION))
        framed = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        shift = np.float32(pad)
        return [Face(box=f.box - shift, score=f.score, landmarks=f.landmarks - shift)
                for f in self.detector.detect(framed)]

    def align(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The 112x112 crop the recognizer expects (exposed for the quality gates and the UI)."""
        return align(_check_image(image), face.landmarks)

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """Unit-norm float32 embedding of ``face`` in ``image``."""
        return self.embedder.embed(self.align(_check_image(image), face))

    def analyze(self, image: np.ndarray) -> list[tuple[Face, np.ndarray]]:
        """Every face in the image with its embedding, best detection score first."""
        image = _check_image(image)
        return [(face, self.embedder.embed(self.align(image, face))) for face in self.detect(image)]

    def embed_one(self, image: np.ndarray, *, largest: bool = False) -> tuple[Face, np.ndarray]:
        """The single face of a verification probe and its embedding.

        Verifying "is this NAME?" against a photo of several people is ambiguous,
        so several faces are refused unless ``largest`` picks the biggest.
        """
        faces = self.detect(image)
        if not faces:
            raise NoFaceFound("no face found in the image")
        if len(faces) > 1 and not largest:
            raise MultipleFaces(
                f"{len(faces)} faces found in the image; use a photo of one person or --largest"
            )
        face = max(faces, key=lambda candidate: candidate.area)
        return face, self.embed(image, face)

    def embed_report(self, image: np.ndarray) -> dict:
        """The ``faceseal embed IMAGE --json`` document: every face with box, score, landmarks, embedding.

        An image without a face is an error (the caller asked for an embedding),
        not an empty list that a script could mistake for success.
        """
        results = self.analyze(image)
        if not results:
            raise NoFaceFound("no face found in the image")
        return {
            "pack": self.pack,
            "embedding_size": self.embedding_size,
            "faces": [
                {
                    "box": [round(float(v), 2) for v in face.box],
                    "score": round(face.score, 4),
                    "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in face.landmarks],
                    "embedding": [float(v) for v in embedding],
                }
                for face, embedding in results
            ],
        }
