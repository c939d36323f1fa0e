"""Input readers: every format, the broken inputs each must survive, and the Skipped records they report."""

from __future__ import annotations

import csv
import gzip
import hashlib
import http.server
import io
import json
import os
import socket
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crosscheck import errors
from crosscheck.article import Article, Skipped
from crosscheck.errors import InputError
from crosscheck.ingest.options import FieldMap, IngestOptions
from crosscheck.ingest.readers import detect_format, read_inputs
from crosscheck.ingest.readers.base import human_size
from crosscheck.ingest.readers.jsonl import read_jsonl

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_NAMES = ["kharkiv-stunning-defeat.txt", "kherson-liberated.txt", "kherson-run-rabbit-run-video.txt"]

# Real-world-style non-English reporting, written for these tests.
RUSSIAN = (
    "Украинские войска вошли в Херсон. Российские военные покинули правый берег Днепра, "
    "сообщили в Министерстве обороны Украины. Жители города встречали военных с флагами на центральной площади."
)
UKRAINIAN = (
    "Українські військові увійшли до Херсона. Російські окупанти втекли з правого берега Дніпра, "
    "повідомили в Генеральному штабі. Мешканці міста зустрічали захисників із прапорами."
)
FRENCH = (
    "Les forces ukrainiennes ont repris Kherson. Les soldats russes se sont retirés de la rive droite du Dniepr, "
    "a déclaré le ministère. À Kharkiv, la contre-offensive a été très rapide."
)


def example(name: str = EXAMPLE_NAMES[0]) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


def read(*inputs: str | Path, **options: Any) -> list[Article | Skipped]:
    return list(read_inputs([str(i) for i in inputs], IngestOptions(**options)))


def articles(items: list[Article | Skipped]) -> list[Article]:
    return [i for i in items if isinstance(i, Article)]


def skipped(items: list[Article | Skipped]) -> list[Skipped]:
    return [i for i in items if isinstance(i, Skipped)]


def only(items: list[Article | Skipped]) -> Article | Skipped:
    assert len(items) == 1, items
    return items[0]


def wrap_html(text: str, *, title: str = "Kharkiv", charset: str | None = "utf-8") -> str:
    """An article page: navigation, the story in <p>s, related links and a footer around it."""
    paragraphs = "\n".join(f"<p>{p.strip()}</p>" for p in text.split("\n\n") if p.strip())
    meta = f'<meta charset="{charset}">' if charset else ""
    return (
        f"<!DOCTYPE html>\n<html><head>{meta}<title>{title}</title></head><body>\n"
        '<nav><a href="/">Home</a> <a href="/war">War in Ukraine</a> <a href="/about">About</a></nav>\n'
        f"<article><h1>{title}</h1>\n{paragraphs}\n</article>\n"
        '<aside><h3>Related</h3><ul><li><a href="/1">Sanctions</a></li><li><a href="/2">Energy</a></li></ul></aside>\n'
        "<footer>© 2022 Example News. All rights reserved.</footer>\n</body></html>\n"
    )


# --- plain text -----------------------------------------------------------------------------------------------------


def test_examples_read_as_text_articles(tmp_path: Path) -> None:
    for name in EXAMPLE_NAMES:
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    items = read(tmp_path)
    assert [a.origin for a in articles(items)] == [str(tmp_path / n) for n in sorted(EXAMPLE_NAMES)]
    for article in articles(items):
        assert article.raw_format == "text"
        assert article.raw == (EXAMPLES / Path(article.origin).name).read_text(encoding="utf-8")
        assert article.text == "" and article.id == "" and article.hash == ""  # cleaning fills them
    assert not skipped(items)


