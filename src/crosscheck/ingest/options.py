"""One options object for reading and cleaning inputs (trafilatura-style: every knob in one place)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Largest input read, in bytes, after decompression (a page, a JSONL line's text, a WARC record's body).
#: 20 MB is far above any real article page (the largest page of trafilatura's evaluation set is under 2 MB), low
#: enough to stop gzip bombs and runaway records.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

USER_AGENT = "Crosscheck/0.1 (offline war-reporting analysis)"


@dataclass(frozen=True)
class FieldMap:
    """Which fields of a JSONL object or CSV row hold what. ``text`` or ``html`` must be present in a record."""

    text: str = "text"
    html: str = "html"
    url: str = "url"
    title: str = "title"
    published: str = "published"
    outlet: str = "outlet"


@dataclass(frozen=True)
class IngestOptions:
    max_bytes: int = DEFAULT_MAX_BYTES
    fields: FieldMap = field(default_factory=FieldMap)
    fetch_timeout: float = 20.0
    user_agent: str = USER_AGENT
    #: Force a reader for every input (text, html, warc, jsonl, csv); None picks by extension and content.
    format: str | None = None
    #: Keep boilerplate-removed pieces in the record (offsets into raw); the raw text is always stored.
    record_removed: bool = True
