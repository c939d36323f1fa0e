"""CSV and TSV (``.csv``, ``.tsv``, also gzip-compressed): a header row, then one article per row.

Columns are found by the field map (``options.fields``); a header without a text or html column is one Skipped for
the file, marked as an input error (the file yields nothing). Each physical line and each field is capped at
``max_bytes`` (the csv module's field size limit is raised to it where it is lower), so a runaway field costs bounded
memory. A bad row (wrong number of fields, over the cap, no text) is one Skipped and the rows after it go on. Origins
are ``<path>#R<row number>``: the n-th data row after the header, blank lines not counted.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import IO

from ... import errors
from ...article import Article, Skipped
from ..options import IngestOptions
from .base import CHUNK_BYTES, GZIP_ERRORS, article_from_record, gzip_failure, too_large, with_head
from .decode import detect_encoding
from .detect import HEAD_BYTES, bom_encoding, split_name


class _LineTooLong(Exception):
    """A physical line over the cap (already read past, in bounded chunks)."""


class _CappedLines:
    """The lines of a text stream; a line over ``cap`` characters raises :class:`_LineTooLong` once, after its end
    (read past in chunks), and the lines after it go on."""

    def __init__(self, text: IO[str], cap: int) -> None:
        self._text = text
        self._cap = cap

    def __iter__(self) -> _CappedLines:
        return self

    def __next__(self) -> str:
        line = self._text.readline(self._cap + 1)
        if not line:
            raise StopIteration
        if len(line) > self._cap and not line.endswith("\n"):
            while True:
                rest = self._text.readline(CHUNK_BYTES)
                if not rest or rest.endswith("\n"):
                    break
            raise _LineTooLong
        return line


def csv_encoding(head: bytes) -> str | None:
    """The encoding of a CSV file from its first bytes: BOM, else UTF-8, else detection; None when nothing fits."""
    found = bom_encoding(head)
    if found is not None:
        return found[0]
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"  # a multi-byte character cut by the end of the head
    return detect_encoding(head)


def _delimiter(name: str | None, header_line: str) -> str:
    ext, _ = split_name(name)
    if ext == ".tsv":
        return "\t"
    if "," not in header_line and "\t" in header_line:
        return "\t"
    if "," not in header_line and ";" in header_line:
        return ";"
    return ","


def read_csv(
    stream: IO[bytes], *, origin: str, name: str | None, options: IngestOptions
) -> Iterator[Article | Skipped]:
    """Articles from a CSV/TSV stream (decompressed already), one Skipped per bad row."""
    cap = options.max_bytes
    try:
        head, buffered = with_head(stream, HEAD_BYTES)
    except GZIP_ERRORS as exc:
        yield gzip_failure(origin, exc)
        return
    encoding = csv_encoding(head)
    if encoding is None:
        yield Skipped(
            origin=origin, reason="not UTF-8 and no other encoding fits the header", code=errors.SKIP_ENCODING
        )
        return
    if encoding == "utf-8":
        encoding = "utf-8-sig"
    text = io.TextIOWrapper(buffered, encoding=encoding, newline="")
    # The csv module refuses fields over its limit (128 KB by default); raise it to the cap, never lower it.
    if csv.field_size_limit() < cap:
        csv.field_size_limit(cap)
    lines = _CappedLines(text, cap)
    row_number = 0
    try:
        try:
            first = next(lines)
        except StopIteration:
            yield Skipped(origin=origin, reason="no header row (the file is empty)", code=errors.SKIP_EMPTY)
            return
        except _LineTooLong:
            yield too_large(origin, cap, what="header line longer than")
            return
        delimiter = _delimiter(name, first)
        header = next(csv.reader([first], delimiter=delimiter), [])
        header = [column.strip() for column in header]
        fields = options.fields
        if fields.text not in header and fields.html not in header:
            yield Skipped(
                origin=origin,
                reason=f"no '{fields.text}' or '{fields.html}' column in the header "
                f"(columns: {', '.join(header[:12])})",
                code=errors.SKIP_MALFORMED,
                input_error=True,
            )
            return
        reader = csv.reader(lines, delimiter=delimiter)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except _LineTooLong:
                row_number += 1
                yield too_large(f"{origin}#R{row_number}", cap, what="line longer than")
                reader = csv.reader(lines, delimiter=delimiter)  # a fresh parser: the old one may be mid-field
                continue
            except csv.Error as exc:
                row_number += 1
                where = f"{origin}#R{row_number}"
                if "field larger than field limit" in str(exc):
                    yield too_large(where, cap, what="field larger than")
                else:
                    yield Skipped(origin=where, reason=f"bad CSV row: {exc}", code=errors.SKIP_MALFORMED)
                continue
            if not row:
                continue
            row_number += 1
            where = f"{origin}#R{row_number}"
            if len(row) != len(header):
                yield Skipped(
                    origin=where,
                    reason=f"row has {len(row)} fields, the header has {len(header)}",
                    code=errors.SKIP_MALFORMED,
                )
                continue
            if sum(len(value) for value in row) > cap:
                yield too_large(where, cap, what="row larger than")
                continue
            yield article_from_record(dict(zip(header, row, strict=True)), origin=where, fields=fields)
    except UnicodeDecodeError as exc:
        yield Skipped(
            origin=f"{origin}#R{row_number + 1}",
            reason=f"not {codecs.lookup(encoding).name} from row {row_number + 1} on ({exc.reason}); "
            "the rest of the file is not read",
            code=errors.SKIP_ENCODING,
        )
    except GZIP_ERRORS as exc:
        yield gzip_failure(origin, exc, after=f"row {row_number}")
    except OSError as exc:
        yield Skipped(origin=origin, reason=f"read failed after row {row_number}: {exc}", code=errors.SKIP_UNREADABLE)
