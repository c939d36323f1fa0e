"""Stories and reuse through the store: what `crosscheck link` writes, and what the export then carries."""

from __future__ import annotations

from pathlib import Path

from crosscheck import open_store
from crosscheck.article import Article
from crosscheck.corpus import find_reuse
from crosscheck.export import article_record


def test_a_copied_article_is_found_with_its_first_publisher(tmp_path: Path, example_texts: dict[str, str]) -> None:
    original = example_texts["kherson-liberated.txt"]
    paragraphs = original.split("\n")
    copy = "\n".join(["Reposted from our partners.", *paragraphs[:6], "Our own closing remarks follow here today."])
    with open_store(tmp_path / "reuse.db") as store:
        first = Article(raw=original, origin="a.txt", text=original, outlet="a.example", published="2022-11-11")
        second = Article(raw=copy, origin="b.txt", text=copy, outlet="b.example", published="2022-11-12")
        store.add_article(first)
        store.add_article(second)
        assert find_reuse(store) > 0
        assert find_reuse(store) == 0  # incremental: nothing new
        record = article_record(store, store.require(second.id))
        assert record["reuse"], record["reuse"]
        for passage in record["reuse"]:
            assert passage["other_article"] == first.id and passage["first"] == first.id
            mine = copy[passage["start"] : passage["end"]]
            theirs = original[passage["other_start"] : passage["other_end"]]
            assert mine.split()[:5] == theirs.split()[:5]
        pairs = store.reuse_outlet_pairs()
        assert pairs and pairs[0]["copier"] == "b.example" and pairs[0]["source"] == "a.example"
        other_side = article_record(store, store.require(first.id))
        assert {p["other_article"] for p in other_side["reuse"]} == {second.id}
