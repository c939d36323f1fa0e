"""The ``techniques`` stage: persuasion-technique spans (PTC's 14 techniques) with a score and an explanation.

Two shipped int8 ONNX models, both fine-tuned from all-MiniLM-L6-v2 on PTC train (see their model cards), behind a
gate:

0. ``techniques-gate`` (:mod:`.technique_gate`), a small network over the shared encoder trunk's hidden states,
   rules out sentence pieces the tagger would find no span in (it finds one in about a quarter of a news article's);
   they are not tagged. A piece holding a loaded war term (see below) is tagged whatever the gate says.
1. ``techniques-si`` tags each token of a sentence with the probability that it lies inside a technique span;
   tokens are joined into words, and spans are decoded from the words (:mod:`.technique_decode`, thresholds in the
   model's ``config.json``, tuned on PTC dev).
2. ``techniques-tc`` classifies each span from ``[span] [SEP] [sentence]`` plus cheap span features
   (:mod:`.technique_features`: repetition in the article and whether this is a later mention, length, quotes,
   punctuation); a logistic regression over its log-probabilities and the same features gives the final
   probabilities. A classifier trained above the shared encoder trunk instead (``training/techniques/
   train_tc_trunk.py``; its ``config.json`` names the trunk) reads the trunk's hidden states of the span's sentence
   piece, the span's word pieces marked (:func:`span_token_mask`).

Each span becomes a :class:`~crosscheck.article.Technique` with the technique's definition as its explanation and
the words with the highest in-span probability as its triggers. The article's profile (techniques per 1,000 words,
counts, most frequent) goes into the ``technique_profile`` layer.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar

import numpy as np

from ..article import Technique
from ..errors import PipelineError
from ..models.runtime import HIDDEN_STATES, MAX_BATCH_TOKENS, OnnxModel, load_onnx_model, same_length_batches
from .pipeline import Document, Layer, register_stage
from .technique_decode import DecodedSpan, DecodeOptions, decode_words, group_words
from .technique_features import span_features
from .technique_gate import GATE_MODEL, TechniqueGate, load_gate

SI_MODEL = "techniques-si"
TC_MODEL = "techniques-tc"
#: Sentences longer than this many characters are cut at whitespace into pieces (the taggers see 128 tokens).
MAX_PIECE_CHARS = 400
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def technique_definitions() -> dict[str, dict[str, str]]:
    """{technique label: {"name", "definition"}} from ``data/techniques.json``."""
    text = resources.files("crosscheck").joinpath("data/techniques.json").read_text(encoding="utf-8")
    return dict(json.loads(text)["techniques"])


def split_long(text: str, start: int, end: int, *, max_chars: int = MAX_PIECE_CHARS) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` at whitespace into pieces of at most ``max_chars`` (a word longer stays whole)."""
    pieces = []
    while end - start > max_chars:
        cut = text.rfind(" ", start + 1, start + max_chars)
        if cut <= start:
            cut = start + max_chars
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def split_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut a sentence at line breaks (the taggers were trained on single lines)."""
    pieces = []
    for match in re.finditer(r"[^\n]+", text[start:end]):
        a, b = strip_bounds(text, start + match.start(), start + match.end())
        if b > a:
            pieces.append((a, b))
    return pieces


def strip_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentence_pieces(text: str, sentences: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The pieces the tagger reads: each sentence trimmed and cut at whitespace to at most ``MAX_PIECE_CHARS``."""
    out = []
    for s, e in sentences:
        s, e = strip_bounds(text, s, e)
        out.extend(split_long(text, s, e))
    return out


@dataclass
class SpanCandidate:
    """A decoded span with the sentence it came from (the classifier's context)."""

    span: DecodedSpan
    sentence: tuple[int, int]


