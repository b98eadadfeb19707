"""The gallery's matrix-vector product (every template's cosine with the probe), run by onnxruntime.

Why not ``matrix @ probe``: the installed app's NumPy is built without BLAS
(packaging/numpy_noblas.py keeps 27 MB of OpenBLAS out of the package), and its
own loop made identify at 100k templates 3.8 times slower than the source tree's
(41 ms against 11 ms, issue 28). onnxruntime is bundled for the models anyway and
its MLAS kernels are as fast as OpenBLAS here, so identify runs the same code,
at the same speed, in the source tree and in the package, and gives the same
scores (tests/vault/test_product.py).

The graph is one ``Gemm`` (``probe · matrixᵀ``), written below as the ONNX
protobuf bytes themselves: the ``onnx`` package that would build it is not in
the package (packaging/bundle_contents.py), and the test compares these bytes
with what ``onnx.helper`` makes of the same graph.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from edge_core.biometrics.runtime import session_options

if TYPE_CHECKING:
    import onnxruntime as ort

IR_VERSION = 8
OPSET = 13
_FLOAT = 1  # TensorProto.FLOAT
_INT = 2  # AttributeProto.INT


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    """One protobuf field: an integer as a varint, bytes, text and messages length-delimited."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _tensor(name: str, *dims: str) -> bytes:
    """A ValueInfoProto: a float tensor whose dimensions are all named (any size)."""
    shape = b"".join(_field(1, _field(2, dim)) for dim in dims)
    return _field(1, name) + _field(2, _field(1, _field(1, _FLOAT) + _field(2, shape)))


def model_bytes() -> bytes:
    """The ONNX model ``cosines[1, n] = Gemm(probe[1, d], matrix[n, d], transB=1)``."""
    node = (_field(1, "probe") + _field(1, "matrix") + _field(2, "cosines") + _field(4, "Gemm")
            + _field(5, _field(1, "transB") + _field(3, 1) + _field(20, _INT)))
    graph = (_field(1, node) + _field(2, "gallery") + _field(11, _tensor("probe", "one", "d"))
             + _field(11, _tensor("matrix", "n", "d")) + _field(12, _tensor("cosines", "one", "n")))
    return _field(1, IR_VERSION) + _field(7, graph) + _field(8, _field(1, "") + _field(2, OPSET))


@cache
def _session() -> ort.InferenceSession:
    """One session per process: onnxruntime's ``run`` is safe to call from several threads at once."""
    import onnxruntime as ort

    return ort.InferenceSession(model_bytes(), session_options(), providers=["CPUExecutionProvider"])


def cosines(matrix: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """``matrix @ probe`` for a float32 ``matrix`` (one template a row) and a probe of its width."""
    row = np.ascontiguousarray(probe, np.float32).reshape(1, -1)
    return _session().run(None, {"probe": row, "matrix": np.ascontiguousarray(matrix, np.float32)})[0][0]
