"""HTML pages: extraction with metadata, visible text, encodings, malformed markup."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from conftest import EXAMPLES
from crosscheck.article import Article
from crosscheck.ingest import prepare_article
from crosscheck.ingest.html import extract_html, html_to_text
from crosscheck.ingest.metadata import outlet_from_url


def _page(story: str, *, charset: str = "utf-8", title: str = "Kherson") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in story.split("\n\n") if p.strip())
    return (
        f'<html><head><meta charset="{charset}"><title>{title}</title>'
        '<meta property="article:published_time" content="2022-11-11T15:00:00+00:00">'
        '<meta property="og:site_name" content="Example News"></head><body>'
        '<nav><a href="/">Home</a> <a href="/world">World</a></nav>'
        f"<article><h1>{title}</h1>{paragraphs}</article>"
        '<aside><h3>Related</h3><ul><li><a href="/a">Another story</a></li></ul></aside>'
        "<footer>© 2022 Example News. All rights reserved.</footer></body></html>"
    )


def test_extracts_story_and_metadata(examples_dir: Path) -> None:
    raw = (examples_dir / "kharkiv-stunning-defeat.txt").read_text("utf-8")
    story = raw.split("Download")[0]
    extracted = extract_html(_page(story, title="In Kharkiv, Russia suffers a stunning defeat"))
    assert "Boris Nadezhdin admitted yesterday on NTV" in extracted.text
    assert "All rights reserved" not in extracted.text
    assert extracted.title == "In Kharkiv, Russia suffers a stunning defeat"
    assert extracted.published == "2022-11-11"
    assert extracted.sitename == "Example News"


def test_page_declaring_another_charset_is_not_garbled() -> None:
    story = "Херсон звільнено. Українські військові увійшли до міста, а російські війська відступили з правого берега."
    html = _page(story * 3, charset="windows-1251", title="Херсон")
    extracted = extract_html(html)
    assert "Херсон звільнено." in extracted.text
    assert extracted.title == "Херсон"


def test_malformed_html_still_yields_text() -> None:
    html = (
        "<html><body><div><p>Russian troops fled Kherson on Friday, officials said, after weeks of fighting.<p>Second"
    )
    text = html_to_text(html)
    assert "Russian troops fled Kherson on Friday" in text
    assert text.splitlines()[-1] == "Second"


def test_visible_text_drops_scripts_and_styles() -> None:
    html = (
        "<html><head><style>p{}</style></head><body><script>var x=1;</script><p>Visible words here.</p></body></html>"
    )
    assert html_to_text(html) == "Visible words here."


def test_prepare_html_article_sets_metadata_and_outlet(examples_dir: Path) -> None:
    story = (examples_dir / "kherson-liberated.txt").read_text("utf-8").split("Mike")[0]
    article = Article(raw=_page(story), origin="page.html", raw_format="html", url="https://www.example.org/kherson")
    prepared = prepare_article(article)
    assert isinstance(prepared, Article)
    assert "Dmitry Peskov, a spokesman for the Kremlin, stated" in prepared.text
    assert prepared.outlet == "Example News"
    assert prepared.published == "2022-11-11"
    assert prepared.language == "en"
    assert prepared.id and prepared.removed == []


def _story_page(head: str, story: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in story.split("\n\n") if p.strip())
    return f"<html><head><title>Kherson</title>{head}</head><body><article>{paragraphs}</article></body></html>"


def _prepared(html: str, url: str | None = None) -> Article:
    prepared = prepare_article(Article(raw=html, origin="page.html", raw_format="html", url=url))
    assert isinstance(prepared, Article), prepared
    return prepared


@pytest.mark.parametrize(
    ("head", "url", "expected"),
    [
        # no canonical link: og:url, then twitter:url
        ('<meta property="og:url" content="https://www.newsnationnow.com/world/kherson/">', None,
         "https://www.newsnationnow.com/world/kherson/"),
        ('<meta name="twitter:url" content="https://kyivindependent.com/kherson">', None,
         "https://kyivindependent.com/kherson"),
        # a relative canonical link is resolved against the URL the page came from (or <base href>)
        ('<link rel="canonical" href="/world/kherson/">', "https://www.example.org/amp/kherson",
         "https://www.example.org/world/kherson/"),
        ('<base href="https://www.pravda.com.ua/eng/"><link rel="Canonical" href="news/1">', None,
         "https://www.pravda.com.ua/eng/news/1"),
        # a relative canonical with nothing to resolve it against gives way to og:url
        ('<link rel="canonical" href="/world/kherson/"><meta property="og:url" content="https://a.example/k">', None,
         "https://a.example/k"),
        # the page declares nothing: the reader's URL (WARC target, fetched URL, a record's URL field)
        ("", "https://www.example.org/kherson", "https://www.example.org/kherson"),
    ],
)  # fmt: skip
def test_url_falls_back_from_canonical_to_og_url_to_the_readers_url(head: str, url: str | None, expected: str) -> None:
    story = (EXAMPLES / "kherson-liberated.txt").read_text("utf-8").split("Mike")[0]
    prepared = _prepared(_story_page(head, story), url)
    assert prepared.url == expected
    assert prepared.outlet == outlet_from_url(expected)


def test_a_site_name_that_is_a_url_gives_its_host_as_the_outlet() -> None:
    story = (EXAMPLES / "kherson-liberated.txt").read_text("utf-8").split("Mike")[0]
    head = '<meta property="og:site_name" content="https://www.newsnationnow.com/">'
    assert _prepared(_story_page(head, story)).outlet == "newsnationnow.com"


def test_a_warc_page_without_a_canonical_link_gets_the_target_uri(tmp_path: Path) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from crosscheck import open_store
    from crosscheck.ingest import ingest

    story = (EXAMPLES / "kharkiv-stunning-defeat.txt").read_text("utf-8").split("Download")[0]
    path = tmp_path / "crawl.warc.gz"
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.0")
        body = _story_page("", story).encode("utf-8")
        writer.write_record(
            writer.create_warc_record(
                "https://www.newsnationnow.com/world/kharkiv",
                "response",
                payload=io.BytesIO(body),
                http_headers=headers,
            )
        )
    with open_store(":memory:") as store:
        ingest([str(path)], store)
        (article,) = store.articles()
    assert (article.url, article.outlet) == ("https://www.newsnationnow.com/world/kharkiv", "newsnationnow.com")


def test_a_malformed_canonical_url_gives_way_to_the_next() -> None:
    story = (EXAMPLES / "kherson-liberated.txt").read_text("utf-8").split("Mike")[0]
    head = '<link rel="canonical" href="http://[broken"><meta property="og:site_name" content="http://[x">'
    prepared = _prepared(_story_page(head, story), "https://www.example.org/kherson")
    assert (prepared.url, prepared.outlet) == ("https://www.example.org/kherson", "example.org")
