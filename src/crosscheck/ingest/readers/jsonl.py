"""JSON Lines (``.jsonl``, ``.ndjson``, also gzip-compressed): one article per object, fields by ``options.fields``.

Each line is read with a cap (``max_bytes``), so one runaway line costs bounded memory; a bad line (not JSON, not an
object, no text/html field, over the cap, not UTF-8) is one Skipped and the lines after it go on. Blank lines are
passed over. Origins are ``<path>#L<line number>`` (1-based, blank lines counted).

A file whose objects have no text or html field at all (a wrong ``--text-field``) is one Skipped for the file, as a CSV
header without those columns is, marked as an input error: lines are held back (at most :data:`MAX_HELD_LINES`) until
an object with one of those fields shows the file is usable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from ... import errors
from ...article import Article, Skipped
from ..options import IngestOptions
from .base import CHUNK_BYTES, GZIP_ERRORS, article_from_record, gzip_failure, has_story_field, too_large

#: Lines held back (as their Skipped records, a few hundred bytes each) while no object with a text or html field has
#: been seen. When that many are held and some are objects without those fields, the file has none: one Skipped for
#: it, and the rest is not read. A thousand lines is far past the header or metadata lines an export may start with.
MAX_HELD_LINES = 1000


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
    """Articles from a JSON Lines stream (decompressed already), one Skipped per bad line, or one for a file with no
    text or html field in any object."""
    fields = options.fields
    lines = _read_lines(stream, origin=origin, options=options)
    held: list[tuple[Article | Skipped, bool]] = []  # (item, an object without a text or html field)
    first_keys: list[str] | None = None
    for item, value in lines:
        if value is not None and has_story_field(value, fields):  # usable: every line is its own outcome from here
            yield from (held_item for held_item, _ in held)
            yield item
            yield from (rest for rest, _ in lines)
            return
        if value is not None and first_keys is None:
            first_keys = [str(key) for key in list(value)[:12]]
        held.append((item, value is not None))
        if len(held) >= MAX_HELD_LINES:
            break
    fieldless = sum(1 for _, no_field in held if no_field)
    ended_badly = bool(held) and held[-1][0].origin == origin  # a read failure of the whole file comes last
    if not fieldless or ended_badly:
        yield from (item for item, _ in held)
        yield from (rest for rest, _ in lines)
        return
    yield from (item for item, no_field in held if not no_field)
    complete = len(held) < MAX_HELD_LINES
    scope = f"any of its {fieldless}" if complete else f"the first {fieldless}"
    rest = "" if complete else "; the rest of the file is not read"
    yield Skipped(
        origin=origin,
        reason=f"no '{fields.text}' or '{fields.html}' field in {scope} JSON objects "
        f"(fields: {', '.join(first_keys or [])}){rest}",
        code=errors.SKIP_MALFORMED,
        input_error=True,
    )


def _read_lines(
    stream: IO[bytes], *, origin: str, options: IngestOptions
) -> Iterator[tuple[Article | Skipped, dict[str, Any] | None]]:
    """Each line's Article or Skipped, with the JSON object it held (None for a line that was not one)."""
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
                yield too_large(where, cap, what="line longer than"), None
                continue
            if line_number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                yield (
                    Skipped(
                        origin=where, reason=f"invalid UTF-8 at byte {exc.start} of the line", code=errors.SKIP_ENCODING
                    ),
                    None,
                )
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                reason = f"invalid JSON: {exc.msg} (column {exc.colno})"
                yield Skipped(origin=where, reason=reason, code=errors.SKIP_MALFORMED), None
                continue
            except RecursionError:
                yield Skipped(origin=where, reason="invalid JSON: nested too deeply", code=errors.SKIP_MALFORMED), None
                continue
            if not isinstance(value, dict):
                yield (
                    Skipped(origin=where, reason=f"{_kind(value)}, not a JSON object", code=errors.SKIP_MALFORMED),
                    None,
                )
                continue
            yield article_from_record(value, origin=where, fields=options.fields), value
    except GZIP_ERRORS as exc:
        yield gzip_failure(origin, exc, after=f"line {line_number}"), None
    except OSError as exc:
        reason = f"read failed after line {line_number}: {exc}"
        yield Skipped(origin=origin, reason=reason, code=errors.SKIP_UNREADABLE), None
