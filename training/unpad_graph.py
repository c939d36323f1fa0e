"""Graphs for unpadded batches: attention without its mask and reshapes with static shapes, the same outputs.

The runtime never pads a batch: :meth:`crosscheck.models.runtime.OnnxModel.batches` and a head's rows group texts of
one token length (``same_length_batches``), so every attention mask the analysis models see is all ones. The exported
BERT graphs still compute with it, in every layer:

- the additive mask (0 where a token is kept, the float minimum where it is padding) is added to the attention
  scores, a full pass over the (texts, heads, tokens, tokens) scores;
- SDPA-style exports then replace NaN probabilities (a row of padding only) by 0 with ``IsNaN`` and ``Where``, two
  more passes over the same tensor;
- every ``Reshape`` into heads and back reads its target shape from ``Shape``, ``Gather``, ``Unsqueeze`` and
  ``Concat`` nodes recomputed in each layer.

:func:`drop_attention_masks` removes the first two: an ``Add`` of the scores and a tensor computed from
``attention_mask`` alone (and shapes and constants) is replaced by the scores, and ``Where(IsNaN(p), c, p)`` by
``p``. With an all-ones mask the bits are the same: the mask adds 0.0 (x + 0.0 is x) and no row is all padding, so no
probability is NaN. :func:`static_reshapes` gives each such ``Reshape`` a constant target shape (``0`` copies an input
dimension, ``-1`` takes the rest), found by running the graph at three batch shapes and kept only where it gives the
same output shape at all three; the nodes that computed the shape are then pruned (:func:`prune`). A mean pooling over
the mask (the sentence encoder's) is left as it is.

The converted model is marked (metadata ``crosscheck.unpadded`` = ``1``): its attention reads every token, so a
padded batch would give wrong outputs, and the runtime refuses one for it (E064). On the analysis models the
conversion removes about a third of the nodes and 3 to 5 % of the six-layer models' CPU time
(``benchmarks/models.py --against``, ``docs/performance.md``); ``tests/test_unpad_graph.py`` checks the outputs of a
masked attention graph against its conversion.

    python -m training.unpad_graph src/crosscheck/models/*/model.onnx     # convert in place (the stance model,
                                                                           # scored padded, is skipped)

Converting twice changes nothing. :func:`training.quantize_weights.quantize_weights` applies it after the row
quantisation (``training.quantize_rows``) to every analysis model it exports.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from crosscheck.models.runtime import UNPADDED_KEY

#: Batch shapes (texts, tokens) at which :func:`static_reshapes` runs the graph; a shape is kept only if right at all.
PROBE_SHAPES = ((2, 7), (3, 11), (1, 5))
#: Ops whose output depends on an input's shape only, never on its values.
_SHAPE_OPS = {"Shape", "Size"}


def is_unpadded(model: Any) -> bool:
    """Whether ``model`` (onnx.ModelProto) is marked as converted."""
    return any(p.key == UNPADDED_KEY and p.value == "1" for p in model.metadata_props)


def _mask_derived(graph: Any) -> dict[str, bool]:
    """Tensor name -> whether its values are computed from ``attention_mask`` (with constants and shapes only).

    A tensor that also reads another input's values (ids, hidden states) maps to False; constants and shapes are not
    listed."""
    producer = {out: node for node in graph.node for out in node.output}
    inits = {i.name for i in graph.initializer}
    memo: dict[str, bool | None] = {}

    def visit(name: str) -> bool | None:  # True: mask-derived, None: constant or shape, False: other values
        if name in memo:
            return memo[name]
        if name == "attention_mask":
            result: bool | None = True
        elif not name or name in inits:
            result = None
        else:
            node = producer.get(name)
            if node is None:  # another graph input
                result = False
            elif node.op_type == "Constant" or node.op_type in _SHAPE_OPS:
                result = None
            else:
                kinds = [visit(i) for i in node.input]
                result = False if False in kinds else (True if True in kinds else None)
        memo[name] = result
        return result

    for node in graph.node:
        for out in node.output:
            visit(out)
    return {name: kind for name, kind in memo.items() if kind is not None}


def _bypass(graph: Any, replace: dict[str, str]) -> None:
    """Every node reading a tensor of ``replace`` reads its replacement instead (followed to the end of a chain)."""

    def final(name: str) -> str:
        while name in replace:
            name = replace[name]
        return name

    outputs = {o.name for o in graph.output}
    if outputs & replace.keys():
        raise ValueError(f"cannot bypass graph outputs: {sorted(outputs & replace.keys())}")
    for node in graph.node:
        node.input[:] = [final(name) for name in node.input]


def drop_attention_masks(model: Any) -> int:
    """Remove the attention masking (in place); returns how many nodes were bypassed. See the module docstring.

    An ``Add`` is bypassed only if its mask-derived input is exactly 0.0 everywhere when the mask is all ones, at
    every batch shape of :data:`PROBE_SHAPES`."""
    graph = model.graph
    derived = _mask_derived(graph)
    producer = {out: node for node in graph.node for out in node.output}
    replace: dict[str, str] = {}
    addends: dict[str, str] = {}  # Add output -> its mask-derived input
    for node in graph.node:
        if node.op_type == "Add" and len(node.input) == 2:
            a, b = (derived.get(name) for name in node.input)
            if a is True and b is False:
                replace[node.output[0]], addends[node.output[0]] = node.input[1], node.input[0]
            elif b is True and a is False:
                replace[node.output[0]], addends[node.output[0]] = node.input[0], node.input[1]
        elif node.op_type == "Where" and len(node.input) == 3:
            test = producer.get(node.input[0])
            if test is not None and test.op_type == "IsNaN" and test.input[0] == node.input[2]:
                replace[node.output[0]] = node.input[2]
    if addends:
        probes = _probe(model, sorted(set(addends.values())))
        for out, addend in addends.items():
            if any(probe[addend].any() for probe in probes):
                del replace[out]
    _bypass(graph, replace)
    return len(replace)


def _probe(model: Any, names: list[str]) -> list[dict[str, Any]]:
    """The values of tensors ``names`` at each batch shape of :data:`PROBE_SHAPES` (unoptimised onnxruntime)."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    probe = onnx.ModelProto.FromString(model.SerializeToString())
    listed = {o.name for o in probe.graph.output}
    probe.graph.output.extend(helper.make_empty_tensor_value_info(name) for name in names if name not in listed)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    found = []
    for texts, tokens in PROBE_SHAPES:
        values = session.run(None, _probe_feeds(model, texts, tokens))
        found.append(dict(zip(outputs, values, strict=True)))
    return found


