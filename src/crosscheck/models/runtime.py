"""Inference on onnxruntime with HF ``tokenizers``: no torch at run time.

Each shipped transformer model lives in ``crosscheck/models/<name>/`` as ``model.onnx``, ``tokenizer.json``,
``config.json`` (labels, thresholds, max length) and ``MODEL_CARD.md``. :func:`load_onnx_model` loads one once per
process.

The analysis models hold int8 weights and multiply them by activations quantised row by row
(``training/quantize_rows.py``): each token's activations get a 7-bit code with a scale of their own, so a text's
scores do not depend on the texts scored with it, and the integer products are exact on every x86-64 CPU (7-bit codes
keep onnxruntime's u8s8 products from saturating on CPUs without VNNI; Softmax is computed with plain ops, whose bits
are the same on AVX2 and AVX-512 CPUs). The stance model keeps int8 weights behind ``DequantizeLinear`` nodes and
computes in fp32 (``training/quantize_weights.py``). :meth:`OnnxModel.batches`
batches only texts of the same token length, so no batch is padded either (the analysis models' attention
therefore skips the mask: ``training/unpad_graph.py``; such a model refuses a padded batch, E064), and at most
:data:`MAX_BATCH_TOKENS` tokens each (beyond a few texts a larger batch is no faster per token, only larger in
memory). :meth:`OnnxModel.rows` keeps each text's outputs in a per-model LRU cache, so a sentence repeated across
articles (syndicated copies, boilerplate) is encoded once per process; a cached row is the one the text gets alone.

Models that keep all-MiniLM-L6-v2's lower layers unchanged share them: ``models/encoder-trunk`` holds the embeddings
and the first layers, and such a model's folder holds only its upper layers (a *head*, whose ``config.json`` names
the trunk; ``training/split_encoder.py`` cuts an exported model in two). A head's :meth:`OnnxModel.rows` takes each
text's hidden states from the trunk's own rows (cached, bounded in bytes), so two heads scoring the same sentence
(check-worthiness, then the claim embedding) run the trunk on it once.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

MODELS_DIR = Path(__file__).resolve().parent

#: Session settings every model is loaded with. Without the QDQ transforms onnxruntime keeps the graph's own
#: arithmetic: a weight-only model's DequantizeLinear is folded into an fp32 initializer when the model loads, and a
#: row-quantised model's per-row QuantizeLinear stays as it is; with them it fuses DequantizeLinear + MatMul into
#: MatMulNBits, which quantises activations its own way, by block and by CPU.
#: Intra-op threads do not spin while waiting for work: spinning burns a core in every worker between the small
#: matrix products of one sentence batch and the Python work around them, and buys nothing when workers use the cores.
#: Sessions take their memory from the allocator registered with the environment (:func:`shared_arena`).
SESSION_CONFIG = {
    "session.disable_quant_qdq": "1",
    "session.intra_op.allow_spinning": "0",
    "session.use_env_allocators": "1",
}
#: Graph fusions left out: onnxruntime's BiasGelu and SkipLayerNormalization kernels cost more CPU than the ops they
#: would replace (a Gelu after the bias ``Add``; the residual and bias ``Add``s and a LayerNormalization): up to a
#: fifth of a model's time together. BiasGelu gives the same bits as the two; SkipLayerNormalization rounds
#: otherwise, and every figure of the shipped models is measured without it (``docs/evaluation.md``).
DISABLED_OPTIMIZERS = ("BiasGeluFusion", "SkipLayerNormFusion")
#: Node types that quantise a whole activation tensor with one scale at run time (every text of a batch together); a
#: model file holding one is refused (E060). Row-quantised products (``training/quantize_rows.py``) quantise each
#: token's activations on their own, with ``QuantizeLinear`` per row, and are accepted.
ACTIVATION_QUANT_OPS = (b"DynamicQuantizeLinear", b"DynamicQuantizeMatMul")
#: Tokens per batch at most (texts x their common length): MiniLM's cost per token is flat from about four texts on,
#: and a larger batch only needs larger activations.
MAX_BATCH_TOKENS = 1024
#: Texts whose outputs each model keeps (least recently used dropped first).
CACHE_SIZE = 8192
#: The input a head model reads: its trunk's output (``training/split_encoder.py``).
HIDDEN_STATES = "hidden_states"
#: Model metadata (value ``1``) marking a graph whose attention ignores the mask, for unpadded batches only
#: (``training/unpad_graph.py``).
UNPADDED_KEY = "crosscheck.unpadded"


@dataclass(frozen=True, slots=True)
class Encoded:
    """What is read of a text's tokenisation once it is scored: token ids, type ids, character offsets, and whether
    the text was truncated. A model's cache keeps one per text; a ``tokenizers.Encoding`` (token strings, word ids,
    masks, its overflow) takes about 190 bytes a token, this about 20.
    """

    ids: np.ndarray  # int32, one per token
    type_ids: np.ndarray  # int8
    offsets: np.ndarray  # int32, (tokens, 2): each token's [start, end) in its text
    overflowing: bool

    @classmethod
    def of(cls, encoding: Any) -> Encoded:
        """The record of a ``tokenizers.Encoding`` (unpadded)."""
        return cls(
            ids=np.asarray(encoding.ids, dtype=np.int32),
            type_ids=np.asarray(encoding.type_ids, dtype=np.int8),
            offsets=np.asarray(encoding.offsets, dtype=np.int32).reshape(-1, 2),
            overflowing=bool(encoding.overflowing),
        )

    @property
    def attention_mask(self) -> np.ndarray:
        return np.ones(len(self.ids), dtype=np.int8)

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.type_ids.nbytes + self.offsets.nbytes)


@dataclass
class OnnxModel:
    """An ONNX model with its tokenizer and config."""

    path: Path
    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # tokenizers.Tokenizer
    config: dict[str, Any]
    #: A head model's trunk: this model's session reads the trunk's hidden states, not tokens (see :meth:`rows`).
    trunk: OnnxModel | None = None
    #: (text, pair) -> (each output's row for the text, its tokens, the max length it was computed at).
    cache: OrderedDict[tuple[str, str | None], tuple[tuple[np.ndarray, ...], Encoded, int]] = field(
        default_factory=OrderedDict, repr=False
    )
    cache_size: int = CACHE_SIZE
    #: Bytes of cached outputs at most, if bounded (a trunk's rows are whole hidden-state matrices).
    cache_bytes: int | None = None
    _cached_bytes: int = field(default=0, repr=False)
    #: The graph's attention ignores ``attention_mask`` (``training/unpad_graph.py``): every batch must be unpadded.
    #: Read from the session's model metadata (UNPADDED_KEY) once, not on every batch.
    unpadded: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.unpadded = self.session.get_modelmeta().custom_metadata_map.get(UNPADDED_KEY) == "1"

    def clear_cache(self) -> None:
        """Drop every cached row."""
        self.cache.clear()
        self._cached_bytes = 0

    def uncached(self) -> OnnxModel:
        """The same model (sessions, tokenizer, config) with empty caches, its trunk's included."""
        trunk = self.trunk.uncached() if self.trunk is not None else None
        return replace(self, trunk=trunk, cache=OrderedDict(), _cached_bytes=0)

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]

    def encode(
        self, texts: list[str], pairs: list[str] | None = None, *, max_length: int | None = None
    ) -> tuple[dict[str, np.ndarray], list[Any]]:
        """Tokenise a batch (padded to its longest) into model inputs; also returns the encodings (offsets).

        Padding changes the other texts' outputs slightly; the stages score through :meth:`batches` instead. A model
        whose attention reads every token (:attr:`unpadded`) refuses a batch that needed padding (E064).
        """
        max_length = max_length or int(self.config.get("max_length", 128))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.enable_padding(pad_id=int(self.config.get("pad_id", 0)))
        encodings = (
            self.tokenizer.encode_batch(list(zip(texts, pairs, strict=True)))
            if pairs is not None
            else self.tokenizer.encode_batch(texts)
        )
        return self._feeds(encodings), encodings

    def batches(
        self,
        texts: Sequence[str],
        pairs: Sequence[str] | None = None,
        *,
        batch_size: int = 32,
        max_length: int | None = None,
        max_tokens: int = MAX_BATCH_TOKENS,
    ) -> Iterator[tuple[list[int], dict[str, np.ndarray], list[Any]]]:
        """Tokenise every text (or text pair) once and yield unpadded batches of texts with the same token count.

        Yields (indices into ``texts``, model inputs, encodings), shortest texts first; a batch holds at most
        ``batch_size`` texts and ``max_tokens`` tokens (always one text at least). No batch is padded, so each
        text's outputs are the ones it gets when scored alone.
        """
        if self.trunk is not None:
            raise TypeError(f"{self.path} reads its trunk's hidden states: score it through rows()")
        max_length = max_length or int(self.config.get("max_length", 128))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_length)
        encodings = (
            self.tokenizer.encode_batch(list(zip(texts, pairs, strict=True)))
            if pairs is not None
            else self.tokenizer.encode_batch(list(texts))
        )
        for indices in same_length_batches([len(e.ids) for e in encodings], batch_size, max_tokens):
            chunk = [encodings[i] for i in indices]
            yield indices, self._feeds(chunk), chunk

    def rows(
        self, texts: Sequence[str], *, batch_size: int = 32, max_length: int | None = None
    ) -> list[tuple[tuple[np.ndarray, ...], Encoded]]:
        """Each text's outputs (every model output's row for it) and its tokens, in input order.

        Texts seen before (by this model, in this process) come from the LRU cache; the others, each distinct text
        once, are scored through :meth:`batches` (a head model: through its trunk's rows). A row does not depend on
        the texts batched with it, so a cached row is exactly the one scoring the text again would give. A row
        computed at another ``max_length`` is reused when its text was not truncated and fits this one.
        """
        max_length = max_length or int(self.config.get("max_length", 128))
        found: dict[str, tuple[tuple[np.ndarray, ...], Encoded]] = {}
        for text in texts:
            hit = self.cache.get((text, None))
            if hit is not None and _fits(hit, max_length):
                found[text] = (hit[0], hit[1])
        todo = list(dict.fromkeys(t for t in texts if t not in found))
        if self.trunk is not None:
            found.update(self._head_rows(todo, batch_size=batch_size, max_length=max_length))
        else:
            for indices, feeds, encodings in self.batches(todo, batch_size=batch_size, max_length=max_length):
                outputs = self.run(feeds)
                for row, (k, encoding) in enumerate(zip(indices, encodings, strict=True)):
                    found[todo[k]] = (tuple(np.array(output[row]) for output in outputs), Encoded.of(encoding))
        # Most recently used last, in the order the texts were passed; the oldest go first.
        fresh = set(todo)
        for text in texts:
            key = (text, None)
            if text in fresh:
                fresh.discard(text)
                old = self.cache.pop(key, None)
                if old is not None:
                    self._cached_bytes -= _nbytes(old[0])
                self.cache[key] = (*found[text], max_length)
                self._cached_bytes += _nbytes(found[text][0])
            else:
                self.cache.move_to_end(key)
        limit = self.cache_bytes
        while self.cache and (len(self.cache) > self.cache_size or (limit is not None and self._cached_bytes > limit)):
            _, (dropped, _, _) = self.cache.popitem(last=False)
            self._cached_bytes -= _nbytes(dropped)
        return [found[text] for text in texts]

    def _head_rows(
        self, texts: list[str], *, batch_size: int, max_length: int
    ) -> dict[str, tuple[tuple[np.ndarray, ...], Encoded]]:
        """A head model's rows: the trunk's hidden states of each text, then the head over texts of one length."""
        assert self.trunk is not None
        states = self.trunk.rows(texts, batch_size=batch_size, max_length=max_length)
        found: dict[str, tuple[tuple[np.ndarray, ...], Encoded]] = {}
        for indices in same_length_batches([len(e.ids) for _, e in states], batch_size, MAX_BATCH_TOKENS):
            encodings = [states[i][1] for i in indices]
            feeds = self._feeds(encodings)
            feeds[HIDDEN_STATES] = np.stack([states[i][0][0] for i in indices])
            outputs = self.run(feeds)
            for row, (k, encoding) in enumerate(zip(indices, encodings, strict=True)):
                found[texts[k]] = (tuple(np.array(output[row]) for output in outputs), encoding)
        return found

    def _feeds(self, encodings: list[Any]) -> dict[str, np.ndarray]:
        feeds: dict[str, np.ndarray] = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        if self.unpadded and not feeds["attention_mask"].all():
            raise ModelError("E064", path=self.path)
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        return {k: v for k, v in feeds.items() if k in self.input_names}

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return list(self.session.run(None, feeds))


