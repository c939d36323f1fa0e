"""The SQLite store: the only module that speaks SQL.

One file, WAL mode (the dashboard reads while analysis writes), FTS5 over clean text, and a file that opens as is in
Datasette or the ``sqlite3`` shell. Every write of one input is one transaction, so a process killed mid-ingest leaves
a consistent store and the same command run again completes it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..analyze.pipeline import Layer, iter_spans
from ..article import Article, Removed, Skipped
from ..errors import StoreError
from .corpus import CorpusQueries
from .schema import MIGRATIONS
from .web import WebQueries

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
    reason: str | None = None  # why the analysis failed, when status is 'failed'

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
#: What is read back: the stored columns plus the failure reason.
_READ_COLUMNS = _ARTICLE_COLUMNS + ", reason"


def _row_to_article(row: sqlite3.Row) -> StoredArticle:
    data = dict(row)
    data["removed"] = [Removed(**r) for r in json.loads(data["removed"])]
    return StoredArticle(**data)


class Store(CorpusQueries, WebQueries):
    """A Crosscheck database. Use :func:`open_store` to get one."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = str(path)
        if not create and self.path != ":memory:" and not Path(self.path).exists():
            raise StoreError("E023", path=self.path)
        try:
            self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError("E020", path=self.path, reason=exc) from exc
        self.conn.row_factory = sqlite3.Row
        try:
            if self.path != ":memory:":
                self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError("E021", path=self.path, reason=exc) from exc

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError("E022", path=self.path, version=version, known=len(MIGRATIONS))
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
        return _Transaction(self.conn, self.path)

    @contextmanager
    def page_cache(self, megabytes: int) -> Iterator[None]:
        """SQLite's page cache at ``megabytes`` for a long bulk job (linking inserts into four B-trees keyed on
        random ids, which the default 2 MB cache makes a disk-bound walk), back to what it was after."""
        before = self.conn.execute("PRAGMA cache_size").fetchone()[0]
        self.conn.execute(f"PRAGMA cache_size = {-1024 * int(megabytes)}")
        try:
            yield
        finally:
            self.conn.execute(f"PRAGMA cache_size = {int(before)}")

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
        """An article by id, or by a unique id prefix; None when nothing matches.

        Raises :class:`StoreError` (E025) when a prefix matches several articles, naming some of them.
        """
        prefix = article_id.replace("%", "").replace("_", "")
        rows = self.conn.execute(
            f"SELECT {_READ_COLUMNS} FROM articles WHERE id = ? OR id LIKE ? ORDER BY id LIMIT 6",
            (article_id, prefix + "%"),
        ).fetchall()
        exact = [r for r in rows if r["id"] == article_id]
        if exact:
            return _row_to_article(exact[0])
        if len(rows) > 1:
            count = self.conn.execute("SELECT count(*) FROM articles WHERE id LIKE ?", (prefix + "%",)).fetchone()[0]
            examples = ", ".join(r["id"] for r in rows[:3]) + (", …" if count > 3 else "")
            raise StoreError("E025", article_id=article_id, count=count, examples=examples)
        return _row_to_article(rows[0]) if rows else None

    def require(self, article_id: str) -> StoredArticle:
        """Like :meth:`get`, but a missing article raises :class:`StoreError` (E024)."""
        found = self.get(article_id)
        if found is None:
            raise StoreError("E024", article_id=article_id)
        return found

    def get_many(self, ids: Sequence[str]) -> list[StoredArticle]:
        """The articles with these exact ids, in the order given (missing ones left out), in few queries."""
        found: dict[str, StoredArticle] = {}
        for i in range(0, len(ids), 500):
            chunk = list(ids[i : i + 500])
            marks = ", ".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT {_READ_COLUMNS} FROM articles WHERE id IN ({marks})", chunk):
                found[row["id"]] = _row_to_article(row)
        return [found[i] for i in ids if i in found]

    def article_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM articles ORDER BY rowid")]

    def text_lengths(self, ids: Sequence[str]) -> dict[str, int]:
        """Characters of clean text of each stored article of ``ids`` (missing ones left out), without reading the
        texts out of the database."""
        found: dict[str, int] = {}
        for i in range(0, len(ids), 500):
            chunk = list(ids[i : i + 500])
            marks = ", ".join("?" * len(chunk))
            found.update(self.conn.execute(f"SELECT id, length(text) FROM articles WHERE id IN ({marks})", chunk))
        return found

    def articles(self, *, limit: int | None = None, offset: int = 0) -> Iterator[StoredArticle]:
        sql = f"SELECT {_READ_COLUMNS} FROM articles ORDER BY rowid LIMIT ? OFFSET ?"
        for row in self.conn.execute(sql, (-1 if limit is None else limit, offset)):
            yield _row_to_article(row)

    def search(self, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Full-text search over titles and clean text (FTS5 query syntax; plain words also work).

        A query that is not valid FTS5 syntax (an apostrophe, a stray operator) is searched again as its words, each
        quoted; one with no words at all (a lone ``"``) raises :class:`StoreError` (E045) naming the problem.
        """
        try:
            return self._match(query, limit)
        except sqlite3.OperationalError as exc:
            words = re.findall(r"\w+", query)
            if not words:
                raise StoreError("E045", query=query, reason=str(exc).removeprefix("fts5: ")) from exc
            return self._match(" ".join(f'"{w}"' for w in words), limit)

    def _match(self, query: str, limit: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT a.id, a.title, a.outlet, a.published, "
            "snippet(articles_fts, 1, '[', ']', ' … ', 12) AS snippet, bm25(articles_fts) AS rank "
            "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
            "WHERE articles_fts MATCH ? ORDER BY rank LIMIT ?",
            (query, limit),
        ).fetchall()
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
        self.save_outcomes(stages, version, [(article_id, data)], [])

    def save_outcomes(
        self,
        stages: Sequence[str],
        version: str,
        analyses: Sequence[tuple[str, dict[str, Any]]],
        failures: Sequence[tuple[str, str]],
        vectors: Sequence[tuple[str, str, dict[str, Any]]] = (),
    ) -> None:
        """Save a batch of results in one transaction: each analysis replaces the article's old one (with its claim
        vectors: ``(article id, encoder, {claim id: vector})``); each failed article is marked with its reason and
        loses its old analysis, so the next run retries it."""
        with self.transaction():
            for article_id, data in analyses:
                self._write_analysis(article_id, stages, version, data)
            for article_id, model, by_claim in vectors:
                self._write_vectors(article_id, model, by_claim)
            for article_id, reason in failures:
                self._write_failure(article_id, reason)

    def _write_analysis(self, article_id: str, stages: Sequence[str], version: str, data: dict[str, Any]) -> None:
        self.conn.execute("DELETE FROM spans WHERE article_id = ?", (article_id,))
        self.conn.execute("DELETE FROM claims WHERE article_id = ?", (article_id,))
        self.conn.execute(
            "INSERT OR REPLACE INTO analyses(article_id, stages, version, data) VALUES (?, ?, ?, ?)",
            (article_id, json.dumps(list(stages)), version, json.dumps(data, ensure_ascii=False)),
        )
        span_rows = [
            (article_id, declared.name, start, end, _label(declared, item), json.dumps(item))
            for declared, item, start, end in iter_spans(data)
        ]
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
            self._write_failure(article_id, reason)

    def _write_failure(self, article_id: str, reason: str) -> None:
        for table in ("spans", "claims", "analyses"):
            self.conn.execute(f"DELETE FROM {table} WHERE article_id = ?", (article_id,))
        self.conn.execute("UPDATE articles SET status = 'failed', reason = ? WHERE id = ?", (reason, article_id))

    def failures(self) -> list[tuple[str, str]]:
        """(article id, reason) of every article whose analysis failed, in storage order."""
        rows = self.conn.execute("SELECT id, reason FROM articles WHERE status = 'failed' ORDER BY rowid").fetchall()
        return [(r[0], r[1] or "") for r in rows]

    def analysis(self, article_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM analyses WHERE article_id = ?", (article_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def stats(self) -> dict[str, int]:
        row = self.conn.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM analyses), "
            "(SELECT count(*) FROM origins WHERE outcome = 'duplicate'), "
            "(SELECT count(*) FROM origins WHERE outcome = 'skipped'), (SELECT count(*) FROM claims), "
            "(SELECT count(*) FROM articles WHERE status = 'failed')"
        ).fetchone()
        keys = ("articles", "analyzed", "duplicates", "skipped", "claims", "failed")
        return dict(zip(keys, map(int, row), strict=True))


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection, path: str = "") -> None:
        self.conn = conn
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc_type is not None:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and _is_write_failure(exc):
                raise StoreError("E026", path=self.path, reason=exc) from exc
            return
        try:
            self.conn.execute("COMMIT")
        except sqlite3.OperationalError as failure:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if _is_write_failure(failure):
                raise StoreError("E026", path=self.path, reason=failure) from failure
            raise


def _is_write_failure(exc: sqlite3.OperationalError) -> bool:
    """A write the file system refused (disk full, read-only, I/O error), as opposed to a bug in a statement."""
    text = str(exc).lower()
    return any(word in text for word in ("full", "readonly", "read-only", "disk i/o"))


def _label(declared: Layer, item: dict[str, Any]) -> str | None:
    value = item.get(declared.label) if declared.label else None
    return None if value is None else str(value)


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


def open_store(path: str | Path = DEFAULT_DB, *, create: bool = True) -> Store:
    """Open (migrating as needed) a Crosscheck database; a missing file is created unless ``create`` is False."""
    return Store(path, create=create)
