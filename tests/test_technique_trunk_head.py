"""A technique classifier above the shared encoder trunk (``training/techniques/train_tc_trunk.py``): the runtime
feeds it the trunk's hidden states of each span's context, the span's word-piece mask and the span features.

The head here is a small graph built in the test (mean of the span's states and the features, each through a fixed
matrix), so what it must compute is known: the runtime's probabilities are checked against the same arithmetic done
in numpy on the trunk's own rows, against the span's batch-mates, and for the trunk pass the tagger already paid.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from crosscheck.analyze.technique_features import FEATURE_NAMES, span_features
from crosscheck.analyze.techniques import TechniqueModel, span_token_mask
from crosscheck.evaluate.ptc import TECHNIQUES
from crosscheck.models.runtime import MODELS_DIR, OnnxModel, load_onnx_model

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HIDDEN = 384


def _weights() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    states = (rng.standard_normal((HIDDEN, len(TECHNIQUES))) * 0.2).astype(np.float32)
    features = (rng.standard_normal((len(FEATURE_NAMES), len(TECHNIQUES))) * 0.2).astype(np.float32)
    return states, features


def _head_folder(tmp_path: Path) -> Path:
    """logits = mean(hidden_states over span_mask) @ W + features @ V, stored as a model above encoder-trunk."""
    w, v = _weights()
    inputs = [
        helper.make_tensor_value_info("hidden_states", TensorProto.FLOAT, ["batch", "seq", HIDDEN]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("span_mask", TensorProto.FLOAT, ["batch", "seq"]),
        helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", len(FEATURE_NAMES)]),
    ]
    nodes = [
        helper.make_node("Unsqueeze", ["span_mask", "last"], ["span3"]),
        helper.make_node("Mul", ["hidden_states", "span3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["span3", "axis1"], ["count"], keepdims=0),
        helper.make_node("Div", ["summed", "count"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "w"], ["from_states"]),
        helper.make_node("MatMul", ["features", "v"], ["from_features"]),
        helper.make_node("Add", ["from_states", "from_features"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "trunk_span_head",
        inputs,
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", len(TECHNIQUES)])],
        [
            numpy_helper.from_array(np.array([-1], np.int64), "last"),
            numpy_helper.from_array(np.array([1], np.int64), "axis1"),
            numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(v, "v"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    folder = tmp_path / "techniques-tc-trunk"
    folder.mkdir()
    onnx.save(model, str(folder / "model.onnx"))
    config = {
        "max_length": 128,
        "labels": list(TECHNIQUES),
        "features": list(FEATURE_NAMES),
        "trunk": "encoder-trunk",
        "trunk_layers": 3,
        "head_layers": 0,
    }
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _reference(trunk: OnnxModel, item: tuple[str, int, int, int, int]) -> np.ndarray:
    """The head's probabilities for one item, computed in numpy from the trunk's row of its context."""
    w, v = _weights()
    text, start, end, c_start, c_end = item
    (states, *_), encoded = trunk.rows([text[c_start:c_end]], max_length=128)[0]
    mask = span_token_mask(encoded.offsets, start - c_start, end - c_start)
    logits = (states * mask[:, None]).sum(0) / mask.sum() @ w + span_features(*item) @ v
    shifted = logits - logits.max()
    return np.exp(shifted) / np.exp(shifted).sum()


def _items(text: str) -> list[tuple[str, int, int, int, int]]:
    """A few spans of each line: its first word, its first two words, its last word."""
    items = []
    for line in re.finditer(r"[^\n]+", text):
        words = list(re.finditer(r"\w+", line.group()))
        if len(words) < 3:
            continue
        s = line.start()
        for a, b in ((0, 0), (0, 1), (len(words) - 1, len(words) - 1)):
            items.append((text, s + words[a].start(), s + words[b].end(), line.start(), line.end()))
    return items


def test_span_token_mask_marks_the_word_pieces_inside_the_span() -> None:
    offsets = [(0, 0), (0, 3), (4, 9), (9, 12), (13, 17), (0, 0)]  # [CLS] The shell ##ed town [SEP]
    assert span_token_mask(offsets, 4, 12).tolist() == [0, 0, 1, 1, 0, 0]
    assert span_token_mask(offsets, 5, 6).tolist() == [0, 0, 1, 0, 0, 0]  # a piece overlapping the span counts
    # A span past the end of a truncated context: every word piece, no special token.
    assert span_token_mask(offsets, 40, 45).tolist() == [0, 1, 1, 1, 1, 0]


@pytest.mark.slow
def test_a_classifier_above_the_trunk_reads_the_trunks_states_of_the_context(tmp_path: Path) -> None:
    folder = _head_folder(tmp_path)
    model = TechniqueModel(tc_model=str(folder))
    assert model.tc.trunk is not None and model.tc.trunk.path == MODELS_DIR / "encoder-trunk"
    text = (EXAMPLES / "kharkiv-stunning-defeat.txt").read_text("utf-8")
    items = _items(text)[:24]
    probs = model.classify(items)
    assert probs.shape == (len(items), len(TECHNIQUES))
    trunk = load_onnx_model("encoder-trunk", None)
    for item, row in zip(items, probs, strict=True):
        assert np.allclose(row, _reference(trunk, item), atol=1e-5), item
    # Each span is scored with its own context's states and mask whatever it is batched with (bit for bit with the
    # shipped graphs, whose products are exact: tests/test_determinism.py; this graph's fp32 MatMul is not).
    assert np.allclose(probs, np.vstack([model.classify([item]) for item in items]), atol=1e-6)


@pytest.mark.slow
def test_contexts_the_trunk_has_read_are_not_encoded_again(tmp_path: Path) -> None:
    model = TechniqueModel(tc_model=str(_head_folder(tmp_path)))
    assert model.tc.trunk is not None
    text = (EXAMPLES / "kherson-liberated.txt").read_text("utf-8")
    items = _items(text)[:12]
    trunk = model.tc.trunk
    trunk.rows([text[c:d] for _, _, _, c, d in items], max_length=128)  # what the gate has read before
    runs: list[int] = []
    original = trunk.run

    def counted(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        runs.append(len(feeds["input_ids"]))
        return original(feeds)

    trunk.run = counted  # type: ignore[method-assign]
    try:
        model.classify(items)
    finally:
        del trunk.run
    assert runs == []
