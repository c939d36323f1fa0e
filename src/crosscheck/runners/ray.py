"""The Ray runner: the local runner's per-article function on Ray Data, one machine or a cluster.

The flow, one streaming Ray Data pipeline per run:

1. the ids of the articles due (:func:`~.base.due`) are cut into batches as the local runner cuts them, and the
   batches become a dataset, one row each;
2. a reader on the driver's machine fetches each batch of articles from the store file (:func:`~.base.batches`):
   SQLite is read where the file is, never over a network file system;
3. ``map_batches`` over a pool of stateful workers, one per CPU, runs :func:`~.base.analyze_articles`, the very
   function the local runner calls, with failures isolated article by article; each worker builds the pipeline (and
   loads the models) once, when it starts;
4. the driver saves the outcomes through the store in batches (:func:`~.base.save_outcomes`), one transaction each,
   in the order of the articles: the store is written by the driver alone.

An article's analysis does not depend on its batch-mates or the worker count, so the store (and the export) is the
same as the local runner's. A worker that dies is restarted by Ray and its batch redone; a driver that dies loses only
the batches not yet saved, and the next run analyses them (they are still due).

Without an address, Ray is started on this machine with its cores (or ``num_cpus``) and stopped at the end; with one
(``ray://head:10001`` or ``head:6379``), the run joins that cluster. Ray is the ``ray`` extra: without it,
:class:`RunnerError` E110 says how to install it.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..analyze.pipeline import validate_stages
from ..errors import RunnerError
from ..store import Store, open_store
from .base import BATCH_SIZE, DEFAULT_STAGES, analyze_articles, batches, due, load_pipeline, save_outcomes

__all__ = ["analyze_store_ray", "embed_claims_ray", "map_on_ray", "ray_session"]

#: Log level of Ray's own messages while it runs for Crosscheck (its progress lines would drown the command's).
RAY_LOG_LEVEL = logging.WARNING


def import_ray() -> Any:
    """The ``ray`` module (with Ray Data); :class:`RunnerError` E110, saying how to install it, when it is missing."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise RunnerError("E110") from exc
    return ray


@contextmanager
def ray_session(*, address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """The ``ray`` module with a session: one already started by the caller (left running), else a new one that is
    shut down on exit (``address``: join that cluster; none: start Ray here with ``num_cpus``, default every core)."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": RAY_LOG_LEVEL}
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **options)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = f" at {address}" if address else ""
        raise RunnerError("E112", where=where, reason=" ".join(str(exc).split())[:300]) from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def _pack(items: Sequence[Any]) -> np.ndarray:
    """Python objects as a column of pickles (Ray Data moves bytes between processes unchanged)."""
    column = np.empty(len(items), dtype=object)
    column[:] = [pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL) for item in items]
    return column


def _unpack(column: Any) -> list[Any]:
    return [pickle.loads(item) for item in column]


class _ReadArticles:
    """Ray Data worker on the driver's machine: fetches batches of due articles from the store file
    (:func:`~.base.batches`; a connection per thread, as Ray may call a worker from another thread than the one
    that built it)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.local = threading.local()

    def __call__(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        store = getattr(self.local, "store", None)
        if store is None:
            store = self.local.store = open_store(self.path, create=False)
        return {"item": _pack([next(batches(store, ids, size=len(ids)), []) for ids in _unpack(rows["item"])])}


class _EmbedClaims:
    """Ray Data worker: loads the sentence encoder once, then embeds batch after batch of claims
    (:func:`~crosscheck.corpus.link.embed_claims`)."""

    def __init__(self) -> None:
        from ..corpus.embed import load_encoder

        os.environ["CROSSCHECK_THREADS"] = "1"
        self.model = load_encoder()

    def __call__(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from ..corpus.link import embed_claims

        return {"item": _pack([embed_claims(claims, self.model) for claims in _unpack(rows["item"])])}


class _AnalyzeArticles:
    """Ray Data worker: builds the pipeline once, then analyses batch after batch (:func:`~.base.analyze_articles`)."""

    def __init__(self, stages: Sequence[str]) -> None:
        os.environ["CROSSCHECK_THREADS"] = "1"  # one onnxruntime thread per worker: the pool itself uses the cores
        self.stages = list(stages)
        load_pipeline(self.stages)

    def __call__(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"item": _pack([analyze_articles(articles, self.stages) for articles in _unpack(rows["item"])])}


def map_on_ray(
    ray: Any, items: Sequence[Any], workers: Sequence[tuple[type, dict[str, Any], bool]], *, batch_size: int
) -> Iterator[list[Any]]:
    """Stream ``items`` through Ray Data workers in batches of ``batch_size`` and yield each batch's results, in order.

    The batches are cut here, the local runner's way (the first ``batch_size`` items, the next ...), and each is one
    row of the dataset that every worker maps whole, so a batch holds the same items on Ray as on local processes.
    ``workers``: (callable class, its keyword arguments, pinned), applied in turn with ``map_batches``, each given and
    giving a column ``item`` of pickled batches; a pinned one runs as one worker on the driver's machine with no CPU
    reserved (reading the store), the others as a pool of one worker per CPU of the cluster (at most one per batch).
    """
    from ray.data import ActorPoolStrategy, DataContext

    chunks = [list(items[i : i + batch_size]) for i in range(0, len(items), batch_size)]
    context = DataContext.get_current()
    saved = (context.execution_options.preserve_order, context.enable_progress_bars)
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    # One worker per CPU, but no more than there are batches: each worker loads the models once, when it starts.
    pool = max(1, min(int(ray.cluster_resources().get("CPU", 1)), len(chunks)))
    here = {"ray.io/node-id": ray.get_runtime_context().get_node_id()}
    try:
        rows = [{"item": pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)} for chunk in chunks]
        # A block per batch: a worker hands each batch on as soon as it is done (saved at once, lost alone).
        dataset = ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))
        for cls, kwargs, pinned in workers:
            dataset = dataset.map_batches(
                cls,
                fn_constructor_kwargs=kwargs,
                batch_size=1,
                compute=ActorPoolStrategy(size=1 if pinned else pool),
                num_cpus=0 if pinned else 1,
                label_selector=here if pinned else None,
            )
        for row in dataset.iter_batches(batch_size=1, batch_format="numpy"):
            yield from _unpack(row["item"])
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = saved


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _stopped(exc: BaseException) -> str:
    """A Ray error in one line, without the colour codes Ray puts in its messages."""
    return f"{type(exc).__name__}: {' '.join(_ANSI.sub('', str(exc)).split())[:300]}"


