"""Inference on onnxruntime with HF ``tokenizers``: no torch at run time.

Each shipped transformer model lives in ``crosscheck/models/<name>/`` as ``model.onnx`` (int8), ``tokenizer.json``,
``config.json`` (labels, thresholds, max length) and ``MODEL_CARD.md``. :func:`load_onnx_model` loads one once per
process.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

MODELS_DIR = Path(__file__).resolve().parent


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
        """Tokenise a batch (padded to its longest) into model inputs; also returns the encodings (offsets)."""
        max_length = max_length or int(self.config.get("max_length", 128))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.enable_padding(pad_id=int(self.config.get("pad_id", 0)))
        encodings = (
            self.tokenizer.encode_batch(list(zip(texts, pairs, strict=True)))
            if pairs is not None
            else self.tokenizer.encode_batch(texts)
        )
        feeds: dict[str, np.ndarray] = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        return {k: v for k, v in feeds.items() if k in self.input_names}, encodings

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return list(self.session.run(None, feeds))


def default_threads() -> int:
    """Intra-op threads for onnxruntime: CROSSCHECK_THREADS, else every core (at most 4)."""
    env = os.environ.get("CROSSCHECK_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(4, os.cpu_count() or 1))


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
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    return OnnxModel(path=folder, session=session, tokenizer=tokenizer, config=config)
