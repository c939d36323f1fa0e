"""The store's across-sources queries: claim vectors, links, claim clusters, stories, related articles and reuse.

Mixed into :class:`~crosscheck.store.db.Store`; like the rest of the store, the only place these tables are spoken to.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .db import _Transaction

#: Articles earliest published (or fetched) first, undated last, then in storage order.
_BY_PUBLICATION = "ORDER BY COALESCE(a.published, a.fetched) IS NULL, COALESCE(a.published, a.fetched), a.rowid"


@dataclass(frozen=True)
class StoredLink:
    claim: str
    other_claim: str
    article_id: str
    other_article: str
    relation: str
    score: float
    similarity: float
    reason: str


@dataclass(frozen=True)
class ClaimRow:
    """A stored claim with what linking and checking need of its article (``day``: its date, computed once)."""

    id: str
    article_id: str
    start: int
    end: int
    text: str
    data: dict[str, Any]
    published: str | None
    outlet: str | None
    url: str | None
    title: str | None

    @cached_property
    def day(self) -> date | None:
        """The claim's own resolved date when it is a full date, else its article's publication date."""
        return _iso_day(self.data.get("date")) or _iso_day(self.published)


def _iso_day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10 or value.startswith("--"):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


class CorpusQueries:
    conn: sqlite3.Connection

    def transaction(self) -> _Transaction:  # provided by Store
        raise NotImplementedError

    # -- claim vectors ---------------------------------------------------------------------------------------------

    def _write_vectors(self, article_id: str, model: str, vectors: dict[str, np.ndarray]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO claim_vectors(claim_id, article_id, model, vector) VALUES (?, ?, ?, ?)",
            [(cid, article_id, model, np.asarray(v, dtype=np.float32).tobytes()) for cid, v in vectors.items()],
        )

    def claims_without_vectors(self, article_ids: Sequence[str]) -> list[tuple[str, str, str]]:
        """(claim id, article id, text) of these articles' claims that have no vector, in storage order."""
        out: list[tuple[str, str, str]] = []
        for chunk in _chunks(list(article_ids)):
            marks = ", ".join("?" * len(chunk))
            out.extend(
                (r[0], r[1], r[2])
                for r in self.conn.execute(
                    "SELECT c.id, c.article_id, c.text FROM claims c LEFT JOIN claim_vectors v ON v.claim_id = c.id "
                    f"WHERE c.article_id IN ({marks}) AND v.claim_id IS NULL ORDER BY c.rowid",
                    chunk,
                )
            )
        return out

    def save_claim_vectors(self, model: str, rows: Sequence[tuple[str, str, np.ndarray]]) -> None:
        """Vectors of claims, ``(claim id, article id, vector)`` computed by ``model``, in one transaction."""
        with self.transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO claim_vectors(claim_id, article_id, model, vector) VALUES (?, ?, ?, ?)",
                [(cid, aid, model, np.asarray(v, dtype=np.float32).tobytes()) for cid, aid, v in rows],
            )

    def claim_vectors(self, article_ids: Sequence[str] | None = None) -> tuple[list[str], list[str], np.ndarray]:
        """(claim ids, their article ids, an n×d float32 matrix) for the given articles (default: every article)."""
        sql = "SELECT claim_id, article_id, vector FROM claim_vectors"
        rows: list[sqlite3.Row] = []
        if article_ids is None:
            rows = self.conn.execute(sql + " ORDER BY rowid").fetchall()
        else:
            for chunk in _chunks(list(article_ids)):
                marks = ", ".join("?" * len(chunk))
                rows.extend(self.conn.execute(f"{sql} WHERE article_id IN ({marks}) ORDER BY rowid", chunk))
        if not rows:
            return [], [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.vstack([np.frombuffer(r[2], dtype=np.float32) for r in rows])
        return [r[0] for r in rows], [r[1] for r in rows], matrix

    def claim_rows(self, claim_ids: Iterable[str]) -> dict[str, ClaimRow]:
        """Claims by id, each with its article's date, outlet, URL and title."""
        ids = list(dict.fromkeys(claim_ids))
        out: dict[str, ClaimRow] = {}
        for chunk in _chunks(ids):
            marks = ", ".join("?" * len(chunk))
            for r in self.conn.execute(
                "SELECT c.id, c.article_id, c.start, c.end, c.text, c.data, a.published, a.outlet, a.url, a.title "
                f"FROM claims c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
                chunk,
            ):
                out[r[0]] = ClaimRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], r[8], r[9])
        return out

    # -- linking ---------------------------------------------------------------------------------------------------

    def due_for_linking(self, version: str) -> list[str]:
        """Analysed articles not linked yet (or linked by another version), in storage order."""
        rows = self.conn.execute(
            "SELECT a.id FROM articles a JOIN analyses x ON x.article_id = a.id "
            "LEFT JOIN linked l ON l.article_id = a.id WHERE l.article_id IS NULL OR l.version != ? ORDER BY a.rowid",
            (version,),
        ).fetchall()
        return [r[0] for r in rows]

    def linked_articles(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT article_id FROM linked ORDER BY rowid")]

    def save_claim_keys(self, keys: dict[str, set[str]]) -> None:
        """Blocking keys of claims (replacing their old ones)."""
        with self.transaction():
            for chunk in _chunks(list(keys)):
                marks = ", ".join("?" * len(chunk))
                self.conn.execute(f"DELETE FROM claim_keys WHERE claim_id IN ({marks})", chunk)
            self.conn.executemany(
                "INSERT OR IGNORE INTO claim_keys(key, claim_id) VALUES (?, ?)",
                [(k, cid) for cid, ks in keys.items() for k in sorted(ks)],
            )

    def claims_by_measure(self, keys: Iterable[str], *, limit: int = 50) -> list[str]:
        """Claims sharing any of these blocking keys (at most ``limit`` per key, newest first)."""
        out: list[str] = []
        for key in sorted(set(keys)):
            rows = self.conn.execute(
                "SELECT claim_id FROM claim_keys WHERE key = ? ORDER BY rowid DESC LIMIT ?", (key, limit)
            ).fetchall()
            out.extend(r[0] for r in rows)
        return list(dict.fromkeys(out))

    def clusters_of(self, claim_ids: Iterable[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(list(claim_ids)):
            marks = ", ".join("?" * len(chunk))
            out.update(
                self.conn.execute(
                    f"SELECT claim_id, cluster FROM claim_clusters WHERE claim_id IN ({marks})", chunk
                ).fetchall()
            )
        return out

    def save_links(
        self,
        article_ids: Sequence[str],
        links: Sequence[StoredLink],
        clusters: dict[str, str],
        version: str,
    ) -> None:
        """Replace the links of these articles' claims (both directions), set claim clusters (renaming merged
        clusters everywhere) and mark the articles linked, in one transaction."""
        with self.transaction():
            for chunk in _chunks(list(article_ids)):
                marks = ", ".join("?" * len(chunk))
                # Two statements, each on its own index (with OR, SQLite may scan the whole table per chunk).
                self.conn.execute(f"DELETE FROM links WHERE article_id IN ({marks})", chunk)
                self.conn.execute(f"DELETE FROM links WHERE other_article IN ({marks})", chunk)
            # Each pair once, the smaller claim id first; readers look on both sides.
            rows = [astuple_link(link if link.claim < link.other_claim else _mirrored(link)) for link in links]
            self.conn.executemany(
                "INSERT OR REPLACE INTO links(claim, other_claim, article_id, other_article, relation, score, "
                "similarity, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            renamed = {}
            existing = self.clusters_of(clusters)
            for claim_id, cluster in clusters.items():
                old = existing.get(claim_id)
                if old is not None and old != cluster:
                    renamed[old] = cluster
            for old, new in renamed.items():
                self.conn.execute("UPDATE claim_clusters SET cluster = ? WHERE cluster = ?", (new, old))
            self.conn.executemany(
                "INSERT OR REPLACE INTO claim_clusters(claim_id, cluster) VALUES (?, ?)", list(clusters.items())
            )
            self.conn.executemany(
                "INSERT OR REPLACE INTO linked(article_id, version) VALUES (?, ?)", [(a, version) for a in article_ids]
            )

    def links(self, article_id: str) -> list[dict[str, Any]]:
        """The export's ``links`` of an article: every link of each of its claims, strongest first."""
        rows = self.conn.execute(
            "SELECT l.claim, l.other_claim, l.other_article, l.relation, l.reason, l.score, l.similarity "
            "FROM links l WHERE l.article_id = ? UNION ALL "
            "SELECT l.other_claim, l.claim, l.article_id, l.relation, l.reason, l.score, l.similarity "
            "FROM links l WHERE l.other_article = ? AND l.article_id != ?",
            (article_id, article_id, article_id),
        ).fetchall()
        own = self.conn.execute(
            "SELECT l.other_claim, l.claim, l.article_id, l.relation, l.reason, l.score, l.similarity "
            "FROM links l WHERE l.article_id = ? AND l.other_article = ?",
            (article_id, article_id),
        ).fetchall()
        clusters = self.clusters_of({r[0] for r in [*rows, *own]})
        items = [
            {
                "claim": r[0],
                "cluster": clusters.get(r[0], r[0]),
                "relation": r[3],
                "other_article": r[2],
                "other_claim": r[1],
                "reason": r[4],
                "score": round(float(r[5]), 4),
                "similarity": round(float(r[6]), 4),
            }
            for r in [*rows, *own]
        ]
        items.sort(key=lambda x: (x["claim"], -x["score"], x["other_claim"]))
        return items

    def links_between(self, claim_ids: Sequence[str]) -> list[StoredLink]:
        """Every link with a claim of ``claim_ids`` on either side (each pair once, smaller claim id first)."""
        found: dict[tuple[str, str], StoredLink] = {}
        for chunk in _chunks(list(claim_ids)):
            marks = ", ".join("?" * len(chunk))
            for r in self.conn.execute(
                "SELECT claim, other_claim, article_id, other_article, relation, score, similarity, reason "
                f"FROM links WHERE claim IN ({marks}) OR other_claim IN ({marks})",
                chunk + chunk,
            ):
                found[(r[0], r[1])] = StoredLink(*r)
        return [found[k] for k in sorted(found)]

    def decided_links(self, *, limit: int = 20) -> list[StoredLink]:
        """Contradictions first, then corroborations, strongest first (each pair once)."""
        rows = self.conn.execute(
            "SELECT claim, other_claim, article_id, other_article, relation, score, similarity, reason FROM links "
            "WHERE relation IN ('contradicts', 'corroborates') "
            "ORDER BY relation = 'corroborates', score DESC, claim LIMIT ?",
            (limit,),
        ).fetchall()
        return [StoredLink(*r) for r in rows]

    def cluster_members(self, cluster: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT claim_id FROM claim_clusters WHERE cluster = ? ORDER BY claim_id", (cluster,)
        ).fetchall()
        return [r[0] for r in rows]

    def cluster_list(self, *, min_articles: int = 2, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Clusters told by at least ``min_articles`` articles, largest first: id, claims, articles, relations."""
        rows = self.conn.execute(
            "SELECT k.cluster, count(*) AS claims, count(DISTINCT c.article_id) AS articles, min(a.published), "
            "max(a.published) FROM claim_clusters k JOIN claims c ON c.id = k.claim_id "
            "JOIN articles a ON a.id = c.article_id GROUP BY k.cluster HAVING articles >= ? "
            "ORDER BY articles DESC, claims DESC, k.cluster LIMIT ? OFFSET ?",
            (min_articles, limit, offset),
        ).fetchall()
        return [
            {"cluster": r[0], "claims": r[1], "articles": r[2], "first_published": r[3], "last_published": r[4]}
            for r in rows
        ]

    def link_counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT relation, count(*) FROM links GROUP BY relation").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    # -- stories and related articles ------------------------------------------------------------------------------

    def save_stories(
        self,
        stories: dict[str, tuple[str, dict[str, Any]]],
        related: Sequence[tuple[str, str, float, str]],
    ) -> None:
        """Set each article's story (with its comparison features) and add related-article rows (both ways)."""
        with self.transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO stories(article_id, story, features) VALUES (?, ?, ?)",
                [(a, s, json.dumps(f, ensure_ascii=False)) for a, (s, f) in stories.items()],
            )
            rows = []
            for a, b, score, kind in related:
                rows.append((a, b, score, kind))
                rows.append((b, a, score, kind))
            self.conn.executemany(
                "INSERT OR REPLACE INTO related(article_id, other_article, score, kind) VALUES (?, ?, ?, ?)", rows
            )

    def without_story(self) -> list[str]:
        """Analysed articles not yet placed in a story, earliest published first (undated last, then storage order)."""
        rows = self.conn.execute(
            "SELECT a.id FROM articles a JOIN analyses x ON x.article_id = a.id LEFT JOIN stories s "
            "ON s.article_id = a.id WHERE s.article_id IS NULL " + _BY_PUBLICATION
        ).fetchall()
        return [r[0] for r in rows]

    def without_fingerprints(self) -> list[str]:
        """Articles whose passages have not been fingerprinted for reuse, earliest published first."""
        rows = self.conn.execute(
            "SELECT a.id FROM articles a LEFT JOIN reuse_fingerprints f ON f.article_id = a.id "
            "WHERE f.article_id IS NULL " + _BY_PUBLICATION
        ).fetchall()
        return [r[0] for r in rows]

    def story_features(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(article id, story, features) of every article with a story, in storage order."""
        rows = self.conn.execute(
            "SELECT s.article_id, s.story, s.features FROM stories s JOIN articles a ON a.id = s.article_id "
            "ORDER BY a.rowid"
        ).fetchall()
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    def story_of(self, article_id: str) -> str | None:
        row = self.conn.execute("SELECT story FROM stories WHERE article_id = ?", (article_id,)).fetchone()
        return None if row is None else str(row[0])

    def related(self, article_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT other_article, score, kind FROM related WHERE article_id = ? ORDER BY score DESC, other_article",
            (article_id,),
        ).fetchall()
        return [{"article": r[0], "score": round(float(r[1]), 4), "kind": r[2]} for r in rows]

    def story_list(self, *, limit: int = 50, offset: int = 0, min_articles: int = 1) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT s.story, count(*) AS n, count(DISTINCT a.outlet), min(a.published), max(a.published), "
            "group_concat(a.id, ' ') FROM stories s JOIN articles a ON a.id = s.article_id GROUP BY s.story "
            "HAVING n >= ? ORDER BY n DESC, max(a.published) DESC, s.story LIMIT ? OFFSET ?",
            (min_articles, limit, offset),
        ).fetchall()
        return [
            {
                "story": r[0],
                "articles": r[1],
                "outlets": r[2],
                "first_published": r[3],
                "last_published": r[4],
                "article_ids": sorted(r[5].split()),
            }
            for r in rows
        ]

    # -- text reuse ------------------------------------------------------------------------------------------------

    def save_reuse(
        self,
        fingerprints: dict[str, bytes],
        passages: Sequence[tuple[str, int, int, str, int, int, str, float]],
    ) -> None:
        """Store articles' passage fingerprints and reused passages (each passage is stored from both sides)."""
        with self.transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO reuse_fingerprints(article_id, data) VALUES (?, ?)", list(fingerprints.items())
            )
            rows = []
            for a, s, e, b, os_, oe, first, score in passages:
                rows.append((a, s, e, b, os_, oe, first, score))
                rows.append((b, os_, oe, a, s, e, first, score))
            self.conn.executemany(
                "INSERT INTO reuse(article_id, start, end, other_article, other_start, other_end, first, score) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def reuse_fingerprints(self) -> list[tuple[str, bytes]]:
        rows = self.conn.execute(
            "SELECT f.article_id, f.data FROM reuse_fingerprints f JOIN articles a ON a.id = f.article_id "
            "ORDER BY a.rowid"
        ).fetchall()
        return [(r[0], bytes(r[1])) for r in rows]

    def reuse(self, article_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT start, end, other_article, other_start, other_end, first, score FROM reuse WHERE article_id = ? "
            "ORDER BY start, other_article",
            (article_id,),
        ).fetchall()
        return [
            {
                "start": r[0],
                "end": r[1],
                "other_article": r[2],
                "other_start": r[3],
                "other_end": r[4],
                "first": r[5],
                "score": round(float(r[6]), 4),
            }
            for r in rows
        ]

    def reuse_pairs(self, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Reused passages once each (from the copier's side when the first publisher is known), longest first."""
        rows = self.conn.execute(
            "SELECT r.article_id, r.start, r.end, r.other_article, r.other_start, r.other_end, r.first, r.score, "
            "a.outlet, b.outlet FROM reuse r JOIN articles a ON a.id = r.article_id "
            "JOIN articles b ON b.id = r.other_article "
            "WHERE (r.first = r.other_article) OR (r.first = 'unknown' AND r.article_id > r.other_article) "
            "ORDER BY r.end - r.start DESC, r.article_id, r.start LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        keys = ("article", "start", "end", "other_article", "other_start", "other_end", "first", "score")
        return [{**dict(zip(keys, r[:8], strict=True)), "outlet": r[8], "other_outlet": r[9]} for r in rows]

    def reuse_outlet_pairs(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """Who repeatedly copies whom: (copier outlet, first publisher's outlet) with articles and passages copied."""
        rows = self.conn.execute(
            "SELECT COALESCE(a.outlet, 'unknown'), COALESCE(b.outlet, 'unknown'), count(DISTINCT r.article_id), "
            "count(*) FROM reuse r JOIN articles a ON a.id = r.article_id JOIN articles b ON b.id = r.other_article "
            "WHERE r.first = r.other_article GROUP BY 1, 2 ORDER BY 3 DESC, 4 DESC, 1, 2 LIMIT ?",
            (limit,),
        ).fetchall()
        return [{"copier": r[0], "source": r[1], "articles": r[2], "passages": r[3]} for r in rows]


def _mirrored(link: StoredLink) -> StoredLink:
    return StoredLink(
        link.other_claim,
        link.claim,
        link.other_article,
        link.article_id,
        link.relation,
        link.score,
        link.similarity,
        link.reason,
    )


def astuple_link(link: StoredLink) -> tuple[Any, ...]:
    return (
        link.claim,
        link.other_claim,
        link.article_id,
        link.other_article,
        link.relation,
        float(link.score),
        float(link.similarity),
        link.reason,
    )


def _chunks(items: list[str], size: int = 400) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
