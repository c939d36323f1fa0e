"""Row-quantised int8 products: each token's activations quantised on their own, so the int8 arithmetic is exact.

A weight-only model (``training.quantize_weights``) stores int8 weights and multiplies fp32 activations by the
dequantised weights. :func:`row_int8` turns each such ``DequantizeLinear(int8 weight) -> MatMul`` into an integer
product whose result does not depend on the batch or on the CPU:

- each row of the activation (one token's vector) is quantised with a scale of its own, computed from that row alone
  (its largest magnitude from ``ReduceMax`` and ``ReduceMin`` over the row, then ``QuantizeLinear`` per row): a
  token's product depends on that token only, never on the other tokens or texts of the batch (``quantize_dynamic``
  takes one scale for the whole tensor); products that read the same activation (query, key, value) share its codes;
- the activations use 7 of the 8 bits (0 to 127): an x86-64 CPU without VNNI multiplies u8 by s8 with ``vpmaddubsw``,
  which adds two products into a saturating 16-bit sum; 2 x 127 x 127 = 32,258 never saturates, so the integer
  result is exact there as on VNNI and AMX CPUs, and ``MatMulIntegerToFloat`` applies the weight scales to it;
- rows are quantised symmetrically (zero point 64, 63 steps each side) except the input of each feed-forward output
  layer, a GELU output, which is at least GELU's minimum (-0.17): it is shifted by 0.17 and quantised from 0 to 127,
  and the shift's product with the weights (a constant per output column) is added back.

- each product takes its activation's row scales as its ``a_scale`` ([..., 1], one per row): onnxruntime then applies
  the weight scales to the exact integer sum and multiplies the result by the row's scale, the same two roundings
  as a ``Mul`` after the product, without writing the tensor twice (:func:`fold_row_scales`; 4 to 9 % less time
  for a six-layer model). The bias stays a separate ``Add``: a product's own bias input would be multiplied by
  the row scale too.

- Softmax is rewritten as ``ReduceMax``, ``Sub``, ``Exp``, ``ReduceSum`` and ``Div``: onnxruntime's Softmax kernel
  gives other last bits on AVX-512 CPUs than on AVX2 ones, and before a 7-bit rounding a last-bit difference can move
  a code by a step, which then spreads through the layers above; those plain ops give the same bits on both.

The weights, their scales and the embedding tables stay exactly as they are. What changes is the rounding of the
activations to 7 bits per row; ``docs/evaluation.md`` gives each model's figures with it.

    python -m training.quantize_rows src/crosscheck/models/*/model.onnx     # convert in place

Converting a model twice changes nothing (a converted model has no ``DequantizeLinear -> MatMul`` left); a model
converted before the row scales went into the products gets them there, with the same outputs bit for bit.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import Any

#: GELU's minimum, -0.16997 at x = -0.7518, rounded down: a GELU output minus this is never negative.
GELU_MIN = -0.17
#: Largest activation code: 7 bits, so u8 x s8 pair sums fit a signed 16-bit integer.
CODE_MAX = 127
#: The symmetric code's zero point and its steps each side of it.
SYMMETRIC_ZERO = 64
SYMMETRIC_STEPS = 63
#: The op that marks a converted product; a model holding it is row-quantised.
ROW_PRODUCT = "MatMulIntegerToFloat"


def _after_gelu(name: str, producer: dict[str, Any], depth: int = 4) -> bool:
    """Whether tensor ``name`` is computed from an ``Erf`` at most ``depth`` nodes up (the exported GELU)."""
    node = producer.get(name)
    if node is None:
        return False
    if node.op_type == "Erf":
        return True
    return depth > 1 and any(_after_gelu(i, producer, depth - 1) for i in node.input)


def row_int8(model: Any) -> Any:
    """A copy of ``model`` (onnx.ModelProto, weight-only int8) whose weight products are row-quantised int8 ones."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    added: list[Any] = []

    def constant(name: str, value: Any) -> str:
        if name not in inits:
            tensor = numpy_helper.from_array(np.asarray(value), name)
            inits[name] = tensor
            added.append(tensor)
        return name

    tiny = constant("rowq_tiny", np.float32(1e-30))
    flat = constant("rowq_flat", np.array([-1], np.int64))

    # The weight products, grouped by the activation they read (query, key and value read the same one).
    groups: dict[tuple[str, str], list[tuple[Any, Any, Any]]] = defaultdict(list)
    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        a, b = node.input
        dequant = producer.get(b)
        if dequant is None or dequant.op_type != "DequantizeLinear" or dequant.input[0] not in inits:
            continue
        w_q, w_scale, w_zero = dequant.input
        weights = numpy_helper.to_array(inits[w_q])
        zeros = numpy_helper.to_array(inits[w_zero])
        axis = next((attr.i for attr in dequant.attribute if attr.name == "axis"), 1)
        if weights.dtype != np.int8 or weights.ndim != 2 or axis != 1 or np.any(zeros != 0):
            raise ValueError(f"{node.name}: expected a 2-D int8 weight, symmetric per column")
        if int(np.abs(weights.astype(np.int32)).max()) > CODE_MAX:
            raise ValueError(f"{node.name}: a weight of -128 could saturate u8 x s8 products")
        kind = "gelu" if _after_gelu(a, producer) else "symmetric"
        groups[(a, kind)].append((node, weights, numpy_helper.to_array(inits[w_scale])))

    replacement: dict[int, list[Any]] = {}
    for (a, kind), members in groups.items():
        k = members[0][1].shape[0]
        base = f"{a}_rowq_{kind}"
        nodes: list[Any] = []
        if kind == "symmetric":
            source, zero = a, constant("rowq_zero_symmetric", np.uint8(SYMMETRIC_ZERO))
            steps = constant("rowq_steps_symmetric", np.float32(SYMMETRIC_STEPS))
            nodes += [
                # max |x| of each row: the larger of its maximum and minus its minimum (no |x| tensor written).
                helper.make_node("ReduceMax", [a], [f"{base}_top"], name=f"{base}_top", axes=[-1]),
                helper.make_node("ReduceMin", [a], [f"{base}_bottom"], name=f"{base}_bottom", axes=[-1]),
                helper.make_node("Neg", [f"{base}_bottom"], [f"{base}_negated"], name=f"{base}_negated"),
                helper.make_node("Max", [f"{base}_top", f"{base}_negated"], [f"{base}_max"], name=f"{base}_max"),
            ]
        else:
            shift = constant("rowq_gelu_shift", np.float32(-GELU_MIN))
            source, zero = f"{base}_shifted", constant("rowq_zero_gelu", np.uint8(0))
            steps = constant("rowq_steps_gelu", np.float32(CODE_MAX))
            nodes += [
                helper.make_node("Add", [a, shift], [source], name=f"{base}_shift"),
                helper.make_node("ReduceMax", [source], [f"{base}_max"], name=f"{base}_max", axes=[-1]),
            ]
        width = constant(f"rowq_width_{k}", np.array([-1, k], np.int64))
        codes, scale = f"{base}_codes", f"{base}_scale"
        nodes += [
            # One scale per row (keepdims: [..., 1]); an all-zero row gets a tiny one rather than 0.
            helper.make_node("Div", [f"{base}_max", steps], [f"{base}_scale0"], name=f"{base}_scale0"),
            helper.make_node("Max", [f"{base}_scale0", tiny], [scale], name=scale),
            # QuantizeLinear per row: the rows as axis 0 of a 2-D view, a scale and a zero point each.
            helper.make_node("Shape", [a], [f"{base}_shape"], name=f"{base}_shape"),
            helper.make_node("Reshape", [source, width], [f"{base}_rows"], name=f"{base}_rows"),
            helper.make_node("Reshape", [scale, flat], [f"{base}_scales"], name=f"{base}_scales"),
            helper.make_node("Shape", [f"{base}_scales"], [f"{base}_count"], name=f"{base}_count"),
            helper.make_node("Expand", [zero, f"{base}_count"], [f"{base}_zeros"], name=f"{base}_zeros"),
            helper.make_node(
                "QuantizeLinear",
                [f"{base}_rows", f"{base}_scales", f"{base}_zeros"],
                [f"{base}_codes2d"],
                name=f"{base}_quantise",
                axis=0,
            ),
            helper.make_node("Reshape", [f"{base}_codes2d", f"{base}_shape"], [codes], name=base),
        ]
        for node, weights, scales in members:
            w_q, w_scale, w_zero = producer[node.input[1]].input
            out = node.output[0]
            # The row scales as the product's a_scale: (exact sum x weight scale) x row scale.
            scaled = out if kind == "symmetric" else f"{out}_rowq_scaled"
            nodes.append(
                helper.make_node(
                    ROW_PRODUCT,
                    [codes, w_q, scale, w_scale, zero, w_zero],
                    [scaled],
                    name=f"{out}_rowq",
                    domain="com.microsoft",
                )
            )
            if kind == "symmetric":
                continue
            # The shift's product with the weights, a constant per output column, added back.
            dequantised = weights.astype(np.float64) * scales.astype(np.float64)
            shift_back = constant(f"{out}_rowq_shift_back", (GELU_MIN * dequantised.sum(axis=0)).astype(np.float32))
            nodes.append(helper.make_node("Add", [scaled, shift_back], [out], name=f"{out}_rowq_shift"))
        # The group's products come where its first one was (they all read the same activation).
        replacement[id(members[0][0])] = nodes
        for node, _, _ in members[1:]:
            replacement[id(node)] = []

    # Softmax as plain ops: onnxruntime's Softmax kernel sums in another order on AVX-512 CPUs than on AVX2 ones (the
    # last bits differ), and a last-bit difference can move a row's 7-bit code; ReduceMax, Sub, Exp, ReduceSum and Div
    # compute the same bits on both.
    for node in graph.node:
        if node.op_type != "Softmax":
            continue
        axis = next((attr.i for attr in node.attribute if attr.name == "axis"), -1)
        (x,), (y,) = node.input, node.output
        axes = constant(f"rowq_softmax_axes_{axis}".replace("-", "m"), np.array([axis], np.int64))
        replacement[id(node)] = [
            helper.make_node("ReduceMax", [x], [f"{y}_max"], name=f"{y}_max", axes=[axis]),
            helper.make_node("Sub", [x, f"{y}_max"], [f"{y}_centred"], name=f"{y}_centred"),
            helper.make_node("Exp", [f"{y}_centred"], [f"{y}_exp"], name=f"{y}_exp"),
            helper.make_node("ReduceSum", [f"{y}_exp", axes], [f"{y}_sum"], name=f"{y}_sum"),
            helper.make_node("Div", [f"{y}_exp", f"{y}_sum"], [y], name=f"{y}_softmax"),
        ]
    if not replacement:
        return fold_row_scales(model)
    nodes = []
    for node in graph.node:
        nodes.extend(replacement.get(id(node), [node]))
    used = {name for node in nodes for name in node.input}
    nodes = [n for n in nodes if n.op_type != "DequantizeLinear" or any(o in used for o in n.output)]
    used = {name for node in nodes for name in node.input}
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(added)
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    return fold_row_scales(model)


