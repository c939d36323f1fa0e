"""Plain-text pages (``.txt``, ``.text``, extensionless text): bytes -> one Article with ``raw_format="text"``."""

from __future__ import annotations

from ... import errors
from ...article import Article, Skipped
from .decode import DecodeError, decode_text
from .detect import HEAD_BYTES, binary_kind


def read_text(data: bytes, *, origin: str, url: str | None = None, fetched: str | None = None) -> Article | Skipped:
    """One text page. Binary content, bytes no encoding fits, and whitespace-only text are Skipped."""
    kind = binary_kind(data[:HEAD_BYTES])
    if kind is not None:
        return Skipped(origin=origin, reason=f"binary content, not text: {kind}", code=errors.SKIP_BINARY)
    try:
        text = decode_text(data)
    except DecodeError as exc:
        return Skipped(origin=origin, reason=str(exc), code=errors.SKIP_ENCODING)
    if not text.strip():
        return Skipped(origin=origin, reason=f"only whitespace ({len(data)} bytes)", code=errors.SKIP_EMPTY)
    return Article(raw=text, origin=origin, raw_format="text", url=url, fetched=fetched)
