"""The runner contract, shared by every runner (local processes, Ray).

A runner does three things, and each lives here once:

1. :func:`due` selects the articles to analyse (new, changed, analysed with other stages or another version, or
   failed last time);
2. :func:`analyze_articles` is the per-article function: it runs the pipeline over a batch and isolates failures,
   so an article whose stage raises is returned as failed with its reason while every other article is analysed;
3. :func:`save_outcomes` writes a batch of outcomes back through the store in one transaction.

Runners differ only in where :func:`analyze_articles` runs. Because every model's result for a sentence is
independent of its batch-mates, an article's analysis does not depend on the batch, the worker count or the runner.
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import __version__
from ..analyze.parse import text_batches
from ..analyze.pipeline import Document, Pipeline, build_pipeline
from ..article import Article
from ..store import Store

#: Every built-in stage in the order they run.
DEFAULT_STAGES = (
    "parse",
    "entities",
    "quantities",
    "dates",
    "attribution",
    "claims",
    "claim_vectors",
    "techniques",
)
#: Articles per batch: large enough for spaCy's and onnxruntime's batching, small enough to commit often.
BATCH_SIZE = 16
#: Languages the built-in stages' models were trained for; other languages get no model layers (see notes).
MODEL_LANGUAGES = frozenset({"en"})
#: Stages that work whatever the language (none of the built-in ones: spaCy's English pipeline feeds them all).
LANGUAGE_FREE_STAGES: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Outcome:
    """What analysing one article gave: its analysis (export-contract fields), or the reason it failed."""

    article_id: str
    data: dict[str, Any] | None
    error: str | None = None
    #: The claims' vectors for linking (``claim_vectors`` layer): the encoder's name and {claim id: vector}.
    vectors: tuple[str, dict[str, Any]] | None = None


@lru_cache(maxsize=1)
def no_collection_at_exit() -> None:
    """Skip the cyclic collector's passes over everything loaded when this process exits.

    A process that has loaded the pipeline (spaCy, the gazetteer, five models) spent about 0.35 s of its exit in the
    collections the interpreter runs while it tears down; frozen objects are left to reference counting, which frees
    the same memory in a tenth of that. For processes whose files and store are closed by the time they exit (pool
    workers, the ``analyze`` command): the cycles left at exit are not collected, so nothing of theirs is finalised.
    Registered once per process.
    """
    atexit.register(gc.freeze)


@lru_cache(maxsize=4)
def _pipeline(stages: tuple[str, ...]) -> Pipeline:
    return build_pipeline(list(stages))


def load_pipeline(stages: Sequence[str]) -> Pipeline:
    """The pipeline of these stages, built (models loaded) once per process and reused by every batch after."""
    return _pipeline(tuple(stages))


#: Folders of the package whose files an analysis depends on (models, their configs, rule and gazetteer data).
_ANALYSIS_INPUTS = ("models", "data")


@lru_cache(maxsize=1)
def analysis_version() -> str:
    """The version every analysis is stored with: the package's, then a digest of the shipped models and data.

    A retrained model or changed rule data therefore makes every stored article due for analysis again, while the
    same files give the same version on any machine (the digest reads the files' paths and bytes, nothing else). The
    onnxruntime fusions the sessions leave out (``DISABLED_OPTIMIZERS``) are part of it too: they change the models'
    last bits.
    """
    from ..models.runtime import DISABLED_OPTIMIZERS

    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for folder in _ANALYSIS_INPUTS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix not in {".md", ".py", ".pyc"} and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    digest.update(repr(sorted(DISABLED_OPTIMIZERS)).encode())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def due(store: Store, stages: Sequence[str], *, force: bool = False) -> list[str]:
    """Ids of the articles to analyse, in storage order: every article with ``force``, else those not analysed with
    exactly these stages and this :func:`analysis_version` (failed articles have no analysis, so they are retried)."""
    return store.article_ids() if force else store.needs_analysis(stages, analysis_version())


def longest_first_batches(
    store: Store, ids: Sequence[str], size: int, max_chars: int, *, workers: int = 0, min_chars: int = 0
) -> list[list[str]]:
    """``ids`` in batches for a pool: ordered by the length of their clean text, longest first (ties in the order
    given), then cut into batches of at most ``size`` articles and ``max_chars`` characters (one article at least);
    with ``workers``, into :func:`shrinking_batches` for that many workers.

    The long articles go first and the last batches, the ones that finish while other workers have nothing left to
    do, are the shortest: in storage order one worker was still on a batch of long articles for 1.7 s after the other
    had finished (84 PolNeAR dev articles, two workers). The character bound keeps the corpus's longest articles from
    all landing in one batch (a worker's memory grows with the text of its batch). An article's analysis does not
    depend on the batch it is in, so the order changes nothing but the time.
    """
    lengths = store.text_lengths(ids)
    ordered = sorted(ids, key=lambda i: -lengths.get(i, 0))
    chars = [lengths.get(i, 0) for i in ordered]
    if workers:
        groups = shrinking_batches(chars, workers, size, max_chars, min_chars)
    else:
        groups = text_batches(chars, size, max_chars)
    return [[ordered[j] for j in group] for group in groups]


def shrinking_batches(
    lengths: Sequence[int], workers: int, max_texts: int, max_chars: int, min_chars: int
) -> list[list[int]]:
    """Consecutive indices in batches that shrink as the work left does: each holds about a ``2 * workers``-th of
    the characters not yet batched, at most ``max_texts`` texts and ``max_chars`` characters, at least ``min_chars``
    (or what is left; one text at least).

    A pool's workers take the batches in turn as they become free, so the workers finish within about the cost of
    one last batch of each other: small batches at the end, large ones (fewer model runs) while there is plenty left.
    """
    left = sum(lengths)
    batches: list[list[int]] = []
    i, n = 0, len(lengths)
    while i < n:
        target = min(max_chars, max(min_chars, left // (2 * workers)))
        group, chars = [i], lengths[i]
        i += 1
        while i < n and len(group) < max_texts and chars + lengths[i] <= target:
            group.append(i)
            chars += lengths[i]
            i += 1
        left -= chars
        batches.append(group)
    return batches


def batches(store: Store, ids: Sequence[str], size: int = BATCH_SIZE) -> Iterator[list[Article]]:
    """The articles of ``ids`` in batches of ``size``, each batch fetched with one query."""
    for i in range(0, len(ids), size):
        yield [a.to_article() for a in store.get_many(ids[i : i + size])]


def _supported(article: Article) -> bool:
    return article.language is None or article.language in MODEL_LANGUAGES


def _failure(stage: str, exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}" if where else ""
    return f"stage '{stage}' raised {type(exc).__name__}: {exc}{place}"


def analyze_articles(articles: Sequence[Article], stages: Sequence[str]) -> list[Outcome]:
    """Run the pipeline over ``articles``; one :class:`Outcome` per article, in order.

    Each stage runs over the batch; when it raises, it is run again article by article, and each article it still
    raises on is failed with the stage's name and the error, and left out of the later stages. Articles in a
    language the models were not trained for get only the language-free stages and a note saying so.
    """
    pipeline = load_pipeline(stages)
    documents = [Document(article=a) for a in articles]
    failed: dict[int, str] = {}
    notes: dict[int, list[dict[str, str]]] = {}
    for i, d in enumerate(documents):
        if not _supported(d.article):
            skipped = [s for s in stages if s not in LANGUAGE_FREE_STAGES]
            notes[i] = [
                {
                    "kind": "unsupported-language",
                    "message": f"language '{d.article.language}': the models are English-only, so these stages did "
                    f"not run: {', '.join(skipped)}",
                }
            ]
    for stage in pipeline.stages:
        live = [
            i
            for i in range(len(documents))
            if i not in failed and (i not in notes or stage.name in LANGUAGE_FREE_STAGES)
        ]
        if not live:
            continue
        try:
            stage([documents[i] for i in live])
        except Exception:  # isolated below, article by article; each failure is recorded with its reason
            for i in live:
                try:
                    stage([documents[i]])
                except Exception as exc:
                    failed[i] = _failure(stage.name, exc)
    outcomes = []
    for i, d in enumerate(documents):
        if i in failed:
            outcomes.append(Outcome(d.article.id, None, failed[i]))
            continue
        data = d.to_dict()
        if i in notes:
            data["notes"] = notes[i]
        vectors = d.layers.get("claim_vectors")
        outcomes.append(
            Outcome(d.article.id, data, vectors=(vectors["model"], vectors["vectors"]) if vectors else None)
        )
    return outcomes


def save_outcomes(store: Store, stages: Sequence[str], outcomes: Sequence[Outcome]) -> None:
    """Write a batch of outcomes in one transaction: analyses replace the old ones, failures are marked with their
    reason (and lose any earlier analysis, so the next run retries them)."""
    store.save_outcomes(
        stages,
        analysis_version(),
        [(o.article_id, o.data) for o in outcomes if o.data is not None],
        [(o.article_id, o.error or "unknown error") for o in outcomes if o.data is None],
        [(o.article_id, *o.vectors) for o in outcomes if o.data is not None and o.vectors is not None],
    )
