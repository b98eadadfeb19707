"""The fixed inputs the converted anti-spoof models are checked on against the original TensorFlow.js graphs.

Made by numpy alone (seeded PCG64 draws, gradients, a checkerboard), so the test and the one-off run of the
original (``tests/liveness/data/attack_reference.json`` says how) see the very same numbers.
"""

from __future__ import annotations

import numpy as np


def reference_inputs(side: int) -> np.ndarray:
    """Six RGB 0..1 images of ``side`` x ``side``: four uniform noises, a colour gradient and a checkerboard."""
    noise = np.random.default_rng(31).random((4, side, side, 3), dtype=np.float32)
    ramp = np.linspace(0.0, 1.0, side, dtype=np.float32)
    gradient = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], 1.0 - ramp[None, :]), axis=-1)
    cells = (np.indices((side, side)).sum(axis=0) // max(1, side // 8)) % 2
    checker = np.repeat(cells[..., None].astype(np.float32), 3, axis=-1) * 0.8 + 0.1
    return np.concatenate([noise, gradient[None], checker[None]]).astype(np.float32)
