"""JSON Lines (``.jsonl``, ``.ndjson``, also gzip-compressed): one article per object, fields by ``options.fields``.

Each line is read with a cap (``max_bytes``), so one runaway line costs bounded memory; a bad line (not JSON, not an
object, no text/html field, over the cap, not UTF-8) is one Skipped and the lines after it go on. Blank lines are
passed over. Origins are ``<path>#L<line number>`` (1-based, blank lines counted).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO

from ... import errors
from ...article import Article, Skipped
from ..options import IngestOptions
from .base import CHUNK_BYTES, GZIP_ERRORS, article_from_record, gzip_failure, too_large


def _drain_line(stream: IO[bytes]) -> None:
    """Read to the end of the current line, a chunk at a time."""
    while True:
        chunk = stream.readline(CHUNK_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "a JSON string"
    if value is None:
        return "JSON null"
    if isinstance(value, bool):
        return "a JSON boolean"
    return "a JSON number"


def read_jsonl(stream: IO[bytes], *, origin: str, options: IngestOptions) -> Iterator[Article | Skipped]:
    """Articles from a JSON Lines stream (decompressed already), one Skipped per bad line."""
    line_number = 0
    cap = options.max_bytes
    try:
        while True:
            line = stream.readline(cap + 1)
            if not line:
                return
            line_number += 1
            where = f"{origin}#L{line_number}"
            if len(line) > cap and not line.endswith(b"\n"):
                _drain_line(stream)
                yield too_large(where, cap, what="line longer than")
                continue
            if line_number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                yield Skipped(
                    origin=where, reason=f"invalid UTF-8 at byte {exc.start} of the line", code=errors.SKIP_ENCODING
                )
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Skipped(
                    origin=where, reason=f"invalid JSON: {exc.msg} (column {exc.colno})", code=errors.SKIP_MALFORMED
                )
                continue
            except RecursionError:
                yield Skipped(origin=where, reason="invalid JSON: nested too deeply", code=errors.SKIP_MALFORMED)
                continue
            if not isinstance(value, dict):
                yield Skipped(origin=where, reason=f"{_kind(value)}, not a JSON object", code=errors.SKIP_MALFORMED)
                continue
            yield article_from_record(value, origin=where, fields=options.fields)
    except GZIP_ERRORS as exc:
        yield gzip_failure(origin, exc, after=f"line {line_number}")
    except OSError as exc:
        yield Skipped(origin=origin, reason=f"read failed after line {line_number}: {exc}", code=errors.SKIP_UNREADABLE)
