"""Input readers: files, directories, stdin and URLs in, one stream of :class:`Article` and :class:`Skipped` out.

One reader per format (text, html, warc, jsonl, csv), all yielding the same records; :func:`detect_format` picks the
reader (from the name and the first bytes) unless ``options.format`` forces one. Readers are generators: a file is
read as its records are consumed, and no input is held in memory whole beyond the ``max_bytes`` cap of one page or
record. Nothing is dropped silently: every input that yields no article yields a Skipped with a reason and a code
from :mod:`crosscheck.errors`. Readers leave ``text``, ``id`` and ``hash`` empty: cleaning fills them.

Origins, so a re-ingest of the same input is recognised: the path as given (``dir/sub/page.txt`` inside a directory),
``<path>#L<n>`` for JSONL lines, ``<path>#R<n>`` for CSV rows, ``<path>@<offset>`` for WARC records, the URL as given,
and ``stdin:<first 16 hex digits of the sha256 of the bytes>``.
"""

from __future__ import annotations

import dataclasses
import errno
import gzip
import hashlib
import os
import re
import stat
import sys
import urllib.parse
import zlib
from collections.abc import Iterator, Sequence
from contextlib import closing
from functools import partial
from io import BytesIO
from typing import IO

from ... import errors
from ...article import Article, Skipped
from ..options import IngestOptions
from .base import CHUNK_BYTES, GZIP_ERRORS, Source, gzip_failure, human_size, read_capped, too_large
from .csvfile import read_csv
from .detect import HEAD_BYTES, READERS, binary_kind, detect_format, gunzip_head, is_gzip, split_name
from .html import read_html
from .jsonl import read_jsonl
from .text import read_text
from .url import fetch
from .warc import read_warc

__all__ = ["Source", "container_origin", "detect_format", "read_inputs", "read_source"]

Item = Article | Skipped

_RECORD_ORIGIN = re.compile(r"(.+)(?:#[LR]\d+|@\d+)")


def container_origin(origin: str) -> str | None:
    """The file a record's origin points into (``feed.jsonl#L3`` -> ``feed.jsonl``, ``crawl.warc@512`` ->
    ``crawl.warc``), or None for an origin that is a whole input."""
    match = _RECORD_ORIGIN.fullmatch(origin)
    return match.group(1) if match else None


def read_inputs(inputs: Sequence[str], options: IngestOptions) -> Iterator[Item]:
    """Every article in the inputs, in order: paths (files, or directories read recursively in sorted order with
    hidden entries passed over), ``-`` for stdin, and ``http(s)://`` URLs."""
    if options.format is not None and options.format not in READERS:
        raise errors.InputError("E042", fmt=options.format, choices=", ".join(READERS))
    for spec in inputs:
        if spec == "-":
            yield from _read_stdin(options)
        elif spec.lower().startswith(("http://", "https://")):
            yield from _read_url(spec, options)
        else:
            yield from _read_path(spec, options)


def read_source(source: Source, options: IngestOptions, *, hint: str | None = None) -> Iterator[Item]:
    """Read one input by the reader its format needs (``options.format``, else ``hint``, else detection)."""
    try:
        with closing(source.open()) as stream:
            head = stream.read(HEAD_BYTES)
    except OSError as exc:
        yield _unreadable(source.origin, exc)
        return
    if not head:
        yield Skipped(origin=source.origin, reason="empty file (0 bytes)", code=errors.SKIP_EMPTY)
        return
    compressed = is_gzip(head)
    inner = head
    if compressed:
        try:
            inner = gunzip_head(head)
        except zlib.error as exc:
            if split_name(source.name)[0] not in (".warc", ".arc"):
                yield gzip_failure(source.origin, exc)
                return
    fmt = options.format or hint or detect_format(source.name, head)
    if fmt == "warc":
        yield from _not_silent(read_warc(source.open, origin=source.origin, options=options), source.origin, fmt)
    elif fmt in ("jsonl", "csv"):
        yield from _not_silent(_read_records(source, fmt, compressed, options), source.origin, fmt)
    elif fmt in ("text", "html"):
        yield _read_document(source, fmt, compressed, options)
    elif (over := _over_cap(source, compressed, options.max_bytes)) is not None:
        yield over  # size is checked before content, as for pages: a gzip bomb of zeros is too large, not binary
    elif fmt == "binary":
        kind = binary_kind(inner) or "not text"
        yield Skipped(origin=source.origin, reason=f"binary content, not text: {kind}", code=errors.SKIP_BINARY)
    else:
        ext = split_name(source.name)[0] or "extensionless"
        kind = binary_kind(inner) or "not text"
        yield Skipped(
            origin=source.origin,
            reason=f"no reader for '{ext}' files, and the content is not text: {kind}",
            code=errors.SKIP_UNKNOWN_FORMAT,
        )


