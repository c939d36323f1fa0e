"""Weight-only int8 ONNX models: int8 weights on disk, every matrix product computed in fp32, batch-independent.

onnxruntime's dynamic quantisation (``quantize_dynamic``) stores int8 weights *and* quantises activations at run
time: ``DynamicQuantizeLinear`` picks one scale for the whole input tensor (every sentence of a padded batch
together), then ``MatMulInteger`` multiplies u8 activations by s8 weights. Two consequences for a shipped model:

- a sentence's scores depend on the other sentences of its batch (they share the activation scale);
- the u8s8 kernels of x86-64 CPUs without VNNI can saturate their 16-bit intermediate sums, so the same input
  scores differently on such CPUs (onnxruntime's ``session.x64quantprecision`` session option works around that, at
  a cost in speed, but not around the first point).

:func:`weight_only` rewrites each ``DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(scale)`` chain into
``DequantizeLinear(int8 weight) -> MatMul`` on the fp32 activation: the file keeps the same int8 weights, scales and
zero points (about a quarter of fp32's size), onnxruntime dequantises them once when it loads the model (constant
folding), and no activation is ever quantised. The embedding tables stay as ``quantize_dynamic`` wrote them
(a ``Gather`` of uint8 rows then ``DequantizeLinear``), which is already per token.

:func:`matmul_pooling` rewrites masked sum pooling over the sequence, ``ReduceSum(hidden * mask, axis 1)``, as a
batched ``MatMul`` of the transposed mask with the hidden states: onnxruntime reduces a middle axis in another order
when the batch holds one text than when it holds several (the sums differ in the last bits), while a batched MatMul
runs the same product for every text of the batch.

    python -m training.quantize_weights OLD_DYNAMIC.onnx                        # convert in place (weight-only)
    python -m training.quantize_weights model.fp32.onnx --out model.onnx         # quantise an fp32 export (then rows)
    python -m training.quantize_weights model.fp32.onnx --out m.onnx --weight-only   # ... keeping fp32 products

The analysis models then get row-quantised int8 products (``training.quantize_rows``), which keep the int8 weights
and the batch independence of this rewrite and make the integer arithmetic exact on every x86-64 CPU; the stance
model keeps fp32 products.

Converting a model twice changes nothing; the same input always gives the same bytes.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

#: Node types of dynamic (activation) quantisation; a weight-only model has none of them.
ACTIVATION_QUANT_OPS = frozenset({"DynamicQuantizeLinear", "MatMulInteger", "DynamicQuantizeMatMul"})


def weight_only(model: Any) -> Any:
    """A copy of ``model`` (onnx.ModelProto) whose integer matrix products run in fp32 on dequantised weights."""
    import onnx
    from onnx import helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)

    drop: set[int] = set()  # ids of nodes replaced
    replacement: dict[int, list[Any]] = {}
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        a_q, b_q, _a_zp, b_zp = node.input
        quantise = producer.get(a_q)
        if quantise is None or quantise.op_type != "DynamicQuantizeLinear":
            raise ValueError(f"{node.name}: input A does not come from DynamicQuantizeLinear")
        if b_q not in inits or b_zp not in inits or len(inits[b_q].dims) != 2:
            raise ValueError(f"{node.name}: input B is not a 2-D int8 initializer")
        (cast,) = consumers[node.output[0]]
        (rescale,) = consumers[cast.output[0]]
        if cast.op_type != "Cast" or rescale.op_type != "Mul":
            raise ValueError(f"{node.name}: expected Cast -> Mul after MatMulInteger")
        scales_name = next(i for i in rescale.input if i != cast.output[0])
        scales = producer[scales_name]
        if scales.op_type != "Mul" or scales.input[0] != quantise.output[1] or scales.input[1] not in inits:
            raise ValueError(f"{node.name}: expected Mul(activation scale, weight scale) as the output scale")
        b_scale = scales.input[1]
        weight = f"{b_q}_dequantized"
        # MatMulInteger's B zero point and the output scale are per column of B, hence axis 1.
        dequantise = helper.make_node(
            "DequantizeLinear", [b_q, b_scale, b_zp], [weight], name=f"{node.name}_weight_dequant", axis=1
        )
        matmul = helper.make_node("MatMul", [quantise.input[0], weight], [rescale.output[0]], name=f"{node.name}_fp32")
        replacement[id(node)] = [dequantise, matmul]
        drop.update({id(cast), id(rescale), id(scales)})

    nodes = []
    for node in graph.node:
        if id(node) in replacement:
            nodes.extend(replacement[id(node)])
        elif id(node) not in drop:
            nodes.append(node)
    used = {name for node in nodes for name in node.input}
    nodes = [n for n in nodes if n.op_type != "DynamicQuantizeLinear" or any(o in used for o in n.output)]
    used = {name for node in nodes for name in node.input} | {o.name for o in graph.output}
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    left = sorted({n.op_type for n in graph.node} & ACTIVATION_QUANT_OPS)
    if left:
        raise ValueError(f"activation quantisation left in the graph: {left}")
    onnx.checker.check_model(model)
    return model


def matmul_pooling(model: Any) -> Any:
    """A copy of ``model`` whose masked sum pooling over axis 1 (``ReduceSum(x * w)``, w of shape [B, S, 1]) is a
    batched ``MatMul(Transpose(w), x)``: each text's sum is then computed the same way whatever the batch size."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    shapes = {}
    for info in onnx.shape_inference.infer_shapes(model).graph.value_info:
        shapes[info.name] = [d.dim_value if d.HasField("dim_value") else None for d in info.type.tensor_type.shape.dim]
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    producer = {out: node for node in graph.node for out in node.output}

    nodes = []
    for node in graph.node:
        if node.op_type != "ReduceSum" or len(node.input) < 2:
            nodes.append(node)
            continue
        keepdims = next((a.i for a in node.attribute if a.name == "keepdims"), 1)
        mul = producer.get(node.input[0])
        axes = constants.get(node.input[1])
        if keepdims != 0 or axes is None or axes.tolist() != [1] or mul is None:
            nodes.append(node)
            continue
        operands = [(shapes.get(name), name) for name in mul.input]
        weights = [name for shape, name in operands if shape is not None and len(shape) == 3 and shape[2] == 1]
        values = [name for shape, name in operands if shape is not None and len(shape) == 3 and shape[2] != 1]
        if mul.op_type != "Mul" or len(weights) != 1 or len(values) != 1:
            nodes.append(node)
            continue
        squeeze_axes = f"{node.name}_squeeze_axes"
        graph.initializer.append(numpy_helper.from_array(np.array([1], dtype=np.int64), squeeze_axes))
        nodes += [
            helper.make_node("Transpose", [weights[0]], [f"{node.name}_wT"], name=f"{node.name}_wT", perm=[0, 2, 1]),
            helper.make_node("MatMul", [f"{node.name}_wT", values[0]], [f"{node.name}_mm"], name=f"{node.name}_mm"),
            helper.make_node("Squeeze", [f"{node.name}_mm", squeeze_axes], list(node.output), name=f"{node.name}_sq"),
        ]
    del graph.node[:]
    graph.node.extend(_live(nodes, {o.name for o in graph.output}))
    used = {name for node in graph.node for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(model)
    return model


def _live(nodes: list[Any], outputs: set[str]) -> list[Any]:
    """The nodes that some graph output depends on, in their order."""
    needed = set(outputs)
    keep = []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(node.input)
    return keep[::-1]


def convert(model: Any) -> Any:
    """Both rewrites: int8 weights, fp32 products (:func:`weight_only`); pooling as MatMul (:func:`matmul_pooling`)."""
    return matmul_pooling(weight_only(model))


def convert_file(source: Path, target: Path | None = None) -> Path:
    """Rewrite a dynamically quantised model file with :func:`convert` (in place unless ``target`` is given)."""
    import onnx

    target = target or source
    converted = convert(onnx.load(str(source)))
    onnx.save(converted, str(target))
    return target


def quantize_weights(fp32: Path, target: Path, *, rows: bool = True) -> Path:
    """Quantise an fp32 ONNX export to int8 weights (per-channel symmetric), then (``rows``, the default, what the
    analysis models ship with) make its products row-quantised int8 ones (``training.quantize_rows``) and drop the
    attention masking their unpadded batches never need (``training.unpad_graph``); without ``rows`` the products
    stay fp32 (weight-only) and the graph is scored padded too (the stance model)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        dynamic = Path(tmp) / "dynamic.onnx"
        quantize_dynamic(str(fp32), str(dynamic), weight_type=QuantType.QInt8, per_channel=True)
        convert_file(dynamic, target)
    if rows:
        from training.quantize_rows import convert_file as rows_file
        from training.unpad_graph import convert_file as unpadded_file

        rows_file(target)
        unpadded_file(target)  # scored unpadded only: attention without its mask (training.unpad_graph)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+", help="dynamically quantised (or fp32, with --out) models")
    parser.add_argument("--out", type=Path, help="quantise one fp32 model to this path instead of converting")
    parser.add_argument(
        "--weight-only", action="store_true", help="with --out: keep fp32 products (no row-quantised int8 ones)"
    )
    args = parser.parse_args()
    if args.out is not None:
        if len(args.models) != 1:
            parser.error("--out takes exactly one fp32 model")
        quantize_weights(args.models[0], args.out, rows=not args.weight_only)
        print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
        return
    for path in args.models:
        before = path.stat().st_size
        convert_file(path)
        print(f"{path}: {before / 1e6:.1f} MB -> {path.stat().st_size / 1e6:.1f} MB, no activation quantisation")


if __name__ == "__main__":
    main()
