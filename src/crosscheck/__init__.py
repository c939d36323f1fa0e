"""Crosscheck: who claims what in war reporting, how they say it, and where sources agree or contradict.

Public API::

    import crosscheck
    with crosscheck.open_store("crosscheck.db") as store:
        summary = crosscheck.ingest(["examples/"], store)
"""

from __future__ import annotations

__version__ = "0.2.0"

from .article import Article, Attribution, Claim, Entity, Quantity, Removed, Skipped, Span, Technique
from .store import Store, open_store

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
    "open_store",
]