#: Why a file of records gave no article and no skipped record, by format.
_NOTHING_IN = {
    "warc": "no page records in the archive (only requests, metadata, redirects, error pages or non-text responses)",
    "jsonl": "no records in the JSON Lines file (only blank lines)",
    "csv": "no data rows after the header",
}


def _not_silent(items: Iterator[Item], origin: str, fmt: str) -> Iterator[Item]:
    """The records of a file, or one Skipped for the file when it holds none: no input ends without an outcome."""
    found = False
    for item in items:
        found = True
        yield item
    if not found:
        yield Skipped(origin=origin, reason=_NOTHING_IN[fmt], code=errors.SKIP_EMPTY)


def _unreadable(origin: str, exc: OSError) -> Skipped:
    return Skipped(origin=origin, reason=f"cannot read: {exc.strerror or exc}", code=errors.SKIP_UNREADABLE)


def _decompressed(stream: IO[bytes], compressed: bool) -> IO[bytes]:
    if compressed:
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


def _over_cap(source: Source, compressed: bool, cap: int) -> Skipped | None:
    """A Skipped when an input is over ``cap`` bytes: by its size, or (gzip) by decompressing it in chunks."""
    if not compressed:
        return (
            too_large(source.origin, cap, size=source.size) if source.size is not None and source.size > cap else None
        )
    total = 0
    try:
        with closing(source.open()) as raw, closing(_decompressed(raw, True)) as stream:
            while total <= cap:
                chunk = stream.read(min(CHUNK_BYTES, cap + 1 - total))
                if not chunk:
                    return None
                total += len(chunk)
    except GZIP_ERRORS as exc:
        return gzip_failure(source.origin, exc)
    except OSError as exc:
        return _unreadable(source.origin, exc)
    return too_large(source.origin, cap, what="decompresses to more than")


def _read_records(source: Source, fmt: str, compressed: bool, options: IngestOptions) -> Iterator[Item]:
    """JSONL or CSV, streamed (decompressing on the fly)."""
    try:
        raw = source.open()
    except OSError as exc:
        yield _unreadable(source.origin, exc)
        return
    with closing(raw), closing(_decompressed(raw, compressed)) as stream:
        if fmt == "jsonl":
            yield from read_jsonl(stream, origin=source.origin, options=options)
        else:
            yield from read_csv(stream, origin=source.origin, name=source.name, options=options)


def _read_document(source: Source, fmt: str, compressed: bool, options: IngestOptions) -> Item:
    """One text or HTML page, read whole but never past the cap (a gzip bomb stops at ``max_bytes``)."""
    cap = options.max_bytes
    if not compressed and source.size is not None and source.size > cap:
        return too_large(source.origin, cap, size=source.size)
    try:
        with closing(source.open()) as raw, closing(_decompressed(raw, compressed)) as stream:
            data = read_capped(stream, cap)
    except GZIP_ERRORS as exc:
        return gzip_failure(source.origin, exc)
    except OSError as exc:
        return _unreadable(source.origin, exc)
    if len(data) > cap:
        what = "decompresses to more than" if compressed else "larger than"
        return too_large(source.origin, cap, what=what)
    if not data:
        return Skipped(origin=source.origin, reason="empty after decompression (0 bytes)", code=errors.SKIP_EMPTY)
    if fmt == "html":
        return read_html(
            data, origin=source.origin, url=source.url, fetched=source.fetched, http_charset=source.http_charset
        )
    return read_text(data, origin=source.origin, url=source.url, fetched=source.fetched)


