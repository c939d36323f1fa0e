"""Generated hostile inputs for ingest: every kind of broken, absurd or adversarial file a crawl or an export can hold.

:func:`write_inputs` writes ``n`` files into a folder from a seed (the same seed gives the same files), spread over the
kinds in :data:`KINDS`: random bytes, truncated and nested gzip, WARC archives with broken headers or absurd
Content-Length values, HTML nested thousands deep, megabyte-long lines, NUL bytes, mixed encodings, JSON Lines with
wrong types, CSV with ragged rows and broken quoting, text full of control and bidi characters, and some plain real
articles among them (so ingested and duplicate outcomes happen too). Sizes stay small (a few KB, a few MB at most) so
ten thousand inputs go through one ingest in about a minute.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import zlib
from collections.abc import Callable
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_PARAGRAPHS = [
    p.strip() for f in sorted(EXAMPLES.glob("*.txt")) for p in f.read_text("utf-8").split("\n\n") if len(p.split()) > 6
]
_HOSTILE_CHARS = (
    "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\x9b"  # C0 and C1 controls, escape, delete
    "\u200b\u200e\u202a\u202b\u202d\u202e\u2066\u2069"  # zero width, bidi embeddings, overrides, isolates
    "\u2028\u2029\ufeff\ufffd\ud7ff"  # line and paragraph separators, BOM, replacement, last before surrogates
)


def story(rng: random.Random, paragraphs: int = 3) -> str:
    """Real reporting: paragraphs of the examples in a random order (so some files share their text)."""
    return "\n\n".join(rng.choice(_PARAGRAPHS) for _ in range(paragraphs))


def _sprinkle(rng: random.Random, text: str, chars: str = _HOSTILE_CHARS, rate: float = 0.02) -> str:
    return "".join(c + (rng.choice(chars) if rng.random() < rate else "") for c in text)


def _html(rng: random.Random, body: str) -> str:
    return f"<html><head><title>{body[:40]}</title></head><body><article><p>{body}</p></article></body></html>"


# -- kinds: each returns (file name suffix, bytes) -----------------------------------------------------------------


def random_bytes(rng: random.Random) -> tuple[str, bytes]:
    suffix = rng.choice([".txt", ".html", ".jsonl", ".csv", ".warc", ".gz", ".bin", ""])
    return suffix, rng.randbytes(rng.randint(0, 4096))


def truncated_gzip(rng: random.Random) -> tuple[str, bytes]:
    data = gzip.compress(story(rng).encode("utf-8"))
    suffix = rng.choice([".txt.gz", ".html.gz", ".jsonl.gz", ".csv.gz", ".gz"])
    return suffix, data[: rng.randint(1, max(1, len(data) - 1))]


def nested_gzip(rng: random.Random) -> tuple[str, bytes]:
    data = (story(rng) if rng.random() < 0.5 else _html(rng, story(rng))).encode("utf-8")
    for _ in range(rng.randint(2, 12)):
        data = gzip.compress(data, compresslevel=1)
    if rng.random() < 0.3:
        data = data[: rng.randint(10, len(data))]
    return rng.choice([".gz", ".txt.gz", ".html.gz"]), data


def gzip_bomb(rng: random.Random) -> tuple[str, bytes]:
    """Zeros that decompress to 30 MB, over the default 20 MB cap (kept rare: it costs a decompression)."""
    return rng.choice([".txt.gz", ".html.gz", ".jsonl.gz"]), gzip.compress(bytes(30 * 2**20), compresslevel=9)


def _warc_record(url: str, body: bytes, *, length: str | None = None, ctype: str = "text/html") -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype.encode() + b"\r\n\r\n" + body
    headers = [
        "WARC/1.0",
        "WARC-Type: response",
        f"WARC-Record-ID: <urn:uuid:{hashlib.md5(url.encode()).hexdigest()}>",
        "WARC-Date: 2022-11-11T10:00:00Z",
        f"WARC-Target-URI: {url}",
        "Content-Type: application/http; msgtype=response",
        f"Content-Length: {len(http) if length is None else length}",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode("utf-8") + http + b"\r\n\r\n"


def broken_warc(rng: random.Random) -> tuple[str, bytes]:
    records = [_warc_record(f"https://example.com/{rng.random()}", _html(rng, story(rng)).encode()) for _ in range(3)]
    victim = rng.randrange(len(records))
    head, sep, rest = records[victim].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    damage = rng.choice(["drop", "garble", "version", "colon", "lf", "cut", "binary"])
    if damage == "drop":
        del lines[rng.randrange(len(lines))]
    elif damage == "garble":
        i = rng.randrange(len(lines))
        lines[i] = rng.randbytes(len(lines[i]))
    elif damage == "version":
        lines[0] = rng.choice([b"WARC/9.9", b"WARC/", b"warc/1.0", b"WARC/1.0\x00", b"ARC/1.0"])
    elif damage == "colon":
        i = rng.randrange(1, len(lines))
        lines[i] = lines[i].replace(b": ", b" ")
    elif damage == "lf":
        records[victim] = records[victim].replace(b"\r\n", b"\n")
    elif damage == "binary":
        lines.insert(rng.randrange(1, len(lines)), rng.randbytes(rng.randint(1, 64)))
    if damage not in ("lf",):
        records[victim] = b"\r\n".join(lines) + sep + rest
    data = b"".join(records)
    if damage == "cut":
        data = data[: rng.randint(1, len(data))]
    if rng.random() < 0.5:
        return ".warc.gz", b"".join(gzip.compress(r) for r in data.split(b"\r\n\r\nWARC/"))
    return ".warc", data


def absurd_content_length(rng: random.Random) -> tuple[str, bytes]:
    length = rng.choice(["99999999999999999999999", "-5", "abc", str(2**63), "1e9", "0x10", " 12 ", "", "4294967296"])
    body = _html(rng, story(rng)).encode()
    records = [
        _warc_record("https://example.com/a", body),
        _warc_record("https://example.com/b", body, length=length),
        _warc_record("https://example.com/c", _html(rng, story(rng)).encode()),
    ]
    data = b"".join(records)
    return (".warc.gz", gzip.compress(data)) if rng.random() < 0.5 else (".warc", data)


def deep_html(rng: random.Random) -> tuple[str, bytes]:
    depth = rng.choice([500, 3_000, 20_000, 60_000])
    tag = rng.choice(["div", "span", "b", "table", "ul", "p"])
    inner = story(rng)
    closing = "" if rng.random() < 0.5 else f"</{tag}>" * depth
    return ".html", (f"<html><body>{f'<{tag}>' * depth}{inner}{closing}</body></html>").encode()


def long_line(rng: random.Random) -> tuple[str, bytes]:
    size = rng.choice([2**20, 3 * 2**20 // 2])
    unit = rng.choice(["A", "word ", "Kherson, ", "\u0416", "<b>x</b>", "0123456789"])
    line = (unit * (size // len(unit.encode()) + 1))[:size]
    suffix = rng.choice([".txt", ".html", ".jsonl", ".csv"])
    if suffix == ".jsonl":
        return suffix, (json.dumps({"text": line}) + "\n" + json.dumps({"text": story(rng)}) + "\n").encode()
    if suffix == ".csv":
        return suffix, f'url,text\nhttps://x.example/1,"{line}"\nhttps://x.example/2,"{story(rng)}"\n'.encode()
    return suffix, (story(rng) + "\n\n" + line + "\n\n" + story(rng)).encode()


def nul_bytes(rng: random.Random) -> tuple[str, bytes]:
    text = story(rng)
    at = rng.randrange(len(text))
    kind = rng.choice(["text", "jsonl", "csv"])
    if kind == "jsonl":
        return ".jsonl", json.dumps({"text": text[:at] + "\x00" + text[at:]}).encode() + b"\n"
    if kind == "csv":
        return ".csv", f'url,text\nhttps://x.example/n,"{text[:at]}\x00{text[at:]}"\n'.encode()
    return ".txt", (text[:at] + "\x00" * rng.randint(1, 3) + text[at:]).encode()


def mixed_encodings(rng: random.Random) -> tuple[str, bytes]:
    parts = [
        "Украинские войска вошли в Херсон, сообщили военные.".encode(rng.choice(["utf-8", "cp1251", "koi8-r"])),
        story(rng, 1).encode(rng.choice(["utf-8", "utf-16", "latin-1", "cp1252"]), "replace"),
        "Українські військові увійшли до Херсона.".encode(rng.choice(["utf-8", "cp1251", "utf-16-le"])),
    ]
    rng.shuffle(parts)
    bom = rng.choice([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])
    return rng.choice([".txt", ".html", ".csv", ".jsonl", ""]), bom + b"\n\n".join(parts)


def jsonl_wrong_types(rng: random.Random) -> tuple[str, bytes]:
    values: list[object] = [
        {"text": 42},
        {"text": ["a", "list"]},
        {"text": {"nested": story(rng, 1)}},
        {"text": None, "html": 7},
        {"text": story(rng), "url": ["not", "a", "url"], "published": {"when": 1}, "title": 3.5},
        {"text": story(rng), "published": rng.choice([1e300, -1e300, 10**30, "not a date", True, -1])},
        {"text": True},
        {"html": False},
        "just a string",
        [1, 2, 3],
        None,
        3.14,
        {},
        {"meta": {"text": story(rng)}},
    ]
    lines = [json.dumps(rng.choice(values)) for _ in range(rng.randint(1, 6))]
    extras = [
        "[" * rng.randint(1_000, 200_000),
        '{"text": "unterminated',
        "{'text': 'single quotes'}",
        '{"text": "' + story(rng, 1) + '"}}',
        "NaN",
        '{"text": 1e999}',
        '{"text": "\\ud800 lone surrogate ' + story(rng, 1) + '"}',
    ]
    lines.insert(rng.randrange(len(lines) + 1), rng.choice(extras))
    return _gzip_if(rng.choice([".jsonl", ".ndjson", ".jsonl.gz"]), "\n".join(lines).encode("utf-8", "surrogatepass"))


def _gzip_if(suffix: str, data: bytes) -> tuple[str, bytes]:
    return suffix, gzip.compress(data, compresslevel=1) if suffix.endswith(".gz") else data


def csv_ragged(rng: random.Random) -> tuple[str, bytes]:
    rows = ["url,title,text"]
    for i in range(rng.randint(1, 8)):
        text = story(rng, 1).replace('"', "'")
        row = rng.choice(
            [
                f'https://x.example/{i},Title {i},"{text}"',
                f"https://x.example/{i},{text}",  # too few fields
                f'https://x.example/{i},a,b,c,d,"{text}"',  # too many
                f'https://x.example/{i},T,"{text}',  # an unbalanced quote running to the end
                f'https://x.example/{i},T,"{text}""\r\n,,',
                ",,",
                "",
                f'https://x.example/{i},"T",{text}\x00',
            ]
        )
        rows.append(row)
    delimiter = rng.choice([",", ";", "\t"])
    data = "\n".join(r.replace(",", delimiter) for r in rows).encode(
        rng.choice(["utf-8", "utf-8-sig", "cp1251"]), "replace"
    )
    return _gzip_if(rng.choice([".csv", ".tsv", ".csv.gz"]), data)


def hostile_text(rng: random.Random) -> tuple[str, bytes]:
    text = _sprinkle(rng, story(rng), rate=rng.choice([0.001, 0.01, 0.05]))
    if rng.random() < 0.3:
        text += " " + "x" * rng.randint(10_000, 200_000)  # a very long token
    return rng.choice([".txt", ".html", ""]), text.encode("utf-8", "surrogatepass")


def empty(rng: random.Random) -> tuple[str, bytes]:
    return rng.choice([".txt", ".html", ".jsonl", ".csv", ".warc", ".warc.gz"]), rng.choice(
        [b"", b" ", b"\n\n\n", b"\xef\xbb\xbf", b"\t \r\n", gzip.compress(b""), zlib.compress(b"")]
    )


def article(rng: random.Random) -> tuple[str, bytes]:
    text = story(rng)
    return (".html", _html(rng, text).encode()) if rng.random() < 0.3 else (".txt", text.encode())


#: Each kind with its weight in the mix.
KINDS: dict[str, tuple[Callable[[random.Random], tuple[str, bytes]], float]] = {
    "random-bytes": (random_bytes, 14),
    "truncated-gzip": (truncated_gzip, 8),
    "nested-gzip": (nested_gzip, 6),
    "gzip-bomb": (gzip_bomb, 0.05),
    "broken-warc": (broken_warc, 9),
    "absurd-content-length": (absurd_content_length, 6),
    "deep-html": (deep_html, 0.6),
    "long-line": (long_line, 0.15),
    "nul-bytes": (nul_bytes, 6),
    "mixed-encodings": (mixed_encodings, 8),
    "jsonl-wrong-types": (jsonl_wrong_types, 12),
    "csv-ragged": (csv_ragged, 10),
    "hostile-text": (hostile_text, 8),
    "empty": (empty, 4),
    "article": (article, 8),
}


def write_inputs(folder: Path, n: int, seed: int) -> dict[str, int]:
    """Write ``n`` hostile files into ``folder``; returns how many of each kind."""
    rng = random.Random(seed)
    names = list(KINDS)
    weights = [KINDS[k][1] for k in names]
    counts: dict[str, int] = dict.fromkeys(names, 0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        kind = rng.choices(names, weights)[0]
        suffix, data = KINDS[kind][0](rng)
        (folder / f"{i:06d}-{kind}{suffix}").write_bytes(data)
        counts[kind] += 1
    return counts
