"""The SQLite store: the only module that speaks SQL.

One file, WAL mode (the dashboard reads while analysis writes), FTS5 over clean text, and a file that opens as is in
Datasette or the ``sqlite3`` shell. Every write of one input is one transaction, so a process killed mid-ingest leaves
a consistent store and the same command run again completes it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..article import Article, Removed, Skipped
from ..errors import StoreError
from .schema import MIGRATIONS

DEFAULT_DB = "crosscheck.db"


@dataclass(frozen=True)
class StoredArticle:
    id: str
    hash: str
    origin: str
    url: str | None
    outlet: str | None
    title: str | None
    published: str | None
    fetched: str | None
    language: str | None
    raw_format: str
    raw: str
    text: str
    removed: list[Removed]
    status: str
    ingested_at: str

    def to_article(self) -> Article:
        return Article(
            raw=self.raw,
            origin=self.origin,
            raw_format=self.raw_format,
            url=self.url,
            title=self.title,
            outlet=self.outlet,
            published=self.published,
            fetched=self.fetched,
            language=self.language,
            text=self.text,
            removed=list(self.removed),
            id=self.id,
            hash=self.hash,
        )


_ARTICLE_COLUMNS = (
    "id, hash, origin, url, outlet, title, published, fetched, language, raw_format, raw, text, removed, status, "
    "ingested_at"
)


def _row_to_article(row: sqlite3.Row) -> StoredArticle:
    data = dict(row)
    data["removed"] = [Removed(**r) for r in json.loads(data["removed"])]
    return StoredArticle(**data)


class Store:
    """A Crosscheck database. Use :func:`open_store` to get one."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError("E020", f"cannot open database {self.path}: {exc}") from exc
        self.conn.row_factory = sqlite3.Row
        try:
            if self.path != ":memory:":
                self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError("E021", f"{self.path} is not a Crosscheck database: {exc}") from exc

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                "E022",
                f"{self.path} has schema version {version}, newer than this Crosscheck knows "
                f"({len(MIGRATIONS)}); upgrade Crosscheck",
            )
        for number in range(version, len(MIGRATIONS)):
            with self.transaction():
                for statement in _split_sql(MIGRATIONS[number]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    # -- ingest ----------------------------------------------------------------------------------------------------

    def seen_unchanged(self, origin: str, raw_hash: str, *, container: str | None = None) -> bool:
        """True when this origin was stored before from exactly this input (a re-run: nothing to do).

        ``container``: the file the origin is a record of; when the record is recognised, a skip recorded for that
        whole file by an earlier run is cleared (the file is read now).
        """
        row = self.conn.execute(
            "SELECT 1 FROM origins WHERE origin = ? AND raw_hash = ? AND outcome != 'skipped'", (origin, raw_hash)
        ).fetchone()
        if row is not None and container is not None:
            with self.transaction():
                self.conn.execute("DELETE FROM origins WHERE origin = ? AND outcome = 'skipped'", (container,))
        return row is not None

    def add_article(self, article: Article, *, raw_hash: str | None = None, container: str | None = None) -> str:
        """Store an article (one transaction). Returns ``ingested``, ``duplicate``, ``unchanged`` or ``updated``.

        ``unchanged``: this origin was already stored with this text (a re-run). ``updated``: the same, but the
        metadata differ (a re-run with other field options): the article takes the new metadata, and loses its
        analysis when the publication date or language changed. ``duplicate``: the same clean text is already stored
        from another origin; the origin is recorded against the existing article. ``container``: the file the origin
        is a record of; a skip recorded for that whole file by an earlier run is cleared.
        """
        if not article.hash:
            article.finalise_ids()
        with self.transaction():
            if container is not None:
                self.conn.execute("DELETE FROM origins WHERE origin = ? AND outcome = 'skipped'", (container,))
            existing = self.conn.execute(
                "SELECT id, url, outlet, title, published, language FROM articles WHERE hash = ?", (article.hash,)
            ).fetchone()
            seen = self.conn.execute(
                "SELECT article_id, outcome FROM origins WHERE origin = ?", (article.origin,)
            ).fetchone()
            if existing is not None:
                if seen is not None and seen["article_id"] == existing["id"]:
                    if raw_hash is not None:
                        self.conn.execute(
                            "UPDATE origins SET raw_hash = ? WHERE origin = ?", (raw_hash, article.origin)
                        )
                    meta = {k: getattr(article, k) for k in ("url", "outlet", "title", "published", "language")}
                    if seen["outcome"] != "ingested" or all(existing[k] == v for k, v in meta.items()):
                        return "unchanged"
                    self.conn.execute(
                        "UPDATE articles SET url = ?, outlet = ?, title = ?, published = ?, language = ? WHERE id = ?",
                        (*meta.values(), existing["id"]),
                    )
                    if (existing["published"], existing["language"]) != (article.published, article.language):
                        self.conn.execute("DELETE FROM analyses WHERE article_id = ?", (existing["id"],))
                        self.conn.execute("UPDATE articles SET status = 'ingested' WHERE id = ?", (existing["id"],))
                    return "updated"
                self.conn.execute(
                    "INSERT OR REPLACE INTO origins(origin, article_id, outcome, raw_hash) "
                    "VALUES (?, ?, 'duplicate', ?)",
                    (article.origin, existing["id"], raw_hash),
                )
                return "duplicate"
            self.conn.execute(
                f"INSERT INTO articles({_ARTICLE_COLUMNS.replace(', status, ingested_at', '')}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    article.id,
                    article.hash,
                    article.origin,
                    article.url,
                    article.outlet,
                    article.title,
                    article.published,
                    article.fetched,
                    article.language,
                    article.raw_format,
                    article.raw,
                    article.text,
                    json.dumps([r.to_dict() for r in article.removed]),
                ),
            )
            self.conn.execute(
                "INSERT OR REPLACE INTO origins(origin, article_id, outcome, raw_hash) VALUES (?, ?, 'ingested', ?)",
                (article.origin, article.id, raw_hash),
            )
            return "ingested"

    def add_skipped(self, skipped: Skipped, *, container: str | None = None) -> None:
        """Record a skipped input (``container``: the file it is a record of, whose whole-file skip is now stale)."""
        with self.transaction():
            if container is not None:
                self.conn.execute("DELETE FROM origins WHERE origin = ? AND outcome = 'skipped'", (container,))
            self.conn.execute(
                "INSERT OR REPLACE INTO origins(origin, article_id, outcome, code, reason) "
                "VALUES (?, NULL, 'skipped', ?, ?)",
                (skipped.origin, skipped.code, skipped.reason),
            )

    def skipped(self) -> list[Skipped]:
        rows = self.conn.execute(
            "SELECT origin, code, reason FROM origins WHERE outcome = 'skipped' ORDER BY at, origin"
        ).fetchall()
        return [Skipped(origin=r["origin"], reason=r["reason"], code=r["code"]) for r in rows]

    # -- reading ---------------------------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM articles").fetchone()[0])

    def get(self, article_id: str) -> StoredArticle | None:
        """An article by id, or by a unique id prefix."""
        rows = self.conn.execute(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ? OR id LIKE ? LIMIT 2",
            (article_id, article_id.replace("%", "").replace("_", "") + "%"),
        ).fetchall()
        exact = [r for r in rows if r["id"] == article_id]
        if exact:
            return _row_to_article(exact[0])
        return _row_to_article(rows[0]) if len(rows) == 1 else None

    def articles(self, *, limit: int | None = None, offset: int = 0) -> Iterator[StoredArticle]:
        sql = f"SELECT {_ARTICLE_COLUMNS} FROM articles ORDER BY rowid LIMIT ? OFFSET ?"
        for row in self.conn.execute(sql, (-1 if limit is None else limit, offset)):
            yield _row_to_article(row)

    def search(self, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Full-text search over titles and clean text (FTS5 query syntax; plain words also work)."""
        try:
            rows = self.conn.execute(
                "SELECT a.id, a.title, a.outlet, a.published, "
                "snippet(articles_fts, 1, '[', ']', ' … ', 12) AS snippet, bm25(articles_fts) AS rank "
                "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
                "WHERE articles_fts MATCH ? ORDER BY rank LIMIT ?",
                (query, limit),
            ).fetchall()
        except sqlite3.OperationalError:
            # Not valid FTS5 syntax (a stray quote or operator): search the words as a phrase list instead.
            words = " ".join('"' + w.replace('"', '""') + '"' for w in query.split())
            if not words:
                return []
            return self.search(words, limit=limit)
        return [dict(r) for r in rows]

    # -- analysis --------------------------------------------------------------------------------------------------

    def needs_analysis(self, stages: Sequence[str], version: str) -> list[str]:
        """Ids of articles never analysed with exactly these stages and this version."""
        rows = self.conn.execute(
            "SELECT a.id FROM articles a LEFT JOIN analyses x ON x.article_id = a.id "
            "WHERE x.article_id IS NULL OR x.stages != ? OR x.version != ? ORDER BY a.rowid",
            (json.dumps(list(stages)), version),
        ).fetchall()
        return [r[0] for r in rows]

    def save_analysis(self, article_id: str, stages: Sequence[str], version: str, data: dict[str, Any]) -> None:
        """Replace an article's analysis (one transaction): the JSON document plus span and claim rows."""
        with self.transaction():
            self.conn.execute("DELETE FROM spans WHERE article_id = ?", (article_id,))
            self.conn.execute("DELETE FROM claims WHERE article_id = ?", (article_id,))
            self.conn.execute(
                "INSERT OR REPLACE INTO analyses(article_id, stages, version, data) VALUES (?, ?, ?, ?)",
                (article_id, json.dumps(list(stages)), version, json.dumps(data, ensure_ascii=False)),
            )
            span_rows = []
            for layer, key, label_key in (
                ("entity", "entities", "label"),
                ("quantity", "quantities", "unit"),
                ("date", "dates", "value"),
                ("technique", "techniques", "technique"),
            ):
                for item in data.get(key, []):
                    span_rows.append(
                        (article_id, layer, item["start"], item["end"], item.get(label_key), json.dumps(item))
                    )
            for item in data.get("attributions", []):
                content = item["content"]
                span_rows.append(
                    (article_id, "attribution", content["start"], content["end"], item.get("kind"), json.dumps(item))
                )
            self.conn.executemany(
                "INSERT INTO spans(article_id, layer, start, end, label, data) VALUES (?, ?, ?, ?, ?, ?)", span_rows
            )
            self.conn.executemany(
                "INSERT OR REPLACE INTO claims(id, article_id, start, end, text, score, source, date, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        c["id"],
                        article_id,
                        c["start"],
                        c["end"],
                        c["text"],
                        c["score"],
                        c.get("source"),
                        c.get("date"),
                        json.dumps(c),
                    )
                    for c in data.get("claims", [])
                ],
            )
            self.conn.execute("UPDATE articles SET status = 'analyzed', reason = NULL WHERE id = ?", (article_id,))

    def mark_failed(self, article_id: str, reason: str) -> None:
        with self.transaction():
            self.conn.execute("UPDATE articles SET status = 'failed', reason = ? WHERE id = ?", (reason, article_id))

    def analysis(self, article_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM analyses WHERE article_id = ?", (article_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def links(self, article_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT claim, cluster, relation, other_article, other_claim FROM links WHERE article_id = ?",
            (article_id,),
        ).fetchall()
        return [dict(r) for r in rows]

    def stats(self) -> dict[str, int]:
        row = self.conn.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM analyses), "
            "(SELECT count(*) FROM origins WHERE outcome = 'duplicate'), "
            "(SELECT count(*) FROM origins WHERE outcome = 'skipped'), (SELECT count(*) FROM claims)"
        ).fetchone()
        return dict(zip(("articles", "analyzed", "duplicates", "skipped", "claims"), map(int, row), strict=True))


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (which contain ';') whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not line.strip() or (line.strip().startswith("--") and not buffer):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


def open_store(path: str | Path = DEFAULT_DB) -> Store:
    """Open (creating and migrating as needed) a Crosscheck database."""
    return Store(path)