def test_directory_walk_is_sorted_recursive_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_text("Story Z about Kherson.", encoding="utf-8")
    (tmp_path / "b" / "a.txt").write_text("Story A about Kharkiv.", encoding="utf-8")
    (tmp_path / "a.txt").write_text("Story top about Kyiv.", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("hidden", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("hidden too", encoding="utf-8")
    items = read(tmp_path)
    assert [i.origin for i in items] == [
        str(tmp_path / "a.txt"),
        str(tmp_path / "b" / "a.txt"),
        str(tmp_path / "b" / "z.txt"),
    ]
    assert read(tmp_path) == items  # deterministic
    # An explicitly named hidden file is read.
    assert only(read(tmp_path / ".hidden.txt")).raw == "hidden"  # type: ignore[union-attr]


def test_extensionless_and_unknown_extension_text_is_text(tmp_path: Path) -> None:
    (tmp_path / "README").write_text(example(), encoding="utf-8")
    (tmp_path / "story.md").write_text("# Kherson\n\nThe flag was raised in the city centre.", encoding="utf-8")
    items = read(tmp_path)
    assert [(i.origin, i.raw_format) for i in articles(items)] == [
        (str(tmp_path / "README"), "text"),
        (str(tmp_path / "story.md"), "text"),
    ]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [(RUSSIAN, "cp1251"), (RUSSIAN, "koi8-r"), (UKRAINIAN, "cp1251"), (FRENCH, "latin-1"), (FRENCH, "cp1252")],
)
def test_legacy_encodings_are_detected_and_decoded(tmp_path: Path, text: str, encoding: str) -> None:
    path = tmp_path / "page.txt"
    path.write_bytes(text.encode(encoding))
    article = only(read(path))
    assert isinstance(article, Article)
    assert article.raw == text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-32"])
def test_byte_order_marks_decide_the_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "page.txt"
    data = RUSSIAN.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path.write_bytes(data)
    article = only(read(path))
    assert isinstance(article, Article)
    assert article.raw == RUSSIAN  # decoded, BOM gone


def test_bytes_no_encoding_fits_are_skipped_with_the_position(tmp_path: Path) -> None:
    path = tmp_path / "garbled.txt"
    path.write_bytes(b"Kherson report: " + bytes(range(0x80, 0x100)) * 20)
    item = only(read(path))
    assert isinstance(item, Skipped)
    assert item.code == errors.SKIP_ENCODING
    assert item.reason.startswith("invalid UTF-8 at byte 16 and no other encoding fits")


@pytest.mark.parametrize(
    ("name", "data", "code", "words"),
    [
        ("notes.txt", b"Kherson\x00\x00\x01\x02 report", errors.SKIP_BINARY, "NUL bytes (the first at byte 7)"),
        ("program", b"\x7fELF\x02\x01\x01" + bytes(100), errors.SKIP_BINARY, "ELF executable"),
        ("scan.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", errors.SKIP_BINARY, "PDF document"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), errors.SKIP_UNKNOWN_FORMAT, "'.png' files"),
        ("report.docx", b"PK\x03\x04" + bytes(40), errors.SKIP_UNKNOWN_FORMAT, "ZIP archive"),
        (
            "control.txt",
            b"Kyiv" + b"\x01\x02\x03\x04\x05\x06" * 10 + b" text",
            errors.SKIP_BINARY,
            "control characters",
        ),
    ],
)
def test_binary_and_unknown_files_are_skipped(tmp_path: Path, name: str, data: bytes, code: str, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    item = only(read(path))
    assert isinstance(item, Skipped)
    assert (item.code, item.origin) == (code, str(path))
    assert words in item.reason


@pytest.mark.parametrize("data", [b"", b"   \n\n\t  \r\n"])
def test_empty_and_whitespace_files_are_skipped(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(data)
    item = only(read(path))
    assert isinstance(item, Skipped) and item.code == errors.SKIP_EMPTY


def test_a_file_over_the_cap_is_skipped_without_reading_it(tmp_path: Path) -> None:
    small = tmp_path / "long.txt"
    small.write_text(example() * 3, encoding="utf-8")
    item = only(read(small, max_bytes=1000))
    assert isinstance(item, Skipped) and item.code == errors.SKIP_TOO_LARGE
    assert item.reason == f"larger than the 1000 bytes cap (max_bytes) ({human_size(small.stat().st_size)})"
    # A sparse 8 GB file: reading it would take minutes and all the memory; the size alone decides.
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(8 * 1024**3)
    item = only(read(huge))
    assert isinstance(item, Skipped) and item.code == errors.SKIP_TOO_LARGE
    assert "20 MB cap (max_bytes) (8 GB)" in item.reason


def test_human_size() -> None:
    assert [human_size(n) for n in (0, 1023, 1536, 20 * 1024**2, 5 * 1024**3 + 1)] == [
        "0 bytes",
        "1023 bytes",
        "1.5 KB",
        "20 MB",
        "5 GB",
    ]


@settings(max_examples=80, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t"), min_size=1).filter(
        lambda t: t.strip() and not t.startswith("\ufeff")  # a leading U+FEFF is a byte-order mark
    ),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]),
)
def test_any_text_in_a_unicode_encoding_reads_back_exactly(text: str, encoding: str) -> None:
    from crosscheck.ingest.readers.text import read_text

    article = read_text(text.encode(encoding), origin="t")
    assert isinstance(article, Article) and article.raw == text


# --- HTML -----------------------------------------------------------------------------------------------------------


def test_html_page_is_read_as_html(tmp_path: Path) -> None:
    page = wrap_html(example())
    path = tmp_path / "kharkiv.html"
    path.write_text(page, encoding="utf-8")
    article = only(read(path))
    assert isinstance(article, Article)
    assert (article.raw_format, article.raw, article.origin) == ("html", page, str(path))
    assert "<p>The abrupt change is not the result of intense fighting" in article.raw


def test_html_is_sniffed_without_an_extension(tmp_path: Path) -> None:
    (tmp_path / "page").write_text(wrap_html(example()), encoding="utf-8")
    (tmp_path / "fragment").write_text("<div class='story'><p>Kherson.</p><p>Kharkiv.</p></div>", encoding="utf-8")
    (tmp_path / "saved.txt").write_text(wrap_html(example()), encoding="utf-8")  # a whole document, misnamed
    items = read(tmp_path)
    assert [(Path(a.origin).name, a.raw_format) for a in articles(items)] == [
        ("fragment", "html"),
        ("page", "html"),
        ("saved.txt", "html"),
    ]


def test_html_meta_charset_decides_the_decoding(tmp_path: Path) -> None:
    page = wrap_html(RUSSIAN, title="Херсон", charset="windows-1251")
    path = tmp_path / "ru.htm"
    path.write_bytes(page.encode("cp1251"))
    article = only(read(path))
    assert isinstance(article, Article) and article.raw == page


def test_html_with_a_wrong_meta_charset_falls_back_to_detection(tmp_path: Path) -> None:
    page = wrap_html(UKRAINIAN, charset="utf-8")  # declared UTF-8, saved as cp1251
    path = tmp_path / "uk.html"
    path.write_bytes(page.encode("cp1251"))
    article = only(read(path))
    assert isinstance(article, Article) and article.raw == page


