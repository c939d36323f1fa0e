"""Weight-only int8 quantisation of an ONNX model: int8 weights with per-channel scales, computation in fp32.

Unlike onnxruntime's ``quantize_dynamic`` (which quantises activations at run time, so a row's result depends on
the other rows of its batch and on whether the CPU has VNNI), this stores only the weights as int8:

- a float initializer of 2 dims feeding ``MatMul`` (as its second input) or ``Gemm`` (as B) becomes an int8
  initializer with one scale per output channel, and ``Cast`` to float then ``Mul`` by the scales rebuild the fp32
  weight. Every input of those two nodes is a constant, so onnxruntime folds them into an fp32 weight when it loads
  the model and the matrix products run in fp32. (A ``DequantizeLinear`` node is not used: onnxruntime 1.32 fuses
  ``DequantizeLinear -> MatMul`` into ``MatMulNBits`` with ``accuracy_level`` 4, which quantises the activations
  to int8 at run time unless the session sets ``session.qdq_matmulnbits_accuracy_level``.)
- a float table read only by ``Gather`` on axis 0 (the word-piece embeddings) becomes an int8 table with one scale
  per row; the model gathers the int8 rows and their scales and multiplies, so only the rows used are dequantised.

Scales are symmetric (zero point 0): ``scale = max |w| / 127`` over the channel, values rounded to nearest and
clipped to [-127, 127]. Smaller tensors (biases, layer norms, position embeddings) stay fp32.

    python -m training.quantize_weights model.fp32.onnx model.onnx
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: Tensors with fewer elements than this stay fp32 (the classifier head, small projections).
MIN_ELEMENTS = 16_384


def quantize_per_channel(weight: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 values and float32 scales (one per index of ``axis``) of a 2-D float weight."""
    reduce_axis = 1 - axis
    peak = np.abs(weight).max(axis=reduce_axis)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    shape = [1, 1]
    shape[axis] = -1
    q = np.clip(np.rint(weight / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def quantize_weights(source: Path, target: Path, *, min_elements: int = MIN_ELEMENTS) -> dict[str, int]:
    """Write ``target``: ``source`` with its large MatMul/Gemm weights and Gather tables stored as int8.

    Returns counts: ``matmul`` and ``gather`` tensors quantised, ``bytes_before`` / ``bytes_after`` of initializers.
    """
    model = onnx.load(str(source))
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    consumers: dict[str, list[tuple[onnx.NodeProto, int]]] = defaultdict(list)
    for node in graph.node:
        for position, name in enumerate(node.input):
            consumers[name].append((node, position))
    graph_outputs = {o.name for o in graph.output}

    def channel_axis(node: onnx.NodeProto, position: int) -> int | None:
        """Output-channel axis of a weight used at ``position`` of ``node``, None if it cannot be quantised."""
        if node.op_type == "MatMul" and position == 1:
            return 1
        if node.op_type == "Gemm" and position == 1:
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            return 0 if trans_b else 1
        return None

    new_nodes_before: dict[int, list[onnx.NodeProto]] = defaultdict(list)  # node index -> nodes to insert before
    node_index = {id(node): i for i, node in enumerate(graph.node)}
    counts = {"matmul": 0, "gather": 0, "bytes_before": 0, "bytes_after": 0}
    replaced: list[str] = []
    for name, tensor in initializers.items():
        if tensor.data_type != TensorProto.FLOAT or len(tensor.dims) != 2 or name in graph_outputs:
            continue
        weight = numpy_helper.to_array(tensor)
        if weight.size < min_elements or not consumers[name]:
            continue
        uses = consumers[name]
        axes = {channel_axis(node, position) for node, position in uses}
        gather_only = all(
            node.op_type == "Gather"
            and position == 0
            and next((a.i for a in node.attribute if a.name == "axis"), 0) == 0
            for node, position in uses
        )
        if gather_only:
            q, scale = quantize_per_channel(weight, 0)
            graph.initializer.extend(
                [numpy_helper.from_array(q, f"{name}_int8"), numpy_helper.from_array(scale, f"{name}_scale")]
            )
            for k, (node, _position) in enumerate(uses):
                stem = f"{name}_gather{k}"
                indices = node.input[1]
                out = node.output[0]
                inserted = [
                    helper.make_node("Gather", [f"{name}_int8", indices], [f"{stem}_q"], axis=0),
                    helper.make_node("Cast", [f"{stem}_q"], [f"{stem}_qf"], to=TensorProto.FLOAT),
                    helper.make_node("Gather", [f"{name}_scale", indices], [f"{stem}_s"], axis=0),
                    helper.make_node("Unsqueeze", [f"{stem}_s", f"{stem}_axes"], [f"{stem}_s1"]),
                ]
                graph.initializer.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), f"{stem}_axes"))
                # The original Gather becomes the Mul that rebuilds the fp32 rows, under the same output name.
                node.op_type = "Mul"
                del node.input[:]
                node.input.extend([f"{stem}_qf", f"{stem}_s1"])
                del node.attribute[:]
                node.output[0] = out
                new_nodes_before[node_index[id(node)]].extend(inserted)
            counts["gather"] += 1
        elif len(axes) == 1 and None not in axes:
            (axis,) = axes
            assert axis is not None
            q, scale = quantize_per_channel(weight, axis)
            broadcast = scale.reshape((1, -1) if axis == 1 else (-1, 1))
            graph.initializer.extend(
                [numpy_helper.from_array(q, f"{name}_int8"), numpy_helper.from_array(broadcast, f"{name}_scale")]
            )
            first = min(node_index[id(node)] for node, _ in uses)
            new_nodes_before[first].extend(
                [
                    helper.make_node("Cast", [f"{name}_int8"], [f"{name}_intf"], to=TensorProto.FLOAT),
                    helper.make_node("Mul", [f"{name}_intf", f"{name}_scale"], [name]),
                ]
            )
            counts["matmul"] += 1
        else:
            continue
        counts["bytes_before"] += weight.nbytes
        counts["bytes_after"] += q.nbytes + scale.nbytes
        replaced.append(name)
    kept = [t for t in graph.initializer if t.name not in set(replaced)]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    for i, node in enumerate(nodes):
        graph.node.extend(new_nodes_before.get(i, []))
        graph.node.append(node)
    onnx.checker.check_model(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args()
    counts = quantize_weights(args.source, args.target)
    print(counts)


if __name__ == "__main__":
    main()
