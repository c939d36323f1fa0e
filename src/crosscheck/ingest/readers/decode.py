"""Bytes to text: byte-order marks, declared charsets (HTTP, <meta>), UTF-8, then detection with charset-normalizer."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from .detect import bom_encoding, format_data

#: charset-normalizer results whose mess ratio ("chaos") is within this much of the best are taken as ties and
#: decided by ``encoding_preference`` in data/ingest_formats.json. Latin-1 French decodes as cp1250, cp1252 and
#: cp1257 with the same ratio (0.0), and short cp1251 Russian as cp1125, cp1251 and cp866; real mis-decodings score
#: 0.1 and more.
TIE_CHAOS = 0.01
#: Best mess ratio above which no detected encoding is trusted (charset-normalizer's own default cut-off).
MAX_CHAOS = 0.2

#: Bytes of an HTML page searched for a <meta> charset declaration (the HTML standard's prescan reads 1024; pages
#: with long <head> scripts put it later, so allow more).
META_SCAN_BYTES = 4096
_META_CHARSET = re.compile(
    rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)

#: Labels that the HTML standard maps to another decoder (browsers decode "iso-8859-1" pages as windows-1252).
_HTML_LABELS = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "x-user-defined": "cp1252",
    "utf-16": "utf-8",  # a page that declares UTF-16 but has no BOM is UTF-8 (HTML standard)
    "utf-16le": "utf-8",
    "utf-16be": "utf-8",
}


class DecodeError(ValueError):
    """Bytes that decode in no encoding tried; the message says which were tried and where they failed."""


def normalise_charset(label: str | None, *, html: bool = False) -> str | None:
    """A Python codec name for a charset label, or None when Python knows no such codec."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if html:
        label = _HTML_LABELS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def meta_charset(data: bytes) -> str | None:
    """The charset a <meta charset> or <meta http-equiv="Content-Type"> tag declares near the start of a page."""
    match = _META_CHARSET.search(data[:META_SCAN_BYTES])
    return match.group(1).decode("ascii") if match else None


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def detect_encoding(data: bytes) -> str | None:
    """The encoding charset-normalizer finds most plausible, ties broken by ``encoding_preference``; None when no
    encoding decodes the bytes with a mess ratio under :data:`MAX_CHAOS`."""
    results = list(from_bytes(data))
    if not results:
        return None
    best = min(result.chaos for result in results)
    if best > MAX_CHAOS:
        return None
    preference = [codecs.lookup(name).name for name in format_data()["encoding_preference"]]

    def rank(encoding: str) -> int:
        name = codecs.lookup(encoding).name
        return preference.index(name) if name in preference else len(preference)

    tied = [result.encoding for result in results if result.chaos <= best + TIE_CHAOS]
    return min(tied, key=rank)


def _undecodable(data: bytes, tried: list[str]) -> DecodeError:
    try:
        data.decode("utf-8")
        where = "UTF-8 decoding failed"
    except UnicodeDecodeError as exc:
        where = f"invalid UTF-8 at byte {exc.start}"
    others = f" (declared: {', '.join(tried)})" if tried else ""
    return DecodeError(f"{where} and no other encoding fits{others}")


def _decode_detected(data: bytes, tried: list[str]) -> str:
    text = _strict(data, "utf-8")
    if text is not None:
        return text
    encoding = detect_encoding(data)
    if encoding is not None:
        text = _strict(data, encoding)
        if text is not None:
            return text
    raise _undecodable(data, tried)


def decode_text(data: bytes) -> str:
    """Decode a plain-text file: BOM, else strict UTF-8, else the detected encoding. Raises :class:`DecodeError`."""
    found = bom_encoding(data)
    if found is not None:
        encoding, _ = found
        text = _strict(data, encoding)
        if text is None:
            raise DecodeError(
                f"starts with a {encoding.replace('-sig', '').upper()} byte-order mark but does not decode"
            )
        return text.removeprefix("\ufeff")
    return _decode_detected(data, [])


def decode_html(data: bytes, *, http_charset: str | None = None) -> str:
    """Decode an HTML page: BOM, else the HTTP charset, else the <meta> charset, else UTF-8, else detection (the HTML
    standard's order; a declared charset that does not decode the bytes is passed over). Raises
    :class:`DecodeError`."""
    found = bom_encoding(data)
    if found is not None:
        return decode_text(data)
    tried: list[str] = []
    for label in (http_charset, meta_charset(data)):
        encoding = normalise_charset(label, html=True)
        if label and encoding is None:
            tried.append(f"{label} (unknown)")
        if encoding is None:
            continue
        text = _strict(data, encoding)
        if text is not None:
            return text
        tried.append(label or encoding)
    return _decode_detected(data, tried)
