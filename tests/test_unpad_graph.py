"""Graphs for unpadded batches (``training/unpad_graph.py``): attention without its mask, static reshapes.

A small attention graph built here, masked the way the BERT exports mask (an additive mask from ``attention_mask``,
NaN rows set to 0, reshapes whose target shapes are computed), gives the same bits converted and not on batches
without padding, and other outputs on a padded one (so the mask really is what was removed). The shipped analysis
models are converted, and the runtime refuses a padded batch for them.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from crosscheck.errors import ModelError
from crosscheck.models.runtime import MODELS_DIR, UNPADDED_KEY, inference_session, load_onnx_model

ROOT = Path(__file__).resolve().parent.parent
ANALYSIS_MODELS = ("encoder-trunk", "checkworthiness", "sentence-encoder", "techniques-si", "techniques-tc")
WIDTH, HEADS = 8, 2


def unpad_graph():  # type: ignore[no-untyped-def]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("training.unpad_graph")


def _dynamic_shape(nodes: list[onnx.NodeProto], source: str, name: str) -> str:
    """Nodes computing [batch, tokens, *(initializer name_tail)] from ``source``'s shape, as the exports compute a
    Reshape's target; returns the name of the shape."""
    nodes += [
        helper.make_node("Shape", [source], [f"{name}_shape"]),
        helper.make_node("Gather", [f"{name}_shape", "zero"], [f"{name}_b"], axis=0),
        helper.make_node("Gather", [f"{name}_shape", "one"], [f"{name}_l"], axis=0),
        helper.make_node("Unsqueeze", [f"{name}_b", "axes0"], [f"{name}_b1"]),
        helper.make_node("Unsqueeze", [f"{name}_l", "axes0"], [f"{name}_l1"]),
        helper.make_node("Concat", [f"{name}_b1", f"{name}_l1", f"{name}_tail"], [name], axis=0),
    ]
    return name


