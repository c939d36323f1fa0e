"""A text's model outputs do not depend on the texts analysed with it, nor on the CPU's int8 instructions.

The analysis models keep int8 weights and multiply them by 7-bit codes of each token's activations, quantised row by
row (``training/quantize_rows.py``): a row's scale comes from that row alone, the integer products are exact (no
saturation on x86-64 CPUs without VNNI), and Softmax is computed with plain ops; the stages batch only texts of the
same token length, so no text is padded. The whole-tensor activation quantisation of onnxruntime's ``quantize_dynamic``
(one scale per padded batch) is refused.
"""

from __future__ import annotations

import importlib
import math
import random
import re
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from crosscheck.analyze.claims import load_checkworthiness, score_sentences
from crosscheck.analyze.pipeline import Document, Pipeline, build_pipeline
from crosscheck.analyze.techniques import load_technique_model
from crosscheck.article import Article
from crosscheck.errors import ModelError
from crosscheck.models.runtime import (
    DISABLED_OPTIMIZERS,
    MODELS_DIR,
    OnnxModel,
    clear_model_caches,
    inference_session,
    load_onnx_model,
    session_options,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NAMES = ("kherson-liberated", "kharkiv-stunning-defeat", "kherson-run-rabbit-run-video")
MODELS = ("encoder-trunk", "checkworthiness", "sentence-encoder", "techniques-si", "techniques-tc")
STAGES = ["parse", "entities", "quantities", "dates", "attribution", "claims", "techniques"]
#: Node types that quantise a whole activation tensor with one scale, or whose activation rounding onnxruntime chooses
#: by the CPU (its own fused int8 kernels): none may be in a shipped graph, before or after onnxruntime's optimisation.
WHOLE_TENSOR_INT8 = frozenset(
    {
        "DynamicQuantizeLinear",
        "MatMulInteger",
        "DynamicQuantizeMatMul",
        "MatMulNBits",
        "QGemm",
        "QAttention",
        "QLinearMatMul",
    }
)
#: Every weight product of a shipped graph: six a layer (query, key, value, attention output, feed-forward in and out),
#: and the output layers (the check-worthiness pooler and classifier, each technique model's classifier).
ROW_PRODUCTS = {
    "encoder-trunk": 18,
    "checkworthiness": 20,
    "sentence-encoder": 18,
    "techniques-si": 37,
    "techniques-tc": 37,
}
#: Row quantisations: query, key and value share one, so four a layer, and one for each output layer.
ROW_QUANTISERS = {
    "encoder-trunk": 12,
    "checkworthiness": 14,
    "sentence-encoder": 12,
    "techniques-si": 25,
    "techniques-tc": 25,
}


def _training_module(name: str) -> ModuleType:
    """A module of ``training/`` (the training scripts live beside ``src/``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"training.{name}")


def quantize_weights() -> ModuleType:
    return _training_module("quantize_weights")


def quantize_rows() -> ModuleType:
    return _training_module("quantize_rows")


def example(name: str) -> str:
    return (EXAMPLES / f"{name}.txt").read_text("utf-8")


def example_sentences() -> list[str]:
    """Every sentence of the three examples (paragraphs cut after final punctuation)."""
    out = []
    for name in NAMES:
        for paragraph in example(name).splitlines():
            out.extend(s for s in re.split(r"(?<=[.!?])\s+", paragraph.strip()) if len(s.split()) >= 3)
    return out


def mixed_texts(n: int = 20, seed: int = 7) -> list[str]:
    """``n`` articles recombined from the examples' own sentences, shuffled (2 to 5 paragraphs of 1 to 4)."""
    rng = random.Random(seed)
    sentences = example_sentences()
    texts = []
    for _ in range(n):
        paragraphs = [" ".join(rng.sample(sentences, rng.randint(1, 4))) for _ in range(rng.randint(2, 5))]
        texts.append("\n\n".join(paragraphs))
    return texts


# --- the model files and sessions ------------------------------------------------------------------------------------


def _row_quantisation(graph: onnx.GraphProto, product: onnx.NodeProto) -> tuple[float, int]:
    """(steps, zero point) of the per-row quantisation feeding ``product``'s activation; asserts its shape."""
    producer = {out: node for node in graph.node for out in node.output}
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    reshape = producer[product.input[0]]
    quantise = producer[reshape.input[0]]
    assert quantise.op_type == "QuantizeLinear"
    assert next(a.i for a in quantise.attribute if a.name == "axis") == 0  # one scale and zero point a row
    zeros = producer[quantise.input[2]]
    assert zeros.op_type == "Expand"
    flat_scales = producer[quantise.input[1]]
    scale = producer[producer[flat_scales.input[0]].input[0]]  # Max(Div(row maximum, steps), tiny)
    assert scale.op_type == "Div"
    top = producer[scale.input[0]]
    # GELU rows: ReduceMax of the shifted row; symmetric rows: Max(ReduceMax(x), Neg(ReduceMin(x))).
    reductions = (
        [top] if top.op_type == "ReduceMax" else [producer[top.input[0]], producer[producer[top.input[1]].input[0]]]
    )
    assert [r.op_type for r in reductions] in (["ReduceMax"], ["ReduceMax", "ReduceMin"])
    for reduction in reductions:
        assert list(next(a.ints for a in reduction.attribute if a.name == "axes")) == [-1]  # each row alone
    return float(values[scale.input[1]]), int(values[zeros.input[0]])


@pytest.mark.parametrize("name", MODELS)
def test_shipped_graphs_hold_int8_weights_and_quantise_activations_per_row(name: str) -> None:
    path = MODELS_DIR / name / "model.onnx"
    graph = onnx.load(str(path)).graph
    ops = {node.op_type for node in graph.node}
    assert not ops & WHOLE_TENSOR_INT8, sorted(ops & WHOLE_TENSOR_INT8)
    assert "Softmax" not in ops and "Exp" in ops  # plain ops: the Softmax kernel's last bits differ between CPUs
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    products = [n for n in graph.node if n.op_type == "MatMulIntegerToFloat"]
    assert len(products) == ROW_PRODUCTS[name]
    producer = {out: node for node in graph.node for out in node.output}
    for product in products:
        # The product applies the row scales itself (a_scale, [..., 1]): no Mul writes its output a second time.
        assert producer[product.input[2]].op_type == "Max"
        weight = values[product.input[1]]
        assert weight.dtype == np.int8 and weight.ndim == 2 and int(np.abs(weight.astype(np.int32)).max()) <= 127
        assert not values[product.input[5]].any()  # symmetric weights
        # 7-bit codes: symmetric (zero point 64, 63 steps each side) or a shifted GELU output (0 to 127).
        assert _row_quantisation(graph, product) in {(63.0, 64), (127.0, 0)}
    # No weight is multiplied in fp32 any more: every MatMul left multiplies two activations (attention).
    weights_fp32 = [n for n in graph.node if n.op_type == "DequantizeLinear" and values.get(n.input[0]) is not None]
    assert all(values[n.input[0]].dtype == np.uint8 for n in weights_fp32)  # only the embedding tables
    sizes: dict[int, int] = {}
    for tensor in graph.initializer:
        sizes[tensor.data_type] = sizes.get(tensor.data_type, 0) + numpy_helper.to_array(tensor).size
    # The encoder's weights are stored as int8 (matrices) and uint8 (embedding tables); fp32 is biases, norms, scales.
    # A head above the shared trunk holds three layers' matrices (5.3 million weights), a whole encoder six.
    assert sizes.get(TensorProto.FLOAT, 0) < 0.01 * sum(sizes.values())
    assert sizes[TensorProto.INT8] > 5_000_000
    assert path.stat().st_size < 30_000_000


@pytest.mark.parametrize("name", MODELS)
def test_sessions_keep_the_row_quantised_products(name: str, tmp_path: Path) -> None:
    """The graph onnxruntime runs after its own optimisations (fusions included) still quantises row by row."""
    options = session_options(1)
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    options.log_severity_level = 3  # serialising an optimised graph warns that it is machine-specific
    inference_session(str(MODELS_DIR / name / "model.onnx"), options)
    nodes = onnx.load(options.optimized_model_filepath).graph.node
    ops = {node.op_type for node in nodes}
    assert not ops & WHOLE_TENSOR_INT8, sorted(ops & WHOLE_TENSOR_INT8)
    assert "Softmax" not in ops
    assert sum(n.op_type == "MatMulIntegerToFloat" for n in nodes) == ROW_PRODUCTS[name]
    assert sum(n.op_type == "QuantizeLinear" for n in nodes) == ROW_QUANTISERS[name]


def _dynamic_model(folder: Path) -> tuple[np.ndarray, Path]:
    """A one-matrix model quantised with onnxruntime's ``quantize_dynamic`` (the old export); returns W and its path."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(3)
    weight = rng.normal(size=(8, 5)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "one_matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5])],
        [numpy_helper.from_array(weight, "w")],
    )
    fp32 = folder / "fp32.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(fp32))
    folder.joinpath("dynamic").mkdir()
    dynamic = folder / "dynamic" / "model.onnx"
    quantize_dynamic(str(fp32), str(dynamic), weight_type=QuantType.QInt8, per_channel=True)
    return weight, dynamic


def test_weight_only_conversion_removes_the_batch_dependence(tmp_path: Path) -> None:
    weight, dynamic = _dynamic_model(tmp_path)
    rows = np.random.default_rng(5).normal(size=(6, 8)).astype(np.float32)
    rows[5] *= 40.0  # one batch-mate with a wide range coarsens the shared activation scale

    def run(path: Path, x: np.ndarray) -> np.ndarray:
        session = inference_session(str(path))
        return np.asarray(session.run(None, {"x": x})[0])

    before_alone, before_batch = run(dynamic, rows[:1]), run(dynamic, rows)[:1]
    assert not np.array_equal(before_alone, before_batch)  # the old export: a row's output depends on the batch

    converted = tmp_path / "converted.onnx"
    quantize_weights().convert_file(dynamic, converted)
    model = onnx.load(str(converted))
    assert not {n.op_type for n in model.graph.node} & (WHOLE_TENSOR_INT8 | {"MatMulIntegerToFloat"})
    int8 = [numpy_helper.to_array(t) for t in model.graph.initializer if t.data_type == TensorProto.INT8]
    assert any(t.shape == (8, 5) for t in int8)  # the weight stays int8 on disk
    after = run(converted, rows)
    assert np.array_equal(run(converted, rows[:1]), after[:1])
    # fp32 products of the dequantised weights: within int8 weight rounding of the fp32 model's outputs.
    assert np.allclose(after, rows @ weight, rtol=0.02, atol=0.05 * np.abs(rows @ weight).max())
    again = tmp_path / "again.onnx"
    quantize_weights().convert_file(converted, again)
    assert again.read_bytes() == converted.read_bytes()  # converting twice changes nothing


def _gelu_model(folder: Path) -> tuple[np.ndarray, np.ndarray, Path]:
    """y = x @ W1 and z = GELU(x) @ W2 (GELU as the encoders export it, through Erf), weight-only int8."""
    rng = np.random.default_rng(5)
    w1 = rng.normal(size=(16, 6)).astype(np.float32)
    w2 = rng.normal(size=(16, 4)).astype(np.float32)
    half, root2, one = (
        numpy_helper.from_array(np.float32(v), n) for v, n in ((0.5, "half"), (2**0.5, "r2"), (1, "one"))
    )
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["y"]),
        helper.make_node("Div", ["x", "r2"], ["xs"]),
        helper.make_node("Erf", ["xs"], ["e"]),
        helper.make_node("Add", ["e", "one"], ["e1"]),
        helper.make_node("Mul", ["x", "e1"], ["xe"]),
        helper.make_node("Mul", ["xe", "half"], ["g"]),
        helper.make_node("MatMul", ["g", "w2"], ["z"]),
    ]
    graph = helper.make_graph(
        nodes,
        "gelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", k]) for n, k in (("y", 6), ("z", 4))],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"), half, root2, one],
    )
    fp32 = folder / "gelu.fp32.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(fp32))
    target = folder / "gelu.onnx"
    quantize_weights().quantize_weights(fp32, target)
    return w1, w2, target


def _emulated(x: np.ndarray, model: onnx.ModelProto, product: str, steps: float, zero: int, shift: float) -> np.ndarray:
    """A row-quantised product recomputed in numpy: float32 scale and rounding per row, exact int64 sums."""
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    node = next(n for n in model.graph.node if n.name == product)
    weight, w_scale = values[node.input[1]].astype(np.int64), values[node.input[3]]
    rows = (x + np.float32(shift)).astype(np.float32) if shift else x
    top = np.abs(rows).max(axis=1, keepdims=True) if zero else rows.max(axis=1, keepdims=True)
    scale = np.maximum(top / np.float32(steps), np.float32(1e-30)).astype(np.float32)
    codes = np.clip(np.rint(rows / scale) + zero, 0, 255).astype(np.int64)
    assert codes.max() <= 127
    exact = (codes - zero) @ weight
    out = (exact.astype(np.float32) * w_scale) * scale
    if shift:
        dequantised = weight.astype(np.float64) * w_scale.astype(np.float64)
        out = out + (-shift * dequantised.sum(axis=0)).astype(np.float32)
    return out.astype(np.float32)


def _row_quantised_gelu_model(folder: Path) -> tuple[np.ndarray, np.ndarray, Path, onnx.ModelProto]:
    """:func:`_gelu_model` converted to row-quantised products: W1, W2, the converted file and its graph."""
    w1, w2, weight_only = _gelu_model(folder)
    converted = folder / "rows.onnx"
    quantize_rows().convert_file(weight_only, converted)
    return w1, w2, converted, onnx.load(str(converted))


def test_row_quantised_products_are_exact_and_do_not_depend_on_the_batch(tmp_path: Path) -> None:
    w1, w2, converted, model = _row_quantised_gelu_model(tmp_path)
    rows = quantize_rows()
    products = [n for n in model.graph.node if n.op_type == "MatMulIntegerToFloat"]
    assert len(products) == 2 and "MatMul" not in {n.op_type for n in model.graph.node}
    rng = np.random.default_rng(11)
    x = (rng.normal(size=(9, 16)) * rng.uniform(0.01, 30, size=(9, 1))).astype(np.float32)
    x[4] = 0.0  # a row of zeros gets the tiny scale, not a division by zero
    session = inference_session(str(converted))
    y, z = session.run(None, {"x": x})
    # Each row alone gives the same bits as inside the batch.
    for i in range(len(x)):
        alone = session.run(None, {"x": x[i : i + 1]})
        assert np.array_equal(alone[0], y[i : i + 1]) and np.array_equal(alone[1], z[i : i + 1])
    # The integer products are exact (no saturation), so numpy gets the same bits: the same on every CPU.
    assert np.array_equal(y, _emulated(x, model, products[0].name, 63.0, 64, 0.0))
    # Within 7-bit rounding of the fp32 products.
    assert np.abs(y - x @ w1).max() <= 0.05 * np.abs(x @ w1).max()
    reference = 0.5 * x * (1 + np.vectorize(math.erf)(x / 2**0.5))
    assert np.abs(z - reference @ w2).max() <= 0.05 * np.abs(reference @ w2).max()
    again = tmp_path / "again.onnx"
    rows.convert_file(converted, again)
    assert again.read_bytes() == converted.read_bytes()  # converting twice changes nothing


def test_row_scales_applied_by_a_mul_are_moved_into_the_products(tmp_path: Path) -> None:
    _, _, converted, model = _row_quantised_gelu_model(tmp_path)
    rows = quantize_rows()
    # The form of the release before: each product with a_scale 1.0, then a Mul by the row scales.
    legacy = onnx.load(str(converted))
    legacy.graph.initializer.append(numpy_helper.from_array(np.float32(1.0), "rowq_one"))
    nodes = []
    for node in legacy.graph.node:
        nodes.append(node)
        if node.op_type == "MatMulIntegerToFloat":
            scale, out = node.input[2], node.output[0]
            node.input[2], node.output[0] = "rowq_one", f"{out}_rowq_acc"
            nodes.append(helper.make_node("Mul", [f"{out}_rowq_acc", scale], [out], name=f"{out}_rowq_scale"))
    del legacy.graph.node[:]
    legacy.graph.node.extend(nodes)
    legacy_file, folded_file = tmp_path / "legacy.onnx", tmp_path / "folded.onnx"
    onnx.save(legacy, str(legacy_file))
    rows.convert_file(legacy_file, folded_file)
    folded = onnx.load(str(folded_file))
    assert [n.op_type for n in folded.graph.node] == [n.op_type for n in model.graph.node]
    assert "rowq_one" not in {t.name for t in folded.graph.initializer}
    x = (np.random.default_rng(3).normal(size=(6, 16)) * 4).astype(np.float32)
    outputs = []
    for path in (converted, legacy_file, folded_file):
        session = inference_session(str(path))
        outputs.append(session.run(None, {"x": x}))
    for reference, other in ((outputs[0], outputs[1]), (outputs[0], outputs[2])):
        assert all(np.array_equal(a, b) for a, b in zip(reference, other, strict=True))


def test_softmax_becomes_plain_ops(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["y"], axis=-1)],
        "softmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 7])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 7])],
    )
    model = quantize_rows().row_int8(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert [n.op_type for n in model.graph.node] == ["ReduceMax", "Sub", "Exp", "ReduceSum", "Div"]
    session = inference_session(model.SerializeToString())
    x = np.random.default_rng(2).normal(size=(5, 7)).astype(np.float32) * 20
    (y,) = session.run(None, {"x": x})
    expected = np.exp(x - x.max(axis=1, keepdims=True))
    assert np.allclose(y, expected / expected.sum(axis=1, keepdims=True), rtol=1e-6, atol=1e-7)
    assert np.array_equal(session.run(None, {"x": x[2:3]})[0], y[2:3])


def test_a_model_that_quantises_activations_is_refused(tmp_path: Path) -> None:
    _, dynamic = _dynamic_model(tmp_path)
    with pytest.raises(ModelError) as error:
        load_onnx_model(str(dynamic.parent))
    assert error.value.code == "E060"


def _trunk() -> OnnxModel:
    trunk = load_checkworthiness().trunk
    assert trunk is not None
    return trunk


def test_unpadded_batches_hold_texts_of_one_token_count() -> None:
    model = _trunk()
    texts = example_sentences()[:60]
    seen: list[int] = []
    for indices, feeds, encodings in model.batches(texts, batch_size=4):
        assert len(indices) <= 4
        assert feeds["attention_mask"].all()  # nothing padded
        assert len({len(e.ids) for e in encodings}) == 1
        seen.extend(indices)
    assert sorted(seen) == list(range(len(texts)))


def test_batches_hold_at_most_max_tokens_and_one_text_at_least() -> None:
    model = _trunk()
    texts = example_sentences()[:80]
    seen: list[int] = []
    for indices, feeds, _ in model.batches(texts, batch_size=32, max_tokens=64):
        length = feeds["input_ids"].shape[1]
        assert len(indices) <= max(1, 64 // length)
        seen.extend(indices)
    assert sorted(seen) == list(range(len(texts)))
    assert max(len(i) for i, _, _ in model.batches(texts, batch_size=32, max_tokens=64)) > 1


def test_repeated_sentences_are_scored_once_with_the_same_scores() -> None:
    model = load_checkworthiness()
    fresh = model.uncached()
    runs: list[int] = []
    run = fresh.run
    fresh.run = lambda feeds: runs.append(len(feeds["input_ids"])) or run(feeds)  # type: ignore[method-assign]
    texts = example_sentences()[:40]
    first = score_sentences([*texts, *texts[:10]], model=fresh)
    assert sum(runs) == len(set(texts))  # the ten repeats were not scored again
    scored = len(runs)
    again = score_sentences(texts[::-1], model=fresh)
    assert len(runs) == scored  # every text came from the cache
    assert again[::-1].tolist() == first[:40].tolist()
    assert first[40:].tolist() == first[:10].tolist()
    assert score_sentences(texts, model=model.uncached()).tolist() == first[:40].tolist()


def test_clearing_the_caches_empties_every_loaded_model_and_its_trunk() -> None:
    model = load_checkworthiness()
    assert model.trunk is not None
    texts = example_sentences()[:6]
    first = score_sentences(texts, model=model)
    assert model.trunk.cache  # the shipped model and its trunk cache what they computed
    clear_model_caches()
    assert not model.cache and not model.trunk.cache and model.trunk._cached_bytes == 0
    assert score_sentences(texts, model=model).tolist() == first.tolist()


def test_the_cache_keeps_only_the_most_recent_texts() -> None:
    model = load_checkworthiness()
    small = model.uncached()
    small.cache_size = 5
    texts = list(dict.fromkeys(example_sentences()))[:12]
    score_sentences(texts, model=small)
    assert [key[0] for key in small.cache] == texts[-5:]
    score_sentences([texts[0], texts[-1]], model=small)
    assert [key[0] for key in small.cache] == [*texts[-4:-1], texts[0], texts[-1]]


def test_sessions_do_not_spin_and_share_one_arena() -> None:
    options = session_options(1)
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.enable_cpu_mem_arena
    assert options.get_session_config_entry("session.use_env_allocators") == "1"


def test_a_batch_run_again_maps_no_new_memory() -> None:
    """Activations come from the shared arena: a second run of the same batch takes no fresh pages from the kernel."""
    import resource

    model = load_onnx_model("techniques-si", 1)
    feeds, _ = model.encode(example_sentences()[:1] * 8)
    model.run(feeds)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        model.run(feeds)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 50  # about 1,400 a run from malloc


@pytest.mark.parametrize("name", MODELS)
def test_sessions_leave_out_the_slower_fusions(name: str, tmp_path: Path) -> None:
    options = session_options(1)
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    options.log_severity_level = 3
    inference_session(str(MODELS_DIR / name / "model.onnx"), options)
    ops = {node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node}
    assert not ops & {"BiasGelu", "SkipLayerNormalization"}, ops
    assert {"Gelu", "LayerNormalization"} <= ops
    assert set(DISABLED_OPTIMIZERS) == {"BiasGeluFusion", "SkipLayerNormFusion"}


# --- scores and stage results ----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_model_cache")
def test_sentence_scores_do_not_depend_on_batch_mates() -> None:
    texts = example_sentences()
    together = score_sentences(texts)
    alone = np.array([score_sentences([t])[0] for t in texts])
    assert together.tolist() == alone.tolist()
    reversed_order = score_sentences(texts[::-1], batch_size=7)[::-1]
    assert together.tolist() == reversed_order.tolist()


@pytest.mark.usefixtures("no_model_cache")
def test_technique_probabilities_do_not_depend_on_batch_mates() -> None:
    model = load_technique_model()
    text = "\n".join(example_sentences())
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    together = model.tag([text], [lines])[0]
    alone = [piece for line in lines for piece in model.tag([text], [[line]])[0]]
    assert together == alone
    items = [(text, a, b, s, e) for (s, e), words in together[:30] for a, b, _ in words[:2]]
    both = model.classify(items)
    assert both.tolist() == np.vstack([model.classify([item]) for item in items]).tolist()


@lru_cache(maxsize=1)
def _pipeline() -> Pipeline:
    return build_pipeline(STAGES, dates={"reference_year": 2026})


def _document(text: str) -> Document:
    article = Article(raw=text, origin="test", text=text, published="2022-11-12")
    article.finalise_ids()
    return Document(article=article)


@pytest.mark.usefixtures("no_model_cache")
@pytest.mark.slow
def test_examples_alone_and_inside_a_mixed_batch_get_the_same_techniques_and_claims() -> None:
    alone = {}
    for name in NAMES:
        doc = _document(example(name))
        _pipeline()([doc])
        alone[name] = doc
    batch = [_document(t) for t in mixed_texts()]
    for position, name in zip((0, 9, 22), NAMES, strict=True):
        batch.insert(position, _document(example(name)))
    _pipeline()(batch)
    inside = {name: next(d for d in batch if d.text == example(name)) for name in NAMES}
    for name in NAMES:
        assert alone[name].techniques and alone[name].claims
        assert inside[name].techniques == alone[name].techniques, name
        assert inside[name].claims == alone[name].claims, name
        assert inside[name].layers["technique_profile"] == alone[name].layers["technique_profile"], name


def test_a_head_model_refuses_token_batches() -> None:
    with pytest.raises(TypeError, match="rows"):
        next(load_checkworthiness().batches(["Kherson was liberated."]))


@pytest.mark.usefixtures("no_model_cache")
def test_cached_rows_keep_the_tokens_the_tokenizer_gave_in_a_compact_record() -> None:
    si = load_technique_model().si
    texts = [*example_sentences()[:6], "word " * 300]  # the last one is truncated
    rows = si.rows(texts)
    si.tokenizer.no_padding()
    si.tokenizer.enable_truncation(max_length=int(si.config.get("max_length", 128)))
    for text, (_, tokens) in zip(texts, rows, strict=True):
        full = si.tokenizer.encode(text)
        assert tokens.ids.tolist() == full.ids and tokens.type_ids.tolist() == full.type_ids
        assert [tuple(o) for o in tokens.offsets.tolist()] == full.offsets
        assert tokens.overflowing == bool(full.overflowing)
        assert tokens.nbytes < 20 * len(full.ids)
    assert rows[-1][1].overflowing and not rows[0][1].overflowing
