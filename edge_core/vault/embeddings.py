"""Embedding vectors coming in from files, checked before anything touches the vault."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_core.errors import InvalidEmbedding
from edge_core.support.inputs import open_regular

MAX_DIM = 4096
MAX_SAMPLES = 64
MAX_FILE_BYTES = 16 * 1024 * 1024
"""The largest .npy file read (64 samples of 4096 float64 values is 2 MiB)."""


def normalise(vectors: np.ndarray, source: str = "embedding") -> np.ndarray:
    """(k, d) or (d,) finite floats -> (k, d) float32 rows of unit length (cosine = dot)."""
    if not isinstance(vectors, np.ndarray) or vectors.dtype.kind != "f":
        raise InvalidEmbedding(f"{source} must hold floating-point numbers")
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    if vectors.ndim != 2 or vectors.shape[0] < 1 or not 2 <= vectors.shape[1] <= MAX_DIM:
        raise InvalidEmbedding(f"{source} must be a (d,) vector or a (k, d) array with 2 <= d <= {MAX_DIM}")
    if vectors.shape[0] > MAX_SAMPLES:
        raise InvalidEmbedding(f"{source} has {vectors.shape[0]} samples; at most {MAX_SAMPLES} per enrolment")
    if not np.all(np.isfinite(vectors)):
        raise InvalidEmbedding(f"{source} contains NaN or infinite values")
    vectors = vectors.astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise InvalidEmbedding(f"{source} contains an all-zero vector")
    return np.ascontiguousarray(vectors / norms)


def _check_shape(shape: tuple[int, ...], source: str) -> None:
    """The shape :func:`normalise` accepts, checked from a header before anything is allocated."""
    if len(shape) == 1:
        shape = (1, *shape)
    if len(shape) != 2 or shape[0] < 1 or not 2 <= shape[1] <= MAX_DIM:
        raise InvalidEmbedding(f"{source} must be a (d,) vector or a (k, d) array with 2 <= d <= {MAX_DIM}")
    if shape[0] > MAX_SAMPLES:
        raise InvalidEmbedding(f"{source} has {shape[0]} samples; at most {MAX_SAMPLES} per enrolment")


def load(path: Path) -> np.ndarray:
    """Read a .npy file (never pickles) and normalise it.

    Only a regular file of at most :data:`MAX_FILE_BYTES` is read (a FIFO or a
    device would never end), and its header's dtype and shape are checked
    before its data is: a header may claim any shape.
    """
    not_npy = f"{path} is not a NumPy .npy file of floats"
    with open_regular(path, MAX_FILE_BYTES, InvalidEmbedding, "an embedding file") as file:
        try:
            version = np.lib.format.read_magic(file)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(file)
            else:
                raise ValueError(version)
        except (ValueError, OSError, EOFError, SyntaxError, TypeError):
            raise InvalidEmbedding(not_npy) from None
        if dtype.hasobject:
            raise InvalidEmbedding(not_npy)  # it would need unpickling, which is never done
        if dtype.kind != "f":
            raise InvalidEmbedding(f"{path} must hold floating-point numbers")
        _check_shape(tuple(shape), str(path))
        count = int(np.prod(shape))
        try:
            data = file.read(count * dtype.itemsize)
        except OSError as error:
            raise InvalidEmbedding(f"{path} cannot be read ({error.strerror})") from None
    if len(data) != count * dtype.itemsize:
        raise InvalidEmbedding(f"{path} is truncated: its header promises more values than it holds")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return normalise(array, str(path))
