"""Web archives (``.warc``, ``.warc.gz``, ``.arc``, ``.arc.gz``), streamed record by record with warcio.

A record becomes an Article when it is a ``response`` with HTTP status 200 (or a ``resource``) whose content type is
HTML (``raw_format="html"``) or plain text (``raw_format="text"``); ``url`` is its target URI, ``fetched`` its
WARC-Date, ``origin`` ``<path>@<record offset>``. Other records (requests, metadata, redirects, error pages, images,
scripts) are parts of the crawl, not articles, and are passed over. A record over ``max_bytes`` is one Skipped. An
archive that ends early gives every complete record, then one Skipped(truncated) for the rest.

Only one record's payload (at most ``max_bytes``) is held at a time, so an archive of any size reads in bounded memory.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from ... import errors
from ...article import Article, Skipped
from ..options import IngestOptions
from .base import GZIP_ERRORS, gzip_failure, too_large, with_head
from .detect import HEAD_BYTES, gunzip_head, is_gzip
from .html import read_html
from .text import read_text

#: Content types read as HTML pages and as plain-text pages.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain"})

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']+)", re.IGNORECASE)


#: What warcio raises on damaged records: its own error, and plain errors from parsing cut or garbled headers (a
#: header line without a value gives AttributeError/ValueError deep in its loader; a Content-Length over 2**63
#: gives OverflowError when it is used as a read limit).
_DAMAGED: tuple[type[BaseException], ...] = (
    ArchiveLoadFailed,
    AttributeError,
    ValueError,
    KeyError,
    IndexError,
    OverflowError,
)


class _CountingReader:
    """A file wrapper that counts the bytes read, so the end of the last whole record can be checked against it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data

    def tell(self) -> int:
        return self.count

    def close(self) -> None:
        self._stream.close()


def split_content_type(value: str | None) -> tuple[str, str | None]:
    """``"text/html; charset=windows-1251"`` -> ``("text/html", "windows-1251")``."""
    if not value:
        return "", None
    mime = value.split(";", 1)[0].strip().lower()
    match = _CHARSET.search(value)
    return mime, (match.group(1) if match else None)


def _arc_date(value: str | None) -> str | None:
    """An ARC ``archive-date`` (14 digits) as ISO 8601, or the value itself when it is already a date."""
    if value and len(value) == 14 and value.isdigit():
        try:
            stamp = dt.datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
        except ValueError:
            return None
        return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")
    return value or None


def _record_item(record: Any, options: IngestOptions) -> Article | Skipped | None:
    """The Article (or Skipped) for one record, with a placeholder origin; None for records that are not pages."""
    if record.rec_type == "response":
        http = record.http_headers
        if http is None or http.get_statuscode() != "200":
            return None
        content_type = http.get_header("Content-Type")
    elif record.rec_type == "resource":
        content_type = record.rec_headers.get_header("Content-Type")
    else:
        return None
    mime, charset = split_content_type(content_type)
    if mime not in HTML_TYPES and mime not in TEXT_TYPES:
        return None
    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI") or headers.get_header("uri")
    fetched = headers.get_header("WARC-Date") or _arc_date(headers.get_header("archive-date"))
    payload = record.content_stream().read(options.max_bytes + 1)
    if len(payload) > options.max_bytes:
        return too_large("", options.max_bytes, what="record payload larger than")
    if mime in HTML_TYPES:
        return read_html(payload, origin="", url=url, fetched=fetched, http_charset=charset)
    return read_text(payload, origin="", url=url, fetched=fetched)


def _plural(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"


def read_warc(
    open_stream: Callable[[], IO[bytes]], *, origin: str, options: IngestOptions
) -> Iterator[Article | Skipped]:
    """Articles from a WARC/ARC file (gzip-compressed or not), one Skipped per oversized record, one for a cut end."""
    try:
        raw = open_stream()
    except OSError as exc:
        yield Skipped(origin=origin, reason=f"cannot open: {exc.strerror or exc}", code=errors.SKIP_UNREADABLE)
        return
    with closing(raw):
        try:
            head, stream = with_head(raw, HEAD_BYTES)
            start = gunzip_head(head) if is_gzip(head) else head
        except (OSError, zlib.error) as exc:
            yield Skipped(origin=origin, reason=f"not a WARC/ARC file: {exc}", code=errors.SKIP_MALFORMED)
            return
        if not start.startswith((b"WARC/", b"filedesc://")):
            shown = start[:24].decode("utf-8", "replace")
            yield Skipped(
                origin=origin,
                reason=f"not a WARC/ARC file: it starts with {shown!r}, not a WARC/ARC record header",
                code=errors.SKIP_MALFORMED,
            )
            return
        counting = _CountingReader(stream)
        archive = ArchiveIterator(counting)
        complete = 0
        try:
            for record in archive:
                item = _record_item(record, options)
                offset = archive.get_record_offset()  # reads the rest of the record
                declared = (record.rec_headers.get_header("Content-Length") or "").strip()
                if record.format.startswith("warc") and not declared.isdigit():
                    yield Skipped(
                        origin=f"{origin}@{offset}",
                        reason=f"WARC truncated after {_plural(complete)}: the record header at offset {offset} is "
                        "incomplete (no Content-Length; the archive is cut or damaged here)",
                        code=errors.SKIP_TRUNCATED,
                    )
                    return
                stream = record.raw_stream
                missing = getattr(stream, "limit", 0)
                if missing > 0:  # the block ends before its Content-Length
                    length = int(declared) if declared.isdigit() else missing
                    yield Skipped(
                        origin=f"{origin}@{offset}",
                        reason=f"WARC truncated after {_plural(complete)}: the record at offset {offset} has "
                        f"{length - missing} of its {length} bytes (unexpected end of stream)",
                        code=errors.SKIP_TRUNCATED,
                    )
                    return
                decompressor = archive.reader.decompressor if archive.reader is not None else None
                if decompressor is not None and not decompressor.eof:  # data whole, gzip member not
                    yield Skipped(
                        origin=f"{origin}@{offset}",
                        reason=f"WARC truncated after {_plural(complete)}: the gzip member of the record at offset "
                        f"{offset} ends early (unexpected end of gzip stream)",
                        code=errors.SKIP_TRUNCATED,
                    )
                    return
                complete += 1
                if item is not None:
                    yield dataclasses.replace(item, origin=f"{origin}@{offset}")
        except _DAMAGED as exc:
            message = " ".join(str(exc).split())[:200] or type(exc).__name__
            code = errors.SKIP_MALFORMED if complete == 0 else errors.SKIP_TRUNCATED
            what = "not a WARC/ARC file" if complete == 0 else f"WARC damaged after {_plural(complete)}"
            yield Skipped(origin=origin, reason=f"{what}: {message}", code=code)
            return
        except GZIP_ERRORS as exc:
            yield gzip_failure(origin, exc, after=_plural(complete))
            return
        except OSError as exc:
            yield Skipped(
                origin=origin,
                reason=f"read failed after {_plural(complete)}: {exc}",
                code=errors.SKIP_UNREADABLE,
            )
            return
        end = archive.offset  # the end of the last whole record (and the blank lines after it)
        if counting.count > end:
            yield Skipped(
                origin=f"{origin}@{end}",
                reason=f"WARC truncated after {_plural(complete)}: {counting.count - end} bytes at offset {end} are "
                "not a complete record (unexpected end of gzip stream or record header)",
                code=errors.SKIP_TRUNCATED,
            )
