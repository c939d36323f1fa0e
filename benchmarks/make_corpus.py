"""Write a synthetic but realistic ingest corpus built from the three example articles.

For each of N documents one example is varied (seeded, so the same arguments give the same bytes): body paragraphs
partly shuffled, numbers changed, place names swapped, a dateline added; then page furniture is put around it
(category labels, author bio, "Recent Posts", app promotions, correction notices; for HTML also navigation, related
links and a footer). Every story body is distinct, so every content hash differs.

    python benchmarks/make_corpus.py --n 2000 --out /tmp/corpus

writes ``text/page-00001.txt`` ... (N plain-text pages), ``html/page-00001.html`` ... (N HTML pages),
``crawl.warc.gz`` (a warcinfo record and N HTML response records) and ``articles.jsonl`` (N records with text, url,
title, published and outlet) under ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import html
import io
import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

OUTLETS = [
    ("kyivobserver.example", "Kyiv Observer"),
    ("freedomnews.example", "FreeDom News"),
    ("eastwatch.example", "East Watch"),
    ("frontline-daily.example", "Frontline Daily"),
    ("baltic-monitor.example", "Baltic Monitor"),
]
AUTHORS = ["Olena Kovalenko", "Mark Davies", "Iryna Shevchuk", "Tomas Novak", "Anna Lindqvist", "Dmytro Bondar"]
CATEGORIES = ["Ukraine", "War", "World", "Europe", "Analysis", "Fact check"]
#: Places swapped among each other (each document maps a few of them to others).
PLACES = ["Kherson", "Kharkiv", "Izyum", "Balakliia", "Kupiansk", "Mykolaiv", "Zaporizhzhia", "Lyman", "Bakhmut"]
RELATED = [
    "Security guarantees for Ukraine: what is on the table",
    "Ratcheting up sanctions: the next package explained",
    "How Telegram channels shape the front-line story",
    "Grain corridor: ships leave Odesa again",
    "Energy grid under attack as winter nears",
    "Fact check: the video that was not from Kherson",
    "Mobilisation in Russia: numbers and rumours",
]
PROMOS = [
    "Download The {outlet} app for iPhone and Android – share the app with friends and family.",
    "Subscribe to our newsletter and get the day's top stories every morning.",
    "Follow {outlet} on Telegram for live updates.",
]
CORRECTIONS = [
    "Correction: an earlier version of this article misstated the date of the announcement.",
    "Update: this story has been updated with a statement from the General Staff.",
]

#: Numbers to vary: not parts of names or designations ("T-72", "Su-25", "1.5").
_NUMBER = re.compile(r"(?<![\w.-])(\d{1,3}(?:,\d{3})+|\d+)(?![\w.])")
#: Paragraphs shorter than this many words (headings, furniture lines) keep their place when the story is shuffled.
MIN_SHUFFLE_WORDS = 20


@dataclass(frozen=True)
class Doc:
    index: int
    outlet_domain: str
    outlet: str
    title: str
    author: str
    published: dt.date
    category: str
    paragraphs: list[str]
    related: list[str]
    promo: str
    correction: str | None

    @property
    def url(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")[:60]
        return f"https://{self.outlet_domain}/{self.published:%Y/%m}/{slug}-{self.index}"

    @property
    def story(self) -> str:
        return "\n\n".join(self.paragraphs)


def _vary_number(match: re.Match[str], rng: random.Random) -> str:
    raw = match.group(1)
    value = int(raw.replace(",", ""))
    if 1900 <= value <= 2030 or value < 3:  # years and tiny counts stay as they are
        return raw
    varied = max(1, round(value * rng.uniform(0.7, 1.3)))
    return f"{varied:,}" if "," in raw else str(varied)


def _swap_places(text: str, mapping: dict[str, str]) -> str:
    if not mapping:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b")
    return pattern.sub(lambda m: mapping[m.group(1)], text)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _vary(example: str, index: int, rng: random.Random) -> Doc:
    paragraphs = _paragraphs(example)
    title, body = paragraphs[0], paragraphs[1:]
    # Swap a few story paragraphs after the lead (which stays first, as in a real story); short lines stay put.
    movable = [i for i, p in enumerate(body) if i > 0 and len(p.split()) >= MIN_SHUFFLE_WORDS]
    for _ in range(rng.randint(1, 3)):
        if len(movable) > 1:
            i, j = rng.sample(movable, 2)
            body[i], body[j] = body[j], body[i]
    sources = rng.sample(PLACES, 3)
    targets = rng.sample(PLACES, 3)
    mapping = {s: t for s, t in zip(sources, targets, strict=True) if s != t}
    body = [_NUMBER.sub(lambda m: _vary_number(m, rng), _swap_places(p, mapping)) for p in body]
    title = _swap_places(title, mapping)
    published = dt.date(2022, 9, 1) + dt.timedelta(days=rng.randint(0, 120))
    domain, outlet = rng.choice(OUTLETS)
    dateline = f"{rng.choice(PLACES).upper()}, {published:%B} {published.day} ({outlet}) —"
    body[0] = f"{dateline} {body[0]}"
    return Doc(
        index=index,
        outlet_domain=domain,
        outlet=outlet,
        title=title,
        author=rng.choice(AUTHORS),
        published=published,
        category=rng.choice(CATEGORIES),
        paragraphs=body,
        related=rng.sample(RELATED, 4),
        promo=rng.choice(PROMOS).format(outlet=outlet),
        correction=rng.choice(CORRECTIONS) if rng.random() < 0.3 else None,
    )


def documents(n: int, seed: int) -> Iterator[Doc]:
    """N varied documents, cycling through the examples; a body already produced is drawn again."""
    examples = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.txt"))]
    rng = random.Random(seed)
    seen: set[str] = set()
    for index in range(1, n + 1):
        while True:
            doc = _vary(examples[index % len(examples)], index, rng)
            digest = hashlib.sha256(" ".join(doc.story.split()).encode()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                break
        yield doc


def as_text(doc: Doc) -> str:
    """A scraped plain-text page: category label, title, byline, story, correction, promo, recent posts, bio."""
    lines = [doc.category, "", doc.title, "", f"By {doc.author} · {doc.published:%d %B %Y}", "", doc.story, ""]
    if doc.correction:
        lines += [doc.correction, ""]
    lines += [doc.promo, "", "Recent Posts", ""]
    for n, headline in enumerate(doc.related, 1):
        lines += [headline, "", f"{n} week{'s' if n > 1 else ''} ago", ""]
    lines += [f"{doc.author} covers the war in Ukraine for {doc.outlet}.", ""]
    return "\n".join(lines)


def as_html(doc: Doc) -> str:
    """An article page with navigation, metadata, the story in <p>s, related links, a newsletter box and a footer."""
    e = html.escape
    nav = "".join(f'<li><a href="/{c.lower().replace(" ", "-")}">{e(c)}</a></li>' for c in CATEGORIES)
    story = "\n".join(f"<p>{e(p)}</p>" for p in doc.paragraphs)
    related = "".join(f'<li><a href="/related/{i}">{e(h)}</a></li>' for i, h in enumerate(doc.related))
    correction = f'<p class="correction"><em>{e(doc.correction)}</em></p>' if doc.correction else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>{e(doc.title)} | {e(doc.outlet)}</title>
<meta property="og:title" content="{e(doc.title)}">
<meta property="og:site_name" content="{e(doc.outlet)}">
<meta property="article:published_time" content="{doc.published.isoformat()}T09:00:00Z">
<link rel="canonical" href="{e(doc.url)}">
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"page": "{doc.index}"}});</script>
</head><body>
<header><a class="logo" href="/">{e(doc.outlet)}</a><nav><ul>{nav}</ul></nav></header>
<main>
<article>
<span class="category">{e(doc.category)}</span>
<h1>{e(doc.title)}</h1>
<p class="byline">By <a href="/authors/{doc.author.lower().replace(" ", "-")}">{e(doc.author)}</a>
<time datetime="{doc.published.isoformat()}">{doc.published:%d %B %Y}</time></p>
{story}
{correction}
<div class="share">Share: <a href="#">Facebook</a> <a href="#">X</a> <a href="#">Telegram</a></div>
</article>
<aside class="related"><h3>Recent Posts</h3><ul>{related}</ul></aside>
<aside class="promo"><p>{e(doc.promo)}</p></aside>
</main>
<footer><p>{e(doc.author)} covers the war in Ukraine for {e(doc.outlet)}.</p>
<p>© {doc.published.year} {e(doc.outlet)}. All rights reserved. <a href="/privacy">Privacy</a></p></footer>
</body></html>
"""


