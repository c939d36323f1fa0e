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

from dataclasses import dataclass
from typing import Any

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
    url: str | None = None
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


def _bare(html: str, url: str | None, *, fast: bool) -> dict[str, Any]:
    import trafilatura

    tree = parse_html(html)
    if tree is None:
        return {}
    result = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=fast,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        # Dates from the page's markup and URL only: the extensive text search costs more than the extraction.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if result is None:
        return {}
    return result if isinstance(result, dict) else dict(result.as_dict())


def extract_html(html: str, *, url: str | None = None) -> Extracted:
    """Main text and metadata of a page (see the module docstring for the cascade)."""
    doc = _bare(html, url, fast=True)
    method = "trafilatura-fast"
    if not (doc.get("text") or "").strip():
        doc = _bare(html, url, fast=False)
        method = "trafilatura"
    if not (doc.get("text") or "").strip():
        return Extracted(text=html_to_text(html), method="visible-text")
    return Extracted(
        text=doc.get("text") or "",
        title=doc.get("title"),
        published=doc.get("date"),
        sitename=doc.get("sitename"),
        url=doc.get("url") or url,
        method=method,
    )
