"""Cheap span features for the technique classifier (fed beside the encoder's pooled output)."""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"\w+")
_QUOTES = "\"'“”‘’«»"

#: Names of the features :func:`span_features` returns, in order.
FEATURE_NAMES = (
    "log_repeats",
    "repeated",
    "log_chars",
    "log_words",
    "line_share",
    "whole_line",
    "quote",
    "exclamation",
    "question",
    "capitalised_share",
    "earlier_mention",
    "later_mention",
)


@lru_cache(maxsize=64)
def _words(article: str) -> tuple[list[int], list[str], dict[str, list[int]]]:
    """The article's words in lower case (runs of word characters), once for all of its spans: where each starts,
    the words, and each word's indices in that list. A batch's spans come in no order of article, so the cache holds
    more articles than a batch has (the pipeline's batches have 16)."""
    starts: list[int] = []
    words: list[str] = []
    where: dict[str, list[int]] = {}
    for m in _WORD.finditer(article.lower()):
        where.setdefault(m.group(), []).append(len(words))
        starts.append(m.start())
        words.append(m.group())
    return starts, words, where


def _occurrences(article: str, span_text: str) -> list[int]:
    """Where the span's words occur in the article in that order, separated by anything but word characters, as
    whole words (case-insensitive; matches do not overlap): offsets into the lower-cased article."""
    wanted = _WORD.findall(span_text.lower())
    if not wanted:
        return []
    starts, words, where = _words(article)
    k = len(wanted)
    found: list[int] = []
    after = 0
    for i in where.get(wanted[0], []):
        if i >= after and words[i : i + k] == wanted:
            found.append(starts[i])
            after = i + k
    return found


def count_repeats(article: str, span_text: str) -> int:
    """How often the span's words occur (case-insensitive, whole words) in the article, the span included."""
    return max(1, len(_occurrences(article, span_text)))


def span_features(article: str, start: int, end: int, line_start: int, line_end: int) -> np.ndarray:
    """Feature vector of one span of an article given the line (sentence) around it."""
    text = article[start:end]
    words = _WORD.findall(text)
    found = _occurrences(article, text)
    repeats = max(1, len(found))
    first_word = _WORD.search(text)
    own = start + (first_word.start() if first_word else 0)
    line_len = max(1, line_end - line_start)
    capitalised = sum(1 for w in words if w[:1].isupper()) / max(1, len(words))
    return np.array(
        [
            math.log(repeats),
            1.0 if repeats > 1 else 0.0,
            math.log1p(len(text)) / 5.0,
            math.log1p(len(words)) / 3.0,
            min(1.0, len(text) / line_len),
            1.0 if len(text) / line_len >= 0.9 else 0.0,
            1.0 if any(q in text for q in _QUOTES) else 0.0,
            1.0 if "!" in text else 0.0,
            1.0 if "?" in text else 0.0,
            capitalised,
            1.0 if any(pos < own for pos in found) else 0.0,
            1.0 if any(pos > own for pos in found) else 0.0,
        ],
        dtype=np.float32,
    )


def context_bounds(article: str, start: int, end: int) -> tuple[int, int]:
    """The line(s) around a span: from the line start before ``start`` to the line end after ``end``."""
    line_start = article.rfind("\n", 0, start) + 1
    line_end = article.find("\n", end)
    return line_start, len(article) if line_end < 0 else line_end
