"""PolNeAR reading and attribution metrics (source, cue, content spans and whole relations).

Data: PolNeAR v1.0.0 (brat standoff). Each ``E`` line ties a Source, a Cue and a Content text-bound span; offsets are
characters into ``text/<article>.txt``. Conventions used here:

* **Annotator rule.** Some articles were annotated by several annotators (one ``<article>_<annotator>.ann`` each).
  The first ``.ann`` file in sorted filename order is used, for training and for evaluation alike.
* A discontinuous span (``Content 10 20;25 40``) becomes its covering span (first start, last end). A relation's
  second content (``Content2``, rare) is ignored. Relations without a content are dropped (a content is required);
  relations without a source or a cue keep ``None`` there.

Metrics, per role (source, cue, content) and for whole relations, micro-averaged over all documents:

* **exact**: a predicted span matches a gold span of the same role when ``(start, end)`` are equal.
* **lenient**: the same after stripping whitespace and punctuation (quote marks included) at both edges of each span.
* **overlap**: a predicted span matches a gold span of the same role when they share at least one token, i.e. the
  overlap of their character ranges contains a letter or a digit.

Spans of one role are deduplicated per document (a source shared by two relations counts once). Precision is the
share of predicted spans that match some gold span; recall the share of gold spans matched by some predicted span.
A predicted relation matches a gold relation when its cue, content and source all match under the same criterion
(a missing source matches only a missing source); relation precision and recall are counted the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

import click

from ..article import Attribution, Span
from ..errors import InputError
from . import datasets_dir, eval_group

Mode = Literal["exact", "lenient", "overlap"]
MODES: tuple[Mode, ...] = ("exact", "lenient", "overlap")
ROLES: tuple[str, ...] = ("source", "cue", "content")

_T_LINE = re.compile(r"^(T\d+)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)\t?")
_E_LINE = re.compile(r"^(E\d+)\t(.*)$")
_WORD = re.compile(r"\w")
_T = TypeVar("_T")


@dataclass
class GoldArticle:
    """One PolNeAR article with the attributions of the annotator chosen by the annotator rule."""

    name: str
    text: str
    annotator: str
    attributions: list[Attribution] = field(default_factory=list)


def _span(text: str, start: int, end: int) -> Span:
    return Span(start, end, text[start:end])


def parse_ann(ann: str, text: str) -> list[Attribution]:
    """The attribution relations of one brat ``.ann`` file (text-bound lines spread over several lines are skipped)."""
    bounds: dict[str, tuple[str, int, int]] = {}
    relations: list[dict[str, str]] = []
    for line in ann.splitlines():
        m = _T_LINE.match(line)
        if m:
            ranges = [tuple(int(x) for x in r.split()) for r in m.group(3).split(";")]
            bounds[m.group(1)] = (m.group(2), ranges[0][0], ranges[-1][1])
            continue
        m = _E_LINE.match(line)
        if m:
            args = dict(a.split(":", 1) for a in m.group(2).split() if ":" in a)
            relations.append(args)
    out = []
    for args in relations:
        roles: dict[str, Span | None] = {}
        for role in ("Source", "Cue", "Content"):
            tid = args.get(role)
            roles[role] = _span(text, bounds[tid][1], bounds[tid][2]) if tid in bounds else None
        content = roles["Content"]
        if content is None:
            continue
        out.append(Attribution(source=roles["Source"], cue=roles["Cue"], content=content, kind="gold"))
    return out


def load_polnear(split_dir: Path) -> list[GoldArticle]:
    """Read one PolNeAR split folder (``text/`` and ``attributions/``), one annotator per article (the first file)."""
    split_dir = Path(split_dir)
    by_article: dict[str, list[Path]] = defaultdict(list)
    for ann in sorted((split_dir / "attributions").glob("*.ann")):
        article, _, _annotator = ann.stem.rpartition("_")
        by_article[article].append(ann)
    out = []
    for article in sorted(by_article):
        first = sorted(by_article[article])[0]
        text = (split_dir / "text" / f"{article}.txt").read_text(encoding="utf-8")
        attributions = parse_ann(first.read_text(encoding="utf-8"), text)
        out.append(GoldArticle(article, text, first.stem.rpartition("_")[2], attributions))
    return out


def _strip_edges(text: str, start: int, end: int) -> tuple[int, int]:
    def junk(ch: str) -> bool:
        return ch.isspace() or unicodedata.category(ch).startswith("P")

    while start < end and junk(text[start]):
        start += 1
    while end > start and junk(text[end - 1]):
        end -= 1
    return start, end


def spans_match(pred: Span, gold: Span, *, mode: Mode, text: str) -> bool:
    """Whether two spans of the same role match under ``mode`` (see the module docstring)."""
    if mode == "exact":
        return (pred.start, pred.end) == (gold.start, gold.end)
    if mode == "lenient":
        return _strip_edges(text, pred.start, pred.end) == _strip_edges(text, gold.start, gold.end)
    lo, hi = max(pred.start, gold.start), min(pred.end, gold.end)
    return lo < hi and _WORD.search(text, lo, hi) is not None


def _opt_match(pred: Span | None, gold: Span | None, *, mode: Mode, text: str) -> bool:
    if pred is None or gold is None:
        return pred is None and gold is None
    return spans_match(pred, gold, mode=mode, text=text)


def relations_match(pred: Attribution, gold: Attribution, *, mode: Mode, text: str) -> bool:
    """Cue, content and source all match under ``mode`` (a missing source or cue matches only a missing one)."""
    return (
        _opt_match(pred.cue, gold.cue, mode=mode, text=text)
        and spans_match(pred.content, gold.content, mode=mode, text=text)
        and _opt_match(pred.source, gold.source, mode=mode, text=text)
    )


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 with the counts behind them."""

    tp_pred: int  # predicted items that match some gold item
    n_pred: int
    tp_gold: int  # gold items matched by some predicted item
    n_gold: int

    @property
    def precision(self) -> float:
        return self.tp_pred / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp_gold / self.n_gold if self.n_gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: PRF) -> PRF:
        return PRF(
            self.tp_pred + other.tp_pred,
            self.n_pred + other.n_pred,
            self.tp_gold + other.tp_gold,
            self.n_gold + other.n_gold,
        )


