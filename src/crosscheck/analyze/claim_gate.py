"""Which candidate sentences the check-worthiness head scores: a linear gate over the shared trunk's hidden states.

The check-worthiness model is a head of three MiniLM layers above the shared encoder trunk
(``models/encoder-trunk``). The trunk runs on every candidate sentence anyway (its states are cached and read again
by the head, the claim sentence encoder and the technique gate); the head costs as much again. The gate
(``models/checkworthiness-gate/model.json``, fitted by ``training/checkworthiness/gate.py``) is a logistic regression
over three poolings of a sentence's trunk states (the mean over its tokens, the [CLS] token's state, the largest value
of each dimension), trained to predict whether the head's score reaches the claims threshold. A sentence whose gate
log-odds fall below the gate's threshold is not scored: it is not a claim. The threshold keeps every sentence of
CheckThat! dev that the head calls check-worthy; on news the head then reads about four fifths of the candidates
(the model card gives the figures).

The gate computes in float64 over one sentence's states at a time, so whether a sentence is scored depends on its
text alone, not on the sentences batched with it (the trunk's rows do not either); another CPU's order of additions
moves a log-odds by about 1e-15 of its size, far below the distance of any sentence of the evaluation sets from the
threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..models.runtime import OnnxModel, model_folder, read_trunk_json

GATE_MODEL = "checkworthiness-gate"


def pooled_states(states: np.ndarray) -> np.ndarray:
    """A sentence's gate features from its trunk states (tokens, hidden): mean, [CLS] state, maximum (float64)."""
    rows = np.asarray(states, dtype=np.float64)
    return np.concatenate([rows.mean(axis=0), rows[0], rows.max(axis=0)])


@dataclass(frozen=True)
class SentenceGate:
    """Logistic regression over :func:`pooled_states`; a sentence is scored when its log-odds reach ``threshold``."""

    trunk: OnnxModel
    weights: np.ndarray  # float64, (3 x hidden size of the trunk,)
    bias: float
    threshold: float
    max_length: int = 96

    def logits(self, texts: Sequence[str]) -> list[float]:
        """Each text's log-odds that the head calls it check-worthy, from its own trunk states."""
        rows = self.trunk.rows(list(texts), max_length=self.max_length)
        return [float(pooled_states(states) @ self.weights + self.bias) for (states, *_), _ in rows]

    def passes(self, texts: Sequence[str]) -> list[bool]:
        """Whether the check-worthiness head should score each text."""
        return [z >= self.threshold for z in self.logits(texts)]


def read_gate(folder: Path, threads: int | None = None) -> SentenceGate:
    """A gate from its folder's ``model.json`` (trunk name, weights, bias, threshold in log-odds, max length)."""
    data, trunk, hidden = read_trunk_json(folder, threads)
    weights = np.asarray(data["weights"], dtype=np.float64)
    if weights.ndim != 1 or weights.shape[0] != 3 * hidden:
        raise ModelError("E063", path=folder / "model.json", has=weights.shape[0], wanted=3 * hidden)
    return SentenceGate(
        trunk=trunk,
        weights=weights,
        bias=float(data["bias"]),
        threshold=float(data["threshold"]),
        max_length=int(data.get("max_length", 96)),
    )


@lru_cache(maxsize=4)
def load_gate(name_or_path: str = GATE_MODEL, threads: int | None = None) -> SentenceGate:
    """The shipped gate (or one from a folder), loaded once per process."""
    return read_gate(model_folder(name_or_path), threads)
