"""Check-worthiness evaluation: CheckThat! 2024 Task 1 (English), scored with positive-class F1 (the official metric).

``crosscheck eval checkworthiness [--data FILE.tsv]`` scores the shipped ``checkworthiness`` model (the one the
``claims`` stage uses) on a labelled TSV (``Sentence_id<TAB>Text<TAB>class_label``, labels Yes/No) and prints
precision, recall and F1 of the "Yes" class.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from ..errors import InputError
from . import eval_group

#: The CheckThat! 2024 English files inside the shared datasets folder.
CHECKTHAT_DIR = Path("checkthat2024-task1-en") / "data"
SPLIT_FILE = "CT24_checkworthy_english_{split}.tsv"

# One line of the official train file holds two records (a newline is missing after "No"): "...\tNo29286\t...".
_FUSED_LABEL = re.compile(r"^(Yes|No)(\d+)$")


@dataclass(frozen=True)
class LabelledSentence:
    id: str
    text: str
    label: bool  # True = check-worthy ("Yes")


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 of the positive class, with the counts they come from."""

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    def to_dict(self) -> dict[str, float | int]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def datasets_dir() -> Path:
    """The shared datasets folder: ``CROSSCHECK_DATASETS``, else ``../shared/datasets`` beside the repository."""
    env = os.environ.get("CROSSCHECK_DATASETS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "datasets"


def split_path(split: str, *, root: Path | None = None) -> Path:
    """Path of a CheckThat! 2024 English split (``train``, ``dev``, ``dev-test``)."""
    return (root or datasets_dir()) / CHECKTHAT_DIR / SPLIT_FILE.format(split=split)


def read_checkthat_tsv(path: Path) -> list[LabelledSentence]:
    """Read a CheckThat! TSV (CSV-style quoting) into labelled sentences, repairing the one fused line."""
    rows: list[LabelledSentence] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["Sentence_id", "Text", "class_label"]:
            raise InputError(
                "E041", path=path, problem=f"expected the header Sentence_id, Text, class_label, got {header}"
            )
        for fields in reader:
            if not fields:
                continue
            if len(fields) == 5 and (fused := _FUSED_LABEL.match(fields[2])):
                records = [[fields[0], fields[1], fused.group(1)], [fused.group(2), fields[3], fields[4]]]
            elif len(fields) == 3:
                records = [fields]
            else:
                raise InputError(
                    "E041", path=f"{path}, line {reader.line_num}", problem=f"expected 3 fields, got {len(fields)}"
                )
            for sentence_id, text, label in records:
                if label not in ("Yes", "No"):
                    raise InputError(
                        "E041", path=f"{path}, line {reader.line_num}", problem=f"label {label!r} is not Yes/No"
                    )
                rows.append(LabelledSentence(id=sentence_id, text=text, label=label == "Yes"))
    return rows


def positive_prf(gold: Sequence[bool], predicted: Sequence[bool]) -> PRF:
    """Precision, recall and F1 of the positive class (0.0 where undefined)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g and p)
    fp = sum(1 for g, p in zip(gold, predicted, strict=True) if p and not g)
    fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision=precision, recall=recall, f1=f1, tp=tp, fp=fp, fn=fn)


def best_threshold(gold: Sequence[bool], scores: Sequence[float], *, grid_step: float = 0.01) -> tuple[float, PRF]:
    """The threshold on a 0.01 grid (score >= threshold is positive) that maximises positive-class F1.

    Ties go to the threshold closest to 0.5, so the choice does not drift to the edges on a flat stretch.
    """
    steps = round(1 / grid_step)
    best: tuple[float, PRF] | None = None
    for i in range(1, steps):
        threshold = round(i * grid_step, 6)
        prf = positive_prf(gold, [s >= threshold for s in scores])
        if best is None or prf.f1 > best[1].f1 or (prf.f1 == best[1].f1 and abs(threshold - 0.5) < abs(best[0] - 0.5)):
            best = (threshold, prf)
    assert best is not None
    return best


def evaluate_model(
    sentences: Sequence[LabelledSentence],
    *,
    model: str = "checkworthiness",
    threshold: float | None = None,
    gate: str | None = "checkworthiness-gate",
) -> tuple[PRF, float]:
    """Score ``sentences`` with a shipped ONNX model, behind ``gate`` as the claims stage scores them (None: every
    sentence scored); returns the positive-class P/R/F1 and the threshold used."""
    from ..analyze.claim_gate import load_gate
    from ..analyze.claims import load_checkworthiness, score_sentences

    onnx_model = load_checkworthiness(model)
    threshold = float(onnx_model.config["threshold"]) if threshold is None else threshold
    scores = score_sentences([s.text for s in sentences], model=onnx_model, gate=load_gate(gate) if gate else None)
    predicted = [bool(s >= threshold) for s in scores]  # NaN (not scored by the gate) is never
    return positive_prf([s.label for s in sentences], predicted), threshold


@eval_group.command("checkworthiness")
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Labelled TSV (Sentence_id, Text, class_label). Default: CheckThat! 2024 English dev-test.",
)
@click.option("--model", default="checkworthiness", show_default=True, help="Shipped model name or model folder.")
@click.option("--threshold", type=float, default=None, help="Decision threshold (default: the model's config).")
@click.option(
    "--gate",
    default="checkworthiness-gate",
    show_default=True,
    help="The gate in front of the model (shipped name or folder), as the claims stage uses it.",
)
@click.option("--no-gate", is_flag=True, help="Score every sentence (the model alone).")
def checkworthiness_command(data: Path | None, model: str, threshold: float | None, gate: str, no_gate: bool) -> None:
    """Positive-class precision/recall/F1 of the check-worthiness model (CheckThat! 2024 Task 1 metric)."""
    path = data or split_path("dev-test")
    if not path.exists():
        raise InputError("E047", path=path, hint="pass --data or set CROSSCHECK_DATASETS")
    sentences = read_checkthat_tsv(path)
    prf, used = evaluate_model(sentences, model=model, threshold=threshold, gate=None if no_gate else gate)
    positives = sum(s.label for s in sentences)
    click.echo(f"data: {path} ({len(sentences)} sentences, {positives} check-worthy)")
    click.echo(f"model: {model}  threshold: {used:.2f}  gate: {'none' if no_gate else gate}")
    click.echo(
        f"precision {prf.precision:.4f}  recall {prf.recall:.4f}  F1 {prf.f1:.4f}  "
        f"(tp {prf.tp}, fp {prf.fp}, fn {prf.fn})"
    )
