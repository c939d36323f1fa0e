"""The SQLite store: migrations, dedup, re-runs, full-text search, analysis rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crosscheck import Article, open_store
from crosscheck.errors import StoreError
from crosscheck.store import Store
from crosscheck.store.schema import MIGRATIONS


def _article(text: str, origin: str, **meta: str) -> Article:
    article = Article(raw=text, origin=origin, text=text, **meta)  # type: ignore[arg-type]
    article.finalise_ids()
    return article


def test_new_database_is_migrated_and_in_wal_mode(db_path: Path) -> None:
    with open_store(db_path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with open_store(db_path) as again:  # reopening runs no migration twice
        assert again.schema_version == len(MIGRATIONS)


def test_newer_schema_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this Crosscheck"):
        open_store(db_path)


def test_not_a_database_is_a_clean_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not sqlite " * 200)
    with pytest.raises(StoreError, match="not a Crosscheck database"):
        open_store(bogus)


def test_duplicates_are_stored_once_and_reruns_are_unchanged(store: Store, example_texts: dict[str, str]) -> None:
    text = example_texts["kherson-liberated.txt"]
    assert store.add_article(_article(text, "a.txt"), raw_hash="h1") == "ingested"
    assert store.add_article(_article(text, "b.txt"), raw_hash="h2") == "duplicate"
    assert store.add_article(_article(text, "a.txt"), raw_hash="h1") == "unchanged"
    # Whitespace differences do not make a new article.
    assert store.add_article(_article(text.replace("\n\n", "\n"), "c.txt")) == "duplicate"
    assert store.count() == 1
    assert store.stats()["duplicates"] == 2
    assert store.seen_unchanged("a.txt", "h1")
    assert not store.seen_unchanged("a.txt", "other")


def test_full_text_search_finds_words_and_survives_bad_syntax(store: Store, example_texts: dict[str, str]) -> None:
    for name, text in example_texts.items():
        store.add_article(_article(text, name))
    hits = store.search("Peskov")
    assert len(hits) == 1 and "[Peskov]" in hits[0]["snippet"]
    assert len(store.search("Kherson")) == 2  # the Kharkiv page never names Kherson
    assert store.search('"unbalanced quote') == []  # invalid FTS5 syntax falls back to plain words
    assert [h["id"] for h in store.search("Nadezhdin NTV")] == [
        _article(example_texts["kharkiv-stunning-defeat.txt"], "x").id
    ]


def test_get_by_prefix_and_missing(store: Store, example_texts: dict[str, str]) -> None:
    article = _article(example_texts["kharkiv-stunning-defeat.txt"], "k.txt", title="In Kharkiv")
    store.add_article(article)
    found = store.get(article.id[:6])
    assert found is not None and found.id == article.id and found.title == "In Kharkiv"
    assert store.get("ffffffffffffffff0") is None


def test_save_analysis_writes_spans_and_claims(store: Store, example_texts: dict[str, str]) -> None:
    article = _article(example_texts["kherson-run-rabbit-run-video.txt"], "r.txt")
    store.add_article(article)
    assert store.needs_analysis(["parse"], "1") == [article.id]
    data = {
        "entities": [{"start": 0, "end": 7, "text": "A video", "label": "ORG"}],
        "quantities": [{"start": 10, "end": 13, "text": "201", "value": 201, "unit": "people"}],
        "claims": [{"id": f"{article.id}:0-10", "start": 0, "end": 10, "text": "x", "score": 0.9}],
        "attributions": [
            {"source": None, "cue": None, "content": {"start": 1, "end": 5, "text": "abcd"}, "kind": "direct"}
        ],
    }
    store.save_analysis(article.id, ["parse"], "1", data)
    assert store.analysis(article.id) == data
    assert store.needs_analysis(["parse"], "1") == []
    assert store.needs_analysis(["parse", "claims"], "1") == [article.id]
    layers = {r[0] for r in store.conn.execute("SELECT layer FROM spans")}
    assert layers == {"entities", "quantities", "attributions"}
    store.save_analysis(article.id, ["parse"], "1", {"claims": []})  # replacing drops the old rows
    assert store.conn.execute("SELECT count(*) FROM claims").fetchone()[0] == 0
    assert store.get(article.id).status == "analyzed"  # type: ignore[union-attr]


def test_a_full_disk_is_a_clear_error_and_loses_nothing(db_path: Path, example_texts: dict[str, str]) -> None:
    with open_store(db_path) as store:
        first = _article(example_texts["kherson-liberated.txt"], "a.txt")
        store.add_article(first)
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the file system's limit, in small
        big = _article("Kherson. " * 40_000, "big.txt")
        with pytest.raises(StoreError, match=r"\[E026\] cannot write to the database"):
            store.add_article(big)
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert [a.id for a in store.articles()] == [first.id]
        store.conn.execute("PRAGMA max_page_count = 1073741823")  # space freed: the same write now succeeds
        assert store.add_article(big) == "ingested"
