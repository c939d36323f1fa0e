"""Story similarity evaluation: SemEval-2022 Task 8 (news article similarity), English pairs, Pearson correlation.

``crosscheck eval stories [--data FILE.csv]`` runs Crosscheck's ``parse``, ``entities`` and ``dates`` stages on both
articles of every English pair (``lang1 == lang2 == "en"``) of the SemEval sample, scores each pair with
:func:`crosscheck.corpus.stories.similarity` and prints, for the held-out test split (30 % of the pairs, chosen by a
hash of ``pair_id``; the shipped model was fitted on the rest) and for all English pairs:

- Pearson correlation of ``4 - 3 * score`` with the annotators' ``Overall`` (1 very similar ... 4 very dissimilar;
  the task's official metric, on the task's scale), for the shipped model by words (``crosscheck-words``, what the
  clusterer decides with) and by words and sentence embeddings (``crosscheck-words+embedding``), and for the
  TF-IDF cosine and the sentence-encoder cosine alone (the embedding rows need the shipped encoder);
- the story decision as a binary task: same story = ``Overall <= 2``, predicted when the score reaches the variant's
  story threshold; precision, recall and F1 of "same story".
"""

from __future__ import annotations

import csv
import hashlib
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..corpus.stories import ArticleFeatures, StoryModel, load_story_model, pair_features
from ..errors import InputError, ModelError
from . import datasets_dir, eval_group
from .checkworthiness import PRF, positive_prf

#: The SemEval-2022 Task 8 sample inside the shared datasets folder.
SEMEVAL_FILE = Path("semeval2022-task8-sample") / "data" / "training_set.csv"
#: Share of pairs held out for testing (by hash of pair_id, so the split never changes with the file's order).
TEST_SHARE = 0.30
#: Same story = the annotators' Overall at or under this ("somewhat similar" or better).
SAME_STORY_OVERALL = 2.0
STAGES = ("parse", "entities", "dates")
_COLUMNS = ("pair_id", "lang1", "lang2", "text1", "text2", "Overall")


@dataclass(frozen=True)
class StoryPair:
    """One annotated article pair: ``overall`` runs from 1 (same story) to 4 (unrelated)."""

    pair_id: str
    text1: str
    text2: str
    overall: float

    @property
    def same_story(self) -> bool:
        return self.overall <= SAME_STORY_OVERALL

    @property
    def target(self) -> float:
        """The judgement on the similarity scale: ``(4 - Overall) / 3`` in [0, 1]."""
        return (4.0 - self.overall) / 3.0


def semeval_path(root: Path | None = None) -> Path:
    return (root or datasets_dir()) / SEMEVAL_FILE


def read_pairs(path: Path, *, language: str = "en") -> list[StoryPair]:
    """The pairs of ``path`` whose two articles are both in ``language``, in file order."""
    csv.field_size_limit(sys.maxsize)
    pairs: list[StoryPair] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError("E041", path=path, problem=f"missing columns {missing}")
        for row in reader:
            if row["lang1"] != language or row["lang2"] != language:
                continue
            try:
                overall = float(row["Overall"])
            except ValueError as exc:
                raise InputError(
                    "E041", path=f"{path}, line {reader.line_num}", problem=f"Overall {row['Overall']!r}"
                ) from exc
            pairs.append(StoryPair(row["pair_id"], row["text1"], row["text2"], overall))
    return pairs


def is_test(pair_id: str, *, share: float = TEST_SHARE) -> bool:
    """Whether a pair is in the held-out test split (first 8 hex digits of its SHA-1, as a share of 2**32)."""
    bucket = int(hashlib.sha1(pair_id.encode("utf-8")).hexdigest()[:8], 16) / 2**32
    return bucket < share


