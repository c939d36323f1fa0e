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
    # 3: across sources. Claim vectors (for the nearest-neighbour index), claim links with their reasons, claim
    # clusters, which articles are linked, stories, related articles and reused passages. Every row points at the
    # claims and articles it is about through foreign keys, so re-analysing an article (which replaces its claims)
    # removes its links instead of leaving them pointing at claims that no longer exist; the article is then due
    # for linking again. The links table of migration 2 was never written to; it is replaced.
    """
    DROP TABLE links;
    CREATE TABLE claim_vectors (
        claim_id    TEXT PRIMARY KEY REFERENCES claims(id) ON DELETE CASCADE,
        article_id  TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        model       TEXT NOT NULL,              -- encoder name and version
        vector      BLOB NOT NULL               -- float32, L2-normalised
    );
    CREATE INDEX claim_vectors_article ON claim_vectors(article_id);
    CREATE TABLE links (
        claim         TEXT NOT NULL REFERENCES claims(id) ON DELETE CASCADE,
        other_claim   TEXT NOT NULL REFERENCES claims(id) ON DELETE CASCADE,
        article_id    TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        other_article TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        relation      TEXT NOT NULL,            -- corroborates | contradicts | related
        score         REAL NOT NULL,
        similarity    REAL NOT NULL,
        reason        TEXT NOT NULL,
        PRIMARY KEY (claim, other_claim)
    );
    CREATE INDEX links_article ON links(article_id);
    CREATE INDEX links_other ON links(other_claim);
    CREATE INDEX links_other_article ON links(other_article);
    CREATE TABLE claim_keys (
        claim_id    TEXT NOT NULL REFERENCES claims(id) ON DELETE CASCADE,
        key         TEXT NOT NULL,              -- a blocking key: measure (unit|counted) and place
        PRIMARY KEY (key, claim_id)
    );
    CREATE INDEX claim_keys_claim ON claim_keys(claim_id);
    CREATE TABLE claim_clusters (
        claim_id    TEXT PRIMARY KEY REFERENCES claims(id) ON DELETE CASCADE,
        cluster     TEXT NOT NULL
    );
    CREATE INDEX claim_clusters_cluster ON claim_clusters(cluster);
    CREATE TABLE linked (
        article_id  TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        version     TEXT NOT NULL,
        at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE stories (
        article_id  TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        story       TEXT NOT NULL,
        features    TEXT NOT NULL DEFAULT '{}'  -- what the story clustering compares, as JSON
    );
    CREATE INDEX stories_story ON stories(story);
    CREATE TABLE related (
        article_id    TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        other_article TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        score         REAL NOT NULL,
        kind          TEXT NOT NULL,            -- same-story | copy
        PRIMARY KEY (article_id, other_article, kind)
    );
    CREATE TABLE reuse (
        article_id    TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        start         INTEGER NOT NULL,
        end           INTEGER NOT NULL,
        other_article TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        other_start   INTEGER NOT NULL,
        other_end     INTEGER NOT NULL,
        first         TEXT NOT NULL,            -- article id of the first publisher, or 'unknown'
        score         REAL NOT NULL
    );
    CREATE INDEX reuse_article ON reuse(article_id);
    CREATE TABLE reuse_fingerprints (
        article_id  TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        data        BLOB NOT NULL               -- serialised passage fingerprints
    );
    CREATE TRIGGER claims_relink AFTER DELETE ON claims BEGIN
        DELETE FROM linked WHERE article_id = old.article_id;
    END;
    """,
    # 4: the blocking look-up (a key's newest claims) reads this index backwards instead of sorting the key's rows.
    """
    CREATE INDEX claim_keys_key ON claim_keys(key);
    """,
]
