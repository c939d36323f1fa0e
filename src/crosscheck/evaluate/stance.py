"""Stance evaluation: FNC-1 (agree / disagree / discuss / unrelated), scored with the FNC-1 weighted relative score.

``crosscheck eval stance`` scores the shipped ``stance`` model on the held-out split of FNC-1's training data and
prints the relative score (the official metric), macro-F1 over the four classes, per-class F1 and the confusion
matrix, beside a trivial baseline.

The split holds out whole claims, not only whole bodies: FNC-1 pairs each headline with many bodies, and the bodies
about one rumour share its headlines, so the rows are grouped into connected components (a headline and a body are
joined when the pair is related) and each component goes to one side (train / dev / test), by a hash of its smallest
Body ID. A row goes to its body's side; an "unrelated" row pairing a body with a headline from a later side (dev or
test headline with a train body, test headline with a dev body) is left out, so no test body or test headline is
seen in training or tuning. The test split keeps every row of its bodies, so its label mix stays close to FNC-1's
(about three quarters unrelated); the competition's own test split also has new claims, bodies and headlines.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from ..errors import InputError
from . import datasets_dir, eval_group

#: The FNC-1 training files inside the shared datasets folder.
FNC_DIR = Path("fnc-1") / "data"
LABELS = ("agree", "disagree", "discuss", "unrelated")
#: Split shares by component hash bucket (0-99): test below 20, dev below 35, train the rest.
TEST_BUCKETS = 20
DEV_BUCKETS = 35


@dataclass(frozen=True)
class StancePair:
    headline: str
    body_id: int
    stance: str


@dataclass(frozen=True)
class Fnc1:
    """FNC-1 rows and bodies (by Body ID)."""

    pairs: list[StancePair]
    bodies: dict[int, str]

    def body(self, pair: StancePair) -> str:
        return self.bodies[pair.body_id]


def fnc_dir(root: Path | None = None) -> Path:
    return (root or datasets_dir()) / FNC_DIR


def read_fnc1(folder: Path | None = None) -> Fnc1:
    """Read ``train_bodies.csv`` and ``train_stances.csv`` from an FNC-1 data folder."""
    folder = folder or fnc_dir()
    bodies: dict[int, str] = {}
    with (folder / "train_bodies.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != ["Body ID", "articleBody"]:
            raise InputError(
                "E041", path=f"{folder}/train_bodies.csv", problem="expected the header Body ID, articleBody"
            )
        for row in reader:
            bodies[int(row["Body ID"])] = row["articleBody"]
    pairs: list[StancePair] = []
    with (folder / "train_stances.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != ["Headline", "Body ID", "Stance"]:
            raise InputError(
                "E041", path=f"{folder}/train_stances.csv", problem="expected the header Headline, Body ID, Stance"
            )
        for row in reader:
            if row["Stance"] not in LABELS:
                raise InputError(
                    "E041", path=f"{folder}/train_stances.csv line {reader.line_num}", problem="bad stance"
                )
            body_id = int(row["Body ID"])
            if body_id not in bodies:
                raise InputError(
                    "E041", path=f"{folder}/train_stances.csv line {reader.line_num}", problem=f"unknown body {body_id}"
                )
            pairs.append(StancePair(headline=row["Headline"], body_id=body_id, stance=row["Stance"]))
    return Fnc1(pairs=pairs, bodies=bodies)


def _bucket(key: str) -> int:
    return int(hashlib.sha256(f"fnc1:{key}".encode()).hexdigest(), 16) % 100


def split_of_bucket(bucket: int) -> str:
    return "test" if bucket < TEST_BUCKETS else "dev" if bucket < DEV_BUCKETS else "train"


def split_pairs(data: Fnc1) -> dict[str, list[StancePair]]:
    """The deterministic claim-grouped split (train / dev / test), rows in file order. See the module docstring."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for pair in data.pairs:
        find(f"h:{pair.headline}")
        find(f"b:{pair.body_id}")
        if pair.stance != "unrelated":
            parent[find(f"h:{pair.headline}")] = find(f"b:{pair.body_id}")
    smallest: dict[str, int] = {}
    for body_id in data.bodies:
        root = find(f"b:{body_id}")
        smallest[root] = min(smallest.get(root, body_id), body_id)

    def side(node: str) -> str:
        root = find(node)
        key = str(smallest[root]) if root in smallest else node  # a headline never paired as related: its own hash
        return split_of_bucket(_bucket(key))

    order = {"train": 0, "dev": 1, "test": 2}
    out: dict[str, list[StancePair]] = {"train": [], "dev": [], "test": []}
    for pair in data.pairs:
        body_side = side(f"b:{pair.body_id}")
        if order[side(f"h:{pair.headline}")] <= order[body_side]:
            out[body_side].append(pair)
    return out


