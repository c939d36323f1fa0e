"""PTC (SemEval-2020 Task 11) data reading and the task's official metrics.

Formats (tab-separated, offsets are characters into ``article<ID>.txt``, start inclusive, end exclusive):
SI labels ``id start end``; TC labels ``id technique start end``.

Metrics reproduce the official scorer's definitions:

* **SI** (span identification): spans are merged per article when they overlap (the label is ignored), then
  ``P = sum_s sum_t |s ∩ t| / |s|`` over predicted spans ``s`` and gold spans ``t`` of the same article, divided by
  the number of predicted spans; ``R`` likewise with ``|t|`` over the number of gold spans; ``F1`` their harmonic mean.
* **Joint** (span and technique together): the same formula where only pairs with the same technique count;
  overlapping spans of the same technique are merged first.
* **TC** (technique classification given the gold spans): micro-F1 over (article, start, end) spans, matching the
  labels of identical spans as multisets (a span annotated twice with two techniques needs both).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: The 14 technique labels of PTC v2, as spelled in the label files.
TECHNIQUES: tuple[str, ...] = (
    "Appeal_to_Authority",
    "Appeal_to_fear-prejudice",
    "Bandwagon,Reductio_ad_hitlerum",
    "Black-and-White_Fallacy",
    "Causal_Oversimplification",
    "Doubt",
    "Exaggeration,Minimisation",
    "Flag-Waving",
    "Loaded_Language",
    "Name_Calling,Labeling",
    "Repetition",
    "Slogans",
    "Thought-terminating_Cliches",
    "Whataboutism,Straw_Men,Red_Herring",
)


@dataclass(frozen=True, order=True)
class PtcSpan:
    """One labelled span of a PTC article (``technique`` is ``""`` for SI-only spans, ``"?"`` in templates)."""

    article_id: str
    start: int
    end: int
    technique: str = ""


@dataclass(frozen=True)
class SpanScores:
    precision: float
    recall: float
    f1: float
    n_pred: int
    n_gold: int


# --- reading -------------------------------------------------------------------------------------------------------


def read_articles(folder: Path) -> dict[str, str]:
    """``article<ID>.txt`` files of a folder as {id: text} (texts read exactly, newlines kept)."""
    articles = {}
    for path in sorted(Path(folder).glob("article*.txt")):
        with open(path, encoding="utf-8", newline="") as handle:
            articles[path.stem.removeprefix("article")] = handle.read()
    return articles


def parse_label_lines(lines: Iterable[str]) -> list[PtcSpan]:
    """Parse SI (3 columns) or TC (4 columns) label lines."""
    spans = []
    for line in lines:
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 3:
            spans.append(PtcSpan(parts[0], int(parts[1]), int(parts[2])))
        elif len(parts) == 4:
            spans.append(PtcSpan(parts[0], int(parts[2]), int(parts[3]), parts[1]))
        elif line.strip():
            raise ValueError(f"not a PTC label line: {line!r}")
    return spans


def read_labels(path: Path) -> list[PtcSpan]:
    """Labels from one ``.labels``/``.out`` file or from every ``*.labels`` file of a folder."""
    path = Path(path)
    files = sorted(path.glob("*.labels")) if path.is_dir() else [path]
    spans: list[PtcSpan] = []
    for file in files:
        spans.extend(parse_label_lines(file.read_text(encoding="utf-8").splitlines()))
    return spans


def find_split(data: Path, split: str = "dev") -> tuple[Path, Path | None]:
    """The articles folder and TC labels folder of a PTC-format folder.

    Accepts the release layout (``<split>-articles/``, ``<split>-labels-task-flc-tc/``), a folder whose ``datasets/``
    holds that layout, or a folder with ``articles/`` and ``labels/``. The labels folder is ``None`` when absent.
    """
    data = Path(data)
    for root in (data, data / "datasets"):
        articles = root / f"{split}-articles"
        if articles.is_dir():
            labels = root / f"{split}-labels-task-flc-tc"
            return articles, labels if labels.is_dir() else None
    if (data / "articles").is_dir():
        labels = data / "labels"
        return data / "articles", labels if labels.is_dir() else None
    raise FileNotFoundError(f"no PTC articles folder for split '{split}' under {data}")


def write_si(spans: Iterable[PtcSpan], path: Path) -> None:
    """Write SI predictions (``id start end``)."""
    lines = [f"{s.article_id}\t{s.start}\t{s.end}\n" for s in spans]
    Path(path).write_text("".join(lines), encoding="utf-8")


def write_tc(spans: Iterable[PtcSpan], path: Path) -> None:
    """Write TC predictions (``id technique start end``)."""
    lines = [f"{s.article_id}\t{s.technique}\t{s.start}\t{s.end}\n" for s in spans]
    Path(path).write_text("".join(lines), encoding="utf-8")


# --- metrics -------------------------------------------------------------------------------------------------------


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping character spans (touching spans stay apart, as in the scorer's character sets)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _group(spans: Iterable[PtcSpan], *, by_technique: bool) -> dict[tuple[str, str], list[tuple[int, int]]]:
    groups: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for s in spans:
        groups[(s.article_id, s.technique if by_technique else "")].append((s.start, s.end))
    return {key: merge_spans(value) for key, value in groups.items()}


def _overlap_sum(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> float:
    """Sum over span pairs (x in a, y in b) of |x ∩ y| / |x|."""
    total = 0.0
    for xs, xe in a:
        for ys, ye in b:
            inter = min(xe, ye) - max(xs, ys)
            if inter > 0:
                total += inter / (xe - xs)
    return total


def span_scores(pred: Sequence[PtcSpan], gold: Sequence[PtcSpan], *, by_technique: bool = False) -> SpanScores:
    """SI scores (``by_technique=False``) or joint span+technique scores (``by_technique=True``)."""
    p_groups = _group(pred, by_technique=by_technique)
    g_groups = _group(gold, by_technique=by_technique)
    n_pred = sum(len(v) for v in p_groups.values())
    n_gold = sum(len(v) for v in g_groups.values())
    p_sum = sum(_overlap_sum(v, g_groups.get(k, [])) for k, v in p_groups.items())
    r_sum = sum(_overlap_sum(v, p_groups.get(k, [])) for k, v in g_groups.items())
    precision = p_sum / n_pred if n_pred else 0.0
    recall = r_sum / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SpanScores(precision, recall, f1, n_pred, n_gold)


def si_scores(pred: Sequence[PtcSpan], gold: Sequence[PtcSpan]) -> SpanScores:
    """Span identification: partial-credit precision, recall and F1 (techniques ignored)."""
    return span_scores(pred, gold, by_technique=False)


def joint_scores(pred: Sequence[PtcSpan], gold: Sequence[PtcSpan]) -> SpanScores:
    """Span identification and technique at once: overlap counts only where the techniques match."""
    return span_scores(pred, gold, by_technique=True)


def tc_micro_f1(pred: Sequence[PtcSpan], gold: Sequence[PtcSpan]) -> float:
    """Technique classification micro-F1 given the gold spans (identical spans matched as label multisets)."""
    p_labels: dict[tuple[str, int, int], Counter[str]] = defaultdict(Counter)
    g_labels: dict[tuple[str, int, int], Counter[str]] = defaultdict(Counter)
    for s in pred:
        p_labels[(s.article_id, s.start, s.end)][s.technique] += 1
    for s in gold:
        g_labels[(s.article_id, s.start, s.end)][s.technique] += 1
    correct = sum(sum((p_labels[k] & g).values()) for k, g in g_labels.items() if k in p_labels)
    precision = correct / len(pred) if pred else 0.0
    recall = correct / len(gold) if gold else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
