"""Turn per-token in-span probabilities into character spans (shared by the stage, the evaluation and training)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DecodeOptions:
    """Span decoding: seed words at ``threshold``, grown over neighbours at ``low``, merged, tiny ones dropped."""

    threshold: float = 0.5
    low: float = 0.5
    max_gap_chars: int = 0
    min_chars: int = 1
    #: A word also counts (as seed and member) when its probability is >= peak_floor and >= peak_ratio times the
    #: sentence's median word probability: it stands out from plain text around it. peak_floor 1.0 turns this off.
    peak_floor: float = 1.0
    peak_ratio: float = 5.0


@dataclass
class DecodedSpan:
    start: int
    end: int
    score: float
    words: list[tuple[int, int, float]] = field(default_factory=list)  # (start, end, probability) of each word


def group_words(text: str, offsets: Sequence[tuple[int, int]], probs: Sequence[float]) -> list[tuple[int, int, float]]:
    """Join word-piece tokens into words (adjacent tokens with letters or digits on both sides); word prob = max."""
    words: list[tuple[int, int, float]] = []
    for (start, end), prob in zip(offsets, probs, strict=True):
        if end <= start:
            continue
        if words and start == words[-1][1] and start > 0 and text[start - 1].isalnum() and text[start].isalnum():
            ws, _, wp = words[-1]
            words[-1] = (ws, end, max(wp, float(prob)))
        else:
            words.append((start, end, float(prob)))
    return words


def decode_words(text: str, words: Sequence[tuple[int, int, float]], options: DecodeOptions) -> list[DecodedSpan]:
    """Spans over runs of words with probability >= ``low`` that hold a word >= ``threshold`` (or a peak word)."""
    spans: list[DecodedSpan] = []
    run: list[tuple[int, int, float]] = []
    peak = options.peak_floor
    if peak < 1.0 and words:
        probs = sorted(w[2] for w in words)
        peak = max(peak, options.peak_ratio * probs[len(probs) // 2])
    seeds = 0

    def close() -> None:
        if run and seeds:
            spans.append(DecodedSpan(run[0][0], run[-1][1], sum(w[2] for w in run) / len(run), list(run)))
        run.clear()

    for word in words:
        if word[2] >= options.low or word[2] >= peak:
            run.append(word)
            seeds += word[2] >= options.threshold or word[2] >= peak
        else:
            close()
            seeds = 0
    close()
    merged: list[DecodedSpan] = []
    for span in spans:
        if (
            merged
            and span.start - merged[-1].end <= options.max_gap_chars
            and "\n" not in text[merged[-1].end : span.start]
        ):
            last = merged[-1]
            words_all = last.words + span.words
            merged[-1] = DecodedSpan(last.start, span.end, sum(w[2] for w in words_all) / len(words_all), words_all)
        else:
            merged.append(span)
    return [s for s in merged if s.end - s.start >= options.min_chars]
