"""Ingest: read inputs of any format, clean each page, add metadata, store it.

``read`` (readers/) -> ``prepare`` (clean + metadata, this module) -> ``store``. Every input ends in exactly one of
four outcomes, all counted in the :class:`IngestSummary`: ingested, duplicate (same clean text already stored),
unchanged (this very input was stored before: a re-run), skipped (with its reason). Nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .. import errors
from ..article import Article, Skipped
from ..store import Store
from .clean import clean_text
from .html import extract_html
from .metadata import date_from_text, detect_language, normalise_date, outlet_from_url
from .options import FieldMap, IngestOptions

__all__ = ["FieldMap", "IngestOptions", "IngestSummary", "ingest", "ingest_items", "prepare_article"]

#: Cleaned text shorter than this many characters is not an article (a stub, an error page).
MIN_TEXT_CHARS = 40


@dataclass
class IngestSummary:
    ingested: int = 0
    duplicates: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.ingested + self.duplicates + self.unchanged + len(self.skipped)

    def skipped_by_code(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.code] = counts.get(s.code, 0) + 1
        return counts


def raw_hash(article: Article) -> str:
    return hashlib.sha256(article.raw.encode("utf-8", "surrogatepass")).hexdigest()


def prepare_article(article: Article, options: IngestOptions | None = None) -> Article | Skipped:
    """Clean an article read by a reader and fill its metadata. Returns a Skipped when no story text is left."""
    options = options or IngestOptions()
    if article.raw_format == "html":
        extracted = extract_html(article.raw, url=article.url)
        cleaned = clean_text(extracted.text, density=extracted.method == "visible-text")
        article.title = article.title or extracted.title or cleaned.title
        article.published = normalise_date(article.published) or normalise_date(extracted.published)
        article.url = article.url or extracted.url
        article.outlet = article.outlet or extracted.sitename or outlet_from_url(article.url)
        article.language = article.language or extracted.language
        article.removed = []  # offsets into the HTML would not help anyone; the raw HTML is kept
    else:
        article.language = article.language or detect_language(article.raw)
        cleaned = clean_text(article.raw, language=article.language)
        article.title = article.title or cleaned.title
        article.published = normalise_date(article.published) or date_from_text(article.raw)
        article.outlet = article.outlet or outlet_from_url(article.url)
        article.removed = cleaned.removed if options.record_removed else []
    article.text = cleaned.text
    if len(article.text.strip()) < MIN_TEXT_CHARS:
        code = errors.SKIP_NO_TEXT if article.raw_format == "html" else errors.SKIP_EMPTY
        what = "no main text found in the page" if article.raw_format == "html" else "no story text left after cleaning"
        return Skipped(origin=article.origin, reason=f"{what} ({len(article.text.strip())} characters)", code=code)
    article.language = article.language or detect_language(article.text)
    article.finalise_ids()
    return article


def ingest_items(
    items: Iterable[Article | Skipped],
    store: Store,
    *,
    options: IngestOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> IngestSummary:
    """Prepare and store articles from any iterable of reader output; each input is its own transaction."""
    options = options or IngestOptions()
    summary = IngestSummary()
    for item in items:
        if isinstance(item, Skipped):
            store.add_skipped(item)
            summary.skipped.append(item)
            outcome = "skipped"
        else:
            digest = raw_hash(item)
            if store.seen_unchanged(item.origin, digest):
                summary.unchanged += 1
                outcome = "unchanged"
            else:
                prepared = _prepare_safely(item, options)
                if isinstance(prepared, Skipped):
                    store.add_skipped(prepared)
                    summary.skipped.append(prepared)
                    outcome = "skipped"
                else:
                    outcome = store.add_article(prepared, raw_hash=digest)
                    if outcome == "ingested":
                        summary.ingested += 1
                    elif outcome == "duplicate":
                        summary.duplicates += 1
                    else:
                        summary.unchanged += 1
        if progress is not None:
            progress(outcome)
    return summary


def _prepare_safely(article: Article, options: IngestOptions) -> Article | Skipped:
    """prepare_article, with a failure of one page recorded as a skip instead of ending the batch."""
    try:
        return prepare_article(article, options)
    except (ValueError, UnicodeError, RecursionError, MemoryError) as exc:
        return Skipped(
            origin=article.origin, reason=f"cleaning failed: {type(exc).__name__}: {exc}", code=errors.SKIP_MALFORMED
        )


def ingest(
    inputs: Sequence[str],
    store: Store,
    *,
    options: IngestOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> IngestSummary:
    """Read every input (files, directories, ``-`` for stdin, URLs), clean it and store it."""
    from .readers import read_inputs

    options = options or IngestOptions()
    return ingest_items(read_inputs(inputs, options), store, options=options, progress=progress)