class TechniqueModel:
    """The span tagger and the technique classifier, loaded once per process."""

    def __init__(
        self,
        *,
        si_model: str = SI_MODEL,
        tc_model: str = TC_MODEL,
        gate: str | None = GATE_MODEL,
        threads: int | None = None,
        batch_size: int = 32,
    ) -> None:
        self.si: OnnxModel = load_onnx_model(si_model, threads)
        self.tc: OnnxModel = load_onnx_model(tc_model, threads)
        #: Which pieces the tagger reads (:mod:`.technique_gate`); None tags every piece.
        self.gate: TechniqueGate | None = load_gate(gate, threads) if gate else None
        self.batch_size = batch_size
        cfg = self.si.config.get("decode", {})
        self.options = DecodeOptions(**cfg) if cfg else DecodeOptions()
        self.labels: list[str] = list(self.tc.config["labels"])
        stacker = self.tc.config.get("stacker")
        #: Logistic regression over [encoder log-probabilities, span features] (fitted on PTC train), if shipped.
        self.stack_coef = np.asarray(stacker["coef"], dtype=np.float32) if stacker else None
        self.stack_intercept = np.asarray(stacker["intercept"], dtype=np.float32) if stacker else None

    # --- span identification ---------------------------------------------------------------------------------------

    def tag(
        self, texts: Sequence[str], sentences: Sequence[Sequence[tuple[int, int]]]
    ) -> list[list[tuple[tuple[int, int], list[tuple[int, int, float]]]]]:
        """Per article, per sentence piece: its bounds and its words with in-span probabilities."""
        items = [  # (article index, start, end)
            (i, a, b)
            for i, (text, sents) in enumerate(zip(texts, sentences, strict=True))
            for a, b in sentence_pieces(text, sents)
        ]
        words: list[list[tuple[int, int, float]]] = [[] for _ in items]
        # A piece the gate rules out keeps no words (so no spans), unless it holds a loaded war term.
        read = [k for k, yes in enumerate(self.reads(texts, items)) if yes]
        pieces = [texts[items[k][0]][items[k][1] : items[k][2]] for k in read]
        for k, (outputs, enc) in zip(read, self.si.rows(pieces, batch_size=self.batch_size), strict=True):
            row = 1.0 / (1.0 + np.exp(-outputs[0][..., 0]))
            _, start, _ = items[k]
            keep = [(j, a, z) for j, (a, z) in enumerate(enc.offsets.tolist()) if z > a]
            text = texts[items[k][0]]
            words[k] = group_words(text, [(start + a, start + z) for _, a, z in keep], [row[j] for j, _, _ in keep])
        out: list[list[tuple[tuple[int, int], list[tuple[int, int, float]]]]] = [[] for _ in texts]
        for k, (i, s, e) in enumerate(items):
            out[i].append(((s, e), words[k]))
        return out

    def reads(self, texts: Sequence[str], items: Sequence[tuple[int, int, int]]) -> list[bool]:
        """Whether the tagger reads each (text index, start, end) piece: the gate lets it through, or it holds a
        loaded war term (the lexicon seeds a span there whatever the gate says)."""
        if self.gate is None:
            return [True] * len(items)
        out = [_war_terms().search(texts[i], a, b) is not None for i, a, b in items]
        ask = [k for k, hit in enumerate(out) if not hit]
        asked = self.gate.passes([texts[items[k][0]][items[k][1] : items[k][2]] for k in ask])
        for k, passes in zip(ask, asked, strict=True):
            out[k] = passes
        return out

    def decode(
        self,
        text: str,
        tagged: Sequence[tuple[tuple[int, int], list[tuple[int, int, float]]]],
        options: DecodeOptions | None = None,
    ) -> list[SpanCandidate]:
        options = options or self.options
        return [
            SpanCandidate(span, bounds)
            for bounds, words in tagged
            for span in decode_words(text, boost_lexicon_words(text, bounds, words, options.threshold), options)
        ]

    # --- technique classification ----------------------------------------------------------------------------------

    def classify(self, items: Sequence[tuple[str, int, int, int, int]]) -> np.ndarray:
        """Technique probabilities for (article text, start, end, context start, context end) items."""
        if self.tc.trunk is not None:
            return self._classify_above_trunk(items)
        out = np.zeros((len(items), len(self.labels)), dtype=np.float32)
        spans = [text[start:end] for text, start, end, _, _ in items]
        contexts = [text[start:end] for text, _, _, start, end in items]
        for chunk, feeds, _ in self.tc.batches(spans, contexts, batch_size=self.batch_size):
            features = np.stack([span_features(*items[k]) for k in chunk])
            feeds["features"] = features
            out[chunk] = self._probabilities(self.tc.run(feeds)[0], features)
        return out

    def _classify_above_trunk(self, items: Sequence[tuple[str, int, int, int, int]]) -> np.ndarray:
        """A classifier above the encoder trunk reads the trunk's hidden states of each span's context (the sentence
        piece the span was decoded from, which the gate and the tagger have just read: its states come from the
        trunk's cache) with the span's word pieces marked; spans whose contexts have one token length are batched."""
        assert self.tc.trunk is not None
        out = np.zeros((len(items), len(self.labels)), dtype=np.float32)
        contexts = [text[start:end] for text, _, _, start, end in items]
        max_length = int(self.tc.config.get("max_length", 128))
        states = self.tc.trunk.rows(contexts, batch_size=self.batch_size, max_length=max_length)
        lengths = [len(encoded.ids) for _, encoded in states]
        for chunk in same_length_batches(lengths, self.batch_size, MAX_BATCH_TOKENS):
            features = np.stack([span_features(*items[k]) for k in chunk])
            masks = [
                span_token_mask(states[k][1].offsets, items[k][1] - items[k][3], items[k][2] - items[k][3])
                for k in chunk
            ]
            feeds = {
                HIDDEN_STATES: np.stack([states[k][0][0] for k in chunk]),
                "attention_mask": np.ones((len(chunk), lengths[chunk[0]]), dtype=np.int64),
                "span_mask": np.stack(masks),
                "features": features,
            }
            out[chunk] = self._probabilities(self.tc.run(feeds)[0], features)
        return out

    def _probabilities(self, logits: np.ndarray, features: np.ndarray) -> np.ndarray:
        """The classifier's logits through the stacker (if shipped) to technique probabilities."""
        logits = _log_softmax(logits)
        if self.stack_coef is not None and self.stack_intercept is not None:
            # Products summed along each row: a BLAS matrix product adds in another order for one row than for
            # several, and a span's probabilities must not depend on the spans classified with it.
            inputs = np.hstack([logits, features])
            logits = (inputs[:, None, :] * self.stack_coef[None, :, :]).sum(axis=2) + self.stack_intercept
        return np.exp(_log_softmax(logits))

    # --- both ------------------------------------------------------------------------------------------------------

    def detect(self, texts: Sequence[str], sentences: Sequence[Sequence[tuple[int, int]]]) -> list[list[Technique]]:
        """Technique spans of each text, given its sentence bounds."""
        tagged = self.tag(texts, sentences)
        candidates = [self.decode(text, t) for text, t in zip(texts, tagged, strict=True)]
        flat = [(i, c) for i, cands in enumerate(candidates) for c in cands]
        probs = self.classify([(texts[i], c.span.start, c.span.end, *c.sentence) for i, c in flat])
        definitions = technique_definitions()
        results: list[list[Technique]] = [[] for _ in texts]
        for (i, c), p in zip(flat, probs, strict=True):
            best = int(np.argmax(p))
            label = self.labels[best]
            ranked = sorted(c.span.words, key=lambda w: -w[2])
            triggers = [texts[i][a:b] for a, b, _ in ranked if _WORD.search(texts[i][a:b])][:3]
            results[i].append(
                Technique(
                    start=c.span.start,
                    end=c.span.end,
                    technique=label,
                    score=round(float(c.span.score * p[best]), 4),
                    text=texts[i][c.span.start : c.span.end],
                    explanation=definitions[label]["definition"],
                    triggers=triggers,
                )
            )
        return results


