"""Which reader an input needs: one decision, from the file name and the first bytes (:func:`detect_format`)."""

from __future__ import annotations

import codecs
import json
import re
import zlib
from functools import cache
from importlib import resources
from typing import Any

#: Bytes looked at to pick a reader (and to tell text from binary).
HEAD_BYTES = 8192
GZIP_MAGIC = b"\x1f\x8b"

#: Reader names, as ``IngestOptions.format`` takes them.
READERS = ("text", "html", "warc", "jsonl", "csv")

#: Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

#: C0 control characters that do not occur in text (tab, line feed, vertical tab, form feed, carriage return and
#: escape do), plus DEL.
_CONTROL = bytes([*range(0, 9), 14, 15, *range(16, 27), 28, 29, 30, 31, 127])
#: Share of control characters in the first bytes above which content is binary. Scraped text has none, or a stray
#: form feed or two (well under 0.1%); binary formats without a NUL byte in their first 8 KB are rare, and those
#: checked (bzip2 streams, Latin-1 encoded images) are well above 5%.
MAX_CONTROL_SHARE = 0.05

_HTML_START = re.compile(
    r"\A(?:\s|<!--.*?-->|<\?xml[^>]*>)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL
)
_HTML_ANYWHERE = re.compile(r"<(?:!doctype\s+html|html|head|body)\b|<meta\s[^>]*charset", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"</?(?:p|div|span|a|br|hr|h[1-6]|article|section|header|footer|nav|main|ul|ol|li|table|tr|td|img|script|"
    r"style|link|meta|title|strong|em|b|i|blockquote|figure)\b[^>]*>",
    re.IGNORECASE,
)
#: Markup tags in the first 8 KB of a page that starts with ``<`` but has no <html>/<body> (a scraped fragment).
MIN_FRAGMENT_TAGS = 3


@cache
def format_data() -> dict[str, Any]:
    """The format tables in ``data/ingest_formats.json`` (extensions, binary signatures, encoding preference)."""
    text = resources.files("crosscheck").joinpath("data/ingest_formats.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _signatures() -> tuple[tuple[bytes, str], ...]:
    return tuple((bytes.fromhex(item["hex"]), item["name"]) for item in format_data()["binary_signatures"])


def split_name(name: str | None) -> tuple[str, bool]:
    """The lower-case extension of a file name once a ``.gz`` suffix is taken off, and whether it had one.

    ``story.HTML.gz`` -> ``(".html", True)``; ``crawl.warc.gz`` -> ``(".warc", True)``; ``README`` -> ``("", False)``.
    """
    if not name:
        return "", False
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    compressed = False
    for suffix in format_data()["compressed_suffixes"]:
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            compressed = True
            break
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem:  # no dot, or a dot-file such as ".profile"
        return "", compressed
    return "." + ext, compressed


def is_gzip(head: bytes) -> bool:
    return head.startswith(GZIP_MAGIC)


def gunzip_head(head: bytes) -> bytes:
    """The first decompressed bytes of a gzip stream whose first (compressed) bytes are ``head``.

    Raises ``zlib.error`` when the data is not a valid gzip stream.
    """
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, HEAD_BYTES)


def bom_encoding(data: bytes) -> tuple[str, int] | None:
    """The encoding a byte-order mark names, and the mark's length; None without a mark."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return None


def binary_kind(head: bytes) -> str | None:
    """What makes content binary, in words (a file signature, NUL bytes, control characters); None for text."""
    if not head:
        return None
    for signature, name in _signatures():
        if head.startswith(signature):
            return name
    if bom_encoding(head) is not None:
        return None  # UTF-16/32 text has NUL bytes by design
    nul = head.find(b"\x00")
    if nul >= 0:
        return f"NUL bytes (the first at byte {nul})"
    controls = len(head) - len(head.translate(None, _CONTROL))
    share = controls / len(head)
    if share > MAX_CONTROL_SHARE:
        return f"control characters ({share:.0%} of the first {len(head)} bytes)"
    return None


def head_text(head: bytes) -> str:
    """The first bytes as text for sniffing (BOM-aware; undecodable bytes replaced)."""
    found = bom_encoding(head)
    if found is not None:
        decoder = codecs.getincrementaldecoder(found[0])(errors="replace")  # these codecs consume the BOM
        return decoder.decode(head)
    return head.decode("utf-8", errors="replace")


def looks_like_html(text: str, *, strict: bool = False) -> bool:
    """Whether text is HTML: it starts with a doctype/<html>/<head>/<body> tag, or (``strict=False``) starts with
    ``<`` and has such a tag later, a <meta charset>, or at least :data:`MIN_FRAGMENT_TAGS` common tags."""
    if _HTML_START.match(text):
        return True
    if strict or not text.lstrip().startswith("<"):
        return False
    return bool(_HTML_ANYWHERE.search(text)) or len(_HTML_TAG.findall(text)) >= MIN_FRAGMENT_TAGS


def looks_like_jsonl(text: str, *, complete: bool) -> bool:
    """Whether the first non-blank line is a JSON object (``complete``: the text holds the whole input)."""
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return False
    line, newline, _ = stripped.partition("\n")
    if newline or complete:
        try:
            return isinstance(json.loads(line), dict)
        except ValueError:
            return False
    return stripped.startswith('{"')  # a first line longer than the head: a JSON object with a string key


def _is_archive_start(head: bytes) -> bool:
    return head.startswith((b"WARC/1.", b"WARC/0.", b"filedesc://"))


def detect_format(path: str | None, head: bytes) -> str:
    """The reader for an input: ``text``, ``html``, ``warc``, ``jsonl`` or ``csv``; or ``binary`` (content that is not
    text, under a text name or none) or ``unknown`` (a name no reader handles, with content that is not text).

    ``path`` is a file name or URL path (None for stdin); ``head`` the first bytes as stored (at most
    :data:`HEAD_BYTES` are used; a gzip stream is looked into). The order:

    1. a WARC/ARC header at the start, or a ``.warc``/``.arc`` name -> ``warc`` (archives may hold binary records);
    2. binary content (a known file signature, NUL bytes, control characters) -> ``binary``, or ``unknown`` for an
       extension no reader handles;
    3. ``.jsonl``/``.ndjson`` -> ``jsonl``; ``.csv``/``.tsv`` -> ``csv``; ``.html``/``.htm`` -> ``html``;
    4. ``.txt``/``.text`` -> ``text``, unless the content starts as an HTML document (``<!doctype html>``, ``<html>``);
    5. any other name: HTML markup -> ``html``; a JSON object on the first line -> ``jsonl``; otherwise ``text``.
    """
    head = head[:HEAD_BYTES]
    complete = len(head) < HEAD_BYTES
    if is_gzip(head):
        try:
            head = gunzip_head(head)
        except zlib.error:
            head = b""
        complete = False
    ext, _ = split_name(path)
    by_extension: str | None = format_data()["extensions"].get(ext)
    if by_extension == "warc" or _is_archive_start(head):
        return "warc"
    if binary_kind(head) is not None:
        return "binary" if by_extension is not None or not ext else "unknown"
    if by_extension in ("jsonl", "csv", "html"):
        return by_extension
    text = head_text(head)
    if by_extension == "text":
        return "html" if looks_like_html(text, strict=True) else "text"
    if looks_like_html(text):
        return "html"
    if looks_like_jsonl(text, complete=complete):
        return "jsonl"
    return "text"
