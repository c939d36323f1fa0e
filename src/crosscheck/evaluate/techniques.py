"""``crosscheck eval techniques``: the techniques models on PTC-format data with SemEval-2020 Task 11's metrics.

PTC articles hold one sentence per line, so the lines are the sentences here (the pipeline stage uses spaCy's
sentences, cut at line breaks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..analyze.technique_decode import DecodeOptions
from ..analyze.technique_features import context_bounds
from ..analyze.techniques import TechniqueModel, load_technique_model
from ..errors import InputError
from . import datasets_dir, eval_group
from .ptc import PtcSpan, SpanScores, find_split, joint_scores, read_articles, read_labels, si_scores, tc_micro_f1


@dataclass
class TechniquesEvaluation:
    si: SpanScores
    tc_micro_f1: float
    joint: SpanScores
    n_articles: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.n_articles,
            "si": {"precision": self.si.precision, "recall": self.si.recall, "f1": self.si.f1},
            "tc_micro_f1": self.tc_micro_f1,
            "joint": {"precision": self.joint.precision, "recall": self.joint.recall, "f1": self.joint.f1},
        }


def default_data() -> Path:
    """The PTC release folder under the shared datasets (CROSSCHECK_DATASETS overrides ``../shared/datasets``)."""
    return datasets_dir() / "ptc-semeval2020-task11" / "datasets"


def line_bounds(text: str) -> list[tuple[int, int]]:
    """Character ranges of the non-empty lines of a text."""
    bounds = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            bounds.append((pos, pos + len(line)))
        pos += len(line) + 1
    return bounds


def label_spans(spans: Sequence[PtcSpan], probs: np.ndarray, labels: Sequence[str]) -> list[PtcSpan]:
    """The most probable technique per span; the k-th copy of an identical span gets the k-th most probable."""
    seen: dict[tuple[str, int, int], int] = {}
    out = []
    for span, row in zip(spans, probs, strict=True):
        key = (span.article_id, span.start, span.end)
        k = seen.get(key, 0)
        seen[key] = k + 1
        out.append(
            PtcSpan(span.article_id, span.start, span.end, labels[int(np.argsort(-row)[min(k, len(labels) - 1)])])
        )
    return out


def classify_spans(model: TechniqueModel, articles: dict[str, str], spans: Sequence[PtcSpan]) -> list[PtcSpan]:
    """Techniques for given spans (TC), each classified in the context of its line(s)."""
    items = [
        (articles[s.article_id], s.start, s.end, *context_bounds(articles[s.article_id], s.start, s.end)) for s in spans
    ]
    probs = model.classify(items) if items else np.zeros((0, len(model.labels)))
    return label_spans(spans, probs, model.labels)


def predict_spans(
    model: TechniqueModel, articles: dict[str, str], *, options: DecodeOptions | None = None
) -> list[PtcSpan]:
    """Predicted technique spans (SI + technique) for every article, one sentence per line."""
    ids = sorted(articles)
    texts = [articles[i] for i in ids]
    tagged = model.tag(texts, [line_bounds(t) for t in texts])
    spans: list[PtcSpan] = []
    for aid, text, tags in zip(ids, texts, tagged, strict=True):
        spans.extend(PtcSpan(aid, c.span.start, c.span.end) for c in model.decode(text, tags, options))
    return classify_spans(model, articles, spans)


def evaluate_techniques(data: Path, *, split: str = "dev", model: TechniqueModel | None = None) -> TechniquesEvaluation:
    """SI precision/recall/F1, TC micro-F1 (gold spans) and joint span+technique scores on a PTC-format folder."""
    model = model or load_technique_model()
    articles_dir, labels_dir = find_split(data, split)
    if labels_dir is None:
        raise FileNotFoundError(f"no TC labels folder beside {articles_dir}")
    articles = read_articles(articles_dir)
    gold = [s for s in read_labels(labels_dir) if s.article_id in articles]
    pred = predict_spans(model, articles)
    tc = classify_spans(model, articles, gold)
    return TechniquesEvaluation(si_scores(pred, gold), tc_micro_f1(tc, gold), joint_scores(pred, gold), len(articles))


def predict_test(
    data: Path, out_dir: Path, *, split: str = "test", model: TechniqueModel | None = None
) -> tuple[Path, Path]:
    """Write SI (``id start end``) and TC (``id technique start end``, the template's spans) submission files."""
    from .ptc import write_si, write_tc

    model = model or load_technique_model()
    articles_dir, _ = find_split(data, split)
    articles = read_articles(articles_dir)
    template = Path(data) / f"{split}-task-tc-template.out"
    if not template.exists():
        template = Path(data) / "datasets" / f"{split}-task-tc-template.out"
    out_dir.mkdir(parents=True, exist_ok=True)
    si_path, tc_path = out_dir / f"{split}-task-si.txt", out_dir / f"{split}-task-tc.txt"
    write_si(sorted(predict_spans(model, articles)), si_path)
    if template.exists():
        spans = [s for s in read_labels(template) if s.article_id in articles]
        write_tc(classify_spans(model, articles, spans), tc_path)
    return si_path, tc_path


@eval_group.command("techniques")
@click.option("--data", type=click.Path(exists=True, path_type=Path), default=None, help="PTC-format folder.")
@click.option("--split", default="dev", show_default=True, help="Which split of the folder to score.")
@click.option(
    "--predict-test",
    "predict_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write submission files for the test split into this folder instead of scoring.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def techniques_command(data: Path | None, split: str, predict_dir: Path | None, as_json: bool) -> None:
    """Score persuasion-technique detection: SI P/R/F1, TC micro-F1 (gold spans), joint span+technique F1."""
    import json

    data = data or default_data()
    if not data.exists():
        raise InputError("E047", path=data, hint="PTC data expected; give --data")
    if predict_dir is not None:
        si_path, tc_path = predict_test(data, predict_dir, split="test" if split == "dev" else split)
        click.echo(f"wrote {si_path}")
        if tc_path.exists():
            click.echo(f"wrote {tc_path}")
        return
    result = evaluate_techniques(data, split=split)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    click.echo(f"PTC {split}: {result.n_articles} articles")
    click.echo(f"SI     P {result.si.precision:.4f}  R {result.si.recall:.4f}  F1 {result.si.f1:.4f}")
    click.echo(f"TC     micro-F1 {result.tc_micro_f1:.4f}")
    click.echo(f"Joint  P {result.joint.precision:.4f}  R {result.joint.recall:.4f}  F1 {result.joint.f1:.4f}")