def _prf(pred: Sequence[_T], gold: Sequence[_T], match: Callable[[_T, _T], bool]) -> PRF:
    tp_pred = sum(1 for p in pred if any(match(p, g) for g in gold))
    tp_gold = sum(1 for g in gold if any(match(p, g) for p in pred))
    return PRF(tp_pred, len(pred), tp_gold, len(gold))


def _role_spans(attributions: Iterable[Attribution], role: str) -> list[Span]:
    seen: dict[tuple[int, int], Span] = {}
    for a in attributions:
        span = getattr(a, role)
        if span is not None:
            seen.setdefault((span.start, span.end), span)
    return list(seen.values())


def score_document(
    pred: Sequence[Attribution], gold: Sequence[Attribution], *, text: str, mode: Mode
) -> dict[str, PRF]:
    """Scores of one document: one :class:`PRF` per role and one for ``relation``."""
    out = {}
    for role in ROLES:
        out[role] = _prf(
            _role_spans(pred, role),
            _role_spans(gold, role),
            lambda p, g: spans_match(p, g, mode=mode, text=text),
        )
    out["relation"] = _prf(list(pred), list(gold), lambda p, g: relations_match(p, g, mode=mode, text=text))
    return out


def score_corpus(
    pairs: Iterable[tuple[str, Sequence[Attribution], Sequence[Attribution]]],
) -> dict[Mode, dict[str, PRF]]:
    """Micro-averaged scores over ``(text, predicted, gold)`` triples, for every mode and every role and relations."""
    totals: dict[Mode, dict[str, PRF]] = {m: {k: PRF(0, 0, 0, 0) for k in (*ROLES, "relation")} for m in MODES}
    for text, pred, gold in pairs:
        for mode in MODES:
            for key, prf in score_document(pred, gold, text=text, mode=mode).items():
                totals[mode][key] = totals[mode][key] + prf
    return totals


def predict(articles: Sequence[GoldArticle], *, batch_size: int = 16) -> list[list[Attribution]]:
    """Run ``parse`` + ``attribution`` over the articles' texts and return the predicted attributions."""
    from ..analyze.pipeline import Document, build_pipeline
    from ..article import Article

    pipeline = build_pipeline(["parse", "attribution"])
    out: list[list[Attribution]] = []
    for i in range(0, len(articles), batch_size):
        docs = [Document(Article(raw=a.text, origin=a.name, text=a.text)) for a in articles[i : i + batch_size]]
        pipeline(docs)
        out.extend(d.attributions for d in docs)
    return out


def evaluate_polnear(split_dir: Path, *, limit: int | None = None) -> dict[Mode, dict[str, PRF]]:
    """Predict on a PolNeAR split folder and score against its gold attributions."""
    articles = load_polnear(split_dir)[:limit]
    predictions = predict(articles)
    return score_corpus((a.text, p, a.attributions) for a, p in zip(articles, predictions, strict=True))


def default_dev_dir() -> Path:
    """PolNeAR dev under the shared datasets (``CROSSCHECK_DATASETS`` or ``<repo>/../shared/datasets``)."""
    return datasets_dir() / "polnear" / "data" / "dev"


def format_table(scores: dict[Mode, dict[str, PRF]]) -> str:
    """A Markdown table of P/R/F1 per mode and role."""
    lines = ["| criterion | span | P | R | F1 | predicted | gold |", "|---|---|---|---|---|---|---|"]
    for mode, by_key in scores.items():
        for key, prf in by_key.items():
            lines.append(
                f"| {mode} | {key} | {prf.precision:.3f} | {prf.recall:.3f} | {prf.f1:.3f} "
                f"| {prf.n_pred} | {prf.n_gold} |"
            )
    return "\n".join(lines)


@eval_group.command("attribution")
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="A PolNeAR split folder (with text/ and attributions/); default: PolNeAR dev under the shared datasets.",
)
@click.option("--limit", type=int, default=None, help="Score only the first N articles.")
def attribution_command(data: Path | None, limit: int | None) -> None:
    """Attribution (source, cue, content) P/R/F1 on PolNeAR: exact, lenient and token-overlap matching."""
    split_dir = data or default_dev_dir()
    if not (split_dir / "attributions").is_dir():
        raise InputError("E047", path=split_dir, hint="expected PolNeAR text/ and attributions/ folders; give --data")
    click.echo(format_table(evaluate_polnear(split_dir, limit=limit)))
