"""HTML pages: extraction with metadata, visible text, encodings, malformed markup."""

from __future__ import annotations

from pathlib import Path

from crosscheck.article import Article
from crosscheck.ingest import prepare_article
from crosscheck.ingest.html import extract_html, html_to_text


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
