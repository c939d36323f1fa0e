"""Which sentence pieces the technique tagger reads: a gate over the shared encoder trunk's hidden states.

The span tagger (``techniques-si``, six MiniLM layers fine-tuned end to end) finds a technique span in about a
quarter of a news article's sentence pieces. The gate (``models/techniques-gate/model.json``, fitted by
``training/techniques/gate.py``) is a small network (one hidden ReLU layer of 64 units) over each token's hidden
state from the shared encoder trunk (``models/encoder-trunk``: all-MiniLM-L6-v2's embeddings and first three
layers, which the claims stage runs on the same sentences and caches), trained to predict the tagger's in-span
probability of the token. A piece is tagged when its highest token score reaches the gate's threshold; the others get
no spans. The threshold keeps nearly every span the tagger finds (the held-out recall is in the model card) while the
tagger reads about half of a news article's words.

The network runs in float64 over one piece's tokens at a time, so whether a piece is tagged depends on the piece's
text alone: not on the pieces batched with it (the trunk's rows do not either).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import ModelError
from ..models.runtime import OnnxModel, model_folder, read_trunk_json

GATE_MODEL = "techniques-gate"


@dataclass(frozen=True)
class TechniqueGate:
    """A token network over the trunk's hidden states (one hidden ReLU layer); a piece is read when its best
    token's log-odds reach ``threshold``."""

    trunk: OnnxModel
    w1: np.ndarray  # float64, (hidden size of the trunk, units)
    b1: np.ndarray  # (units,)
    w2: np.ndarray  # (units,)
    b2: float
    threshold: float
    max_length: int = 128

    @staticmethod
    def network(states: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: float) -> np.ndarray:
        """Each token's log-odds of lying in a span the tagger marks, from its hidden state (float64)."""
        h = np.maximum(states.astype(np.float64) @ w1 + b1, 0.0)
        return np.asarray((h * w2).sum(axis=1) + b2)

    def token_logits(self, states: np.ndarray) -> np.ndarray:
        return self.network(states, self.w1, self.b1, self.w2, self.b2)

    def logits(self, pieces: Sequence[str]) -> list[float]:
        """Each piece's best token log-odds ([CLS] and [SEP] left out), each piece's tokens computed on their own."""
        rows = self.trunk.rows(list(pieces), max_length=self.max_length)
        out = []
        # One BLAS thread: the products are small, and BLAS threads left spinning between them would take the CPU
        # from onnxruntime's threads. (A one-core process, such as a pool worker, limits BLAS to one thread anyway:
        # see load_onnx_model.)
        with threadpool_limits(limits=1, user_api="blas"):
            for (states, *_), _encoded in rows:
                inner = states[1:-1] if len(states) > 2 else states
                out.append(float(self.token_logits(inner).max()) if len(inner) else float("-inf"))
        return out

    def passes(self, pieces: Sequence[str]) -> list[bool]:
        """Whether the tagger should read each piece."""
        return [z >= self.threshold for z in self.logits(pieces)]


def read_gate(folder: Path, threads: int | None = None) -> TechniqueGate:
    """A gate from its folder's ``model.json`` (trunk name, weights, bias, threshold in log-odds)."""
    data, trunk, hidden = read_trunk_json(folder, threads)
    w1 = np.asarray(data["w1"], dtype=np.float64)
    if w1.ndim != 2 or w1.shape[0] != hidden:
        raise ModelError("E062", path=folder / "model.json", has=w1.shape[0], wanted=hidden)
    return TechniqueGate(
        trunk=trunk,
        w1=w1,
        b1=np.asarray(data["b1"], dtype=np.float64),
        w2=np.asarray(data["w2"], dtype=np.float64),
        b2=float(data["b2"]),
        threshold=float(data["threshold"]),
        max_length=int(data.get("max_length", 128)),
    )


@lru_cache(maxsize=4)
def load_gate(name_or_path: str = GATE_MODEL, threads: int | None = None) -> TechniqueGate:
    """The shipped gate (or one from a folder), loaded once per process."""
    return read_gate(model_folder(name_or_path), threads)
