"""Across sources: claim linking (corroborates / contradicts), stories, text reuse, narratives and the timeline.

:func:`link_corpus` runs every cross-article step over what was analysed since the last run (``crosscheck link``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..store import Store
from .link import Embedder, LinkOptions, LinkSummary, link_store


@dataclass
class CorpusSummary:
    links: LinkSummary = field(default_factory=LinkSummary)
    stories: int = 0
    reused: int = 0


def link_corpus(
    store: Store,
    *,
    options: LinkOptions | None = None,
    progress: Callable[[int], None] | None = None,
    embedder: Embedder | None = None,
) -> CorpusSummary:
    """Link claims, then place new articles in stories and find passages they share with stored articles.

    ``embedder``: how claims without a vector are embedded (default: in this process; see ``runners.ray``).
    """
    summary = CorpusSummary()
    summary.links = link_store(store, options=options, progress=progress, embedder=embedder)
    return summary


__all__ = ["CorpusSummary", "LinkOptions", "link_corpus"]
