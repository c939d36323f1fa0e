"""HTML pages: main-text extraction with trafilatura, and a plain visible-text rendering.

The cascade for a page, in order:

1. trafilatura in fast mode (no fallback extractors) with metadata (title, date, site name) in one pass;
2. if that finds no text, trafilatura's full cascade (readability and jusText fallbacks);
3. if that finds nothing either, every visible line of the page (:func:`html_to_text`) through the plain-text cleaner.

Step 1's output then goes through the plain-text cleaner's pattern steps (not its density step), which takes out
furniture that survives extraction (share prompts, app promotions, correction notices); docs/evaluation.md has the
scores of each variant on trafilatura's evaluation pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

#: Elements whose text is never visible.
_INVISIBLE = {"script", "style", "noscript", "template", "head", "title", "meta", "link", "svg", "iframe", "object"}
#: Elements that start a new line when rendered.
_BLOCK = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "table", "tbody", "td", "th", "thead", "tr", "ul", "option", "button", "label", "select", "summary",
    "details", "caption",
}  # fmt: skip


_PARSER = lxml.html.HTMLParser(encoding="utf-8")


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None = None
    published: str | None = None
    sitename: str | None = None
    url: str | None = None  # the URL the page declares for itself (canonical, og:url, twitter:url), absolute
    language: str | None = None  # as the page declares it (<html lang>), ISO 639-1
    method: str = "trafilatura-fast"


def parse_html(html: str) -> Any:
    """A forgiving lxml tree (malformed markup is repaired, never fatal), or None when nothing parses."""
    try:
        # The readers already decoded the page: parse it as UTF-8 whatever its <meta charset> says.
        return lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None


def html_to_text(html: str) -> str:
    """Every visible line of a page, boilerplate included, one block element per line."""
    tree = parse_html(html)
    if tree is None:
        return ""
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = " ".join("".join(current).split())
        if text:
            lines.append(text)
        current.clear()

    def walk(el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag.lower() in _INVISIBLE:
            if el.tail:
                current.append(el.tail)
            return
        block = tag.lower() in _BLOCK
        if block:
            flush()
        if el.text and isinstance(el.tag, str):
            current.append(el.text)
        for child in el:
            walk(child)
        if block:
            flush()
        if el.tail:
            current.append(el.tail)

    body = tree.find("body")
    walk(body if body is not None else tree)
    flush()
    return "\n".join(lines)


#: Where pages keep their metadata, in order of trust (Open Graph, schema.org, Dublin Core, plain HTML).
_META_XPATHS = {
    "title": [
        '//meta[@property="og:title"]/@content',
        '//meta[@name="twitter:title"]/@content',
        "//h1[1]//text()",
        "//title/text()",
    ],
    "published": [
        '//meta[@property="article:published_time"]/@content',
        '//meta[@itemprop="datePublished"]/@content',
        '//*[@itemprop="datePublished"]/@datetime',
        '//meta[@name="pubdate" or @name="publishdate" or @name="publish-date" or @name="date"]/@content',
        '//meta[@name="dc.date.issued" or @name="DC.date.issued" or @name="dcterms.created"]/@content',
        '//meta[@property="og:published_time" or @name="sailthru.date" or @name="parsely-pub-date"]/@content',
        "//article//time/@datetime",
        "//time/@datetime",
    ],
    "sitename": ['//meta[@property="og:site_name"]/@content', '//meta[@name="application-name"]/@content'],
    "url": [
        '//link[contains(concat(" ", normalize-space(translate(@rel, "CANONICAL", "canonical")), " "), " canonical ")]'
        "/@href",
        '//meta[@property="og:url" or @name="og:url"]/@content',
        '//meta[@name="twitter:url" or @property="twitter:url"]/@content',
    ],
    "language": [
        "/html/@lang",
        '//meta[@http-equiv="content-language"]/@content',
        '//meta[@property="og:locale"]/@content',
    ],
}
_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')


def _page_url(tree: Any, paths: list[str], url: str | None) -> str | None:
    """The first URL a page declares for itself (canonical, og:url, twitter:url) that is an absolute http(s) URL once
    resolved against ``<base href>`` or the URL the page was read from; None when it declares none."""
    base = next((str(v).strip() for v in tree.xpath("//base/@href") if str(v).strip()), None)
    if base and url:
        try:
            base = urljoin(url, base)
        except ValueError:
            base = None
    for path in paths:
        for value in tree.xpath(path):
            candidate = str(value).strip()
            if not candidate:
                continue
            try:
                resolved = urljoin(base or url or "", candidate)
                parts = urlsplit(resolved)
                host = parts.hostname
            except ValueError:  # a malformed URL ("http://[x"): the next candidate
                continue
            if parts.scheme in ("http", "https") and host:
                return resolved
    return None


def html_metadata(tree: Any, *, url: str | None = None) -> dict[str, str | None]:
    """Title, publication date (ISO date), site name and the page's own URL from its markup (XPath only, no text
    search, so it costs a small share of the extraction). ``url``: where the page was read from, to resolve a relative
    canonical link."""
    from .metadata import normalise_date

    found: dict[str, str | None] = {}
    for key, paths in _META_XPATHS.items():
        found[key] = None
        if key == "url":
            found[key] = _page_url(tree, paths, url)
            continue
        for path in paths:
            values = [" ".join(str(v).split()) for v in tree.xpath(path)]
            value = (
                " ".join(v for v in values if v)
                if key == "title" and path.startswith("//h1")
                else next((v for v in values if v), None)
            )
            if value:
                found[key] = value
                break
    if found["published"] is None:
        for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
            match = _JSONLD_DATE.search(str(script))
            if match:
                found["published"] = match.group(1)
                break
    date = normalise_date(found["published"])
    found["published"] = date[:10] if date else None
    lang = (found["language"] or "").replace("_", "-").split("-")[0].lower()
    found["language"] = lang if len(lang) == 2 and lang.isalpha() else None
    return found


def _bare(tree: Any, url: str | None, *, fast: bool) -> str:
    import trafilatura

    result = trafilatura.bare_extraction(
        tree, url=url, fast=fast, with_metadata=False, include_comments=False, include_tables=True
    )
    if result is None:
        return ""
    data = result if isinstance(result, dict) else result.as_dict()
    return str(data.get("text") or "")


def extract_html(html: str, *, url: str | None = None) -> Extracted:
    """Main text and metadata of a page (see the module docstring for the cascade)."""
    tree = parse_html(html)
    if tree is None:
        return Extracted(text="", method="unparsable")
    meta = html_metadata(tree, url=url)  # before extraction, which prunes the tree in place
    text, method = _bare(tree, url, fast=True), "trafilatura-fast"
    if not text.strip():
        fresh = parse_html(html)
        text, method = (_bare(fresh, url, fast=False) if fresh is not None else ""), "trafilatura"
    if not text.strip():
        text, method = html_to_text(html), "visible-text"
    return Extracted(
        text=text,
        title=meta["title"],
        published=meta["published"],
        sitename=meta["sitename"],
        url=meta["url"],
        language=meta["language"],
        method=method,
    )
