"""Identify's matrix-vector product runs in onnxruntime (issue 28, goal 4: the installed app's NumPy has no BLAS):
the same people named with the same scores as the match rule computed independently in float64, and the graph's
hand-written bytes are exactly the ONNX model ``onnx.helper`` makes."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from edge_core import ops
from edge_core.vault import product

PACK = "external"
DIM = 512


def _reference(people: dict[str, np.ndarray], probe: np.ndarray) -> tuple[str, float]:
    """The match rule in float64, one person at a time: the mean of their two best cosines, the best person."""
    unit = probe / np.linalg.norm(probe)
    scores = {}
    for name, samples in people.items():
        rows = samples.astype(np.float64) / np.linalg.norm(samples.astype(np.float64), axis=1, keepdims=True)
        cosines = np.sort(rows @ unit)
        scores[name] = float(cosines[-2:].mean()) if len(cosines) > 1 else float(cosines[-1])
    name = max(scores, key=scores.__getitem__)
    return name, scores[name]


def test_identify_names_the_same_people_with_the_same_scores_as_the_rule_in_float64() -> None:
    rng = np.random.default_rng(28)
    faces = rng.normal(size=(300, DIM))
    people = {f"person-{i:03d}": (faces[i] + 0.6 * rng.normal(size=(int(rng.integers(1, 6)), DIM))).astype(np.float32)
              for i in range(len(faces))}
    with ops.open_vault() as vault:
        for name, samples in people.items():
            vault.enroll(name, samples, PACK)
        probes = [faces[i] + 0.6 * rng.normal(size=DIM) for i in range(0, 300, 7)]  # enrolled people, new looks
        probes += list(rng.normal(size=(10, DIM)))  # strangers
        for probe in probes:
            result = vault.identify(probe.astype(np.float32), PACK, 0.45)
            name, score = _reference(people, probe)
            assert result.name == name
            assert abs(result.score - score) < 1e-5


def test_the_graph_is_the_onnx_model_of_one_gemm() -> None:
    floats = TensorProto.FLOAT
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["probe", "matrix"], ["cosines"], transB=1)], "gallery",
        [helper.make_tensor_value_info("probe", floats, ["one", "d"]),
         helper.make_tensor_value_info("matrix", floats, ["n", "d"])],
        [helper.make_tensor_value_info("cosines", floats, ["one", "n"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", product.OPSET)],
                              ir_version=product.IR_VERSION)
    assert product.model_bytes() == model.SerializeToString()
    onnx.checker.check_model(onnx.load_from_string(product.model_bytes()), full_check=True)
