"""PTC data for the techniques models: articles, gold spans and line bounds."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from crosscheck.evaluate.ptc import TECHNIQUES, PtcSpan, find_split, read_articles, read_labels
from training.common import DATASETS

PTC = DATASETS / "ptc-semeval2020-task11" / "datasets"


@dataclass
class Split:
    articles: dict[str, str]
    spans: list[PtcSpan]  # TC gold (with techniques); empty for the test split


def load_split(split: str) -> Split:
    articles_dir, labels_dir = find_split(PTC, split)
    spans = read_labels(labels_dir) if labels_dir is not None else []
    return Split(read_articles(articles_dir), spans)


def line_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of the non-empty lines of an article (PTC articles hold one sentence per line)."""
    out = []
    pos = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            start = pos + line.index(stripped)
            out.append((start, start + len(stripped)))
        pos += len(line) + 1
    return out


def technique_index() -> dict[str, int]:
    return {t: i for i, t in enumerate(TECHNIQUES)}


def tokenizer_json() -> Path:
    from training.common import minilm_dir

    return minilm_dir() / "tokenizer.json"


def batches(examples: list[dict], size: int, *, shuffle: bool, rng: random.Random) -> list[list[dict]]:
    """Examples grouped by token length (little padding); the groups shuffled when training."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]["ids"]))
    groups = [[examples[i] for i in order[k : k + size]] for k in range(0, len(order), size)]
    if shuffle:
        rng.shuffle(groups)
    return groups
