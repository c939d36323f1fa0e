"""The ``claims`` stage: check-worthy sentences, tied to their source, quantities, places, entities and date.

Each sentence of the parsed document is scored by the shipped ``checkworthiness`` model (all-MiniLM-L6-v2
fine-tuned on CheckThat! 2024 Task 1, int8 ONNX; see ``models/checkworthiness/MODEL_CARD.md``). A sentence whose
score reaches the model's threshold (``config.json``) becomes a :class:`~crosscheck.article.Claim`. The model's
upper layers read only the sentences a linear gate over the shared trunk's states lets through
(:mod:`crosscheck.analyze.claim_gate`): the others would score below the threshold.

Before scoring, units that cannot be claims are skipped (``data/claims.json``): headings and menu lines, fragments,
table rows ("| 777 | 0 | 0"), lines without a verb, and sponsorship or promotion lines ("This article is sponsored
by ...", "Download our app ..."), which the model, trained on debates, scores as check-worthy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..article import Attribution, Claim, Entity
from ..models.runtime import OnnxModel, load_onnx_model
from .claim_gate import GATE_MODEL, SentenceGate, load_gate
from .pipeline import Document, Layer, doc_text, register_stage

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.tokens import Span as SpacySpan

#: Sentences are scored in batches of at most this many (texts of the same token length, unpadded).
DEFAULT_BATCH_SIZE = 32


def load_checkworthiness(name: str = "checkworthiness") -> OnnxModel:
    """The check-worthiness model (loaded once per process)."""
    return load_onnx_model(name)


def _softmax_positive(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp[:, 1] / exp.sum(axis=1))


def score_sentences(
    texts: Sequence[str],
    *,
    model: OnnxModel | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    gate: SentenceGate | None = None,
) -> np.ndarray:
    """Check-worthiness probability of each text (float32 array in input order); NaN for a text ``gate`` rules out
    (not scored: below any threshold).

    Texts are scored in unpadded batches of the same token length (:meth:`OnnxModel.rows`, which also remembers
    the texts scored before), so a text's score is the one it gets alone, whatever else is scored with it.
    """
    model = model or load_checkworthiness()
    scores = np.full(len(texts), np.nan, dtype=np.float32)
    read = list(range(len(texts)))
    if gate is not None and texts:
        read = [i for i, ok in enumerate(gate.passes(texts)) if ok]
    if not read:
        return scores
    rows = model.rows([texts[i] for i in read], batch_size=batch_size)
    logits = np.stack([outputs[0] for outputs, _ in rows])
    scores[read] = _softmax_positive(np.asarray(logits, dtype=np.float32))
    return scores


@dataclass(frozen=True)
class ClaimRules:
    """Which entity labels count as places, and which final characters end a sentence (``data/claims.json``)."""

    place_labels: frozenset[str]
    terminal_punctuation: str
    estimate_nouns: frozenset[str] = frozenset()
    pronoun_sources: frozenset[str] = frozenset()
    min_alpha_words: int = 0
    min_alpha_share: float = 0.0
    verb_pos: frozenset[str] = frozenset()
    non_claim_patterns: tuple[re.Pattern[str], ...] = ()


@lru_cache(maxsize=1)
def load_rules() -> ClaimRules:
    data = json.loads(files("crosscheck.data").joinpath("claims.json").read_text(encoding="utf-8"))
    return ClaimRules(
        place_labels=frozenset(data["place_labels"]),
        terminal_punctuation=data["terminal_punctuation"],
        estimate_nouns=frozenset(data.get("estimate_nouns", ())),
        pronoun_sources=frozenset(data.get("pronoun_sources", ())),
        min_alpha_words=int(data.get("min_alpha_words", 0)),
        min_alpha_share=float(data.get("min_alpha_share", 0.0)),
        verb_pos=frozenset(data.get("verb_pos", ())),
        non_claim_patterns=tuple(re.compile(p, re.IGNORECASE) for p in data.get("non_claim_patterns", ())),
    )


def looks_like_claim(span: SpacySpan, rules: ClaimRules) -> bool:
    """Whether a unit can be a claim at all: enough alphabetic words, a verb, no sponsorship or promotion pattern.

    A cheap check before the model (which scores table rows and "Download our app ..." as check-worthy): at least
    ``min_alpha_words`` words with letters making up ``min_alpha_share`` of the unit's words, a token tagged as one
    of ``verb_pos``, and none of ``non_claim_patterns`` (table rows, "sponsored by", "subscribe to our ...").
    """
    words = [t for t in span if not (t.is_punct or t.is_space)]
    alpha = sum(1 for t in words if any(ch.isalpha() for ch in t.text))
    if alpha < rules.min_alpha_words or alpha < rules.min_alpha_share * len(words):
        return False
    if rules.verb_pos and not any(t.pos_ in rules.verb_pos for t in span):
        return False
    text = span.text
    return not any(p.search(text) for p in rules.non_claim_patterns)


def candidate_sentences(doc: Doc, *, min_words: int, max_heading_words: int) -> list[tuple[int, int]]:
    """Character ranges of the sentences worth scoring.

    spaCy's sentences are cut again at line breaks (a heading and the paragraph under it are separate units), then
    trimmed. A unit is skipped when it has fewer than ``min_words`` word tokens (bylines, "Recent Posts"), when it
    fills its whole line, has no sentence-final punctuation and fewer than ``max_heading_words`` words (a heading or a
    menu item rather than a sentence of the story), or when it does not look like a claim (:func:`looks_like_claim`:
    table rows, lines without a verb, sponsorship and promotion).
    """
    rules = load_rules()
    text = doc_text(doc)
    out: list[tuple[int, int]] = []
    for sent in doc.sents:
        begin = sent.start_char
        for piece in text[sent.start_char : sent.end_char].split("\n"):
            start = begin + len(piece) - len(piece.lstrip())
            end = begin + len(piece.rstrip())
            begin += len(piece) + 1
            if end <= start:
                continue
            span = doc.char_span(start, end, alignment_mode="expand")
            words = sum(1 for t in span if not (t.is_punct or t.is_space)) if span is not None else 0
            if words < min_words:
                continue
            line_start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
            whole_line = not text[line_start:start].strip() and not text[end:line_end].strip()
            if whole_line and text[end - 1] not in rules.terminal_punctuation and words < max_heading_words:
                continue
            if span is None or not looks_like_claim(span, rules):
                continue
            out.append((start, end))
    return out


def _inside(start: int, end: int, span_start: int, span_end: int) -> bool:
    return start <= span_start and span_end <= end


def _overlap(start: int, end: int, span_start: int, span_end: int) -> int:
    return max(0, min(end, span_end) - max(start, span_start))


def claim_source(attributions: Sequence[Attribution], start: int, end: int) -> str | None:
    """The source of the attribution that covers the sentence best: its resolved name (``canonical``: "he" ->
    "Peter Rutland", "who" -> "a soldier") when the attribution stage found one, else its text.

    An attribution counts when its content overlaps the sentence, or when its source or cue lies in the sentence
    ("According to TASS, ..."); the one with the most content overlap wins, ties to the earliest.
    """
    best: tuple[int, int, str] | None = None
    for attribution in attributions:
        if attribution.source is None or not attribution.source.text:
            continue
        overlap = _overlap(start, end, attribution.content.start, attribution.content.end)
        own = any(
            span is not None and _overlap(start, end, span.start, span.end) > 0
            for span in (attribution.source, attribution.cue)
        )
        if overlap == 0 and not own:
            continue
        key = (overlap, -attribution.content.start, attribution.source.canonical or attribution.source.text)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else None


def estimate_source(doc: Doc | None, start: int, end: int, rules: ClaimRules) -> str | None:
    """'A conservative estimate' in 'A conservative estimate of the land ... was 2,500 square kilometers'.

    The subject of the sentence's main verb, when it is an estimate-like noun (``estimate_nouns``), from its first
    modifier to the noun itself (the "of ..." part is what is estimated, not who estimates).
    """
    if doc is None:
        return None
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None:
        return None
    root = span.root
    for child in root.children:
        if child.dep_ in ("nsubj", "nsubjpass") and child.lemma_.lower() in rules.estimate_nouns:
            first = min(t.i for t in child.subtree if t.i <= child.i)
            return doc[first : child.i + 1].text
    return None


def resolve_pronoun(source: str | None, entities: Sequence[Entity], before: int, rules: ClaimRules) -> str | None:
    """A source that is only a pronoun ("he") becomes the last person named before ``before``, if any."""
    if source is None or source.lower() not in rules.pronoun_sources:
        return source
    people = [e for e in entities if e.label == "PERSON" and e.end <= before]
    return (people[-1].canonical or people[-1].text) if people else source


def is_place(entity: Entity, rules: ClaimRules) -> bool:
    """An entity resolved to coordinates, or one labelled as a place with a canonical name."""
    return (entity.lat is not None and entity.lon is not None) or (
        entity.label in rules.place_labels and entity.canonical is not None
    )


def build_claim(document: Document, start: int, end: int, score: float) -> Claim:
    """A claim for ``text[start:end]`` with what the other stages found inside it."""
    rules = load_rules()
    inside_entities = [e for e in document.entities if _inside(start, end, e.start, e.end)]
    dates = sorted(
        (d for d in document.dates if d.value and _inside(start, end, d.start, d.end)), key=lambda d: d.start
    )
    return Claim(
        id=f"{document.article.id}:{start}-{end}",
        start=start,
        end=end,
        text=document.text[start:end],
        score=round(float(score), 4),
        source=resolve_pronoun(
            claim_source(document.attributions, start, end) or estimate_source(document.doc, start, end, rules),
            document.entities,
            start,
            rules,
        ),
        quantities=[q.to_dict() for q in document.quantities if _inside(start, end, q.start, q.end)],
        places=[e.to_dict() for e in inside_entities if is_place(e, rules)],
        entities=[e.to_dict() for e in inside_entities if not is_place(e, rules)],
        date=dates[0].value if dates else None,
    )


@register_stage("claims")
class ClaimsStage:
    """Score every sentence with the check-worthiness model; keep those at or above the threshold as claims."""

    name: ClassVar[str] = "claims"
    requires: ClassVar[tuple[str, ...]] = ("doc", "entities", "quantities", "dates", "attributions")
    provides: ClassVar[tuple[str, ...]] = ("claims",)
    layers: ClassVar[tuple[Layer, ...]] = (
        Layer("claims", style={"fg": "blue", "underline": True}, description="check-worthy claims"),
    )

    def __init__(
        self,
        *,
        model: str = "checkworthiness",
        gate: str | None = GATE_MODEL,
        threshold: float | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        min_words: int = 4,
        max_heading_words: int = 25,
    ) -> None:
        self.model = load_checkworthiness(model)
        # The sentences the head reads (models/checkworthiness-gate); None scores every candidate.
        self.gate = load_gate(gate) if gate else None
        # Default: the model's threshold, tuned on CheckThat! 2024 dev for positive-class F1 (see config.json).
        self.threshold = float(self.model.config["threshold"]) if threshold is None else threshold
        self.batch_size = batch_size
        self.min_words = min_words
        self.max_heading_words = max_heading_words

    def __call__(self, docs: Sequence[Document]) -> None:
        units: list[tuple[Document, int, int]] = []
        for document in docs:
            if document.doc is None:
                continue
            ranges = candidate_sentences(
                document.doc, min_words=self.min_words, max_heading_words=self.max_heading_words
            )
            units.extend((document, start, end) for start, end in ranges)
        scores = score_sentences(
            [d.text[s:e] for d, s, e in units], model=self.model, batch_size=self.batch_size, gate=self.gate
        )
        for document in docs:
            document.claims = []
        for (document, start, end), score in zip(units, scores, strict=True):
            if score >= self.threshold:
                document.claims.append(build_claim(document, start, end, float(score)))
