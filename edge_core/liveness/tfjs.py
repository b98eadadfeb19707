"""A TensorFlow.js graph model (``model.json`` + ``.bin``) of a small CNN turned into an ONNX model.

Why a converter of our own: the trained anti-spoof model (docs/LIVENESS.md, "A trained anti-spoof model")
reaches a machine as a TensorFlow.js graph inside an npm tarball, and the weights may not be committed, so the
conversion runs at set-up time on every fresh clone. The usual route (tfjs -> TensorFlow -> tf2onnx) would put
hundreds of megabytes of TensorFlow into every set-up; this writes the graph with the ``onnx`` package alone,
for exactly the operations such a classifier uses, and refuses any other, so a changed graph fails loudly
instead of converting wrongly. The result is checked against the original's outputs (tests/liveness/
test_attack_model.py) and pinned by its sha256 in models/packs.json.

The graph runs NHWC in TensorFlow; the ONNX graph transposes its input to NCHW once, keeps every 4-D tensor
NCHW, and transposes back before a flatten, so the dense layers see TensorFlow's element order.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import numpy as np

OPSET = 13
IR_VERSION = 7
PRODUCER = "faceseal-tfjs"
"""Fixed producer fields: the same graph always serialises to the same bytes, so its sha256 can be pinned."""

SUPPORTED = frozenset({"Const", "Placeholder", "Identity", "_FusedConv2D", "MaxPool", "Relu", "_FusedMatMul",
                       "Reshape", "Sigmoid", "Softmax", "Mul", "Add", "AddV2"})
_FUSED = {"BiasAdd": (), "Relu": ("Relu",)}
"""The fused operations after a convolution or a matrix product that are understood: the bias, then a ReLU."""
_PADDING = {"VALID": "VALID", "SAME": "SAME_UPPER"}
"""TensorFlow's SAME puts the odd pixel of padding after, as ONNX's SAME_UPPER does."""


class ConversionError(ValueError):
    """The graph uses something this converter does not translate; nothing is written."""


@dataclass
class _Graph:
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    layout: dict[str, str] = field(default_factory=dict)
    """For every tensor name: "nchw" (a 4-D activation, transposed) or "plain" (as in TensorFlow)."""


def _weights(manifest: list[dict], data: bytes) -> dict[str, np.ndarray]:
    """Every weight of the manifest as float32 / int32 arrays (float16 quantisation undone)."""
    arrays, offset = {}, 0
    for group in manifest:
        for spec in group["weights"]:
            shape = [int(s) for s in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            if quant is not None and quant.get("dtype") != "float16":
                raise ConversionError(f"weight {spec['name']}: quantisation {quant.get('dtype')} is not supported")
            stored = np.dtype("float16") if quant else np.dtype({"float32": "float32", "int32": "int32"}.get(
                spec["dtype"], "V0"))
            if stored.itemsize == 0:
                raise ConversionError(f"weight {spec['name']}: dtype {spec['dtype']} is not supported")
            size = count * stored.itemsize
            if offset + size > len(data):
                raise ConversionError("the weights file is shorter than its manifest says")
            raw = np.frombuffer(data, dtype=stored, count=count, offset=offset).reshape(shape)
            arrays[spec["name"]] = raw.astype(np.float32 if spec["dtype"] == "float32" else np.int32)
            offset += size
    if offset != len(data):
        raise ConversionError("the weights file is longer than its manifest says")
    return arrays


def _text(attr: dict, key: str) -> str:
    return base64.b64decode(attr[key]["s"]).decode()


def _texts(attr: dict, key: str) -> list[str]:
    return [base64.b64decode(s).decode() for s in attr.get(key, {}).get("list", {}).get("s", [])]


def _ints(attr: dict, key: str) -> list[int]:
    return [int(i) for i in attr.get(key, {}).get("list", {}).get("i", [])]


def convert(model_json: bytes, weights: bytes) -> bytes:
    """The ONNX model (serialised) of the TensorFlow.js graph ``model_json`` with weights file ``weights``.

    Raises :class:`ConversionError` for an operation or attribute outside the small-CNN set above.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    document = json.loads(model_json)
    if document.get("format") != "graph-model":
        raise ConversionError("not a TensorFlow.js graph model")
    topology = document["modelTopology"]["node"]
    unknown = sorted({n["op"] for n in topology} - SUPPORTED)
    if unknown:
        raise ConversionError(f"unsupported operations: {', '.join(unknown)}")
    consts = _weights(document["weightsManifest"], weights)
    signature = document["signature"]
    (inp,) = signature["inputs"].values()
    (out,) = signature["outputs"].values()
    graph = _Graph()
    input_name = inp["name"].split(":")[0]
    dims = [int(d["size"]) for d in inp["tensorShape"]["dim"]]
    if len(dims) != 4:
        raise ConversionError("the input is not an image batch (N, H, W, C)")

    def initializer(name: str, array: np.ndarray) -> str:
        graph.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: object) -> str:
        graph.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    node("Transpose", [input_name], f"{input_name}/nchw", perm=[0, 3, 1, 2])
    graph.layout[input_name] = "nchw"
    alias = {input_name: f"{input_name}/nchw"}

    def src(name: str) -> str:
        """The ONNX tensor of activation ``name`` (computed by an earlier node: the graph is in order)."""
        if name not in graph.layout:
            raise ConversionError(f"{name} is used before it is computed")
        return alias.get(name, name)

    for spec in topology:
        op, name, attr = spec["op"], spec["name"], spec.get("attr", {})
        inputs = [i for i in spec.get("input", []) if not i.startswith("^")]
        if op in ("Const", "Placeholder"):
            if op == "Const" and name not in consts:
                raise ConversionError(f"constant {name} has no weights")
            continue
        if "data_format" in attr and _text(attr, "data_format") != "NHWC":
            raise ConversionError(f"{name}: data format {_text(attr, 'data_format')} is not supported")
        if op == "_FusedConv2D":
            fused = _texts(attr, "fused_ops")
            if not fused or fused[0] != "BiasAdd" or tuple(fused[1:]) not in _FUSED.values():
                raise ConversionError(f"{name}: fused operations {fused} are not supported")
            if set(_ints(attr, "dilations")) - {1}:
                raise ConversionError(f"{name}: dilated convolutions are not supported")
            padding = _text(attr, "padding")
            if padding not in _PADDING:
                raise ConversionError(f"{name}: padding {padding} is not supported")
            x, kernel, bias = inputs
            if graph.layout.get(x.split(":")[0]) != "nchw":
                raise ConversionError(f"{name}: a convolution of a tensor that is not an image")
            w = initializer(f"{name}/kernel", consts[kernel].transpose(3, 2, 0, 1).copy())
            b = initializer(f"{name}/bias", consts[bias])
            strides = _ints(attr, "strides")[1:3]
            result = node("Conv", [src(x), w, b], f"{name}/conv" if fused[1:] else name, strides=strides,
                          auto_pad=_PADDING[padding], kernel_shape=list(consts[kernel].shape[:2]))
            if fused[1:]:
                result = node("Relu", [result], name)
            graph.layout[name] = "nchw"
        elif op == "MaxPool":
            padding = _text(attr, "padding")
            if padding not in _PADDING:
                raise ConversionError(f"{name}: padding {padding} is not supported")
            node("MaxPool", [src(inputs[0])], name, kernel_shape=_ints(attr, "ksize")[1:3],
                 strides=_ints(attr, "strides")[1:3], auto_pad=_PADDING[padding])
            graph.layout[name] = graph.layout[inputs[0]]
        elif op in ("Relu", "Sigmoid", "Identity"):
            node(op, [src(inputs[0])], name)
            graph.layout[name] = graph.layout[inputs[0]]
        elif op == "Softmax":
            node("Softmax", [src(inputs[0])], name, axis=-1)
            graph.layout[name] = graph.layout[inputs[0]]
        elif op in ("Mul", "Add", "AddV2"):
            x, constant = inputs
            if constant not in consts or x in consts:
                raise ConversionError(f"{name}: only an activation times / plus a constant is supported")
            value = consts[constant]
            if graph.layout[x] == "nchw" and value.ndim == 1:
                value = value.reshape(-1, 1, 1)
            elif value.ndim > 1:
                raise ConversionError(f"{name}: a constant of shape {value.shape} is not supported")
            c = initializer(f"{name}/constant", value)
            node("Mul" if op == "Mul" else "Add", [src(x), c], name)
            graph.layout[name] = graph.layout[x]
        elif op == "Reshape":
            x, shape = inputs
            source = src(x)
            if graph.layout[x] == "nchw":
                source = node("Transpose", [source], f"{name}/nhwc", perm=[0, 2, 3, 1])
            target = initializer(f"{name}/shape", consts[shape].astype(np.int64))
            node("Reshape", [source, target], name)
            graph.layout[name] = "plain"
        elif op == "_FusedMatMul":
            fused = _texts(attr, "fused_ops")
            if not fused or fused[0] != "BiasAdd" or tuple(fused[1:]) not in _FUSED.values():
                raise ConversionError(f"{name}: fused operations {fused} are not supported")
            if attr.get("transpose_a", {}).get("b") or attr.get("transpose_b", {}).get("b"):
                raise ConversionError(f"{name}: transposed matrix products are not supported")
            x, matrix, bias = inputs
            if graph.layout[x] != "plain":
                raise ConversionError(f"{name}: a matrix product of an image tensor")
            w = initializer(f"{name}/matrix", consts[matrix])
            b = initializer(f"{name}/bias", consts[bias])
            product = node("MatMul", [src(x), w], f"{name}/matmul")
            result = node("Add", [product, b], f"{name}/biased" if fused[1:] else name)
            if fused[1:]:
                node("Relu", [result], name)
            graph.layout[name] = "plain"

    output_name = out["name"].split(":")[0]
    if output_name not in graph.layout:
        raise ConversionError(f"the output {output_name} is never computed")
    out_dims = [int(d["size"]) for d in out["tensorShape"]["dim"]]
    model = helper.make_model(
        helper.make_graph(graph.nodes, "tfjs", [helper.make_tensor_value_info(
            input_name, TensorProto.FLOAT, ["n", *dims[1:]])], [helper.make_tensor_value_info(
                output_name, TensorProto.FLOAT, ["n", *out_dims[1:]])], graph.initializers),
        producer_name=PRODUCER, producer_version="1", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model.SerializeToString()
