"""The local runner: analyse stored articles in batches, on one process or a pool of processes.

Selecting the articles, the per-article function and saving come from :mod:`.base` (the runner contract); this
module only decides where :func:`~.base.analyze_articles` runs.

A pool takes the articles longest first, in batches bounded in articles and characters that shrink with the work
left (:func:`~.base.longest_first_batches`, :func:`~.base.shrinking_batches`), so the batches that finish last are
short ones.
Each batch is saved in one transaction as soon as it is back, in order. A worker process that dies (killed, out of
memory) loses the batches in flight, none of which was saved: the run stops with :class:`RunnerError` (E114) saying
how many articles were saved, and the same command run again analyses the rest. A runner that is killed leaves no
worker behind: each watches its parent and exits within a second of it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..analyze.pipeline import validate_stages
from ..errors import RunnerError
from ..store import Store
from .base import (
    BATCH_SIZE,
    DEFAULT_STAGES,
    Outcome,
    analyze_articles,
    batches,
    due,
    longest_first_batches,
    no_collection_at_exit,
    save_outcomes,
)

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_STAGES",
    "POOL_BATCH_CHARS",
    "POOL_MIN_ARTICLES",
    "POOL_MIN_BATCH_CHARS",
    "analyze_articles",
    "analyze_store",
]

#: Below this many articles a process pool costs more (model loads in each worker) than it saves.
POOL_MIN_ARTICLES = 40


#: Characters of text a pool's batch holds at most (one article at least): about sixteen articles of 6,000.
POOL_BATCH_CHARS = 100_000
#: Characters a pool's batch holds at least while that much is left: the last batches, the ones a worker may still be
#: on when the others are done, cost about 0.8 s each (two short news articles). With four batches a worker of equal
#: size instead (84 PolNeAR dev articles), the last batches held 11 articles and the workers finished up to 1 s apart.
POOL_MIN_BATCH_CHARS = 8_000


#: Seconds between a worker's checks that the process that started it is still alive.
PARENT_CHECK_S = 1.0


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:  # re-parented: the runner died (killed) and nothing will read our results
            os._exit(1)


def _worker_init() -> None:
    # One onnxruntime thread per worker process: the pool itself uses the cores.
    os.environ["CROSSCHECK_THREADS"] = "1"
    # A worker waits on its task queue forever, even once the runner is gone (killed with SIGKILL, out of memory):
    # it holds that queue's write end itself, so it never sees the end of it. It watches its parent instead.
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True, name="parent-watch").start()
    no_collection_at_exit()


def analyze_store(
    store: Store,
    *,
    stages: Sequence[str] = DEFAULT_STAGES,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Analyse every article that is due (see :func:`~.base.due`). Returns how many were processed, failures
    included (``store.failures()`` lists those).

    ``workers``: processes to use (default: every core when there are enough articles, else this process).
    """
    stages = list(stages)
    validate_stages(stages)
    ids = due(store, stages, force=force)
    if not ids:
        return 0
    if workers is None:
        workers = (os.cpu_count() or 1) if len(ids) >= POOL_MIN_ARTICLES else 1
    done = 0

    def finish(outcomes: list[Outcome]) -> None:
        nonlocal done
        save_outcomes(store, stages, outcomes)
        done += len(outcomes)
        if progress:
            progress(len(outcomes))

    if workers <= 1:
        for batch in batches(store, ids, batch_size):
            finish(analyze_articles(batch, stages))
        return done
    planned = longest_first_batches(
        store, ids, batch_size, POOL_BATCH_CHARS, workers=workers, min_chars=POOL_MIN_BATCH_CHARS
    )
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init) as pool:
            pending: deque[Future[list[Outcome]]] = deque()
            for group in planned:
                batch = [a.to_article() for a in store.get_many(group)]
                pending.append(pool.submit(analyze_articles, batch, stages))
                if len(pending) >= workers * 2:
                    finish(pending.popleft().result())
            while pending:
                finish(pending.popleft().result())
    except BrokenProcessPool as exc:
        reason = "killed by a signal or out of memory"
        raise RunnerError("E114", reason=reason, saved=done, left=len(ids) - done) from exc
    return done
