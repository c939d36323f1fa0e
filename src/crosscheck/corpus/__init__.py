"""Across sources: claim linking (corroborates / contradicts), stories, text reuse, narratives and the timeline.

:func:`link_corpus` runs every cross-article step over what was analysed since the last run (``crosscheck link``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    summary.stories = place_in_stories(store)
    summary.reused = find_reuse(store)
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


@dataclass(frozen=True)
class _Indexed:
    """What the reuse index needs of a stored article (its text is looked up only when it is aligned)."""

    id: str
    text: str
    outlet: str | None
    published: str | None
    fetched: str | None
    language: str | None


def find_reuse(store: Store, *, batch: int = 500) -> int:
    """Fingerprint every article not yet fingerprinted and store the passages it shares with earlier ones (and the
    near-duplicates as ``copy`` related articles). Returns the number of passages found."""
    from .reuse import Fingerprint, ReuseIndex, fingerprint

    due = store.without_fingerprints()
    if not due:
        return 0

    def text_of(article_id: str) -> str:
        found = store.get(article_id)
        return found.text if found is not None else ""

    index = ReuseIndex(texts=text_of)
    stored = store.reuse_fingerprints()
    for chunk in range(0, len(stored), batch):
        part = stored[chunk : chunk + batch]
        meta = {a.id: a for a in store.get_many([article_id for article_id, _ in part])}
        for article_id, data in part:
            a = meta.get(article_id)
            if a is not None:
                index.restore(
                    _Indexed(a.id, "", a.outlet, a.published, a.fetched, a.language), Fingerprint.from_bytes(data)
                )
    found = 0
    for begin in range(0, len(due), batch):
        fingerprints: dict[str, bytes] = {}
        rows: list[tuple[str, int, int, str, int, int, str, float]] = []
        related: list[tuple[str, str, float, str]] = []
        for article in store.get_many(due[begin : begin + batch]):
            print_ = fingerprint(article.text, language=article.language, options=index.options)
            passages = index.add(article, fingerprint=print_)
            fingerprints[article.id] = print_.to_bytes()
            rows.extend(
                (article.id, p.start, p.end, p.other_article, p.other_start, p.other_end, p.first, float(p.score))
                for p in passages
            )
            for whole in index.related(article.id):
                if whole.near_duplicate:
                    related.append((article.id, whole.other_article, max(whole.coverage, whole.other_coverage), "copy"))
        store.save_reuse(fingerprints, rows)
        if related:
            store.save_stories({}, related)
        found += len(rows)
    return found
