"""Crosscheck: who claims what in war reporting, how they say it, and where sources agree or contradict.

Public API::

    import crosscheck
    from crosscheck.ingest import ingest
    from crosscheck.runners.local import analyze_store

    with crosscheck.open_store("crosscheck.db") as store:
        ingest(["examples/"], store)
        analyze_store(store)
        crosscheck.link(store)
        for result in crosscheck.check(store, "Russian troops fled Kherson"):
            print(result.relation, result.article, result.reason)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"

from .article import Article, Attribution, Claim, Entity, Quantity, Removed, Skipped, Span, Technique
from .store import Store, open_store


def link(store: Store, **options: Any) -> Any:
    """Link what was analysed since the last run (claims, stories, reuse); see :func:`crosscheck.corpus.link_corpus`."""
    from .corpus import link_corpus
    from .corpus.link import LinkOptions

    return link_corpus(store, options=LinkOptions(**options) if options else None)


def check(store: Store, claim: str, **options: Any) -> list[Any]:
    """The stored articles that corroborate, contradict or discuss ``claim``; see :func:`crosscheck.corpus.check`."""
    from .corpus.check import CheckOptions
    from .corpus.check import check as run_check

    return run_check(store, claim, options=CheckOptions(**options) if options else None)


__all__ = [
    "Article",
    "Attribution",
    "Claim",
    "Entity",
    "Quantity",
    "Removed",
    "Skipped",
    "Span",
    "Store",
    "Technique",
    "__version__",
    "check",
    "link",
    "open_store",
]
