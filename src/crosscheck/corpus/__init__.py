"""Across sources: claim linking (corroborates / contradicts), stories, text reuse, narratives and the timeline.

:func:`link_corpus` runs every cross-article step over what was analysed since the last run (``crosscheck link``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..store import Store
from .link import LinkOptions, LinkSummary, link_store


@dataclass
class CorpusSummary:
    links: LinkSummary = field(default_factory=LinkSummary)
    stories: int = 0
    reused: int = 0


def link_corpus(
    store: Store, *, options: LinkOptions | None = None, progress: Callable[[int], None] | None = None
) -> CorpusSummary:
    """Link claims, then place new articles in stories and find passages they share with stored articles."""
    summary = CorpusSummary()
    summary.links = link_store(store, options=options, progress=progress)
    summary.stories = place_in_stories(store)
    return summary


def place_in_stories(store: Store, *, batch: int = 500) -> int:
    """Put every analysed article without a story into one (earliest published first); returns how many."""
    from .stories import ArticleFeatures, StoryClusterer

    due = store.without_story()
    if not due:
        return 0
    clusterer = StoryClusterer()
    for article_id, story, stored in store.story_features():
        clusterer.restore(article_id, ArticleFeatures.from_dict(stored), story)
    for begin in range(0, len(due), batch):
        placed: dict[str, tuple[str, dict[str, Any]]] = {}
        related: list[tuple[str, str, float, str]] = []
        for article in store.get_many(due[begin : begin + batch]):
            features = ArticleFeatures.from_article(
                article.text, store.analysis(article.id), title=article.title, published=article.published
            )
            story, close = clusterer.add(article.id, features)
            placed[article.id] = (story, features.to_dict())
            related.extend((article.id, r.article_id, float(r.score), r.kind) for r in close)
        store.save_stories(placed, related)
    return len(due)


__all__ = ["CorpusSummary", "LinkOptions", "link_corpus"]