def test_malformed_html_is_still_passed_on(tmp_path: Path) -> None:
    page = "<html><body><div><p>Kherson was liberated <b>on 11 November<p>Residents greeted the army <div></span>"
    path = tmp_path / "broken.html"
    path.write_text(page, encoding="utf-8")
    article = only(read(path))
    assert isinstance(article, Article) and (article.raw_format, article.raw) == ("html", page)


def test_binary_content_under_an_html_name_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "image.html"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(200))
    item = only(read(path))
    assert isinstance(item, Skipped) and item.code == errors.SKIP_BINARY and "JPEG image" in item.reason


def test_format_option_forces_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "page.txt"
    path.write_text("<p>Kherson</p>", encoding="utf-8")
    assert only(read(path)).raw_format == "text"  # type: ignore[union-attr]
    assert only(read(path, format="html")).raw_format == "html"  # type: ignore[union-attr]
    with pytest.raises(InputError, match="unknown input format 'pdf'"):
        read(path, format="pdf")


# --- gzip -----------------------------------------------------------------------------------------------------------


def test_gzip_pages_are_decompressed(tmp_path: Path) -> None:
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(example().encode("utf-8")))
    (tmp_path / "b.html.gz").write_bytes(gzip.compress(wrap_html(example()).encode("utf-8")))
    (tmp_path / "c.gz").write_bytes(gzip.compress(RUSSIAN.encode("koi8-r")))
    items = read(tmp_path)
    assert [(Path(a.origin).name, a.raw_format) for a in articles(items)] == [
        ("a.txt.gz", "text"),
        ("b.html.gz", "html"),
        ("c.gz", "text"),
    ]
    assert articles(items)[0].raw == example()
    assert articles(items)[2].raw == RUSSIAN


def test_gzip_bomb_stops_at_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "bomb.txt.gz"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    with path.open("wb") as f:
        for _ in range(200):  # 200 MB of zeros, about 200 KB compressed
            f.write(compressor.compress(zeros))
        f.write(compressor.flush())
    assert path.stat().st_size < 1024 * 1024
    started = time.perf_counter()
    item = only(read(path, max_bytes=1024 * 1024))
    assert isinstance(item, Skipped) and item.code == errors.SKIP_TOO_LARGE
    assert item.reason == "decompresses to more than the 1 MB cap (max_bytes)"
    assert time.perf_counter() - started < 30  # generous; the point is it stops early, not how fast


def test_truncated_gzip_page_is_skipped(tmp_path: Path) -> None:
    data = gzip.compress((example() * 4).encode("utf-8"))
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(data[: len(data) // 2])
    item = only(read(path))
    assert isinstance(item, Skipped) and item.code == errors.SKIP_TRUNCATED
    assert "unexpected end of gzip stream" in item.reason


def test_damaged_gzip_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 60)
    item = only(read(path))
    assert isinstance(item, Skipped) and item.code == errors.SKIP_MALFORMED


# --- WARC -----------------------------------------------------------------------------------------------------------


def _response(writer: WARCWriter, url: str, body: bytes, *, status: str = "200 OK", ctype: str = "text/html") -> Any:
    headers = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
    return writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers)


def write_warc(path: Path, pages: list[tuple[str, bytes, str, str]], *, compress: bool = True) -> list[int]:
    """A WARC with a warcinfo record, then per page a request and a response; the responses' offsets."""
    offsets = []
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=compress)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "crosscheck tests"}))
        for url, body, status, ctype in pages:
            request = writer.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"))
            writer.write_record(request)
            offsets.append(f.tell())
            writer.write_record(_response(writer, url, body, status=status, ctype=ctype))
    return offsets