# --- paths ---------------------------------------------------------------------------------------------------------


def _read_path(
    spec: str, options: IngestOptions, ancestors: frozenset[tuple[int, int]] = frozenset()
) -> Iterator[Item]:
    """A file, or a directory read recursively (``ancestors``: the directories being walked, to spot loops)."""
    try:
        info = os.stat(spec)
    except OSError as exc:
        failure = _stat_failure(spec, exc)
        # An input path as given that does not exist is an input error (a typo); inside a directory it is a skip.
        yield dataclasses.replace(failure, input_error=exc.errno == errno.ENOENT and not ancestors)
        return
    if stat.S_ISDIR(info.st_mode):
        yield from _walk(spec, info, ancestors, options)
    else:
        yield from _read_file(spec, info, options)


def _stat_failure(path: str, exc: OSError) -> Skipped:
    if exc.errno == errno.ENOENT:
        reason = "no such file or directory" if not os.path.islink(path) else "broken symbolic link"
    elif exc.errno == errno.ELOOP:
        reason = "symbolic link loop"
    else:
        reason = f"cannot read: {exc.strerror or exc}"
    return Skipped(origin=path, reason=reason, code=errors.SKIP_UNREADABLE)


def _read_file(path: str, info: os.stat_result, options: IngestOptions) -> Iterator[Item]:
    if not stat.S_ISREG(info.st_mode):
        yield Skipped(origin=path, reason="not a regular file (a device, socket or pipe)", code=errors.SKIP_UNREADABLE)
        return

    def opener() -> IO[bytes]:
        return open(path, "rb")

    yield from read_source(Source(origin=path, name=path, open=opener, size=info.st_size), options)


def _walk(
    directory: str, info: os.stat_result, ancestors: frozenset[tuple[int, int]], options: IngestOptions
) -> Iterator[Item]:
    """Files under a directory, depth first in sorted name order; hidden entries (``.name``) are passed over.

    Symbolic links are followed; one that leads back to a directory being walked is a Skipped (a loop), not an
    endless walk.
    """
    key = (info.st_dev, info.st_ino)
    if key in ancestors:
        yield Skipped(
            origin=directory,
            reason="directory symlink loop: it leads back to a directory already being read",
            code=errors.SKIP_UNREADABLE,
        )
        return
    ancestors = ancestors | {key}
    try:
        names = sorted(entry.name for entry in os.scandir(directory))
    except OSError as exc:
        yield _unreadable(directory, exc)
        return
    for name in names:
        if not name.startswith("."):
            yield from _read_path(os.path.join(directory, name), options, ancestors)


# --- stdin and URLs ------------------------------------------------------------------------------------------------


def _read_stdin(options: IngestOptions) -> Iterator[Item]:
    """Standard input, read up to the cap; its origin names the content (``stdin:<sha256 prefix>``)."""
    stdin = getattr(sys.stdin, "buffer", None)
    if stdin is None:
        yield Skipped(origin="stdin", reason="no standard input to read", code=errors.SKIP_UNREADABLE)
        return
    try:
        data = read_capped(stdin, options.max_bytes)
    except OSError as exc:
        yield _unreadable("stdin", exc)
        return
    origin = f"stdin:{hashlib.sha256(data).hexdigest()[:16]}"
    if len(data) > options.max_bytes:
        yield too_large(origin, options.max_bytes, what="standard input larger than")
        return
    yield from read_source(Source(origin=origin, name=None, open=partial(BytesIO, data), size=len(data)), options)


def _read_url(url: str, options: IngestOptions) -> Iterator[Item]:
    result = fetch(url, options)
    if isinstance(result, Skipped):
        yield result
        return
    source = Source(
        origin=url,
        name=urllib.parse.urlsplit(result.url).path,
        open=partial(BytesIO, result.body),
        size=len(result.body),
        url=result.url,
        http_charset=result.charset,
        fetched=result.fetched,
    )
    hint = "html" if result.is_html else None
    if not result.body:
        yield Skipped(origin=url, reason=f"empty response body ({human_size(0)})", code=errors.SKIP_EMPTY)
        return
    yield from read_source(source, options, hint=hint)
