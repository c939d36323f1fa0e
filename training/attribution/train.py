"""Train the attribution cue classifier on PolNeAR train and write ``models/attribution-cue/model.json``.

Steps (deterministic: L-BFGS, no sampling):
1. Parse PolNeAR train and dev with the project's spaCy pipeline (cached under training/runs/attribution/).
2. Build the attribution stage's candidates (``crosscheck.analyze.attribution.candidates``) for every article
   (first annotator file per article, as in the evaluation). A candidate is positive when its cue head token lies
   inside a gold Cue span.
3. Fit logistic regression (binary features) on train minus a held-out seventh (every 7th article in sorted order),
   choose C and the decision threshold on the held-out part by relation overlap F1 + relation exact F1.
4. Refit on all of train with the chosen C, save weights + threshold as JSON, and print held-out and dev figures.

Run: ``python -m training.attribution.train`` (about 5 minutes on 2 cores with a warm parse cache).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from spacy.tokens import Doc

from crosscheck.analyze.attribution import (
    MODEL_FILE,
    Candidate,
    CueModel,
    candidates,
    decode,
    score_candidates,
)
from crosscheck.evaluate.attribution import GoldArticle, format_table, score_corpus
from training.attribution.corpus import parsed

SEED = 13
C_GRID = (0.1, 0.3, 1.0)
THRESHOLDS = tuple(round(0.2 + 0.05 * i, 2) for i in range(11))  # 0.20 .. 0.70


def labelled(articles: Sequence[GoldArticle], docs: Sequence[Doc]) -> list[list[tuple[Candidate, int]]]:
    out = []
    for art, doc in zip(articles, docs, strict=True):
        cues = [g.cue for g in art.attributions if g.cue is not None]
        rows = []
        for cand in candidates(doc):
            head = doc[cand.cue_head]
            pos = any(c.start <= head.idx < c.end for c in cues)
            rows.append((cand, int(pos)))
        out.append(rows)
    return out


def fit(rows: Sequence[tuple[Candidate, int]], c: float) -> CueModel:
    vec = DictVectorizer()
    x = vec.fit_transform([dict.fromkeys(cand.features, 1) for cand, _ in rows])
    y = [label for _, label in rows]
    clf = LogisticRegression(C=c, max_iter=2000, solver="lbfgs")
    clf.fit(x, y)
    weights = {
        name: float(w) for name, w in zip(vec.get_feature_names_out(), clf.coef_[0], strict=True) if abs(w) > 1e-6
    }
    return CueModel(weights=weights, bias=float(clf.intercept_[0]), threshold=0.5)


def scores(
    articles: Sequence[GoldArticle], cands: Sequence[Sequence[tuple[Candidate, int]]], model: CueModel, threshold: float
) -> Any:
    pairs = []
    for art, rows in zip(articles, cands, strict=True):
        cs = [c for c, _ in rows]
        score_candidates(cs, model)
        pairs.append((art.text, decode(cs, threshold=threshold), art.attributions))
    return score_corpus(pairs)


def objective(s: Any) -> float:
    return float(s["overlap"]["relation"].f1 + s["exact"]["relation"].f1)


def main() -> None:
    t0 = time.time()
    train_arts, train_docs = parsed("train")
    dev_arts, dev_docs = parsed("dev")
    print(f"parsed in {time.time() - t0:.0f}s: train {len(train_arts)} articles, dev {len(dev_arts)}")
    train_rows = labelled(train_arts, train_docs)
    dev_rows = labelled(dev_arts, dev_docs)
    held = [i for i in range(len(train_arts)) if i % 7 == 6]
    fit_idx = [i for i in range(len(train_arts)) if i % 7 != 6]
    fit_rows = [r for i in fit_idx for r in train_rows[i]]
    print(f"candidates: fit {len(fit_rows)} ({sum(y for _, y in fit_rows)} positive)")
    best: tuple[float, float, float] = (-1.0, 0.0, 0.0)
    for c in C_GRID:
        model = fit(fit_rows, c)
        for th in THRESHOLDS:
            s = scores([train_arts[i] for i in held], [train_rows[i] for i in held], model, th)
            obj = objective(s)
            print(
                f"C={c} threshold={th}: held-out relation overlap F1 {s['overlap']['relation'].f1:.3f} "
                f"exact F1 {s['exact']['relation'].f1:.3f}"
            )
            if obj > best[0]:
                best = (obj, c, th)
    _, c_best, th_best = best
    print(f"chosen C={c_best} threshold={th_best}")
    model = fit([r for rows in train_rows for r in rows], c_best)
    model = CueModel(weights=model.weights, bias=model.bias, threshold=th_best)
    MODEL_FILE.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "description": "Attribution cue classifier: logistic regression over binary candidate features.",
        "trained_on": "PolNeAR v1.0.0 train (first annotator file per article)",
        "C": c_best,
        "threshold": th_best,
        "bias": model.bias,
        "weights": dict(sorted(model.weights.items())),
    }
    MODEL_FILE.write_text(json.dumps(payload, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_FILE} ({len(model.weights)} weights)")
    print("PolNeAR dev:")
    print(format_table(scores(dev_arts, dev_rows, model, th_best)))
    print(f"total {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