def _two_pages() -> list[tuple[str, bytes, str, str]]:
    return [
        ("https://example.com/kharkiv", wrap_html(example()).encode("utf-8"), "200 OK", "text/html; charset=utf-8"),
        ("https://example.com/missing", b"<html>Not found</html>", "404 Not Found", "text/html"),
        ("https://example.com/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(50), "200 OK", "image/png"),
        (
            "https://example.ru/kherson",
            wrap_html(RUSSIAN, charset=None).encode("cp1251"),
            "200 OK",
            "text/html; charset=windows-1251",
        ),
    ]


@pytest.mark.parametrize("compress", [True, False])
def test_warc_responses_become_html_articles(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / ("crawl.warc.gz" if compress else "crawl.warc")
    offsets = write_warc(path, _two_pages(), compress=compress)
    items = read(path)
    assert not skipped(items)
    found = articles(items)
    assert [(a.url, a.origin, a.raw_format) for a in found] == [
        ("https://example.com/kharkiv", f"{path}@{offsets[0]}", "html"),
        ("https://example.ru/kherson", f"{path}@{offsets[3]}", "html"),
    ]
    assert found[0].raw == wrap_html(example())
    assert found[1].raw == wrap_html(RUSSIAN, charset=None)  # decoded by the HTTP header's charset
    with path.open("rb") as f:
        dates = {
            r.rec_headers.get_header("WARC-Target-URI"): r.rec_headers.get_header("WARC-Date")
            for r in ArchiveIterator(f)
            if r.rec_type == "response"
        }
    assert [a.fetched for a in found] == [dates[a.url] for a in found]
    assert all(a.published is None for a in found)


def test_truncated_warc_keeps_complete_records_and_goes_on(tmp_path: Path) -> None:
    pages = [(f"https://example.com/{n}", wrap_html(example(n)).encode(), "200 OK", "text/html") for n in EXAMPLE_NAMES]
    whole = tmp_path / "whole.warc.gz"
    offsets = write_warc(whole, pages)
    data = whole.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: offsets[2] + (len(data) - offsets[2]) // 2])  # mid third response
    after = tmp_path / "after.txt"
    after.write_text(example(), encoding="utf-8")
    items = read(cut, after)
    assert [(type(i).__name__, i.origin) for i in items] == [
        ("Article", f"{cut}@{offsets[0]}"),
        ("Article", f"{cut}@{offsets[1]}"),
        ("Skipped", f"{cut}@{offsets[2]}"),
        ("Article", str(after)),
    ]
    truncated = items[2]
    assert isinstance(truncated, Skipped) and truncated.code == errors.SKIP_TRUNCATED
    assert truncated.reason.startswith("WARC truncated after 6 records")  # warcinfo, 2 x (request, response), request
    assert "unexpected end of" in truncated.reason


@pytest.mark.parametrize("compress", [True, False])
def test_warc_cut_at_any_point_never_fails(tmp_path: Path, compress: bool) -> None:
    pages = [(f"https://example.com/{n}", wrap_html(example(n)).encode(), "200 OK", "text/html") for n in EXAMPLE_NAMES]
    whole = tmp_path / "whole.warc"
    write_warc(whole, pages, compress=compress)
    data = whole.read_bytes()
    path = tmp_path / "cut.warc"
    for cut in range(1, len(data), max(1, len(data) // 97)):
        path.write_bytes(data[:cut])
        items = read(path)
        found = articles(items)
        assert [a.url for a in found] == [u for u, *_ in pages[: len(found)]]
        assert all(a.raw == wrap_html(example(Path(a.url or "").name)) for a in found)
        reports = skipped(items)
        if len(found) < len(pages):
            assert len(reports) == 1 and reports[0].code in (errors.SKIP_TRUNCATED, errors.SKIP_MALFORMED), cut


def test_warc_record_over_the_cap_is_skipped_alone(tmp_path: Path) -> None:
    big = wrap_html(example() * 40).encode()
    pages = [
        ("https://example.com/big", big, "200 OK", "text/html"),
        ("https://example.com/small", wrap_html(example()).encode(), "200 OK", "text/html"),
    ]
    path = tmp_path / "mixed.warc.gz"
    offsets = write_warc(path, pages)
    items = read(path, max_bytes=len(big) - 1)
    assert [(type(i).__name__, i.origin) for i in items] == [
        ("Skipped", f"{path}@{offsets[0]}"),
        ("Article", f"{path}@{offsets[1]}"),
    ]
    assert isinstance(items[0], Skipped) and items[0].code == errors.SKIP_TOO_LARGE


def test_not_a_warc_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "fake.warc"
    path.write_text("this is not an archive\n" * 5, encoding="utf-8")
    item = only(read(path))
    assert isinstance(item, Skipped) and item.code == errors.SKIP_MALFORMED
    assert item.reason.startswith("not a WARC/ARC file")


# --- JSONL ----------------------------------------------------------------------------------------------------------

CUSTOM = FieldMap(text="body", html="page", url="link", title="headline", published="date", outlet="source")


def test_jsonl_with_custom_field_names(tmp_path: Path) -> None:
    rows = [
        {"body": example(EXAMPLE_NAMES[0]), "link": "https://a.example/1", "headline": "Kharkiv", "date": "2022-09-12"},
        {"page": wrap_html(example(EXAMPLE_NAMES[1])), "source": "Example News", "date": 1668124800},
        {"body": example(EXAMPLE_NAMES[2]), "meta": {"x": 1}, "headline": ["not", "text"]},
    ]
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    found = articles(read(path, fields=CUSTOM))
    assert [(a.origin, a.raw_format) for a in found] == [
        (f"{path}#L1", "text"),
        (f"{path}#L2", "html"),
        (f"{path}#L3", "text"),
    ]
    assert (found[0].url, found[0].title, found[0].published) == ("https://a.example/1", "Kharkiv", "2022-09-12")
    assert (found[1].outlet, found[1].published) == ("Example News", "2022-11-11T00:00:00+00:00")
    assert found[1].raw == rows[1]["page"]
    assert found[2].title is None  # a list is not a title


def test_jsonl_bad_lines_are_skipped_one_by_one(tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": "Kherson was liberated on 11 November."}),
        '{"text": "unterminated',
        "",
        json.dumps(["a", "list"]),
        json.dumps({"title": "no text here"}),
        json.dumps({"text": 42}),
        json.dumps({"text": "   "}),
        json.dumps({"text": "Kharkiv counteroffensive."}),
    ]
    path = tmp_path / "mixed.ndjson"
    path.write_bytes("\n".join(lines).encode("utf-8") + b"\n" + b'{"text": "\xff\xfe"}\n')
    items = read(path)
    assert [(type(i).__name__, i.origin.rsplit("#", 1)[1]) for i in items] == [
        ("Article", "L1"),
        ("Skipped", "L2"),
        ("Skipped", "L4"),
        ("Skipped", "L5"),
        ("Skipped", "L6"),
        ("Skipped", "L7"),
        ("Article", "L8"),
        ("Skipped", "L9"),
    ]
    codes = [(s.code, s.reason) for s in skipped(items)]
    assert (
        codes[0][0] == errors.SKIP_MALFORMED
        and codes[0][1] == "invalid JSON: Unterminated string starting at (column 10)"
    )
    assert codes[1] == (errors.SKIP_MALFORMED, "a JSON array, not a JSON object")
    assert codes[2][0] == errors.SKIP_MALFORMED and "no 'text' or 'html' field (fields: title)" in codes[2][1]
    assert codes[3] == (errors.SKIP_MALFORMED, "field 'text' holds a int, not a string")
    assert codes[4] == (errors.SKIP_EMPTY, "field 'text' is empty")
    assert codes[5] == (errors.SKIP_ENCODING, "invalid UTF-8 at byte 10 of the line")


def test_jsonl_records_are_marked_as_records(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text('{"text": "Strikes hit Kharkiv again."}\n', encoding="utf-8")
    article = only(read(path))
    assert isinstance(article, Article) and article.record
    page = only(read(EXAMPLES / EXAMPLE_NAMES[0]))
    assert isinstance(page, Article) and not page.record


def test_jsonl_without_the_text_field_is_one_input_error(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    lines = [json.dumps({"body": "Kherson was liberated.", "id": 1}), "not json", json.dumps({"body": "Kharkiv."})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = read(path)
    assert [(i.origin, i.code, i.input_error) for i in skipped(items)] == [
        (f"{path}#L2", errors.SKIP_MALFORMED, False),  # a line that is no object stays its own skip
        (str(path), errors.SKIP_MALFORMED, True),
    ]
    last = items[-1]
    assert isinstance(last, Skipped)
    assert last.reason == "no 'text' or 'html' field in any of its 2 JSON objects (fields: body, id)"
    assert [a.raw for a in articles(read(path, fields=FieldMap(text="body")))] == ["Kherson was liberated.", "Kharkiv."]


def test_jsonl_lines_before_the_first_usable_object_keep_their_order(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    lines = [json.dumps({"meta": "export v2"}), "[1]", json.dumps({"text": "Strikes hit Kharkiv again."})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = read(path)
    assert [(type(i).__name__, i.origin.rsplit("#", 1)[-1], getattr(i, "input_error", False)) for i in items] == [
        ("Skipped", "L1", False),
        ("Skipped", "L2", False),
        ("Article", "L3", False),
    ]


def test_jsonl_with_no_text_field_in_its_first_objects_stops_there(tmp_path: Path) -> None:
    from crosscheck.ingest.readers.jsonl import MAX_HELD_LINES

    path = tmp_path / "big.jsonl"
    rows = [{"body": f"line {n}"} for n in range(MAX_HELD_LINES + 5)] + [{"text": "too late"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    item = only(read(path))
    assert isinstance(item, Skipped) and item.input_error and item.origin == str(path)
    assert item.reason == (
        f"no 'text' or 'html' field in the first {MAX_HELD_LINES} JSON objects (fields: body); "
        "the rest of the file is not read"
    )


def test_jsonl_of_only_bad_lines_is_skipped_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    path.write_text("not json\n[1, 2]\n", encoding="utf-8")
    assert [(i.origin.rsplit("#", 1)[1], i.input_error) for i in skipped(read(path))] == [("L1", False), ("L2", False)]


def test_jsonl_line_over_the_cap_is_skipped_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    lines = [{"text": "short one"}, {"text": "x" * 5000}, {"text": "short two"}]
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n", encoding="utf-8")
    items = read(path, max_bytes=1000)
    assert [(type(i).__name__, i.origin.rsplit("#", 1)[1]) for i in items] == [
        ("Article", "L1"),
        ("Skipped", "L2"),
        ("Article", "L3"),
    ]
    assert isinstance(items[1], Skipped) and items[1].code == errors.SKIP_TOO_LARGE
    assert articles(items)[1].raw == "short two"


def test_truncated_jsonl_gz_keeps_the_lines_before(tmp_path: Path) -> None:
    lines = [json.dumps({"text": f"{example()} {n}"}) for n in range(40)]
    data = gzip.compress("\n".join(lines).encode("utf-8"))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) * 3 // 4])
    items = read(path)
    found = articles(items)
    assert 0 < len(found) < 40
    assert [a.origin for a in found] == [f"{path}#L{n}" for n in range(1, len(found) + 1)]
    assert found[-1].raw == f"{example()} {len(found) - 1}"
    last = items[-1]
    assert isinstance(last, Skipped) and last.code == errors.SKIP_TRUNCATED and last.origin == str(path)
    assert f"after line {len(found)}" in last.reason


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(min_size=1).filter(str.strip), min_size=0, max_size=20))
def test_jsonl_of_n_objects_gives_n_articles_in_order(texts: list[str]) -> None:
    data = "\n".join(json.dumps({"text": t, "url": f"https://x.example/{i}"}) for i, t in enumerate(texts))
    items = list(read_jsonl(io.BytesIO(data.encode("utf-8")), origin="feed", options=IngestOptions()))
    assert all(isinstance(i, Article) for i in items)
    assert [(i.origin, i.raw) for i in items] == [(f"feed#L{n}", t) for n, t in enumerate(texts, 1)]


# --- CSV ------------------------------------------------------------------------------------------------------------


def test_csv_with_custom_field_names_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["headline", "body", "link", "date"])
        writer.writerow(["Kharkiv", example(EXAMPLE_NAMES[0]), "https://a.example/1", "2022-09-12"])  # multi-line
        writer.writerow(["only", "three", "fields"])
        writer.writerow(["Empty", "", "https://a.example/3", ""])
        writer.writerow(["Kherson", example(EXAMPLE_NAMES[1]), "", ""])
    items = read(path, fields=CUSTOM)
    assert [(type(i).__name__, i.origin) for i in items] == [
        ("Article", f"{path}#R1"),
        ("Skipped", f"{path}#R2"),
        ("Skipped", f"{path}#R3"),
        ("Article", f"{path}#R4"),
    ]
    first, second = articles(items)
    assert (first.raw, first.title, first.url, first.published) == (
        example(EXAMPLE_NAMES[0]),
        "Kharkiv",
        "https://a.example/1",
        "2022-09-12",
    )
    assert (second.url, second.published) == (None, None)
    assert [(s.code, s.reason) for s in skipped(items)] == [
        (errors.SKIP_MALFORMED, "row has 3 fields, the header has 4"),
        (errors.SKIP_EMPTY, "field 'body' is empty"),
    ]


def test_tsv_gz_and_huge_fields(tmp_path: Path) -> None:
    huge = ("Kherson " * 40_000).strip()  # 320 KB: over the csv module's default 128 KB field limit
    rows = [["text", "url"], [huge, "https://a.example/huge"], ["x" * 700_000, "https://a.example/over"], ["ok", "u"]]
    path = tmp_path / "rows.tsv.gz"
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t").writerows(rows)
    path.write_bytes(gzip.compress(buffer.getvalue().encode("utf-8")))
    items = read(path, max_bytes=500_000)
    assert [(type(i).__name__, i.origin.rsplit("#", 1)[1]) for i in items] == [
        ("Article", "R1"),
        ("Skipped", "R2"),
        ("Article", "R3"),
    ]
    assert articles(items)[0].raw == huge
    assert isinstance(items[1], Skipped) and items[1].code == errors.SKIP_TOO_LARGE


def test_csv_without_a_text_column_is_one_skip(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("name,age\nIvan,40\nOlena,35\n", encoding="utf-8")
    item = only(read(path))
    assert isinstance(item, Skipped) and item.code == errors.SKIP_MALFORMED
    assert item.reason == "no 'text' or 'html' column in the header (columns: name, age)"


def test_csv_without_a_text_column_is_an_input_error_and_rows_are_records(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("name,text\nIvan,Strikes hit Kharkiv again.\n", encoding="utf-8")
    article = only(read(path))
    assert isinstance(article, Article) and article.record
    item = only(read(path, fields=FieldMap(text="body")))
    assert isinstance(item, Skipped) and item.input_error


def test_csv_in_cp1251(tmp_path: Path) -> None:
    path = tmp_path / "ru.csv"
    path.write_bytes(f'title,text\nХерсон,"{RUSSIAN}"\n'.encode("cp1251"))
    article = only(read(path))
    assert isinstance(article, Article) and (article.title, article.raw) == ("Херсон", RUSSIAN)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1).filter(str.strip), max_size=8)
)
def test_csv_round_trips_any_text(texts: list[str]) -> None:
    from crosscheck.ingest.readers.csvfile import read_csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["text"])
    writer.writerows([t] for t in texts)
    items = list(
        read_csv(io.BytesIO(buffer.getvalue().encode("utf-8")), origin="t", name="t.csv", options=IngestOptions())
    )
    assert [(i.origin, i.raw) for i in items if isinstance(i, Article)] == [
        (f"t#R{n}", t) for n, t in enumerate(texts, 1)
    ]


# --- stdin ----------------------------------------------------------------------------------------------------------


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def _stdin_origin(data: bytes) -> str:
    return f"stdin:{hashlib.sha256(data).hexdigest()[:16]}"


def test_stdin_text_html_and_jsonl(monkeypatch: pytest.MonkeyPatch) -> None:
    text = example().encode("utf-8")
    monkeypatch.setattr(sys, "stdin", _Stdin(text))
    article = only(read("-"))
    assert isinstance(article, Article)
    assert (article.origin, article.raw_format, article.raw) == (_stdin_origin(text), "text", example())

    page = wrap_html(example()).encode("utf-8")
    monkeypatch.setattr(sys, "stdin", _Stdin(page))
    article = only(read("-"))
    assert isinstance(article, Article) and (article.origin, article.raw_format) == (_stdin_origin(page), "html")

    lines = b'{"text": "Kherson."}\n{"text": "Kharkiv."}\n'
    monkeypatch.setattr(sys, "stdin", _Stdin(lines))
    origin = _stdin_origin(lines)
    assert [(a.origin, a.raw) for a in articles(read("-"))] == [
        (f"{origin}#L1", "Kherson."),
        (f"{origin}#L2", "Kharkiv."),
    ]


def test_stdin_over_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(b"x" * 5000))
    item = only(read("-", max_bytes=100))
    assert isinstance(item, Skipped) and item.code == errors.SKIP_TOO_LARGE and item.origin.startswith("stdin:")


# --- unreadable paths -----------------------------------------------------------------------------------------------


def test_missing_path_is_unreadable(tmp_path: Path) -> None:
    item = only(read(tmp_path / "nope.txt"))
    assert isinstance(item, Skipped) and (item.code, item.reason) == (
        errors.SKIP_UNREADABLE,
        "no such file or directory",
    )


def test_a_missing_input_path_is_an_input_error_but_not_a_broken_link_in_a_directory(tmp_path: Path) -> None:
    missing = only(read(tmp_path / "nope.txt"))
    assert isinstance(missing, Skipped) and missing.input_error
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    inside = only(read(tmp_path / "dir"))
    assert isinstance(inside, Skipped) and inside.code == errors.SKIP_UNREADABLE and not inside.input_error
    given = only(read(tmp_path / "dir" / "dangling.txt"))  # named on the command line: the path does not exist
    assert isinstance(given, Skipped) and given.reason == "broken symbolic link" and given.input_error


@pytest.mark.parametrize(
    ("origin", "container"),
    [
        ("feed.jsonl#L3", "feed.jsonl"),
        ("dir/export.csv.gz#R12", "dir/export.csv.gz"),
        ("crawl.warc.gz@5120", "crawl.warc.gz"),
        ("stdin:0123456789abcdef#L1", "stdin:0123456789abcdef"),
        ("https://example.com/feed.jsonl#L2", "https://example.com/feed.jsonl"),
        ("page.txt", None),
        ("https://example.com/a#section", None),
    ],
)
def test_container_origin(origin: str, container: str | None) -> None:
    from crosscheck.ingest.readers import container_origin

    assert container_origin(origin) == container


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("Kherson", encoding="utf-8")
    path.chmod(0)
    try:
        item = only(read(path))
    finally:
        path.chmod(0o644)
    assert isinstance(item, Skipped) and item.code == errors.SKIP_UNREADABLE and "Permission denied" in item.reason


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")  # opening it would block forever
    (tmp_path / "story.txt").write_text(example(), encoding="utf-8")
    items = read(tmp_path)
    assert [(type(i).__name__, Path(i.origin).name, getattr(i, "code", "")) for i in items] == [
        ("Skipped", "pipe", errors.SKIP_UNREADABLE),
        ("Article", "story.txt", ""),
    ]


def test_symlink_loops_and_broken_links_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "story.txt").write_text(example(), encoding="utf-8")
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)
    (root / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (root / "self").symlink_to(root / "self")
    items = read(root)
    assert [(type(i).__name__, i.origin, getattr(i, "reason", "")) for i in items] == [
        ("Skipped", str(root / "dangling.txt"), "broken symbolic link"),
        ("Skipped", str(root / "self"), "symbolic link loop"),
        ("Article", str(root / "sub" / "story.txt"), ""),
        (
            "Skipped",
            str(root / "sub" / "up"),
            "directory symlink loop: it leads back to a directory already being read",
        ),
    ]


# --- format detection -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("a.txt", b"Kherson", "text"),
        ("a.TXT", b"<!doctype html><html>", "html"),
        ("a.txt", b"<p>one</p><p>two</p><p>three</p>", "text"),  # a .txt stays text unless a whole document
        ("a.htm", b"plain words", "html"),
        ("a.jsonl.gz", gzip.compress(b'{"text": "x"}\n'), "jsonl"),
        ("a.csv", b"text,url\n", "csv"),
        ("a.tsv", b"text\turl\n", "csv"),
        ("crawl.warc.gz", b"\x1f\x8b\x08\x00garbage", "warc"),
        ("noext", gzip.compress(b"WARC/1.0\r\nWARC-Type: warcinfo\r\n"), "warc"),
        (None, b'{"text": "from stdin"}\n{"text": "more"}', "jsonl"),
        (None, b'{"text": "one object"}', "jsonl"),
        (None, b"{not json at all}\n", "text"),
        (None, b"  \n<html><body>x", "html"),
        (None, b"\xef\xbb\xbf<!DOCTYPE html>", "html"),
        (None, "<html>".encode("utf-16"), "html"),
        ("x.bin", bytes(range(256)), "unknown"),
        ("x", bytes(range(256)), "binary"),
        ("x.txt", b"\x7fELF\x02", "binary"),
        ("notes.xyz", b"Kherson notes", "text"),
        ("a.html.gz", gzip.compress(b"<p>x</p>"), "html"),
    ],
)
def test_detect_format(name: str | None, head: bytes, expected: str) -> None:
    assert detect_format(name, head) == expected


# --- URLs -----------------------------------------------------------------------------------------------------------

PAGE = wrap_html(RUSSIAN, charset=None)


class _Handler(http.server.BaseHTTPRequestHandler):
    seen_agents: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str, *, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.seen_agents.append(self.headers.get("User-Agent", ""))
        if self.path == "/page.html":
            self._send(200, PAGE.encode("cp1251"), "text/html; charset=windows-1251")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/page.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/notes":
            self._send(200, example().encode("utf-8"), "text/plain; charset=utf-8")
        elif self.path == "/feed.jsonl":
            self._send(200, b'{"text": "Kherson."}\n{"text": "Kharkiv."}\n', "application/octet-stream")
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, b"<html>late</html>", "text/html")
        elif self.path == "/big":
            self._send(200, b"<html>" + b"x" * 50_000 + b"</html>", "text/html")
        elif self.path == "/big-unannounced":
            self._send(200, b"<html>" + b"x" * 50_000 + b"</html>", "text/html", length=False)
            self.close_connection = True
        elif self.path == "/logo.png":
            self._send(200, b"\x89PNG\r\n\x1a\n" + bytes(100), "image/png")
        else:
            self._send(404, b"<html>Not here</html>", "text/html")