@lru_cache(maxsize=1)
def _war_terms() -> re.Pattern[str]:
    data = json.loads(resources.files("crosscheck.data").joinpath("loaded_war_terms.json").read_text("utf-8"))
    phrases = sorted(data["phrases"], key=len, reverse=True)
    body = "|".join(re.escape(p.rstrip("*")) + (r"\w*" if p.endswith("*") else "") for p in phrases)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def boost_lexicon_words(
    text: str, bounds: tuple[int, int], words: list[tuple[int, int, float]], floor: float
) -> list[tuple[int, int, float]]:
    """Raise the in-span probability of words inside a loaded war term (data/loaded_war_terms.json) to ``floor``.

    The tagger learned loaded language from PTC (political news, 2017-2019); the war's own labels ("invaders",
    "occupants", "blitzkrieg", "Kyiv regime") are rare there. A boosted word seeds a span like any other, its
    neighbours join when the tagger scores them high enough, and the classifier names the technique.
    """
    matches = [(m.start(), m.end()) for m in _war_terms().finditer(text, bounds[0], bounds[1])]
    if not matches:
        return words
    return [(a, b, max(p, floor)) if any(s < b and a < e for s, e in matches) else (a, b, p) for a, b, p in words]


def span_token_mask(offsets: Any, start: int, end: int) -> np.ndarray:
    """1.0 for each word piece of a context that overlaps the span [start, end) (character offsets relative to the
    context; special tokens have empty offsets), else 0.0; every word piece when none does (a span past the end of a
    truncated context)."""
    bounds = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    content = bounds[:, 1] > bounds[:, 0]
    inside = content & (bounds[:, 0] < end) & (start < bounds[:, 1])
    return (inside if inside.any() else content).astype(np.float32)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)), dtype=np.float32)


