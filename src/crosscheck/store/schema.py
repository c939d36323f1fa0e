"""The store's schema as numbered migrations. ``PRAGMA user_version`` records how many have run.

Append a migration to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: articles, where each input went, what was skipped, full-text search.
    """
    CREATE TABLE articles (
        id          TEXT PRIMARY KEY,           -- first 16 hex digits of hash
        hash        TEXT NOT NULL UNIQUE,       -- sha256 of the whitespace-normalised clean text
        origin      TEXT NOT NULL,              -- where it was first read from
        url         TEXT,
        outlet      TEXT,
        title       TEXT,
        published   TEXT,
        fetched     TEXT,                       -- when it was crawled (WARC-Date, fetch time), if known
        language    TEXT,
        raw_format  TEXT NOT NULL,
        raw         TEXT NOT NULL,
        text        TEXT NOT NULL,
        removed     TEXT NOT NULL DEFAULT '[]', -- JSON list of {start,end,kind} into raw
        status      TEXT NOT NULL DEFAULT 'ingested',  -- ingested | analyzed | failed
        reason      TEXT,                       -- why a status is 'failed'
        ingested_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE origins (
        origin      TEXT PRIMARY KEY,           -- path, path#line, path@offset (WARC), URL
        article_id  TEXT REFERENCES articles(id),
        outcome     TEXT NOT NULL,              -- ingested | duplicate | skipped
        raw_hash    TEXT,                       -- sha256 of what was read, to recognise an unchanged input
        code        TEXT,                       -- skip code (errors.SKIP_*)
        reason      TEXT,
        at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE INDEX origins_article ON origins(article_id);
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, text, content='articles', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
    END;
    CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.rowid, old.title, old.text);
    END;
    CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.rowid, old.title, old.text);
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.rowid, new.title, new.text);
    END;
    """,
    # 2: analysis results: one row per article and pipeline, one per span, one per claim, cross-article links.
    """
    CREATE TABLE analyses (
        article_id  TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        stages      TEXT NOT NULL,              -- JSON list of stage names that ran
        version     TEXT NOT NULL,              -- crosscheck version that produced it
        data        TEXT NOT NULL,              -- JSON: the analysis fields of the export contract
        at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE spans (
        article_id  TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        layer       TEXT NOT NULL,              -- entity | quantity | date | attribution | technique
        start       INTEGER NOT NULL,
        end         INTEGER NOT NULL,
        label       TEXT,
        data        TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX spans_article ON spans(article_id, layer);
    CREATE INDEX spans_label ON spans(layer, label);
    CREATE TABLE claims (
        id          TEXT PRIMARY KEY,
        article_id  TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        start       INTEGER NOT NULL,
        end         INTEGER NOT NULL,
        text        TEXT NOT NULL,
        score       REAL NOT NULL,
        source      TEXT,
        date        TEXT,
        data        TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX claims_article ON claims(article_id);
    CREATE TABLE links (
        claim         TEXT NOT NULL,
        cluster       TEXT NOT NULL,
        relation      TEXT NOT NULL,            -- corroborates | contradicts | copies
        article_id    TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        other_article TEXT NOT NULL,
        other_claim   TEXT
    );
    CREATE INDEX links_article ON links(article_id);
    """,
]
