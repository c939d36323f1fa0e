"""Inference on onnxruntime with HF ``tokenizers``: no torch at run time.

Each shipped transformer model lives in ``crosscheck/models/<name>/`` as ``model.onnx``, ``tokenizer.json``,
``config.json`` (labels, thresholds, max length) and ``MODEL_CARD.md``. :func:`load_onnx_model` loads one once per
process.

The model files hold int8 weights behind ``DequantizeLinear`` nodes (``training/quantize_weights.py``) and compute in
fp32: no activation is quantised, so a text's scores do not depend on the texts scored with it, nor on whether the
CPU has VNNI (onnxruntime's int8 u8s8 products can saturate on x86-64 CPUs without it). :meth:`OnnxModel.batches`
batches only texts of the same token length, so no batch is padded either.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

MODELS_DIR = Path(__file__).resolve().parent

#: Session settings every model is loaded with. Without the QDQ transforms onnxruntime folds each weight's
#: DequantizeLinear into an fp32 initializer when it loads the model, and every matrix product is a plain fp32 one;
#: with them it fuses DequantizeLinear + MatMul into MatMulNBits, which quantises activations to int8 again.
SESSION_CONFIG = {"session.disable_quant_qdq": "1"}
#: Node types that quantise activations at run time; a model file holding one is refused (E060).
ACTIVATION_QUANT_OPS = (b"DynamicQuantizeLinear", b"MatMulInteger", b"DynamicQuantizeMatMul")


@dataclass
class OnnxModel:
    """An ONNX model with its tokenizer and config."""

    path: Path
    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # tokenizers.Tokenizer
    config: dict[str, Any]

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]

    def encode(
        self, texts: list[str], pairs: list[str] | None = None, *, max_length: int | None = None
    ) -> tuple[dict[str, np.ndarray], list[Any]]:
        """Tokenise a batch (padded to its longest) into model inputs; also returns the encodings (offsets).

        Padding changes the other texts' outputs slightly; the stages score through :meth:`batches` instead.
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
    ) -> Iterator[tuple[list[int], dict[str, np.ndarray], list[Any]]]:
        """Tokenise every text (or text pair) once and yield unpadded batches of texts with the same token count.

        Yields (indices into ``texts``, model inputs, encodings), shortest texts first. No batch is padded, so each
        text's outputs are the ones it gets when scored alone.
        """
        max_length = max_length or int(self.config.get("max_length", 128))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_length)
        encodings = (
            self.tokenizer.encode_batch(list(zip(texts, pairs, strict=True)))
            if pairs is not None
            else self.tokenizer.encode_batch(list(texts))
        )
        by_length: dict[int, list[int]] = defaultdict(list)
        for i, encoding in enumerate(encodings):
            by_length[len(encoding.ids)].append(i)
        for length in sorted(by_length):
            group = by_length[length]
            for begin in range(0, len(group), batch_size):
                indices = group[begin : begin + batch_size]
                chunk = [encodings[i] for i in indices]
                yield indices, self._feeds(chunk), chunk

    def _feeds(self, encodings: list[Any]) -> dict[str, np.ndarray]:
        feeds: dict[str, np.ndarray] = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        return {k: v for k, v in feeds.items() if k in self.input_names}

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return list(self.session.run(None, feeds))


def default_threads() -> int:
    """Intra-op threads for onnxruntime: CROSSCHECK_THREADS, else every core (at most 4)."""
    env = os.environ.get("CROSSCHECK_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(4, os.cpu_count() or 1))


def session_options(threads: int | None = None) -> Any:
    """The onnxruntime session options of every shipped model (threads, full graph optimisation, SESSION_CONFIG)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    for key, value in SESSION_CONFIG.items():
        options.add_session_config_entry(key, value)
    return options


@lru_cache(maxsize=8)
def load_onnx_model(name_or_path: str, threads: int | None = None) -> OnnxModel:
    """Load ``crosscheck/models/<name>/`` (or a folder path) once per process."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    folder = Path(name_or_path)
    if not folder.is_absolute() and not folder.exists():
        folder = MODELS_DIR / name_or_path
    model_file = folder / "model.onnx"
    if not model_file.exists():
        raise ModelError("E031", path=model_file, hint="see training/README.md")
    data = model_file.read_bytes()
    # Node types are stored as plain strings in the ONNX protobuf; node and tensor names never spell these.
    quantising = [op.decode() for op in ACTIVATION_QUANT_OPS if op in data]
    if quantising:
        raise ModelError("E060", path=model_file, ops=", ".join(quantising))
    session = ort.InferenceSession(data, session_options(threads), providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    return OnnxModel(path=folder, session=session, tokenizer=tokenizer, config=config)
