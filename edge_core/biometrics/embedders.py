"""Recognizers: an aligned 112x112 face crop in, a unit-length float32 embedding out.

Every recognizer FaceSeal knows (MobileFaceNet, ArcFace ``w600k_*``, the 512-d
FacePlugin model) is a single-input ONNX graph fed one NCHW float32 crop; they
differ only in channel order and per-channel mean/std, which the manifest
states for each pack. So one class runs them all through onnxruntime, with
that pre-processing folded into one multiply-add per pixel.

Optional flip test-time augmentation embeds the crop and its mirror image and
averages the two: a face is nearly symmetric, so the mean cancels some of the
noise of one view (measured per pack in docs/BIOMETRICS.md).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from edge_core.biometrics.errors import ModelRuntimeError
from edge_core.biometrics.runtime import create_session, engine_errors


class Embedder(Protocol):
    """Turns an aligned 112x112 BGR crop into an embedding."""

    embedding_size: int

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        """A unit-norm float32 vector of length ``embedding_size``."""
        ...


def l2_normalise(vector: np.ndarray) -> np.ndarray:
    """The vector scaled to length 1 (float32), so cosine similarity is a dot product."""
    vector = np.asarray(vector, np.float32).ravel()
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        raise ModelRuntimeError("the recognizer returned an empty embedding; the model file is unusable")
    return vector / norm


class OnnxEmbedder:
    """A recognizer graph run by onnxruntime: channel order, (x - mean) / std in pixel units, NCHW."""

    def __init__(
        self,
        model: bytes,
        *,
        name: str,
        pack: str,
        embedding_size: int,
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
        colour: str = "rgb",
        flip: bool = False,
    ) -> None:
        if colour not in ("rgb", "bgr"):
            raise ModelRuntimeError(f"model {name} of pack '{pack}' names an unknown colour order '{colour}'")
        self._name, self._pack = name, pack
        self._session = create_session(model, name=name, pack=pack)
        self._input = self._session.get_inputs()[0].name
        actual = self._session.get_outputs()[0].shape[-1]
        if actual != embedding_size:
            raise ModelRuntimeError(
                f"model {name} of pack '{pack}' gives {actual}-d embeddings, "
                f"the manifest says {embedding_size}; reinstall with 'faceseal models install {pack}'"
            )
        self.embedding_size = embedding_size
        self._rgb = colour == "rgb"
        self._flip = bool(flip)
        # mean/std are in 0..255 pixel units (ImageNet's are 255 x (0.485, 0.456, 0.406)
        # and 255 x (0.229, 0.224, 0.225)), folded into one multiply-add per pixel.
        std_array = np.asarray(std, np.float32)
        self._scale = (1.0 / std_array).reshape(1, 1, 3)
        self._offset = (-np.asarray(mean, np.float32) / std_array).reshape(1, 1, 3)

    def _run(self, aligned: np.ndarray) -> np.ndarray:
        pixels = aligned[:, :, ::-1] if self._rgb else aligned
        blob = (pixels.astype(np.float32) * self._scale + self._offset).transpose(2, 0, 1)[np.newaxis]
        with engine_errors(self._name, self._pack):
            (output,) = self._session.run(None, {self._input: np.ascontiguousarray(blob)})
        return l2_normalise(output)

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        """Embed one aligned BGR crop (with its mirror image too when the pack asks for flip TTA)."""
        embedding = self._run(aligned)
        if self._flip:
            embedding = l2_normalise(embedding + self._run(aligned[:, ::-1]))
        return embedding