def analyze_store_ray(
    store: Store,
    *,
    stages: Sequence[str] = DEFAULT_STAGES,
    address: str | None = None,
    num_cpus: int | None = None,
    batch_size: int = BATCH_SIZE,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Analyse every article that is due (see :func:`~.base.due`) on Ray. Returns how many were processed, failures
    included (``store.failures()`` lists those); the store is the same as :func:`~.local.analyze_store` leaves.

    ``address``: a running Ray cluster to join (default: start Ray on this machine with ``num_cpus`` CPUs).
    """
    import_ray()
    stages = list(stages)
    validate_stages(stages)
    if store.path == ":memory:":
        raise RunnerError("E113", path=store.path)
    ids = due(store, stages, force=force)
    if not ids:
        return 0
    done = 0
    with ray_session(address=address, num_cpus=num_cpus) as ray:
        workers: list[tuple[type, dict[str, Any], bool]] = [
            (_ReadArticles, {"path": os.path.abspath(store.path)}, True),
            (_AnalyzeArticles, {"stages": stages}, False),
        ]
        try:
            for outcomes in map_on_ray(ray, ids, workers, batch_size=batch_size):
                save_outcomes(store, stages, outcomes)
                done += len(outcomes)
                if progress:
                    progress(len(outcomes))
        except ray.exceptions.RayError as exc:
            raise RunnerError("E115", reason=_stopped(exc), saved=done, left=len(ids) - done) from exc
    return done


def embed_claims_ray(
    store: Store,
    claims: Sequence[tuple[str, str, str]],
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    batch_size: int | None = None,
) -> None:
    """Embed claims ``(claim id, article id, text)`` on Ray and save their vectors from the driver, one transaction per
    batch, in order: the ``embedder`` of :func:`~crosscheck.corpus.link_corpus` for ``crosscheck link --runner ray``."""
    from ..analyze.claim_vectors import ENCODER
    from ..corpus.link import EMBED_BATCH

    if not claims:
        return
    done = 0
    with ray_session(address=address, num_cpus=num_cpus) as ray:
        try:
            for rows in map_on_ray(
                ray, list(claims), [(_EmbedClaims, {}, False)], batch_size=batch_size or EMBED_BATCH
            ):
                store.save_claim_vectors(ENCODER, rows)
                done += len(rows)
        except ray.exceptions.RayError as exc:
            raise RunnerError("E115", reason=_stopped(exc), saved=done, left=len(claims) - done) from exc