def attention_model(extra_mask_add: bool = False) -> onnx.ModelProto:
    """Self-attention of ``x`` (batch, tokens, 8) with two heads, masked by ``attention_mask`` (batch, tokens)."""
    nodes: list[onnx.NodeProto] = []
    inits = [
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array(1, np.int64), "one"),
        numpy_helper.from_array(np.array([0], np.int64), "axes0"),
        numpy_helper.from_array(np.array([1, 2], np.int64), "axes12"),
        numpy_helper.from_array(np.array([HEADS, WIDTH // HEADS], np.int64), "heads_tail"),
        numpy_helper.from_array(np.array([WIDTH], np.int64), "merged_tail"),
        numpy_helper.from_array(np.array(np.finfo(np.float32).min, np.float32), "minimum"),
        numpy_helper.from_array(np.array(0.0, np.float32), "nothing"),
        numpy_helper.from_array(np.array(-1, np.int64).reshape(1), "last"),
    ]
    heads = _dynamic_shape(nodes, "x", "heads")
    nodes += [
        helper.make_node("Reshape", ["x", heads], ["xh"]),
        helper.make_node("Transpose", ["xh"], ["q"], perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["xh"], ["k"], perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["q", "k"], ["scores"]),
        # The additive mask: 0 where a token is kept, the float minimum where it is padding.
        helper.make_node("Unsqueeze", ["attention_mask", "axes12"], ["mask4"]),
        helper.make_node("Cast", ["mask4"], ["maskb"], to=TensorProto.BOOL),
        helper.make_node("Where", ["maskb", "nothing", "minimum"], ["additive"]),
        helper.make_node("Add", ["scores", "additive"], ["masked"]),
        helper.make_node("ReduceMax", ["masked", "last"], ["top"], keepdims=1),
        helper.make_node("Sub", ["masked", "top"], ["centred"]),
        helper.make_node("Exp", ["centred"], ["e"]),
        helper.make_node("ReduceSum", ["e", "last"], ["total"], keepdims=1),
        helper.make_node("Div", ["e", "total"], ["probs"]),
        helper.make_node("IsNaN", ["probs"], ["nan"]),
        helper.make_node("Where", ["nan", "nothing", "probs"], ["clean"]),
        helper.make_node("MatMul", ["clean", "q"], ["context"]),
        helper.make_node("Transpose", ["context"], ["ctx"], perm=[0, 2, 1, 3]),
    ]
    merged = _dynamic_shape(nodes, "x", "merged")
    nodes.append(helper.make_node("Reshape", ["ctx", merged], ["y"]))
    if extra_mask_add:  # a mask-derived addend that is not 0 on an all-ones mask: it must stay
        nodes += [
            helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["maskf", "last"], ["mask3"]),
            helper.make_node("Add", ["y", "mask3"], ["y_plus"]),
        ]
    graph = helper.make_graph(
        nodes,
        "attention",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", WIDTH]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("y_plus" if extra_mask_add else "y", TensorProto.FLOAT, None)],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def run(model: onnx.ModelProto, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    session = inference_session(model.SerializeToString())
    return np.asarray(session.run(None, {"x": x, "attention_mask": mask})[0])


def test_unmasked_attention_gives_the_same_bits_on_unpadded_batches() -> None:
    module = unpad_graph()
    original = attention_model()
    converted = module.unpadded(original)
    rng = np.random.default_rng(3)
    for batch, tokens in ((1, 1), (2, 9), (5, 4)):
        x = rng.standard_normal((batch, tokens, WIDTH)).astype(np.float32)
        ones = np.ones((batch, tokens), np.int64)
        assert np.array_equal(run(original, x, ones), run(converted, x, ones))
    # A padded batch: the original masks the padding, the converted graph does not (the runtime refuses it, E064).
    x = rng.standard_normal((2, 6, WIDTH)).astype(np.float32)
    padded = np.ones((2, 6), np.int64)
    padded[1, 3:] = 0
    assert not np.array_equal(run(original, x, padded)[1, :3], run(converted, x, padded)[1, :3])


def test_conversion_removes_the_mask_and_the_shape_arithmetic() -> None:
    module = unpad_graph()
    converted = module.unpadded(attention_model())
    ops = [n.op_type for n in converted.graph.node]
    assert "IsNaN" not in ops and "Where" not in ops and "Add" not in ops
    assert "Shape" not in ops and "Concat" not in ops and "Gather" not in ops
    assert not any("attention_mask" in n.input for n in converted.graph.node)
    constants = {i.name: numpy_helper.to_array(i) for i in converted.graph.initializer}
    reshapes = [constants[n.input[1]].tolist() for n in converted.graph.node if n.op_type == "Reshape"]
    assert reshapes == [[0, 0, HEADS, WIDTH // HEADS], [0, 0, WIDTH]]
    assert module.is_unpadded(converted)
    again = module.unpadded(converted)
    assert again.SerializeToString() == converted.SerializeToString()


def test_a_mask_addend_that_is_not_zero_is_kept() -> None:
    module = unpad_graph()
    original = attention_model(extra_mask_add=True)
    converted = module.unpadded(original)
    adds = [n for n in converted.graph.node if n.op_type == "Add"]
    assert [n.output[0] for n in adds] == ["y_plus"]
    x = np.random.default_rng(5).standard_normal((3, 4, WIDTH)).astype(np.float32)
    ones = np.ones((3, 4), np.int64)
    assert np.array_equal(run(original, x, ones), run(converted, x, ones))


@pytest.mark.parametrize("name", ANALYSIS_MODELS)
def test_shipped_analysis_models_are_converted(name: str) -> None:
    module = unpad_graph()
    model = onnx.load(str(MODELS_DIR / name / "model.onnx"))
    assert module.is_unpadded(model)
    before = len(model.graph.node)
    assert module.drop_attention_masks(model) == 0
    assert module.static_reshapes(model) == 0
    assert module.prune(model) == 0 and len(model.graph.node) == before
    assert not any(n.op_type == "IsNaN" for n in model.graph.node)


def test_the_stance_model_keeps_its_mask() -> None:
    """The stance model is scored padded (``encode``), so its attention keeps the mask."""
    model = onnx.load(str(MODELS_DIR / "stance" / "model.onnx"), load_external_data=False)
    assert not unpad_graph().is_unpadded(model)
    stance = load_onnx_model("stance", 1)
    assert not stance.unpadded
    feeds, _ = stance.encode(["One claim.", "A longer claim than the first one."])
    assert not feeds["attention_mask"].all()


def test_a_padded_batch_is_refused_for_an_unpadded_model() -> None:
    tagger = load_onnx_model("techniques-si", 1)
    assert tagger.unpadded
    assert tagger.session.get_modelmeta().custom_metadata_map[UNPADDED_KEY] == "1"
    with pytest.raises(ModelError) as raised:
        tagger.encode(["Short.", "A sentence that is a good deal longer than the first."])
    assert raised.value.code == "E064"
    # Texts of one token length need no padding and are scored.
    feeds, _ = tagger.encode(["The war goes on.", "The day goes on."])
    assert feeds["attention_mask"].all()
    rows = tagger.rows(["Short.", "A sentence that is a good deal longer than the first."])
    assert [len(encoded.ids) for _, encoded in rows] == [4, 14]
