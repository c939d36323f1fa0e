"""The local runner: analyse stored articles in batches, on one process or a pool of processes.

:func:`analyze_batch` is the unit of work for every runner (the Ray runner maps the same function over its
blocks): it builds the pipeline once per process and returns one analysis record per article.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from typing import Any

from .. import __version__
from ..analyze.pipeline import Document, Pipeline, build_pipeline, validate_stages
from ..article import Article
from ..store import Store

#: Every built-in stage in the order they run.
DEFAULT_STAGES = ("parse", "entities", "quantities", "dates", "attribution", "claims", "techniques")
#: Articles per batch: large enough for spaCy's and onnxruntime's batching, small enough to commit often.
BATCH_SIZE = 16
#: Below this many articles a process pool costs more (model loads in each worker) than it saves.
POOL_MIN_ARTICLES = 40


@lru_cache(maxsize=4)
def _pipeline(stages: tuple[str, ...]) -> Pipeline:
    return build_pipeline(list(stages))


def analyze_batch(articles: Sequence[Article], stages: Sequence[str]) -> list[dict[str, Any]]:
    """Run the pipeline over articles; one export-contract analysis dict per article, in order."""
    documents = [Document(article=a) for a in articles]
    _pipeline(tuple(stages))(documents)
    return [d.to_dict() for d in documents]


def _worker_init() -> None:
    # One onnxruntime thread per worker process: the pool itself uses the cores.
    os.environ["CROSSCHECK_THREADS"] = "1"


def _batches(store: Store, ids: Sequence[str], size: int) -> Iterator[list[Article]]:
    for i in range(0, len(ids), size):
        found = (store.get(article_id) for article_id in ids[i : i + size])
        yield [a.to_article() for a in found if a is not None]


def analyze_store(
    store: Store,
    *,
    stages: Sequence[str] = DEFAULT_STAGES,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Analyse every article that is new or was analysed with other stages or another version. Returns the count.

    ``workers``: processes to use (default: every core when there are enough articles, else this process).
    """
    stages = list(stages)
    validate_stages(stages)
    ids = [a.id for a in store.articles()] if force else store.needs_analysis(stages, __version__)
    if not ids:
        return 0
    if workers is None:
        workers = (os.cpu_count() or 1) if len(ids) >= POOL_MIN_ARTICLES else 1
    done = 0
    if workers <= 1:
        for batch in _batches(store, ids, batch_size):
            for article, data in zip(batch, analyze_batch(batch, stages), strict=True):
                store.save_analysis(article.id, stages, __version__, data)
            done += len(batch)
            if progress:
                progress(len(batch))
        return done
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init) as pool:
        pending = []
        for batch in _batches(store, ids, batch_size):
            pending.append((batch, pool.submit(analyze_batch, batch, stages)))
            if len(pending) >= workers * 2:
                done += _drain(store, stages, pending.pop(0), progress)
        for item in pending:
            done += _drain(store, stages, item, progress)
    return done


def _drain(
    store: Store,
    stages: Sequence[str],
    item: tuple[list[Article], Any],
    progress: Callable[[int], None] | None,
) -> int:
    batch, future = item
    for article, data in zip(batch, future.result(), strict=True):
        store.save_analysis(article.id, stages, __version__, data)
    if progress:
        progress(len(batch))
    return len(batch)
