"""The store's queries for the web dashboard and REST API: filtered article lists, counts, places and outlets.

Mixed into :class:`~crosscheck.store.db.Store`. Every list takes ``limit`` and ``offset`` and has a stable order (a
unique key breaks every tie), so pages never skip or repeat a row while articles are only added.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..errors import StoreError

_WORD = re.compile(r"\w+")  # the word count of the techniques profile (analyze/techniques.py)
_FULL_DATE = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"
#: Marks around the matched words in search snippets (control characters no article text holds after cleaning).
SNIPPET_OPEN, SNIPPET_CLOSE = "\x02", "\x03"
#: The outlet name that stands for "no outlet known" in filters (as in :meth:`CorpusQueries.reuse_outlet_pairs`).
UNKNOWN_OUTLET = "unknown"


def _words(text: str | None) -> int:
    return len(_WORD.findall(text)) if text else 0


@dataclass(frozen=True)
class ArticleFilter:
    """Filters of the article list and search; each one given narrows the list (all must hold)."""

    q: str | None = None  #: full-text query (FTS5 syntax; plain words also work)
    outlet: str | None = None  #: exact outlet name, case-insensitive ("unknown": articles without one)
    since: str | None = None  #: published on or after this day (YYYY-MM-DD)
    until: str | None = None  #: published on or before this day (YYYY-MM-DD)
    language: str | None = None
    technique: str | None = None  #: has a span of this technique label
    place: str | None = None  #: mentions this place (canonical name, case-insensitive)
    story: str | None = None


class WebQueries:
    conn: sqlite3.Connection

    def _register_functions(self) -> None:
        self.conn.create_function("crosscheck_words", 1, _words, deterministic=True)

    # -- articles --------------------------------------------------------------------------------------------------

    def find_articles(self, filters: ArticleFilter, *, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
        """Articles passing ``filters``: by search rank when there is a query, else in storage order.

        Each row: id, title, outlet, published, language, status, url, claims, techniques, and with a query a
        ``snippet`` whose matched words are wrapped in :data:`SNIPPET_OPEN` / :data:`SNIPPET_CLOSE`. A query that is
        not valid FTS5 syntax is searched again as its words (see :meth:`Store.search`).
        """
        if not filters.q:
            return self._find(filters, None, limit, offset)
        try:
            return self._find(filters, filters.q, limit, offset)
        except sqlite3.OperationalError as exc:
            words = re.findall(r"\w+", filters.q)
            if not words:
                raise StoreError("E045", query=filters.q, reason=str(exc).removeprefix("fts5: ")) from exc
            return self._find(filters, " ".join(f'"{w}"' for w in words), limit, offset)

    def _find(self, f: ArticleFilter, match: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
        where: list[str] = []
        args: list[Any] = []
        if f.outlet is not None:
            if f.outlet.lower() == UNKNOWN_OUTLET:
                where.append("a.outlet IS NULL")
            else:
                where.append("a.outlet = ? COLLATE NOCASE")
                args.append(f.outlet)
        if f.since:
            where.append("substr(a.published, 1, 10) >= ?")
            args.append(f.since)
        if f.until:
            where.append("substr(a.published, 1, 10) <= ?")
            args.append(f.until)
        if f.language:
            where.append("a.language = ? COLLATE NOCASE")
            args.append(f.language)
        if f.technique:
            where.append(
                "EXISTS (SELECT 1 FROM spans s WHERE s.article_id = a.id AND s.layer = 'techniques' AND s.label = ?)"
            )
            args.append(f.technique)
        if f.place:
            where.append(
                "EXISTS (SELECT 1 FROM spans s WHERE s.article_id = a.id AND s.layer = 'entities' "
                "AND json_extract(s.data, '$.canonical') = ? COLLATE NOCASE)"
            )
            args.append(f.place)
        if f.story:
            where.append("EXISTS (SELECT 1 FROM stories st WHERE st.article_id = a.id AND st.story = ?)")
            args.append(f.story)
        counts = (
            "(SELECT count(*) FROM claims c WHERE c.article_id = a.id) AS claims, "
            "(SELECT count(*) FROM spans s WHERE s.article_id = a.id AND s.layer = 'techniques') AS techniques"
        )
        columns = f"a.id, a.title, a.outlet, a.published, a.language, a.status, a.url, {counts}"
        if match is None:
            sql = f"SELECT {columns} FROM articles a"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += " ORDER BY a.rowid LIMIT ? OFFSET ?"
            rows = self.conn.execute(sql, [*args, limit, offset]).fetchall()
            return [dict(r) for r in rows]
        sql = (
            f"SELECT {columns}, snippet(articles_fts, 1, '{SNIPPET_OPEN}', '{SNIPPET_CLOSE}', ' … ', 16) AS snippet "
            "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid WHERE articles_fts MATCH ?"
        )
        if where:
            sql += " AND " + " AND ".join(where)
        sql += " ORDER BY bm25(articles_fts), a.rowid LIMIT ? OFFSET ?"
        rows = self.conn.execute(sql, [match, *args, limit, offset]).fetchall()
        return [dict(r) for r in rows]

    def latest_articles(self, *, limit: int = 10) -> list[dict[str, Any]]:
        """The most recently stored articles, newest first."""
        rows = self.conn.execute(
            "SELECT id, title, outlet, published, status FROM articles ORDER BY rowid DESC LIMIT ?", (limit,)
        ).fetchall()
        return [dict(r) for r in rows]

    def claim_ids_of(self, article_ids: list[str]) -> list[str]:
        """The claims of these articles, in article order then text order."""
        out: list[str] = []
        for article_id in article_ids:
            rows = self.conn.execute(
                "SELECT id FROM claims WHERE article_id = ? ORDER BY start, id", (article_id,)
            ).fetchall()
            out.extend(r[0] for r in rows)
        return out

    # -- counts for the overview -----------------------------------------------------------------------------------

    def technique_counts(self) -> list[dict[str, Any]]:
        """Technique spans per technique label (and how many articles use it), most frequent first."""
        rows = self.conn.execute(
            "SELECT label, count(*), count(DISTINCT article_id) FROM spans WHERE layer = 'techniques' "
            "AND label IS NOT NULL GROUP BY label ORDER BY 2 DESC, label"
        ).fetchall()
        return [{"technique": r[0], "spans": r[1], "articles": r[2]} for r in rows]

    def claims_per_day(self) -> list[tuple[str, int]]:
        """(day, claims) for every day with a dated claim: the claim's own full date, else its article's publication
        day (as :func:`crosscheck.corpus.link.claim_date` dates a claim), in day order."""
        rows = self.conn.execute(
            f"SELECT COALESCE(CASE WHEN c.date GLOB '{_FULL_DATE}' THEN substr(c.date, 1, 10) END, "
            f"CASE WHEN a.published GLOB '{_FULL_DATE}' THEN substr(a.published, 1, 10) END) AS day, count(*) "
            "FROM claims c JOIN articles a ON a.id = c.article_id GROUP BY day HAVING day IS NOT NULL ORDER BY day"
        ).fetchall()
        out = []
        for day, n in rows:
            try:
                date.fromisoformat(day)
            except ValueError:  # a malformed date that only looks like one (2022-13-40)
                continue
            out.append((str(day), int(n)))
        return out

    def corpus_counts(self) -> dict[str, int]:
        """Outlets, stories, places, claim clusters and linked articles, for the overview."""
        row = self.conn.execute(
            "SELECT (SELECT count(DISTINCT outlet) FROM articles), (SELECT count(DISTINCT story) FROM stories), "
            "(SELECT count(DISTINCT json_extract(data, '$.canonical')) FROM spans WHERE layer = 'entities' "
            "AND json_extract(data, '$.lat') IS NOT NULL), "
            "(SELECT count(*) FROM (SELECT cluster FROM claim_clusters GROUP BY cluster HAVING count(*) > 1)), "
            "(SELECT count(*) FROM linked)"
        ).fetchone()
        keys = ("outlets", "stories", "places", "clusters", "linked")
        return dict(zip(keys, map(int, row), strict=True))

    def latest_stories(self, *, limit: int = 8) -> list[dict[str, Any]]:
        """Stories by their latest publication (undated last), each with its size and a title of one article."""
        rows = self.conn.execute(
            "SELECT s.story, count(*) AS n, count(DISTINCT a.outlet), min(a.published), max(a.published) AS last, "
            "min(a.title) FROM stories s JOIN articles a ON a.id = s.article_id GROUP BY s.story "
            "ORDER BY last IS NULL, last DESC, n DESC, s.story LIMIT ?",
            (limit,),
        ).fetchall()
        keys = ("story", "articles", "outlets", "first_published", "last_published", "title")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def story_articles(self, story: str) -> list[str]:
        """The ids of a story's articles, oldest first (undated last)."""
        rows = self.conn.execute(
            "SELECT a.id FROM stories s JOIN articles a ON a.id = s.article_id WHERE s.story = ? "
            "ORDER BY a.published IS NULL, a.published, a.rowid",
            (story,),
        ).fetchall()
        return [r[0] for r in rows]

    # -- places ----------------------------------------------------------------------------------------------------

    def place_counts(self, *, limit: int = 100, offset: int = 0, kind: str | None = None) -> list[dict[str, Any]]:
        """Places with coordinates, most mentioned first: name, kind, lat, lon, country, mentions, articles."""
        sql = (
            "SELECT json_extract(data, '$.canonical') AS name, json_extract(data, '$.kind') AS kind, "
            "json_extract(data, '$.lat'), json_extract(data, '$.lon'), json_extract(data, '$.country'), "
            "count(*) AS mentions, count(DISTINCT article_id) FROM spans WHERE layer = 'entities' "
            "AND json_extract(data, '$.lat') IS NOT NULL AND json_extract(data, '$.canonical') IS NOT NULL "
            "GROUP BY name"
        )
        args: list[Any] = []
        if kind:
            sql += " HAVING kind = ?"
            args.append(kind)
        sql += " ORDER BY mentions DESC, name LIMIT ? OFFSET ?"
        rows = self.conn.execute(sql, [*args, limit, offset]).fetchall()
        keys = ("name", "kind", "lat", "lon", "country", "mentions", "articles")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- outlets ---------------------------------------------------------------------------------------------------

    def outlet_list(self, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Outlets ("unknown" for articles without one), most articles first: articles, claims, technique spans,
        first and last publication."""
        rows = self.conn.execute(
            "SELECT COALESCE(a.outlet, ?) AS name, count(*) AS n, min(a.published), max(a.published), "
            "sum((SELECT count(*) FROM claims c WHERE c.article_id = a.id)), "
            "sum((SELECT count(*) FROM spans s WHERE s.article_id = a.id AND s.layer = 'techniques')) "
            "FROM articles a GROUP BY name ORDER BY n DESC, name LIMIT ? OFFSET ?",
            (UNKNOWN_OUTLET, limit, offset),
        ).fetchall()
        keys = ("outlet", "articles", "first_published", "last_published", "claims", "techniques")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def outlet_profile(self, name: str) -> dict[str, Any] | None:
        """One outlet: articles, words, languages, claims, techniques per 1,000 words (overall and per technique),
        the outlets it copies from and those that copy it. None when no article has that outlet."""
        self._register_functions()
        unknown = name.lower() == UNKNOWN_OUTLET
        match = "a.outlet IS NULL" if unknown else "a.outlet = ? COLLATE NOCASE"
        args: tuple[Any, ...] = () if unknown else (name,)
        row = self.conn.execute(
            f"SELECT count(*), sum(crosscheck_words(a.text)), min(a.published), max(a.published), "
            f"max(a.outlet) FROM articles a WHERE {match}",
            args,
        ).fetchone()
        if not row[0]:
            return None
        articles, words = int(row[0]), int(row[1] or 0)
        languages = self.conn.execute(
            f"SELECT COALESCE(a.language, 'unknown'), count(*) FROM articles a WHERE {match} GROUP BY 1 "
            "ORDER BY 2 DESC, 1",
            args,
        ).fetchall()
        claims = self.conn.execute(
            f"SELECT count(*) FROM claims c JOIN articles a ON a.id = c.article_id WHERE {match}", args
        ).fetchone()[0]
        techniques = self.conn.execute(
            f"SELECT s.label, count(*) FROM spans s JOIN articles a ON a.id = s.article_id WHERE {match} "
            "AND s.layer = 'techniques' GROUP BY s.label ORDER BY 2 DESC, s.label",
            args,
        ).fetchall()
        total = sum(int(r[1]) for r in techniques)
        per_k = (lambda n: round(1000.0 * n / words, 2)) if words else (lambda n: 0.0)
        outlet_key = "COALESCE(a.outlet, 'unknown') = ? COLLATE NOCASE"
        other_key = "COALESCE(b.outlet, 'unknown') = ? COLLATE NOCASE"
        copies = self.conn.execute(
            "SELECT COALESCE(b.outlet, 'unknown'), count(DISTINCT r.article_id), count(*) FROM reuse r "
            "JOIN articles a ON a.id = r.article_id JOIN articles b ON b.id = r.other_article "
            f"WHERE r.first = r.other_article AND {outlet_key} GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1",
            (name,),
        ).fetchall()
        copied_by = self.conn.execute(
            "SELECT COALESCE(a.outlet, 'unknown'), count(DISTINCT r.article_id), count(*) FROM reuse r "
            "JOIN articles a ON a.id = r.article_id JOIN articles b ON b.id = r.other_article "
            f"WHERE r.first = r.other_article AND {other_key} GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1",
            (name,),
        ).fetchall()
        return {
            "outlet": UNKNOWN_OUTLET if unknown else str(row[4]),
            "articles": articles,
            "words": words,
            "first_published": row[2],
            "last_published": row[3],
            "languages": {str(r[0]): int(r[1]) for r in languages},
            "claims": int(claims),
            "technique_spans": total,
            "techniques_per_1000_words": per_k(total),
            "techniques": [
                {"technique": r[0], "spans": int(r[1]), "per_1000_words": per_k(int(r[1]))} for r in techniques
            ],
            "copies_from": [{"outlet": r[0], "articles": r[1], "passages": r[2]} for r in copies],
            "copied_by": [{"outlet": r[0], "articles": r[1], "passages": r[2]} for r in copied_by],
        }

    # -- the claim index -------------------------------------------------------------------------------------------

    def claim_vectors_state(self) -> tuple[int, int]:
        """(count, largest rowid) of the stored claim vectors: changes whenever a vector is added or replaced."""
        row = self.conn.execute("SELECT count(*), COALESCE(max(rowid), 0) FROM claim_vectors").fetchone()
        return int(row[0]), int(row[1])