def split_pairs(pairs: Sequence[StoryPair], split: str) -> list[StoryPair]:
    """``train``, ``test`` or ``all`` of ``pairs``."""
    if split == "all":
        return list(pairs)
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}")
    return [p for p in pairs if is_test(p.pair_id) == (split == "test")]


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation (0.0 when either side is constant)."""
    if len(x) != len(y):
        raise ValueError(f"{len(x)} values against {len(y)}")
    ax, ay = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    dx, dy = ax - ax.mean(), ay - ay.mean()
    denom = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return float(dx @ dy) / denom if denom else 0.0


def overall_pearson(pairs: Sequence[StoryPair], scores: Sequence[float]) -> float:
    """Pearson of ``4 - 3 * score`` (a score on the annotators' scale) with their ``Overall``."""
    return pearson([4.0 - 3.0 * s for s in scores], [p.overall for p in pairs])


def f_beta(prf: PRF, beta: float) -> float:
    """F-beta of a P/R/F1 record (beta < 1 weighs precision more)."""
    b2 = beta * beta
    denom = b2 * prf.precision + prf.recall
    return (1 + b2) * prf.precision * prf.recall / denom if denom else 0.0


def best_threshold(
    gold: Sequence[bool], scores: Sequence[float], *, beta: float = 1.0, grid_step: float = 0.01
) -> tuple[float, PRF]:
    """The threshold on a 0.01 grid (score >= threshold is positive) that maximises F-beta of the positive class.

    Ties go to the threshold closest to 0.5.
    """
    best: tuple[float, float, PRF] | None = None
    for i in range(1, round(1 / grid_step)):
        threshold = round(i * grid_step, 6)
        prf = positive_prf(gold, [s >= threshold for s in scores])
        value = f_beta(prf, beta)
        if best is None or value > best[1] or (value == best[1] and abs(threshold - 0.5) < abs(best[0] - 0.5)):
            best = (threshold, value, prf)
    assert best is not None
    return best[0], best[2]


def encoder() -> Callable[[Sequence[str]], np.ndarray] | None:
    """The sentence encoder's ``embed`` when its model files are installed, else None."""
    from ..corpus.embed import embed, load_encoder

    try:
        load_encoder()
    except ModelError:
        return None
    return embed


def analyse_texts(texts: Sequence[str]) -> list[dict[str, Any]]:
    """The analysis dict (export-contract fields) of each text after the ``parse``, ``entities``, ``dates`` stages."""
    from ..analyze.pipeline import Document, build_pipeline
    from ..article import Article

    pipeline = build_pipeline(list(STAGES))
    docs = [Document(article=Article(raw=t, origin="semeval", text=t)) for t in texts]
    for i in range(0, len(docs), 32):
        pipeline(docs[i : i + 32])
    return [doc.to_dict() for doc in docs]


def pair_features_table(
    pairs: Sequence[StoryPair], *, use_embedding: bool = True
) -> tuple[list[ArticleFeatures], list[ArticleFeatures]]:
    """:class:`~crosscheck.corpus.stories.ArticleFeatures` of both sides of every pair (each text analysed once).

    The vectors come from the sentence encoder when ``use_embedding`` and it is installed (see :func:`encoder`).
    """
    texts = sorted({t for p in pairs for t in (p.text1, p.text2)})
    analyses = analyse_texts(texts)
    embed = encoder() if use_embedding else None
    vectors = embed(texts) if embed is not None else None
    by_text = {
        text: ArticleFeatures.from_article(text, analysis, vector=vectors[i] if vectors is not None else None)
        for i, (text, analysis) in enumerate(zip(texts, analyses, strict=True))
    }
    return [by_text[p.text1] for p in pairs], [by_text[p.text2] for p in pairs]


@dataclass(frozen=True)
class StoryScores:
    """Figures of one scorer on one split."""

    name: str
    pairs: int
    pearson: float
    prf: PRF | None
    threshold: float | None


#: Scorer names: the shipped model's two variants (by words; by words and the sentence encoder).
WORDS, WORDS_EMBEDDING = "crosscheck-words", "crosscheck-words+embedding"


def score_pairs(
    left: Sequence[ArticleFeatures], right: Sequence[ArticleFeatures], *, model: StoryModel | None = None
) -> dict[str, tuple[list[float], list[float] | None]]:
    """Each scorer's scores of every pair, with its story threshold per pair (None for the single-feature
    baselines). The embedding scorers appear only when every article has a vector."""
    model = model or load_story_model()
    out: dict[str, tuple[list[float], list[float] | None]] = {}
    with_vectors = all(a.vector is not None and b.vector is not None for a, b in zip(left, right, strict=True))
    variants = {WORDS: False, WORDS_EMBEDDING: True} if with_vectors else {WORDS: False}
    for name, use_embedding in variants.items():
        chosen = [model.variant_for(a, b, use_embedding=use_embedding) for a, b in zip(left, right, strict=True)]
        scores = [v.score(pair_features(a, b, model=model)) for v, a, b in zip(chosen, left, right, strict=True)]
        out[name] = (scores, [v.threshold for v in chosen])
    values = [pair_features(a, b, model=model) for a, b in zip(left, right, strict=True)]
    out["tfidf-cosine"] = ([v["text_tfidf"] for v in values], None)
    if with_vectors:
        out["embedding-cosine"] = ([v["embedding"] for v in values], None)
    return out


def evaluate_split(
    pairs: Sequence[StoryPair],
    left: Sequence[ArticleFeatures],
    right: Sequence[ArticleFeatures],
    *,
    model: StoryModel | None = None,
) -> list[StoryScores]:
    """Pearson of every scorer on ``pairs``; for the shipped model's variants also same-story P/R/F1 at their
    story threshold."""
    gold = [p.same_story for p in pairs]
    results: list[StoryScores] = []
    for name, (scores, thresholds) in score_pairs(left, right, model=model).items():
        prf = threshold = None
        if thresholds is not None:
            prf = positive_prf(gold, [s >= t for s, t in zip(scores, thresholds, strict=True)])
            threshold = thresholds[0] if len(set(thresholds)) == 1 else None
        results.append(StoryScores(name, len(pairs), overall_pearson(pairs, scores), prf, threshold))
    return results


@eval_group.command("stories")
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="SemEval-2022 Task 8 CSV. Default: the sample in the shared datasets.",
)
@click.option("--no-embedding", is_flag=True, help="Score without the sentence encoder even when it is installed.")
def stories_command(data: Path | None, no_embedding: bool) -> None:
    """Pearson with the annotators' Overall and same-story F1 of the story similarity (SemEval-2022 Task 8)."""
    path = data or semeval_path()
    if not path.exists():
        raise InputError("E047", path=path, hint="pass --data or set CROSSCHECK_DATASETS")
    pairs = read_pairs(path)
    left, right = pair_features_table(pairs, use_embedding=not no_embedding)
    click.echo(f"data: {path} ({len(pairs)} English pairs)")
    click.echo("Pearson of 4 - 3*score with Overall; same story = Overall <= 2")
    for split in ("test", "all"):
        chosen = [i for i, p in enumerate(pairs) if split == "all" or is_test(p.pair_id)]
        subset = [pairs[i] for i in chosen]
        results = evaluate_split(subset, [left[i] for i in chosen], [right[i] for i in chosen])
        same = sum(p.same_story for p in subset)
        click.echo(f"{split}: {len(subset)} pairs, {same} same story")
        for r in results:
            line = f"  {r.name:<26} Pearson {r.pearson:.4f}"
            if r.prf is not None:
                at = f" at {r.threshold:.2f}" if r.threshold is not None else ""
                line += (
                    f"  same-story P {r.prf.precision:.4f} R {r.prf.recall:.4f} F1 {r.prf.f1:.4f}{at} "
                    f"(tp {r.prf.tp}, fp {r.prf.fp}, fn {r.prf.fn})"
                )
            click.echo(line)
