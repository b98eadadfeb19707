"""Embedding vectors coming in from files, checked before anything touches the vault."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_core.errors import InvalidEmbedding

MAX_DIM = 4096
MAX_SAMPLES = 64


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


def load(path: Path) -> np.ndarray:
    """Read a .npy file (never pickles) and normalise it."""
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InvalidEmbedding(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidEmbedding(f"{path} is a folder, not a .npy file") from None
    except PermissionError:
        raise InvalidEmbedding(f"{path}: permission denied") from None
    except (ValueError, OSError, EOFError):
        raise InvalidEmbedding(f"{path} is not a NumPy .npy file of floats") from None
    if not isinstance(array, np.ndarray):
        raise InvalidEmbedding(f"{path} is not a NumPy .npy file of floats")
    return normalise(array, str(path))
