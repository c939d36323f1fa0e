"""Stance of an article body towards a claim: agree / disagree / discuss / unrelated (FNC-1 labels).

The shipped ``stance`` model is a cross-encoder (all-MiniLM-L6-v2 fine-tuned on FNC-1) over the pair
(claim, condensed body). A body is condensed to the few sentences that share the most content words with the
claim, kept in body order, so the pair fits the model's window; training uses :func:`condense_body` too.

:func:`predict_stance` scores each pair on its own (a batch of one, no padding), so a pair's probabilities never
depend on the other pairs passed with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import numpy as np

from ..models.runtime import OnnxModel, load_onnx_model

#: Label order of the model's outputs (also ``labels`` in the model's config.json).
LABELS = ("agree", "disagree", "discuss", "unrelated")

#: Body sentences kept for the model (chosen by overlap with the claim, kept in body order).
CONDENSE_SENTENCES = 4
#: A "sentence" longer than this many words (a paragraph without punctuation) is cut into pieces of this size.
MAX_SENTENCE_WORDS = 60
#: Content words are compared by their first letters: conflates inflections ("withdrew"/"withdrawn", "troops").
STEM_PREFIX = 5

_PARAGRAPH = re.compile(r"\n\s*\n|\r\n\s*\r\n|\n")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019)\]]))\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    data = json.loads(resources.files("crosscheck.data").joinpath("stopwords.json").read_text("utf-8"))
    return frozenset(data["en"])


def content_stems(text: str) -> set[str]:
    """The claim-comparison keys of a text: lower-cased words minus stopwords, cut to their first letters."""
    stop = _stopwords()
    return {w[:STEM_PREFIX] for w in _WORD.findall(text.lower()) if w not in stop and (len(w) > 1 or w.isdigit())}


def split_sentences(body: str) -> list[str]:
    """Sentences of an article body: line breaks, then sentence-final punctuation before a capital or digit.

    Over-long pieces (no punctuation) are cut every :data:`MAX_SENTENCE_WORDS` words.
    """
    out: list[str] = []
    for paragraph in _PARAGRAPH.split(body):
        for piece in _SENTENCE_END.split(paragraph):
            words = piece.split()
            for begin in range(0, len(words), MAX_SENTENCE_WORDS):
                out.append(" ".join(words[begin : begin + MAX_SENTENCE_WORDS]))
    return [s for s in out if s]


def condense_body(claim: str, body: str, *, sentences: int = CONDENSE_SENTENCES) -> str:
    """The ``sentences`` body sentences sharing the most content words with ``claim``, joined in body order.

    Ties (and sentences with no shared word) go to the earlier sentence, so a body unrelated to the claim condenses
    to its lead.
    """
    parts = split_sentences(body)
    if len(parts) <= sentences:
        return " ".join(parts)
    keys = content_stems(claim)
    ranked = sorted(range(len(parts)), key=lambda i: (-len(keys & content_stems(parts[i])), i))
    return " ".join(parts[i] for i in sorted(ranked[:sentences]))


def load_stance(name: str = "stance") -> OnnxModel:
    """The shipped stance model (or a model folder with the same files)."""
    return load_onnx_model(name)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=-1, keepdims=True), dtype=np.float32)


def stance_logits(
    claims: Sequence[str], bodies: Sequence[str], *, model: OnnxModel | None = None, condensed: bool = False
) -> np.ndarray:
    """Raw model logits, shape ``(len(claims), 4)`` in :data:`LABELS` order; ``condensed``: bodies are already
    condensed."""
    if len(claims) != len(bodies):
        raise ValueError(f"{len(claims)} claims but {len(bodies)} bodies")
    model = model or load_stance()
    out = np.zeros((len(claims), len(LABELS)), dtype=np.float32)
    for i, (claim, body) in enumerate(zip(claims, bodies, strict=True)):
        feeds, _ = model.encode([claim], [body if condensed else condense_body(claim, body)])
        (logits,) = model.run(feeds)[:1]
        out[i] = np.asarray(logits, dtype=np.float32)[0]
    return out


def predict_stance(
    claims: Sequence[str], bodies: Sequence[str], *, model: OnnxModel | None = None, condensed: bool = False
) -> np.ndarray:
    """Probability of agree / disagree / discuss / unrelated for each (claim, body) pair, shape ``(n, 4)``.

    The label order is :data:`LABELS` (``labels`` in the model's config.json). The model's per-class logit offsets
    (``logit_bias`` in config.json, tuned on a development split) are added before the softmax, so the argmax is
    the tuned decision.
    """
    model = model or load_stance()
    logits = stance_logits(claims, bodies, model=model, condensed=condensed)
    bias = np.asarray(model.config.get("logit_bias", [0.0] * len(LABELS)), dtype=np.float32)
    return _softmax(logits + bias)


def predict_labels(probabilities: np.ndarray) -> list[str]:
    """The most probable label of each row of :func:`predict_stance`'s output."""
    return [LABELS[int(i)] for i in np.argmax(probabilities, axis=1)]