@pytest.fixture
def readers_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local HTTP server on 127.0.0.1; proxies from the environment are turned off for it."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.seen_agents = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_url_html_page_is_fetched_and_decoded(readers_server: str) -> None:
    article = only(read(f"{readers_server}/page.html", user_agent="CrosscheckTest/1.0"))
    assert isinstance(article, Article)
    assert (article.origin, article.url, article.raw_format) == (
        f"{readers_server}/page.html",
        f"{readers_server}/page.html",
        "html",
    )
    assert article.raw == PAGE and article.fetched is not None
    assert _Handler.seen_agents == ["CrosscheckTest/1.0"]


def test_url_redirect_is_followed(readers_server: str) -> None:
    article = only(read(f"{readers_server}/redirect"))
    assert isinstance(article, Article)
    assert (article.origin, article.url, article.raw) == (
        f"{readers_server}/redirect",
        f"{readers_server}/page.html",
        PAGE,
    )


def test_url_plain_text_and_jsonl(readers_server: str) -> None:
    article = only(read(f"{readers_server}/notes"))
    assert isinstance(article, Article) and (article.raw_format, article.raw) == ("text", example())
    feed = f"{readers_server}/feed.jsonl"
    assert [(a.origin, a.raw) for a in articles(read(feed))] == [(f"{feed}#L1", "Kherson."), (f"{feed}#L2", "Kharkiv.")]