@lru_cache(maxsize=2)
def load_technique_model(threads: int | None = None) -> TechniqueModel:
    """The shipped technique models, loaded once per process."""
    return TechniqueModel(threads=threads)


def technique_profile(techniques: Sequence[Technique], text: str) -> dict[str, Any]:
    """Article-level profile: techniques per 1,000 words, counts per technique, the most frequent ones."""
    n_words = len(_WORD.findall(text))
    counts = Counter(t.technique for t in techniques)
    top = max(counts.values(), default=0)
    return {
        "techniques_per_1000_words": round(1000.0 * len(techniques) / n_words, 2) if n_words else 0.0,
        "counts": dict(counts.most_common()),
        "most_frequent": sorted(k for k, v in counts.items() if v == top) if top else [],
    }


@register_stage("techniques")
class TechniquesStage:
    """Persuasion-technique spans over the parse stage's sentences."""

    name: ClassVar[str] = "techniques"
    requires: ClassVar[tuple[str, ...]] = ("doc",)
    provides: ClassVar[tuple[str, ...]] = ("techniques", "technique_profile")
    layers: ClassVar[tuple[Layer, ...]] = (
        Layer(
            "techniques",
            label="technique",
            spans=True,
            style={"fg": "red", "underline": True},
            description="persuasion techniques",
        ),
        Layer("technique_profile", many=False, description="techniques per 1,000 words and the most frequent"),
    )

    def __init__(self, *, threads: int | None = None) -> None:
        self.model = load_technique_model(threads)

    def __call__(self, docs: Sequence[Document]) -> None:
        sentences = []
        for d in docs:
            if d.doc is None:
                raise PipelineError("E015", stage="techniques")
            sentences.append([piece for s in d.doc.sents for piece in split_lines(d.text, s.start_char, s.end_char)])
        results = self.model.detect([d.text for d in docs], sentences)
        for d, found in zip(docs, results, strict=True):
            d.techniques = found
            d.layers["technique_profile"] = technique_profile(found, d.text)