def fold_row_scales(model: Any) -> Any:
    """``model`` with each ``product(codes, w, 1.0, ...) -> Mul(row scale)`` made one product whose ``a_scale`` is the
    row scale (in place; returned). onnxruntime computes ``(sum x w_scale) x a_scale`` for a non-scalar ``a_scale``,
    the two roundings of the ``Mul``, so the outputs keep every bit."""
    import onnx

    graph = model.graph
    consumers: dict[str, list[Any]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    outputs = {o.name for o in graph.output}
    folded: set[int] = set()
    for node in graph.node:
        if node.op_type != ROW_PRODUCT or node.input[2] != "rowq_one" or node.output[0] in outputs:
            continue
        users = consumers[node.output[0]]
        if len(users) != 1 or users[0].op_type != "Mul" or users[0].input[0] != node.output[0]:
            continue
        scaling = users[0]
        if not scaling.input[1].endswith("_scale"):  # the row scale of the activation's quantisation
            continue
        node.input[2] = scaling.input[1]
        node.output[0] = scaling.output[0]
        folded.add(id(scaling))
    if not folded:
        return model
    kept = [n for n in graph.node if id(n) not in folded]
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in graph.node for name in node.input}
    initializers = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    onnx.checker.check_model(model)
    return model


def convert_file(source: Path, target: Path | None = None) -> Path:
    """Rewrite a weight-only model file with :func:`row_int8` (in place unless ``target`` is given)."""
    import onnx

    target = target or source
    onnx.save(row_int8(onnx.load(str(source))), str(target))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+", help="weight-only int8 models, converted in place")
    args = parser.parse_args()
    for path in args.models:
        convert_file(path)
        print(f"{path}: row-quantised int8 products ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