def same_length_batches(lengths: Sequence[int], batch_size: int, max_tokens: int) -> Iterator[list[int]]:
    """Indices of texts of one token length per batch, shortest first: at most ``batch_size`` texts and
    ``max_tokens`` tokens (always one text at least)."""
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, length in enumerate(lengths):
        by_length[length].append(i)
    for length in sorted(by_length):
        group = by_length[length]
        size = max(1, min(batch_size, max_tokens // max(1, length)))
        for begin in range(0, len(group), size):
            yield group[begin : begin + size]


def _nbytes(outputs: tuple[np.ndarray, ...]) -> int:
    return sum(int(o.nbytes) for o in outputs)


def _fits(hit: tuple[tuple[np.ndarray, ...], Encoded, int], max_length: int) -> bool:
    """Whether a cached row serves a call at ``max_length``: computed at it, or of an untruncated text that fits."""
    _, encoding, computed_at = hit
    return computed_at == max_length or (not encoding.overflowing and len(encoding.ids) <= max_length)


def default_threads() -> int:
    """Intra-op threads for onnxruntime: CROSSCHECK_THREADS, else every core (at most 4)."""
    env = os.environ.get("CROSSCHECK_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(4, os.cpu_count() or 1))


def session_options(threads: int | None = None) -> Any:
    """The onnxruntime session options of every shipped model (threads, full graph optimisation, SESSION_CONFIG, the
    process's one shared arena).

    Sessions allocate their activations from one arena that every session of the process shares
    (:func:`shared_arena`): with ``malloc`` instead, each batch's large activations were fresh pages that the kernel
    had to map and zero (about 17 page faults a token for a six-layer model, a third of its CPU), and with an arena of
    each session's own, every one of the five models would keep the activations of its largest batch for the life of
    the process. The shared arena holds about one batch's activations of the largest model.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    shared_arena()
    options.enable_cpu_mem_arena = True
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    for key, value in SESSION_CONFIG.items():
        options.add_session_config_entry(key, value)
    return options


def inference_session(model: str | bytes, options: Any = None) -> Any:
    """An onnxruntime session of ``model`` (a file path or the model's bytes) on the CPU, made as every shipped model's
    is: ``options`` (default :func:`session_options` for one thread) and the fusions of DISABLED_OPTIMIZERS left out."""
    import onnxruntime as ort

    return ort.InferenceSession(
        model,
        options if options is not None else session_options(1),
        providers=["CPUExecutionProvider"],
        disabled_optimizers=list(DISABLED_OPTIMIZERS),
    )


@lru_cache(maxsize=1)
def shared_arena() -> None:
    """Register one CPU arena with onnxruntime's environment, once per process, for every session to share.

    The arena grows in powers of two (``arena_extend_strategy`` 0): growing by the size asked for left it more
    fragmented (26 MB more resident for the technique tagger alone, and still growing after a hundred batches).
    """
    import onnxruntime as ort

    info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(info, ort.OrtArenaCfg({"arena_extend_strategy": 0}))


def model_folder(name_or_path: str) -> Path:
    """A model's folder: ``name_or_path`` if it is an absolute path or exists, else the shipped model of that name."""
    folder = Path(name_or_path)
    if not folder.is_absolute() and not folder.exists():
        folder = MODELS_DIR / name_or_path
    return folder


def load_trunk(folder: Path, name: str, threads: int | None = None) -> OnnxModel:
    """The trunk ``name`` that the model in ``folder`` reads: the one beside that folder, else the shipped one."""
    beside = folder.parent / name
    return load_onnx_model(str(beside if beside.exists() else MODELS_DIR / name), threads)


def read_trunk_json(folder: Path, threads: int | None = None) -> tuple[dict[str, Any], OnnxModel, int]:
    """A small model over a trunk's hidden states, stored as ``folder/model.json`` (the technique and
    check-worthiness gates): its data, the trunk it names (:func:`load_trunk`) and that trunk's hidden size."""
    path = folder / "model.json"
    if not path.exists():
        raise ModelError("E031", path=path, hint="see training/README.md")
    data = json.loads(path.read_text(encoding="utf-8"))
    trunk = load_trunk(folder, str(data["trunk"]), threads)
    return data, trunk, int(trunk.session.get_outputs()[0].shape[-1])


#: Every model :func:`load_onnx_model` has loaded in this process (for :func:`clear_model_caches`).
_LOADED: list[OnnxModel] = []


def clear_model_caches() -> None:
    """Drop the cached rows of every model loaded in this process, trunks included: what a benchmark's warm-up
    cached must not make the timed run cheaper."""
    for model in _LOADED:
        model.clear_cache()
        if model.trunk is not None:
            model.trunk.clear_cache()


@lru_cache(maxsize=8)
def load_onnx_model(name_or_path: str, threads: int | None = None) -> OnnxModel:
    """Load ``crosscheck/models/<name>/`` (or a folder path) once per process."""
    model = _load_onnx_model(name_or_path, threads)
    _LOADED.append(model)
    return model


def _load_onnx_model(name_or_path: str, threads: int | None) -> OnnxModel:
    from tokenizers import Tokenizer

    if (threads or default_threads()) == 1:
        # One core for this process: the tokenizer's thread pool would only contend with the other workers for the
        # cores, and each of its threads keeps a malloc arena of its own (20 MB more at the peak of an analysis).
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # Nor numpy's BLAS threads, which spin between products (the technique gate's, the stages' own).
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
    folder = model_folder(name_or_path)
    model_file = folder / "model.onnx"
    if not model_file.exists():
        raise ModelError("E031", path=model_file, hint="see training/README.md")
    data = model_file.read_bytes()
    # Node types are stored as plain strings in the ONNX protobuf; node and tensor names never spell these.
    quantising = [op.decode() for op in ACTIVATION_QUANT_OPS if op in data]
    del data
    if quantising:
        raise ModelError("E060", path=model_file, ops=", ".join(quantising))
    # From the file, not the bytes just read: a session made from bytes keeps about a third more memory (22 MB more
    # for a six-layer model) after loading.
    session = inference_session(str(model_file), session_options(threads))
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    if config.get("trunk"):
        # The trunk beside the head's folder, else the shipped one.
        trunk = load_trunk(folder, str(config["trunk"]), threads)
        wanted, has = int(config.get("trunk_layers", 0)), int(trunk.config.get("layers", -1))
        if wanted != has:
            raise ModelError("E061", path=folder, trunk=trunk.path, wanted=wanted - 1, has=has - 1)
        return OnnxModel(path=folder, session=session, tokenizer=trunk.tokenizer, config=config, trunk=trunk)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    megabytes = config.get("cache_megabytes")
    return OnnxModel(
        path=folder,
        session=session,
        tokenizer=tokenizer,
        config=config,
        cache_bytes=int(megabytes) << 20 if megabytes else None,
    )