def write_corpus(out: Path, *, n: int, seed: int) -> dict[str, int]:
    """Write the four parts of the corpus under ``out``; returns bytes written per part."""
    (out / "text").mkdir(parents=True, exist_ok=True)
    (out / "html").mkdir(parents=True, exist_ok=True)
    sizes = {"text": 0, "html": 0, "warc": 0, "jsonl": 0}
    with (out / "crawl.warc.gz").open("wb") as warc_file, (out / "articles.jsonl").open("w", encoding="utf-8") as jl:
        writer = WARCWriter(warc_file, gzip=True)
        writer.write_record(writer.create_warcinfo_record("crawl.warc.gz", {"software": "crosscheck make_corpus"}))
        for doc in documents(n, seed):
            text, page = as_text(doc), as_html(doc)
            name = f"page-{doc.index:05d}"
            sizes["text"] += (out / "text" / f"{name}.txt").write_bytes(text.encode("utf-8"))
            sizes["html"] += (out / "html" / f"{name}.html").write_bytes(page.encode("utf-8"))
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            fetched = dt.datetime.combine(doc.published, dt.time(12, 0), tzinfo=dt.UTC)
            record = writer.create_warc_record(
                doc.url,
                "response",
                payload=io.BytesIO(page.encode("utf-8")),
                http_headers=headers,
                warc_headers_dict={"WARC-Date": fetched.isoformat().replace("+00:00", "Z")},
            )
            writer.write_record(record)
            line = {
                "text": doc.story,
                "url": doc.url,
                "title": doc.title,
                "published": doc.published.isoformat(),
                "outlet": doc.outlet,
            }
            encoded = json.dumps(line, ensure_ascii=False) + "\n"
            jl.write(encoded)
            sizes["jsonl"] += len(encoded.encode("utf-8"))
        sizes["warc"] = warc_file.tell()
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="documents per format (default 2000)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into (created)")
    parser.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    args = parser.parse_args(argv)
    sizes = write_corpus(args.out, n=args.n, seed=args.seed)
    for part, size in sizes.items():
        print(f"{part:6s} {args.n} documents, {size / 1024 / 1024:.1f} MB", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