def test_url_failures_are_skipped_with_the_cause(readers_server: str) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    items = read(
        f"{readers_server}/missing",
        f"{readers_server}/slow",
        f"{readers_server}/big",
        f"{readers_server}/big-unannounced",
        f"{readers_server}/logo.png",
        f"http://127.0.0.1:{port}/",
        fetch_timeout=0.5,
        max_bytes=10_000,
    )
    assert all(isinstance(i, Skipped) for i in items)
    got = [(i.code, i.reason) for i in items if isinstance(i, Skipped)]
    assert got[0] == (errors.SKIP_FETCH, "HTTP 404 Not Found")
    assert got[1][0] == errors.SKIP_FETCH and got[1][1].startswith("timed out after 0.5 s")
    assert got[2] == (
        errors.SKIP_TOO_LARGE,
        "response body declared larger than the 9.8 KB cap (max_bytes) (48.8 KB)",
    )
    assert got[3] == (errors.SKIP_TOO_LARGE, "response body larger than the 9.8 KB cap (max_bytes)")
    assert got[4][0] == errors.SKIP_UNKNOWN_FORMAT and "PNG image" in got[4][1]
    assert got[5][0] == errors.SKIP_FETCH and got[5][1].startswith("cannot connect:")
    assert "refused" in got[5][1].lower()


