"""Pieces every reader shares: the input source, capped reads, sizes in words, records from field maps."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from ... import errors
from ...article import Article, Skipped
from ..options import FieldMap

#: Bytes read per call when streaming (large enough to keep calls few, small enough to keep memory flat).
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Source:
    """One input as stored: how to open its bytes afresh, and what is known about it before reading."""

    origin: str  # a path, a URL, or ``stdin:<sha256 prefix>``
    name: str | None  # a file name or URL path, for picking a reader by extension; None for stdin
    open: Callable[[], IO[bytes]]  # a new binary stream of the bytes as stored (still compressed, if they are)
    size: int | None = None  # stored size in bytes, when known without reading (files)
    url: str | None = None
    http_charset: str | None = None  # the charset of an HTTP Content-Type header
    fetched: str | None = None  # when the bytes were fetched, ISO 8601


def human_size(n: int) -> str:
    """``1536`` -> ``1.5 KB``; ``20971520`` -> ``20 MB`` (binary multiples, as ``max_bytes`` is set)."""
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            text = f"{value:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    raise AssertionError("unreachable")


def too_large(origin: str, max_bytes: int, what: str = "larger than", size: int | None = None) -> Skipped:
    """The Skipped record for an input over the size cap; ``size`` when it is known."""
    known = f" ({human_size(size)})" if size is not None else ""
    return Skipped(
        origin=origin,
        reason=f"{what} the {human_size(max_bytes)} cap (max_bytes){known}",
        code=errors.SKIP_TOO_LARGE,
    )


def read_capped(stream: IO[bytes], cap: int) -> bytes:
    """Read at most ``cap + 1`` bytes, in chunks: a result longer than ``cap`` means the input is over the cap."""
    chunks: list[bytes] = []
    total = 0
    while total <= cap:
        chunk = stream.read(min(CHUNK_BYTES, cap + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


class PrefixedReader(io.RawIOBase):
    """A raw stream that serves ``prefix`` (bytes already read for sniffing) and then the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: IO[bytes]) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def with_head(stream: IO[bytes], size: int) -> tuple[bytes, io.BufferedReader]:
    """The first ``size`` bytes of a stream, and a buffered stream that still starts at the beginning."""
    head = stream.read(size)
    return head, io.BufferedReader(PrefixedReader(head, stream), buffer_size=CHUNK_BYTES)


def gzip_failure(origin: str, exc: BaseException, *, after: str = "") -> Skipped:
    """A Skipped record for a gzip stream that ends early (truncated) or holds damaged data (malformed)."""
    where = f" after {after}" if after else ""
    if isinstance(exc, EOFError):
        return Skipped(
            origin=origin,
            reason=f"gzip stream truncated{where}: unexpected end of gzip stream ({exc})",
            code=errors.SKIP_TRUNCATED,
        )
    return Skipped(
        origin=origin, reason=f"damaged gzip data{where}: {type(exc).__name__}: {exc}", code=errors.SKIP_MALFORMED
    )


#: What gzip and zlib raise on truncated or damaged data.
GZIP_ERRORS: tuple[type[BaseException], ...] = (EOFError, gzip.BadGzipFile, zlib.error)


def lookup(record: Mapping[str, Any], key: str) -> Any:
    """``record[key]``, or a dotted path into nested objects (``meta.url``) when the key itself is absent."""
    if key in record:
        return record[key]
    value: Any = record
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


#: Lone UTF-16 surrogates: JSON can spell them (``"\ud800"``), UTF-8 (and so SQLite) cannot store them.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_text(value: str) -> str:
    """``value`` with any lone surrogate replaced by U+FFFD, so it can be hashed and stored."""
    return _LONE_SURROGATE.sub("\ufffd", value)


def _scalar(value: Any) -> str | None:
    """A metadata value as text; None for missing, empty, or structured (list/object) values."""
    if value is None or isinstance(value, (list, dict, bool)):
        return None
    text = _valid_text(str(value)).strip()
    return text or None


def _published(value: Any) -> str | None:
    """A date field as text; numbers are read as Unix timestamps (seconds, or milliseconds when too large)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973
            seconds /= 1000
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).isoformat(timespec="seconds")
        except (OverflowError, OSError, ValueError):
            return None
    return _scalar(value)


def has_story_field(record: Mapping[str, Any], fields: FieldMap) -> bool:
    """Whether a record has the text or the html field at all (empty or not a string still counts: it is there)."""
    return lookup(record, fields.text) is not None or lookup(record, fields.html) is not None


def article_from_record(record: Mapping[str, Any], *, origin: str, fields: FieldMap) -> Article | Skipped:
    """An Article from one JSONL object or CSV row, by the field map.

    ``text`` wins over ``html`` when a record has both (a producer that extracted the text did so on purpose).
    """
    empty: list[str] = []
    for key, raw_format in ((fields.text, "text"), (fields.html, "html")):
        value = lookup(record, key)
        if value is None:
            continue
        if not isinstance(value, str):
            return Skipped(
                origin=origin,
                reason=f"field '{key}' holds a {type(value).__name__}, not a string",
                code=errors.SKIP_MALFORMED,
            )
        if not value.strip():
            empty.append(key)
            continue
        return Article(
            raw=_valid_text(value),
            origin=origin,
            raw_format=raw_format,
            url=_scalar(lookup(record, fields.url)),
            title=_scalar(lookup(record, fields.title)),
            published=_published(lookup(record, fields.published)),
            outlet=_scalar(lookup(record, fields.outlet)),
            record=True,
        )
    if empty:
        return Skipped(origin=origin, reason=f"field '{empty[0]}' is empty", code=errors.SKIP_EMPTY)
    return Skipped(
        origin=origin,
        reason=f"no '{fields.text}' or '{fields.html}' field (fields: {', '.join(map(str, list(record)[:12]))})",
        code=errors.SKIP_MALFORMED,
    )
