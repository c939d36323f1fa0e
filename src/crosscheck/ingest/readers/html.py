"""HTML pages (``.html``, ``.htm``, or content that looks like HTML): bytes -> one Article with ``raw_format="html"``.

The page is decoded here (BOM, HTTP charset, <meta> charset, UTF-8, detection) and passed on as is: malformed markup
is the cleaner's business, not a reason to skip.
"""

from __future__ import annotations

from ... import errors
from ...article import Article, Skipped
from .decode import DecodeError, decode_html
from .detect import HEAD_BYTES, binary_kind


def read_html(
    data: bytes,
    *,
    origin: str,
    url: str | None = None,
    fetched: str | None = None,
    http_charset: str | None = None,
) -> Article | Skipped:
    """One HTML page. Binary content, bytes no encoding fits, and whitespace-only pages are Skipped."""
    kind = binary_kind(data[:HEAD_BYTES])
    if kind is not None:
        return Skipped(origin=origin, reason=f"binary content, not HTML: {kind}", code=errors.SKIP_BINARY)
    try:
        html = decode_html(data, http_charset=http_charset)
    except DecodeError as exc:
        return Skipped(origin=origin, reason=str(exc), code=errors.SKIP_ENCODING)
    if not html.strip():
        return Skipped(origin=origin, reason=f"only whitespace ({len(data)} bytes)", code=errors.SKIP_EMPTY)
    return Article(raw=html, origin=origin, raw_format="html", url=url, fetched=fetched)