def test_a_file_of_records_with_none_is_one_skip_not_silence(tmp_path: Path) -> None:
    crawl = tmp_path / "crawl.warc.gz"  # a warcinfo record, then only a 404 and an image: no page
    write_warc(crawl, [p for p in _two_pages() if not p[3].startswith("text/html; charset")][:2])
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n   \n", encoding="utf-8")
    header = tmp_path / "header.csv"
    header.write_text("url,text\n\n", encoding="utf-8")
    items = read(crawl, blank, header)
    assert [(type(i).__name__, i.origin) for i in items] == [("Skipped", str(p)) for p in (crawl, blank, header)]
    assert all(isinstance(i, Skipped) and i.code == errors.SKIP_EMPTY for i in items)
    assert "no page records" in skipped(items)[0].reason and "only blank lines" in skipped(items)[1].reason
    assert "no data rows" in skipped(items)[2].reason


def test_a_warc_content_length_past_2_63_is_a_damaged_record_not_a_crash(tmp_path: Path) -> None:
    body = wrap_html(example()).encode()
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:1>\r\nWARC-Date: 2022-11-11T10:00:00Z\r\n"
        "WARC-Target-URI: https://example.com/{n}\r\nContent-Type: application/http; msgtype=response\r\n"
        "Content-Length: {length}\r\n\r\n"
    )
    path = tmp_path / "absurd.warc"
    path.write_bytes(
        head.format(n=1, length=len(http)).encode()
        + http
        + b"\r\n\r\n"
        + head.format(n=2, length=2**63).encode()
        + http
        + b"\r\n\r\n"
    )
    items = read(path)
    assert [type(i).__name__ for i in items] == ["Article", "Skipped"]
    assert isinstance(items[1], Skipped) and items[1].code == errors.SKIP_TRUNCATED
    assert items[1].reason.startswith("WARC damaged after 1 record")


def test_jsonl_lone_surrogate_escapes_become_replacement_characters(tmp_path: Path, db_path: Path) -> None:
    from crosscheck import open_store
    from crosscheck.ingest import ingest

    path = tmp_path / "feed.jsonl"
    escaped = json.dumps(example())[1:-1].replace("Kharkiv", "Kharkiv \\ud800", 1)  # JSON can spell a lone surrogate
    path.write_text('{"text": "' + escaped + '", "title": "A \\udfff title"}\n', "utf-8")
    [item] = read(path)
    assert isinstance(item, Article) and "Kharkiv \ufffd" in item.raw and item.title == "A \ufffd title"
    with open_store(db_path) as store:
        summary = ingest([str(path)], store)
        assert summary.ingested == 1  # hashed and stored, where the lone surrogate made it a skip (or a crash)