def _probe_feeds(model: Any, texts: int, tokens: int) -> dict[str, Any]:
    """Inputs of one batch shape: dynamic dimensions are (texts, tokens, ...) in order; ids 1000, masks 1."""
    import numpy as np
    from onnx import helper

    rng = np.random.default_rng(0)
    feeds = {}
    for value in model.graph.input:
        tensor = value.type.tensor_type
        dynamic = iter((texts, tokens))
        shape = [d.dim_value if d.dim_value else next(dynamic, 1) for d in tensor.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        if np.issubdtype(dtype, np.floating):
            feeds[value.name] = rng.standard_normal(shape).astype(dtype)
        elif value.name == "input_ids":
            feeds[value.name] = np.full(shape, 1000, dtype=dtype)
        elif value.name == "token_type_ids":
            feeds[value.name] = np.zeros(shape, dtype=dtype)
        else:
            feeds[value.name] = np.ones(shape, dtype=dtype)
    return feeds


def _static_shape(ins: list[tuple[int, ...]], outs: list[tuple[int, ...]]) -> list[int] | None:
    """A Reshape target (with 0 and at most one -1) giving ``outs[k]`` from ``ins[k]`` for every k, if any."""
    import numpy as np

    if len({len(o) for o in outs}) != 1:
        return None
    dims = []
    for d in range(len(outs[0])):
        values = {o[d] for o in outs}
        if all(d < len(i) and i[d] == o[d] for i, o in zip(ins, outs, strict=True)):
            dims.append(0)
        elif len(values) == 1:
            dims.append(values.pop())
        else:
            dims.append(-1)
    if dims.count(-1) > 1:
        return None
    for i, o in zip(ins, outs, strict=True):
        shape = [i[k] if v == 0 else v for k, v in enumerate(dims)]
        if -1 in shape:
            rest = int(np.prod([v for v in shape if v != -1]))
            shape[shape.index(-1)] = int(np.prod(i)) // rest if rest else 0
        if tuple(shape) != tuple(o):
            return None
    return dims


def static_reshapes(model: Any) -> int:
    """Give each Reshape whose target shape is computed a constant one (in place); returns how many."""
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    constant = {i.name for i in graph.initializer} | {n.output[0] for n in graph.node if n.op_type == "Constant"}
    targets = [
        n
        for n in graph.node
        if n.op_type == "Reshape"
        and n.input[1] not in constant
        and not any(a.name == "allowzero" and a.i for a in n.attribute)  # 0 would mean a dimension of 0
    ]
    if not targets:
        return 0
    wanted = list(dict.fromkeys(name for n in targets for name in (n.input[0], n.output[0])))
    shapes = [{name: tuple(value.shape) for name, value in probe.items()} for probe in _probe(model, wanted)]
    done = 0
    for node in targets:
        dims = _static_shape([s[node.input[0]] for s in shapes], [s[node.output[0]] for s in shapes])
        if dims is None:
            continue
        name = f"{node.output[0]}_static_shape"
        graph.initializer.append(numpy_helper.from_array(np.array(dims, dtype=np.int64), name))
        node.input[1] = name
        done += 1
    return done


def prune(model: Any) -> int:
    """Drop the nodes and initializers no graph output needs (in place); returns how many nodes went."""
    graph = model.graph
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(list(graph.node)):
        if any(out in needed for out in node.output):
            kept.append(node)
            needed.update(name for name in node.input if name)
    dropped = len(graph.node) - len(kept)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    used = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(used)
    return dropped


def unpadded(model: Any) -> Any:
    """A copy of ``model`` (onnx.ModelProto) without attention masking, with static reshapes, pruned and marked."""
    import onnx

    model = onnx.ModelProto.FromString(model.SerializeToString())
    drop_attention_masks(model)
    static_reshapes(model)
    prune(model)
    if not is_unpadded(model):
        entry = model.metadata_props.add()
        entry.key, entry.value = UNPADDED_KEY, "1"
    return model


def convert_file(source: Path, target: Path | None = None) -> Path:
    """Rewrite a model file with :func:`unpadded` (in place unless ``target`` is given)."""
    import onnx

    target = target or source
    onnx.save(unpadded(onnx.load(str(source))), str(target))
    return target


def main() -> None:
    import onnx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+", help="row-quantised analysis models, converted in place")
    args = parser.parse_args()
    for path in args.models:
        model = onnx.load(str(path))
        if not any(n.op_type == "MatMulIntegerToFloat" for n in model.graph.node):
            print(f"{path}: skipped (no row-quantised products: not one of the analysis models)")
            continue
        before = len(model.graph.node)
        converted = unpadded(model)
        onnx.save(converted, str(path))
        print(f"{path}: {before} -> {len(converted.graph.node)} nodes, attention without its mask")


if __name__ == "__main__":
    main()
