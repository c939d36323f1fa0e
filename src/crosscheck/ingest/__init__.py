"""Ingest: read inputs of any format, clean each page, add metadata, store it.

``read`` (readers/) -> ``prepare`` (clean + metadata, this module) -> ``store``. Every input ends in exactly one of
five outcomes, all counted in the :class:`IngestSummary`: ingested, duplicate (same clean text already stored),
unchanged (this very input was stored before, read with the same options: a re-run), updated (a re-run whose options
changed the article's metadata, not its text), skipped (with its reason). Nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass, field

from .. import errors
from ..article import Article, Skipped
from ..store import Store
from .clean import clean_text
from .html import extract_html
from .metadata import date_from_text, detect_language, normalise_date, outlet_from_url, outlet_name
from .options import FieldMap, IngestOptions

__all__ = ["FieldMap", "IngestOptions", "IngestSummary", "ingest", "ingest_items", "prepare_article"]

#: Cleaned text of a page shorter than this many characters is not an article (a stub, an error page).
MIN_TEXT_CHARS = 40
#: A record (a JSONL or CSV text field) is a story from this many words on: a post, a statement, a headline of a few
#: words are stories there; a single word ("Home", "(APPLAUSE)") is not.
MIN_RECORD_WORDS = 2


@dataclass
class IngestSummary:
    ingested: int = 0
    duplicates: int = 0
    unchanged: int = 0
    updated: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.ingested + self.duplicates + self.unchanged + self.updated + len(self.skipped)

    @property
    def input_errors(self) -> list[Skipped]:
        """The skips that mean an input as given could not be used at all (a path that does not exist, a JSONL/CSV
        file without a text or html field); ``crosscheck ingest`` exits non-zero when there are any."""
        return [s for s in self.skipped if s.input_error]

    def skipped_by_code(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.code] = counts.get(s.code, 0) + 1
        return counts


def raw_hash(article: Article, options: IngestOptions | None = None) -> str:
    """What identifies an input as read: its raw text and the metadata its reader found, and the options that shape
    the article made of it (the field map of a record, a forced format). A re-run with the same key is unchanged."""
    options = options or IngestOptions()
    shaping = {
        "format": article.raw_format,
        "forced": options.format,
        "removed": options.record_removed,
        "fields": astuple(options.fields) if article.record else None,
        "meta": [article.url, article.title, article.outlet, article.published],
    }
    digest = hashlib.sha256(article.raw.encode("utf-8", "surrogatepass"))
    digest.update(b"\x00" + json.dumps(shaping, sort_keys=True).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def prepare_article(article: Article, options: IngestOptions | None = None) -> Article | Skipped:
    """Clean an article read by a reader and fill its metadata. Returns a Skipped when no story text is left.

    URL: the page's own (canonical link, og:url, twitter:url), else the reader's (the WARC target URI, the fetched
    URL, a record's URL field). Outlet: a record's outlet field, else the page's site name, else the URL's host.
    """
    options = options or IngestOptions()
    if article.raw_format == "html":
        extracted = extract_html(article.raw, url=article.url)
        cleaned = clean_text(extracted.text, density=extracted.method == "visible-text", record=article.record)
        article.title = article.title or extracted.title or cleaned.title
        article.published = normalise_date(article.published) or normalise_date(extracted.published)
        article.url = extracted.url or article.url
        article.outlet = outlet_name(article.outlet) or outlet_name(extracted.sitename) or outlet_from_url(article.url)
        article.language = article.language or extracted.language
        article.removed = []  # offsets into the HTML would not help anyone; the raw HTML is kept
    else:
        article.language = article.language or detect_language(article.raw)
        cleaned = clean_text(article.raw, language=article.language, record=article.record)
        article.title = article.title or cleaned.title
        article.published = normalise_date(article.published) or date_from_text(article.raw)
        article.outlet = outlet_name(article.outlet) or outlet_from_url(article.url)
        article.removed = cleaned.removed if options.record_removed else []
    article.text = cleaned.text
    skipped = _too_little_text(article)
    if skipped is not None:
        return skipped
    article.language = article.language or detect_language(article.text)
    article.finalise_ids()
    return article


def _too_little_text(article: Article) -> Skipped | None:
    """The Skipped for an article with no story text left: a page under MIN_TEXT_CHARS, a record under
    MIN_RECORD_WORDS."""
    text = article.text.strip()
    if article.record:
        words = len(text.split())
        if words >= MIN_RECORD_WORDS:
            return None
        size = f"{words} word" if words == 1 else f"{words} words"
    else:
        if len(text) >= MIN_TEXT_CHARS:
            return None
        size = f"{len(text)} characters"
    if article.raw_format == "html":
        return Skipped(
            origin=article.origin, reason=f"no main text found in the page ({size})", code=errors.SKIP_NO_TEXT
        )
    return Skipped(origin=article.origin, reason=f"no story text left after cleaning ({size})", code=errors.SKIP_EMPTY)


def ingest_items(
    items: Iterable[Article | Skipped],
    store: Store,
    *,
    options: IngestOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> IngestSummary:
    """Prepare and store articles from any iterable of reader output; each input is its own transaction."""
    from .readers import container_origin

    options = options or IngestOptions()
    summary = IngestSummary()
    read_files: set[str] = set()  # files whose records this run read: a skip of the whole file from before is stale

    def fresh_container(origin: str) -> str | None:
        container = container_origin(origin)
        if container is None or container in read_files:
            return None
        read_files.add(container)
        return container

    for item in items:
        if isinstance(item, Skipped):
            store.add_skipped(item, container=fresh_container(item.origin))
            summary.skipped.append(item)
            outcome = "skipped"
        else:
            digest = raw_hash(item, options)
            container = fresh_container(item.origin)
            if store.seen_unchanged(item.origin, digest, container=container):
                summary.unchanged += 1
                outcome = "unchanged"
            else:
                prepared = _prepare_safely(item, options)
                if isinstance(prepared, Skipped):
                    store.add_skipped(prepared, container=container)
                    summary.skipped.append(prepared)
                    outcome = "skipped"
                else:
                    outcome = store.add_article(prepared, raw_hash=digest, container=container)
                    if outcome == "ingested":
                        summary.ingested += 1
                    elif outcome == "duplicate":
                        summary.duplicates += 1
                    elif outcome == "updated":
                        summary.updated += 1
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
