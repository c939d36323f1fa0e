"""Fit the story similarity (``models/stories/config.json``) on the training split of the SemEval-2022 Task 8 sample.

Data: the English pairs (``lang1 == lang2 == "en"``) of ``../shared/datasets/semeval2022-task8-sample``; the test
split (30 % of pairs by a hash of ``pair_id``, :func:`crosscheck.evaluate.stories.is_test`) is never read here
beyond counting it. Each text goes through the ``parse``, ``entities`` and ``dates`` stages, then
:class:`~crosscheck.corpus.stories.ArticleFeatures`.

Model: logistic regression over the per-pair features of :func:`~crosscheck.corpus.stories.pair_features`, fitted
to the soft target ``(4 - Overall) / 3`` by cross-entropy with an L2 penalty, coefficients held non-negative (more
overlap of any kind never lowers the score). The penalty is chosen by 5-fold cross-validation on the training split
(Pearson of the out-of-fold scores with Overall); so is the lead size (``--compare-leads``). Two variants: ``text``
and, when the sentence encoder is installed, ``text+embedding``. Then, on the training split:

- ``threshold``: the score that maximises same-story F0.5 (same story = Overall <= 2) on a 0.01 grid. F0.5, not F1:
  online clustering joins an article to its best candidate's story, so one false join puts two stories together
  for good while a missed join only leaves a story in two pieces;
- ``strict``: likewise (F0.5) for "very similar" pairs (Overall <= 1.5), never below ``threshold``: the bar for
  articles published weeks apart (see ``TimeRule``);
- ``related_threshold``: the score that maximises F1 for Overall <= 3 (at most "somewhat dissimilar"), never above
  ``threshold``: the bar for listing an article as related.

    python -m training.stories.build_idf        # the document-frequency table first (seconds)
    python -m training.stories.fit              # about 1 minute on 2 cores
    python -m training.stories.fit --compare-leads
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from crosscheck.corpus.stories import (
    EMBEDDING_FEATURE,
    LEAD_WORDS,
    MODEL_DIR,
    TEXT_FEATURES,
    ArticleFeatures,
    StoryModel,
    TimeRule,
    Variant,
    load_document_frequencies,
    load_story_model,
    pair_features,
)
from crosscheck.evaluate.stories import (
    StoryPair,
    analyse_texts,
    best_threshold,
    encoder,
    overall_pearson,
    read_pairs,
    semeval_path,
    split_pairs,
)
from training.common import DATASETS

PENALTIES = (0.01, 0.03, 0.1, 0.3, 1.0)
LEADS = (30, 40, 60, 90, 120)
FOLDS = 5
STORY_BETA = 0.5
RELATED_OVERALL = 3.0
VERY_SIMILAR_OVERALL = 1.5
#: The time rule's stated days (no publication dates in the data to fit them on).
WINDOW_DAYS, STRICT_DAYS = 7.0, 28.0


def fit_logistic(x: np.ndarray, target: np.ndarray, *, penalty: float) -> tuple[np.ndarray, float]:
    """Non-negative coefficients and an intercept minimising cross-entropy to soft targets plus an L2 penalty."""
    design = np.hstack([x, np.ones((len(x), 1))])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        eps = 1e-12
        value = -float(np.sum(target * np.log(p + eps) + (1 - target) * np.log(1 - p + eps)))
        value += penalty / 2 * float(w[:-1] @ w[:-1])
        grad = design.T @ (p - target)
        grad[:-1] += penalty * w[:-1]
        return value, grad

    bounds = [(0.0, None)] * x.shape[1] + [(None, None)]
    result = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x[:-1], float(result.x[-1])


def predict(x: np.ndarray, coef: np.ndarray, intercept: float) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-(x @ coef + intercept))))


def fold_of(pair_id: str) -> int:
    return int(hashlib.sha1(f"fold:{pair_id}".encode()).hexdigest()[:8], 16) % FOLDS


def features_model() -> StoryModel:
    """The shipped document frequencies without fitted variants: all that the features need."""
    documents, df = load_document_frequencies()
    return StoryModel(documents=documents, df=df, variants={}, time=TimeRule(WINDOW_DAYS, STRICT_DAYS))


def matrix(
    left: Sequence[ArticleFeatures], right: Sequence[ArticleFeatures], names: Sequence[str], model: StoryModel
) -> np.ndarray:
    rows = [pair_features(a, b, model=model) for a, b in zip(left, right, strict=True)]
    return np.array([[r[n] for n in names] for r in rows], dtype=np.float64)


def cross_validate(pairs: Sequence[StoryPair], x: np.ndarray, *, penalty: float) -> float:
    """Pearson (on the Overall scale) of out-of-fold scores over the given (training) pairs."""
    target = np.array([p.target for p in pairs])
    folds = np.array([fold_of(p.pair_id) for p in pairs])
    out = np.zeros(len(pairs))
    for k in range(FOLDS):
        coef, intercept = fit_logistic(x[folds != k], target[folds != k], penalty=penalty)
        out[folds == k] = predict(x[folds == k], coef, intercept)
    return overall_pearson(pairs, out.tolist())


def fit_variant(pairs: Sequence[StoryPair], x: np.ndarray, names: Sequence[str]) -> tuple[Variant, dict[str, Any]]:
    cv = {penalty: cross_validate(pairs, x, penalty=penalty) for penalty in PENALTIES}
    penalty = max(PENALTIES, key=lambda p: (round(cv[p], 4), p))
    coef, intercept = fit_logistic(x, np.array([p.target for p in pairs]), penalty=penalty)
    scores = predict(x, coef, intercept)
    threshold, prf = best_threshold([p.same_story for p in pairs], scores.tolist(), beta=STORY_BETA)
    related, _ = best_threshold([p.overall <= RELATED_OVERALL for p in pairs], scores.tolist())
    strict, _ = best_threshold([p.overall <= VERY_SIMILAR_OVERALL for p in pairs], scores.tolist(), beta=STORY_BETA)
    variant = Variant(
        features=tuple(names),
        coef=tuple(round(float(c), 6) for c in coef),
        intercept=round(intercept, 6),
        threshold=threshold,
        strict=max(strict, threshold),
        related_threshold=min(related, threshold),
    )
    report = {
        "penalty": penalty,
        "cv_pearson": {str(p): round(v, 4) for p, v in cv.items()},
        "train_pearson": round(overall_pearson(pairs, scores.tolist()), 4),
        "train_precision": round(prf.precision, 4),
        "train_recall": round(prf.recall, 4),
        "train_f1": round(prf.f1, 4),
    }
    return variant, report


def features_of(
    pairs: Sequence[StoryPair], analyses: dict[str, dict[str, Any]], vectors: dict[str, np.ndarray], lead: int
) -> tuple[list[ArticleFeatures], list[ArticleFeatures]]:
    cache: dict[str, ArticleFeatures] = {}
    for text, analysis in analyses.items():
        cache[text] = ArticleFeatures.from_article(text, analysis, vector=vectors.get(text), lead_words=lead)
    return [cache[p.text1] for p in pairs], [cache[p.text2] for p in pairs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=semeval_path(DATASETS))
    parser.add_argument("--out", type=Path, default=MODEL_DIR / "config.json")
    parser.add_argument("--no-embedding", action="store_true", help="fit the text variant only")
    parser.add_argument("--compare-leads", action="store_true", help="cross-validate lead sizes, write nothing")
    args = parser.parse_args()

    pairs = read_pairs(args.data)
    train = split_pairs(pairs, "train")
    print(
        f"{len(pairs)} English pairs: {len(train)} train ({sum(p.same_story for p in train)} same story), "
        f"{len(pairs) - len(train)} test (not used here)"
    )
    texts = sorted({t for p in train for t in (p.text1, p.text2)})
    analyses = dict(zip(texts, analyse_texts(texts), strict=True))
    embed = None if args.no_embedding else encoder()
    vectors = dict(zip(texts, embed(texts), strict=True)) if embed is not None else {}

    model = features_model()
    if args.compare_leads:
        for lead in LEADS:
            left, right = features_of(train, analyses, {}, lead)
            x = matrix(left, right, TEXT_FEATURES, model)
            cv = {p: cross_validate(train, x, penalty=p) for p in PENALTIES}
            best = max(cv, key=lambda p: cv[p])
            print(f"lead {lead:>3}: best CV Pearson {cv[best]:.4f} (penalty {best})")
        return

    left, right = features_of(train, analyses, vectors, LEAD_WORDS)
    variants: dict[str, Variant] = {}
    reports: dict[str, dict[str, Any]] = {}
    named = {"tfidf-only": ("text_tfidf",), "text": TEXT_FEATURES}
    if vectors:
        named["embedding-only"] = (EMBEDDING_FEATURE,)
        named["text+embedding"] = (*TEXT_FEATURES, EMBEDDING_FEATURE)
    for name, names in named.items():
        variant, report = fit_variant(train, matrix(left, right, names, model), names)
        reports[name] = report
        print(
            f"{name:<15} penalty {report['penalty']:<5} CV Pearson {max(report['cv_pearson'].values()):.4f}  "
            f"train Pearson {report['train_pearson']:.4f}  threshold {variant.threshold:.2f} "
            f"(train P {report['train_precision']:.4f} R {report['train_recall']:.4f} F1 {report['train_f1']:.4f})  "
            f"strict {variant.strict:.2f}  related {variant.related_threshold:.2f}  "
            f"coef {dict(zip(names, variant.coef, strict=True))} intercept {variant.intercept}"
        )
        if name in ("text", "text+embedding"):
            variants[name] = variant

    time = TimeRule(WINDOW_DAYS, STRICT_DAYS)
    config = {
        "name": "stories",
        "description": "Same-story similarity: logistic regression over per-pair features (crosscheck.corpus.stories)",
        "features_version": 1,
        "lead_words": LEAD_WORDS,
        "variants": {
            name: {
                "features": list(v.features),
                "coef": list(v.coef),
                "intercept": v.intercept,
                "threshold": v.threshold,
                "strict": v.strict,
                "related_threshold": v.related_threshold,
            }
            for name, v in variants.items()
        },
        "time": {"window_days": time.window_days, "strict_days": time.strict_days},
        "trained": {
            "data": "SemEval-2022 Task 8 sample (training_set.csv), English pairs, train split (70 % by pair_id hash)",
            "pairs": len(train),
            "same_story": sum(p.same_story for p in train),
            "target": "(4 - Overall) / 3",
            "selection": {n: r for n, r in reports.items()},
            "date": dt.date.today().isoformat(),
        },
    }
    args.out.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    load_story_model.cache_clear()
    check: StoryModel = load_story_model(str(args.out.parent))
    print(f"wrote {args.out} (variants {sorted(check.variants)})")


if __name__ == "__main__":
    main()
