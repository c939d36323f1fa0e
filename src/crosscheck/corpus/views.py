"""Read-side views over the linked corpus: claim clusters with filters, narratives and the timeline.

Everything here reads the store; nothing is computed that ``crosscheck link`` has not stored, except the grouping of
claims into narratives (a coarser clustering of the same claim vectors).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..store import Store
from ..store.corpus import ClaimRow
from .compare import parse_date
from .link import ClaimIndex, claim_date


@dataclass(frozen=True)
class ClusterFilter:
    """Filters of ``crosscheck claims``; each one keeps a cluster when any of its claims matches."""

    place: str | None = None
    source: str | None = None
    outlet: str | None = None
    since: str | None = None
    until: str | None = None
    relation: str | None = None

    def keeps(self, rows: Sequence[ClaimRow], relations: set[str]) -> bool:
        def any_row(test: Any) -> bool:
            return any(test(r) for r in rows)

        if self.place and not any_row(
            lambda r: any(self.place.lower() == str(p.get("canonical", "")).lower() for p in r.data.get("places", []))
        ):
            return False
        if self.source and not any_row(lambda r: self.source.lower() in str(r.data.get("source") or "").lower()):
            return False
        if self.outlet and not any_row(lambda r: self.outlet.lower() == str(r.outlet or "").lower()):
            return False
        dates = [d for d in (claim_date(r) for r in rows) if d]
        since, until = parse_date(self.since), parse_date(self.until)
        if since and not any(d >= since for d in dates):
            return False
        if until and not any(d <= until for d in dates):
            return False
        return not (self.relation and self.relation not in relations)


def claim_record(row: ClaimRow) -> dict[str, Any]:
    return {
        "claim_id": row.id,
        "article": row.article_id,
        "outlet": row.outlet,
        "published": row.published,
        "start": row.start,
        "end": row.end,
        "text": row.text,
        "source": row.data.get("source"),
        "date": row.data.get("date"),
        "quantities": row.data.get("quantities", []),
        "places": sorted({p["canonical"] for p in row.data.get("places", []) if p.get("canonical")}),
    }


def cluster_detail(store: Store, cluster: str) -> dict[str, Any] | None:
    """One cluster: every claim (each outlet's version) and the links between them with their reasons."""
    members = store.cluster_members(cluster)
    if not members:
        return None
    rows = store.claim_rows(members)
    links = [link for link in store.links_between(members) if link.claim < link.other_claim]
    relations = Counter(link.relation for link in links)
    return {
        "cluster": cluster,
        "claims": [claim_record(rows[m]) for m in members if m in rows],
        "articles": len({rows[m].article_id for m in members if m in rows}),
        "relations": dict(relations),
        "links": [
            {
                "claim": link.claim,
                "other_claim": link.other_claim,
                "relation": link.relation,
                "score": round(link.score, 4),
                "reason": link.reason,
            }
            for link in links
        ],
    }


def list_clusters(
    store: Store, filters: ClusterFilter | None = None, *, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """Claim clusters of at least two claims, most articles first, that pass the filters."""
    filters = filters or ClusterFilter()
    out: list[dict[str, Any]] = []
    skipped = 0
    page = 0
    while len(out) < limit:
        batch = store.cluster_list(min_articles=1, limit=200, offset=page * 200)
        if not batch:
            break
        page += 1
        for item in batch:
            if item["claims"] < 2:
                continue
            detail = cluster_detail(store, item["cluster"])
            if detail is None:
                continue
            rows = list(store.claim_rows(c["claim_id"] for c in detail["claims"]).values())
            if not filters.keeps(rows, set(detail["relations"])):
                continue
            if skipped < offset:
                skipped += 1
                continue
            out.append(detail)
            if len(out) >= limit:
                break
    return out


def timeline(store: Store, *, since: str | None = None, until: str | None = None) -> dict[str, Any]:
    """Dated claims (a full date of their own, else their article's) with their places, and counts per day."""
    ids, _, _ = store.claim_vectors()
    rows = store.claim_rows(ids) if ids else {}
    lo, hi = parse_date(since), parse_date(until)
    events = []
    per_day: Counter[str] = Counter()
    for row in rows.values():
        day = claim_date(row)
        if day is None or (lo and day < lo) or (hi and day > hi):
            continue
        record = claim_record(row)
        record["day"] = day.isoformat()
        record["places"] = [
            {"name": p["canonical"], "lat": p.get("lat"), "lon": p.get("lon"), "kind": p.get("kind")}
            for p in row.data.get("places", [])
            if p.get("canonical")
        ]
        events.append(record)
        per_day[day.isoformat()] += 1
    events.sort(key=lambda e: (e["day"], e["article"], e["start"]))
    return {"events": events, "per_day": dict(sorted(per_day.items()))}


def narratives(store: Store, *, threshold: float = 0.62, min_claims: int = 3, limit: int = 30) -> list[dict[str, Any]]:
    """Claims grouped into narratives (the same storyline told in many claims, e.g. "Russian troops fled"), with
    counts per day and per outlet; each narrative is labelled by its most central claim."""
    ids, _, matrix = store.claim_vectors()
    if not ids:
        return []
    index = ClaimIndex(matrix)
    sims, rows = index.search(matrix, 12)
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i in range(len(ids)):
        for s, j in zip(sims[i], rows[i], strict=True):
            if j >= 0 and j != i and s >= threshold:
                a, b = find(i), find(int(j))
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(ids)):
        groups[find(i)].append(i)
    claim_rows = store.claim_rows(ids)
    out: list[dict[str, Any]] = []
    for members in groups.values():
        if len(members) < min_claims:
            continue
        centre = matrix[members].mean(axis=0)
        label_row = members[int(np.argmax(matrix[members] @ centre))]
        per_day: Counter[str] = Counter()
        per_outlet: Counter[str] = Counter()
        articles = set()
        for m in members:
            row = claim_rows.get(ids[m])
            if row is None:
                continue
            articles.add(row.article_id)
            day = claim_date(row)
            if day:
                per_day[day.isoformat()] += 1
            per_outlet[row.outlet or "unknown"] += 1
        out.append(
            {
                "narrative": ids[label_row],
                "label": claim_rows[ids[label_row]].text if ids[label_row] in claim_rows else "",
                "claims": len(members),
                "articles": len(articles),
                "per_day": dict(sorted(per_day.items())),
                "per_outlet": dict(per_outlet.most_common()),
            }
        )
    out.sort(key=lambda n: (-int(n["articles"]), -int(n["claims"]), str(n["narrative"])))
    return out[:limit]
