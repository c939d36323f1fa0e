"""A text's model outputs do not depend on the texts analysed with it, nor on the CPU's int8 instructions.

The shipped models keep int8 weights but compute in fp32 (``training/quantize_weights.py`` removes the run-time
activation quantisation, whose scale was shared by a whole padded batch and whose u8s8 products saturate on x86-64
CPUs without VNNI); the stages batch only texts of the same token length, so no text is padded.
"""

from __future__ import annotations

import importlib
import random
import re
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from crosscheck.analyze.claims import load_checkworthiness, score_sentences
from crosscheck.analyze.pipeline import Document, Pipeline, build_pipeline
from crosscheck.analyze.techniques import load_technique_model
from crosscheck.article import Article
from crosscheck.errors import ModelError
from crosscheck.models.runtime import MODELS_DIR, OnnxModel, load_onnx_model, session_options

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NAMES = ("kherson-liberated", "kharkiv-stunning-defeat", "kherson-run-rabbit-run-video")
MODELS = ("encoder-trunk", "checkworthiness", "sentence-encoder", "techniques-si", "techniques-tc")
STAGES = ["parse", "entities", "quantities", "dates", "attribution", "claims", "techniques"]
#: Node types that compute with int8 activations (onnxruntime's own fused ones included).
INT8_COMPUTE = frozenset(
    {
        "DynamicQuantizeLinear",
        "MatMulInteger",
        "DynamicQuantizeMatMul",
        "MatMulIntegerToFloat",
        "MatMulNBits",
        "QGemm",
        "QAttention",
        "QLinearMatMul",
        "QuantizeLinear",
    }
)


def quantize_weights() -> ModuleType:
    """``training.quantize_weights`` (the training scripts live beside ``src/``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("training.quantize_weights")


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


@pytest.mark.parametrize("name", MODELS)
def test_shipped_graphs_hold_int8_weights_and_quantise_no_activations(name: str) -> None:
    path = MODELS_DIR / name / "model.onnx"
    graph = onnx.load(str(path)).graph
    ops = {node.op_type for node in graph.node}
    assert not ops & INT8_COMPUTE, sorted(ops & INT8_COMPUTE)
    assert "DequantizeLinear" in ops and "MatMul" in ops
    sizes: dict[int, int] = {}
    for tensor in graph.initializer:
        sizes[tensor.data_type] = sizes.get(tensor.data_type, 0) + numpy_helper.to_array(tensor).size
    # The encoder's weights are stored as int8 (matrices) and uint8 (embedding tables); fp32 is biases, norms, scales.
    # A head above the shared trunk holds three layers' matrices (5.3 million weights), a whole encoder six.
    assert sizes.get(TensorProto.FLOAT, 0) < 0.01 * sum(sizes.values())
    assert sizes[TensorProto.INT8] > 5_000_000
    assert path.stat().st_size < 30_000_000


@pytest.mark.parametrize("name", MODELS)
def test_sessions_compute_every_product_in_fp32(name: str, tmp_path: Path) -> None:
    """The graph onnxruntime runs after its own optimisations (fusions included) has no int8 kernel."""
    options = session_options(1)
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    options.log_severity_level = 3  # serialising an optimised graph warns that it is machine-specific
    ort.InferenceSession(str(MODELS_DIR / name / "model.onnx"), options, providers=["CPUExecutionProvider"])
    ops = {node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node}
    assert not ops & INT8_COMPUTE, sorted(ops & INT8_COMPUTE)
    assert "MatMul" in ops


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
        session = ort.InferenceSession(str(path), session_options(1), providers=["CPUExecutionProvider"])
        return np.asarray(session.run(None, {"x": x})[0])

    before_alone, before_batch = run(dynamic, rows[:1]), run(dynamic, rows)[:1]
    assert not np.array_equal(before_alone, before_batch)  # the old export: a row's output depends on the batch

    converted = tmp_path / "converted.onnx"
    quantize_weights().convert_file(dynamic, converted)
    model = onnx.load(str(converted))
    assert not {n.op_type for n in model.graph.node} & INT8_COMPUTE
    int8 = [numpy_helper.to_array(t) for t in model.graph.initializer if t.data_type == TensorProto.INT8]
    assert any(t.shape == (8, 5) for t in int8)  # the weight stays int8 on disk
    after = run(converted, rows)
    assert np.array_equal(run(converted, rows[:1]), after[:1])
    # fp32 products of the dequantised weights: within int8 weight rounding of the fp32 model's outputs.
    assert np.allclose(after, rows @ weight, rtol=0.02, atol=0.05 * np.abs(rows @ weight).max())
    again = tmp_path / "again.onnx"
    quantize_weights().convert_file(converted, again)
    assert again.read_bytes() == converted.read_bytes()  # converting twice changes nothing


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


def test_the_cache_keeps_only_the_most_recent_texts() -> None:
    model = load_checkworthiness()
    small = model.uncached()
    small.cache_size = 5
    texts = list(dict.fromkeys(example_sentences()))[:12]
    score_sentences(texts, model=small)
    assert [key[0] for key in small.cache] == texts[-5:]
    score_sentences([texts[0], texts[-1]], model=small)
    assert [key[0] for key in small.cache] == [*texts[-4:-1], texts[0], texts[-1]]


def test_sessions_neither_spin_nor_keep_an_arena() -> None:
    options = session_options(1)
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert not options.enable_cpu_mem_arena


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