@dataclass(frozen=True)
class StanceScores:
    """FNC-1 figures of one set of predictions."""

    relative_score: float  # weighted score as a share of the best possible (the official FNC-1 figure)
    macro_f1: float  # unweighted mean of the four per-class F1
    per_class_f1: dict[str, float]
    confusion: list[list[int]]  # confusion[gold][predicted], rows and columns in LABELS order
    rows: int

    def to_dict(self) -> dict[str, object]:
        return {
            "relative_score": self.relative_score,
            "macro_f1": self.macro_f1,
            "per_class_f1": self.per_class_f1,
            "confusion": self.confusion,
            "rows": self.rows,
        }


def fnc_score(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """The organisers' weighted score: +0.25 for a correct related/unrelated call, +0.75 more for a correct
    related label."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    score = 0.0
    for g, p in zip(gold, predicted, strict=True):
        if (g == "unrelated") == (p == "unrelated"):
            score += 0.25
            if g != "unrelated" and g == p:
                score += 0.75
    return score


def score_stances(gold: Sequence[str], predicted: Sequence[str]) -> StanceScores:
    """Relative score, macro-F1, per-class F1 and the confusion matrix of FNC-1 predictions."""
    best = fnc_score(gold, gold)
    index = {label: i for i, label in enumerate(LABELS)}
    confusion = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)
    for g, p in zip(gold, predicted, strict=True):
        confusion[index[g], index[p]] += 1
    per_class: dict[str, float] = {}
    for i, label in enumerate(LABELS):
        tp = int(confusion[i, i])
        denominator = int(confusion[i].sum() + confusion[:, i].sum())
        per_class[label] = 2 * tp / denominator if denominator else 0.0
    return StanceScores(
        relative_score=fnc_score(gold, predicted) / best if best else 0.0,
        macro_f1=float(np.mean(list(per_class.values()))),
        per_class_f1=per_class,
        confusion=confusion.tolist(),
        rows=len(gold),
    )


def tune_logit_bias(
    logits: np.ndarray, gold: Sequence[str], *, grid: Sequence[float] = tuple(np.arange(-2.0, 2.01, 0.25))
) -> tuple[list[float], StanceScores]:
    """Per-class logit offsets (discuss fixed at 0) that maximise the mean of relative score and macro-F1.

    A coordinate search over ``grid`` (two passes over agree, disagree, unrelated); ties keep the smaller offsets.
    """
    bias = np.zeros(len(LABELS))

    def objective(b: np.ndarray) -> tuple[float, StanceScores]:
        predicted = [LABELS[int(i)] for i in np.argmax(logits + b, axis=1)]
        scores = score_stances(gold, predicted)
        return (scores.relative_score + scores.macro_f1) / 2, scores

    best_value, best_scores = objective(bias)
    for _ in range(2):
        for k in (LABELS.index("agree"), LABELS.index("disagree"), LABELS.index("unrelated")):
            for value in sorted(grid, key=abs):
                trial = bias.copy()
                trial[k] = value
                candidate, scores = objective(trial)
                if candidate > best_value + 1e-12:
                    best_value, best_scores, bias = candidate, scores, trial
    return [float(b) for b in bias], best_scores


def majority_baseline(pairs: Sequence[StancePair]) -> list[str]:
    """Every pair labelled "discuss" (the most frequent related label; the weighted score rewards it)."""
    return ["discuss"] * len(pairs)


def tfidf_baseline(data: Fnc1, train: Sequence[StancePair], pairs: Sequence[StancePair]) -> list[str]:
    """TF-IDF cosine features + multinomial logistic regression, fitted on ``train``.

    Features per pair: the cosine of headline and whole body, of headline and condensed body (the model's input),
    and the share of the headline's content words found in the body. Mostly a related/unrelated detector.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from ..corpus.stance import condense_body, content_stems

    body_ids = sorted({p.body_id for p in train})
    vectoriser = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
    vectoriser.fit([data.bodies[i] for i in body_ids] + sorted({p.headline for p in train}))

    def features(rows: Sequence[StancePair]) -> np.ndarray:
        heads = vectoriser.transform([p.headline for p in rows])
        bodies = vectoriser.transform([data.body(p) for p in rows])
        condensed = vectoriser.transform([condense_body(p.headline, data.body(p)) for p in rows])
        overlap = [
            len(content_stems(p.headline) & content_stems(data.body(p))) / max(1, len(content_stems(p.headline)))
            for p in rows
        ]
        return np.column_stack(
            [
                np.asarray(heads.multiply(bodies).sum(axis=1)).ravel(),
                np.asarray(heads.multiply(condensed).sum(axis=1)).ravel(),
                np.asarray(overlap),
            ]
        )

    classifier = LogisticRegression(max_iter=1000)
    classifier.fit(features(train), [p.stance for p in train])
    return [str(label) for label in classifier.predict(features(pairs))]


def evaluate_model(pairs: Sequence[StancePair], data: Fnc1, *, model: str = "stance") -> StanceScores:
    """Score ``pairs`` with a shipped stance model (argmax after its tuned logit offsets)."""
    from ..corpus.stance import load_stance, predict_labels, predict_stance

    probabilities = predict_stance([p.headline for p in pairs], [data.body(p) for p in pairs], model=load_stance(model))
    return score_stances([p.stance for p in pairs], predict_labels(probabilities))


def format_scores(name: str, scores: StanceScores) -> str:
    f1 = "  ".join(f"{label} {scores.per_class_f1[label]:.4f}" for label in LABELS)
    return f"{name:<28} relative {scores.relative_score:.4f}  macro-F1 {scores.macro_f1:.4f}  F1: {f1}"


def format_confusion(confusion: list[list[int]]) -> list[str]:
    lines = ["confusion (rows gold, columns predicted):", f"{'':>10} " + " ".join(f"{x:>9}" for x in LABELS)]
    lines += [f"{label:>10} " + " ".join(f"{n:>9}" for n in row) for label, row in zip(LABELS, confusion, strict=True)]
    return lines


@eval_group.command("stance")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="FNC-1 data folder (train_bodies.csv, train_stances.csv). Default: the shared datasets' fnc-1/data.",
)
@click.option("--split", type=click.Choice(["test", "dev"]), default="test", show_default=True)
@click.option("--model", default="stance", show_default=True, help="Shipped model name or model folder.")
def stance_command(data_dir: Path | None, split: str, model: str) -> None:
    """FNC-1 relative score, macro-F1, per-class F1 and confusion of the stance model on a held-out claim split."""
    folder = data_dir or fnc_dir()
    if not (folder / "train_stances.csv").exists():
        raise InputError("E047", path=folder / "train_stances.csv", hint="pass --data or set CROSSCHECK_DATASETS")
    data = read_fnc1(folder)
    splits = split_pairs(data)
    pairs = splits[split]
    counts = "  ".join(f"{label} {sum(p.stance == label for p in pairs)}" for label in LABELS)
    click.echo(
        f"data: {folder} ({split} split: {len(pairs)} pairs, {len({p.body_id for p in pairs})} bodies; {counts})"
    )
    scores = evaluate_model(pairs, data, model=model)
    gold = [p.stance for p in pairs]
    click.echo(format_scores(f"model {model}", scores))
    click.echo(
        format_scores("baseline tf-idf + logreg", score_stances(gold, tfidf_baseline(data, splits["train"], pairs)))
    )
    click.echo(format_scores("baseline all discuss", score_stances(gold, majority_baseline(pairs))))
    for line in format_confusion(scores.confusion):
        click.echo(line)
