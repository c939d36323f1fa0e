"""Fit the check-worthiness gate: which candidate sentences the head scores (``models/checkworthiness-gate``).

The gate learns the shipped model's own decision (score at or above its threshold), from the sentences of CheckThat!
2024 train and the candidate sentences of PolNeAR train articles (spaCy's sentences cut at line breaks, as the
``claims`` stage cuts them; four fifths of the articles). Features: :func:`crosscheck.analyze.claim_gate.pooled_states`
of the shipped encoder trunk's states. Model: logistic regression (L2, ``C`` 0.1, lbfgs). Threshold: the highest
log-odds on a 0.05 grid at which the sentences scored keep ``--recall`` of the head's positives among CheckThat! dev
and the held-out fifth of the PolNeAR articles. Neither CheckThat! dev-test (where the evaluation measures the
result) nor PolNeAR dev (the benchmark's corpus) is read.

    python -m training.checkworthiness.gate                 # writes models/checkworthiness-gate (about 4 minutes)
    python -m training.checkworthiness.gate --out /tmp/gate --recall 0.99

Needs scikit-learn (``pip install -e '.[train]'``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import zlib
from pathlib import Path

import numpy as np

from crosscheck.analyze.claim_gate import GATE_MODEL, pooled_states
from crosscheck.analyze.claims import candidate_sentences, load_checkworthiness, score_sentences
from crosscheck.evaluate.checkworthiness import positive_prf, read_checkthat_tsv, split_path
from crosscheck.models.runtime import MODELS_DIR
from training.common import DATASETS

POLNEAR_TRAIN = DATASETS / "polnear" / "data" / "train" / "text"
#: The trunk features and head decisions of every sentence, kept between fits (they take minutes to compute).
RUNS = Path(__file__).resolve().parents[1] / "runs" / "checkworthiness-gate"
SETS = ("train", "dev", "dev-test", "news")
C = 0.1


def polnear_candidates(limit: int) -> tuple[list[str], list[bool]]:
    """Candidate sentences of the first ``limit`` PolNeAR train articles, and whether each is held out (by article)."""
    from crosscheck.analyze.parse import load_nlp, parse_texts

    paths = sorted(POLNEAR_TRAIN.glob("*"))[:limit]
    texts = [p.read_text("utf-8") for p in paths]
    sentences: list[str] = []
    held: list[bool] = []
    for path, text, doc in zip(paths, texts, parse_texts(load_nlp(), texts), strict=True):
        out = zlib.crc32(path.name.encode()) % 5 == 0
        for start, end in candidate_sentences(doc, min_words=4, max_heading_words=25):
            sentences.append(text[start:end])
            held.append(out)
    return sentences, held


def features(texts: list[str]) -> np.ndarray:
    model = load_checkworthiness()
    assert model.trunk is not None
    rows = model.trunk.rows(texts, max_length=int(model.config["max_length"]))
    return np.stack([pooled_states(states) for (states, *_), _ in rows])


def fit(out: Path, *, recall: float, polnear_articles: int) -> dict:
    from sklearn.linear_model import LogisticRegression

    t0 = time.time()
    model = load_checkworthiness()
    head_threshold = float(model.config["threshold"])
    checkthat = {s: read_checkthat_tsv(split_path(s)) for s in ("train", "dev", "dev-test")}
    cache = RUNS / f"states-{polnear_articles}.npz"
    if cache.exists():
        kept = np.load(cache)
        held = kept["held"]
        x = {k: kept[f"x_{k}"] for k in SETS}
        head = {k: kept[f"head_{k}"] for k in SETS}
    else:
        news, news_held = polnear_candidates(polnear_articles)
        held = np.array(news_held)
        texts = {s: [r.text for r in rows] for s, rows in checkthat.items()}
        texts["news"] = news
        x = {k: features(v) for k, v in texts.items()}
        head = {k: score_sentences(v, model=model) >= head_threshold for k, v in texts.items()}
        RUNS.mkdir(parents=True, exist_ok=True)
        arrays = {f"x_{k}": x[k] for k in SETS} | {f"head_{k}": head[k] for k in SETS}
        np.savez(cache, held=held, **arrays)
    train_x = np.concatenate([x["train"], x["news"][~held]])
    train_y = np.concatenate([head["train"], head["news"][~held]])
    clf = LogisticRegression(C=C, max_iter=5000).fit(train_x, train_y)
    weights, bias = clf.coef_.ravel().astype(np.float64), float(clf.intercept_[0])
    logit = {k: v @ weights + bias for k, v in x.items()}
    choose_logit = np.concatenate([logit["dev"], logit["news"][held]])
    choose_head = np.concatenate([head["dev"], head["news"][held]])
    threshold = _threshold(choose_logit[choose_head], recall)

    def share(k: str, mask: np.ndarray | None = None) -> dict:
        z, h = (logit[k], head[k]) if mask is None else (logit[k][mask], head[k][mask])
        read = z >= threshold
        return {
            "sentences": len(z),
            "head_positive": round(float(h.mean()), 4),
            "read": round(float(read.mean()), 4),
            "head_positives_lost": int((h & ~read).sum()),
            "nearest_to_threshold": round(float(np.abs(z - threshold).min()), 6),
        }

    figures: dict = {k: share(k) for k in ("train", "dev", "dev-test")}
    figures["polnear_held_out"] = share("news", held)
    figures["polnear_fit"] = share("news", ~held)
    for k in ("dev", "dev-test"):
        gold = [r.label for r in checkthat[k]]
        figures[k]["f1_head"] = round(positive_prf(gold, list(head[k])).f1, 4)
        figures[k]["f1_gated"] = round(positive_prf(gold, list(head[k] & (logit[k] >= threshold))).f1, 4)
    report = {"recall_target": recall, "threshold": threshold, "C": C, "seconds": round(time.time() - t0, 1)}
    report["figures"] = figures
    gate = {
        "description": "Check-worthiness gate: logistic regression over the mean, [CLS] state and maximum of a "
        "sentence's shared encoder trunk states, predicting whether the checkworthiness head's score reaches its "
        "threshold; a sentence under the gate's threshold (log-odds) is not scored (crosscheck.analyze.claim_gate)",
        "trained_on": "CheckThat! 2024 Task 1 English train and the candidate sentences of four fifths of the first "
        f"{polnear_articles} PolNeAR v1.0.0 train articles, labelled by the shipped checkworthiness model",
        "date": dt.date.today().isoformat(),
        "trunk": "encoder-trunk",
        "max_length": int(model.config["max_length"]),
        "report": report,
        "threshold": threshold,
        "weights": [round(float(w), 7) for w in weights],
        "bias": round(bias, 7),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.json").write_text(json.dumps(gate) + "\n", encoding="utf-8")
    return report


def _threshold(positives: np.ndarray, recall: float) -> float:
    """The highest log-odds threshold (0.05 grid) at which the sentences read keep ``recall`` of the positives."""
    for t in np.arange(10.0, -20.0, -0.05):
        if (positives >= t).sum() >= recall * len(positives):
            return round(float(t), 2)
    return -20.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=MODELS_DIR / GATE_MODEL)
    parser.add_argument("--recall", type=float, default=1.0, help="share of held-out head positives to keep")
    parser.add_argument("--polnear-articles", type=int, default=400, help="PolNeAR train articles read")
    args = parser.parse_args(argv)
    report = fit(args.out, recall=args.recall, polnear_articles=args.polnear_articles)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
