"""Recognizers: an aligned 112x112 face crop in, a unit-length float32 embedding out.

Two families. ArcFace-style packs (InsightFace ``w600k_*``) are run by
insightface's own ``ArcFaceONNX``, which knows their input normalisation.
MobileFaceNet (foamliu) is not an InsightFace model and wants ImageNet mean/std
on RGB x/255 (its upstream "val" transform), which insightface cannot express,
so that pre-processing is the one written here. Both return L2-normalised
vectors so a cosine is a dot product.
"""

from __future__ import annotations

import io
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


def _check_size(name: str, pack: str, actual: object, expected: int) -> None:
    """Refuse a recognizer whose output size differs from what the manifest promises."""
    if actual != expected:
        raise ModelRuntimeError(
            f"model {name} of pack '{pack}' gives {actual}-d embeddings, "
            f"the manifest says {expected}; reinstall with 'faceseal models install {pack}'"
        )


class MobileFaceNetEmbedder:
    """MobileFaceNet: RGB, per-channel (x - mean) / std in pixel units, NCHW float32."""

    def __init__(
        self,
        model: bytes,
        *,
        name: str,
        pack: str,
        embedding_size: int,
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
    ) -> None:
        self._name, self._pack = name, pack
        self._session = create_session(model, name=name, pack=pack)
        self._input = self._session.get_inputs()[0].name
        _check_size(name, pack, self._session.get_outputs()[0].shape[-1], embedding_size)
        self.embedding_size = embedding_size
        # mean/std are in 0..255 pixel units (ImageNet's are 255 x (0.485, 0.456, 0.406)
        # and 255 x (0.229, 0.224, 0.225)), folded into one multiply-add per pixel.
        std_array = np.asarray(std, np.float32)
        self._scale = (1.0 / std_array).reshape(1, 1, 3)
        self._offset = (-np.asarray(mean, np.float32) / std_array).reshape(1, 1, 3)

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        """Embed one aligned BGR crop."""
        rgb = aligned[:, :, ::-1].astype(np.float32)
        blob = (rgb * self._scale + self._offset).transpose(2, 0, 1)[np.newaxis]
        with engine_errors(self._name, self._pack):
            (output,) = self._session.run(None, {self._input: np.ascontiguousarray(blob)})
        return l2_normalise(output)


class ArcFaceEmbedder:
    """InsightFace ArcFace-style recognizer via ``insightface.model_zoo.ArcFaceONNX``.

    insightface infers the input normalisation from the graph ((x - 127.5) / 127.5
    on RGB for the w600k packs); we check it against the manifest so a pack whose
    documented pre-processing disagrees with what runs is refused, not silently
    wrong.
    """

    def __init__(
        self,
        model: bytes,
        *,
        name: str,
        pack: str,
        embedding_size: int,
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
    ) -> None:
        from insightface.model_zoo.arcface_onnx import ArcFaceONNX

        self._name, self._pack = name, pack
        session = create_session(model, name=name, pack=pack)
        with engine_errors(name, pack):
            # ArcFaceONNX parses the graph to find its normalisation; give it the
            # checked bytes rather than letting it reopen the file.
            self._arcface = ArcFaceONNX(model_file=io.BytesIO(model), session=session)
        expected_mean, expected_std = set(mean), set(std)
        if {self._arcface.input_mean} != expected_mean or {self._arcface.input_std} != expected_std:
            raise ModelRuntimeError(
                f"model {name} of pack '{pack}' expects a different input normalisation "
                "than its manifest documents; the pack is inconsistent"
            )
        _check_size(name, pack, self._arcface.output_shape[-1], embedding_size)
        self.embedding_size = embedding_size

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        """Embed one aligned BGR crop (insightface swaps to RGB and normalises)."""
        with engine_errors(self._name, self._pack):
            return l2_normalise(self._arcface.get_feat(aligned))
