"""Cut an exported MiniLM model in two at a layer boundary: the shared encoder trunk and the model's own head.

Every transformer model of the analysis that keeps all-MiniLM-L6-v2's embeddings and first layers unchanged (not
trained) computes the same hidden states there for a sentence. Cutting each such model after those layers gives:

- the **trunk** (``models/encoder-trunk``): ``input_ids``, ``attention_mask`` -> ``hidden_states`` (batch, tokens,
  384), the output of encoder layer ``layers - 1``; the same graph for every model cut at that layer;
- the model's **head**: ``hidden_states`` and ``attention_mask`` (and ``input_ids``, whose shape some graphs read)
  -> the model's own outputs, through its upper layers.

At run time :class:`crosscheck.models.runtime.HeadModel` runs the trunk once per sentence (its rows are cached) and
every head on its hidden states, so the check-worthiness score and the claim's embedding cost one trunk pass.

    python -m training.split_encoder MODEL.onnx --layers 3 --trunk TRUNK.onnx --head HEAD.onnx

:func:`same_trunk` checks that two models' trunks hold the same weights (so a head trained on one model's frozen
layers reads what the shipped trunk computes).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

#: Name of the tensor between trunk and head, in both graphs.
HIDDEN = "hidden_states"
#: Encoder layers in the shared trunk (of all-MiniLM-L6-v2's six).
TRUNK_LAYERS = 3


def cut_tensor(model: Any, layers: int) -> str:
    """The output of encoder layer ``layers - 1`` (its last LayerNormalization)."""
    marker = f"encoder/layer.{layers - 1}/output/LayerNorm/"
    names = [
        node.output[0] for node in model.graph.node if marker in node.name and node.op_type == "LayerNormalization"
    ]
    if len(names) != 1:
        raise ValueError(f"no single output of encoder layer {layers - 1} in the graph ({len(names)} candidates)")
    return names[0]


def _rename(model: Any, old: str, new: str) -> Any:
    for node in model.graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in (*model.graph.input, *model.graph.output):
        if value.name == old:
            value.name = new
    return model


def split(model: Any, layers: int) -> tuple[Any, Any]:
    """(trunk, head) of an ONNX model whose inputs are ``input_ids`` and ``attention_mask``."""
    import onnx
    from onnx.shape_inference import infer_shapes
    from onnx.utils import Extractor

    inferred = infer_shapes(model)
    cut = cut_tensor(inferred, layers)
    outputs = [o.name for o in model.graph.output]
    extractor = Extractor(inferred)
    trunk = extractor.extract_model(["input_ids", "attention_mask"], [cut])
    head = extractor.extract_model([cut, "input_ids", "attention_mask"], outputs)
    # The attention mask is shaped after the embeddings' output (batch, tokens, hidden), a trunk tensor: read the
    # shape off the trunk's output instead, so the head holds no embedding table.
    normalised = {n.output[0] for n in trunk.graph.node if n.op_type == "LayerNormalization"}
    for node in head.graph.node:
        if node.op_type == "Shape" and node.input[0] in normalised:
            node.input[0] = cut
    head = Extractor(infer_shapes(head)).extract_model([cut, "input_ids", "attention_mask"], outputs)
    trunk, head = _rename(trunk, cut, HIDDEN), _rename(head, cut, HIDDEN)
    for part in (trunk, head):
        del part.graph.value_info[:]
        onnx.checker.check_model(part)
    return trunk, head


def weights(model: Any) -> list[np.ndarray]:
    """The model's initializers (its weights) in graph order."""
    from onnx import numpy_helper

    return [numpy_helper.to_array(t) for t in model.graph.initializer]


def same_trunk(a: Any, b: Any) -> bool:
    """Whether two trunks hold the same weights (compared as multisets of arrays, names aside). Integer shape
    constants are left out: a graph converted for unpadded batches whole and then cut holds a reshape target or two
    more than a trunk converted on its own (``training.unpad_graph``)."""

    def key(array: np.ndarray) -> tuple[Any, ...]:
        return (array.dtype.str, array.shape, array.tobytes())

    def kept(model: Any) -> list[tuple[Any, ...]]:
        return sorted(key(w) for w in weights(model) if w.dtype != np.int64)

    return kept(a) == kept(b)


def keep_head(model_path: Path, layers: int, shipped_trunk: Path) -> bool:
    """Replace a whole exported model by its head above ``layers``; returns whether its trunk's weights equal the
    shipped trunk's (so the head reads at run time what it was trained on)."""
    import onnx

    trunk, head = split(onnx.load(str(model_path)), layers)
    onnx.save(head, str(model_path))
    return same_trunk(trunk, onnx.load(str(shipped_trunk)))


def split_file(source: Path, layers: int, trunk_path: Path, head_path: Path) -> None:
    import onnx

    from training.unpad_graph import is_unpadded, unpadded

    model = onnx.load(str(source))
    trunk, head = split(model, layers)
    if is_unpadded(model):  # the cut graphs lose the model's metadata: mark them again (nothing else changes)
        trunk, head = unpadded(trunk), unpadded(head)
    trunk_path.parent.mkdir(parents=True, exist_ok=True)
    head_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(trunk, str(trunk_path))
    onnx.save(head, str(head_path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--layers", type=int, required=True, help="encoder layers in the trunk")
    parser.add_argument("--trunk", type=Path, required=True)
    parser.add_argument("--head", type=Path, required=True)
    args = parser.parse_args()
    split_file(args.model, args.layers, args.trunk, args.head)


if __name__ == "__main__":
    main()
