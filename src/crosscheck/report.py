"""A corpus summary: what is stored and what the analysis found, across every article."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .analyze.pipeline import declared_layers
from .store import Store


def corpus_summary(store: Store, *, top: int = 8) -> dict[str, Any]:
    """Counts per article and for the whole corpus: places, sources, techniques, claims."""
    places: Counter[str] = Counter()
    coordinates: dict[str, tuple[float, float]] = {}
    sources: Counter[str] = Counter()
    techniques: Counter[str] = Counter()
    equipment: Counter[str] = Counter()
    articles = []
    for article in store.articles():
        analysis = store.analysis(article.id) or {}
        entities = analysis.get("entities", [])
        for e in entities:
            if e.get("canonical") and e.get("lat") is not None:
                places[e["canonical"]] += 1
                coordinates[e["canonical"]] = (e["lat"], e["lon"])
            if e.get("label") in ("EQUIPMENT", "UNIT"):
                equipment[e.get("canonical") or e["text"]] += 1
        for a in analysis.get("attributions", []):
            if a.get("source"):
                sources[a["source"].get("canonical") or a["source"]["text"]] += 1
        for t in analysis.get("techniques", []):
            techniques[t["technique"]] += 1
        top_claim = max(analysis.get("claims", []), key=lambda c: c["score"], default=None)
        articles.append(
            {
                "id": article.id,
                "title": article.title or article.text[:70].replace("\n", " "),
                "words": len(article.text.split()),
                "removed": len(article.removed),
                "analyzed": bool(analysis),
                **{layer.name: len(analysis.get(layer.name, [])) for layer in declared_layers() if layer.many},
                "top_claim": top_claim["text"] if top_claim else None,
                "status": article.status,
                "notes": analysis.get("notes", []),
            }
        )
    return {
        "stats": store.stats(),
        "articles": articles,
        "places": [
            {"place": p, "mentions": n, "lat": coordinates[p][0], "lon": coordinates[p][1]}
            for p, n in places.most_common(top)
        ],
        "sources": sources.most_common(top),
        "techniques": techniques.most_common(top),
        "equipment": equipment.most_common(top),
        "cross_checks": cross_checks(store, top=top),
    }


def cross_checks(store: Store, *, top: int = 8) -> list[dict[str, Any]]:
    """The corpus's contradictions, then corroborations, between linked claims, each with both claims and the reason."""
    found = store.decided_links(limit=top)
    rows = store.claim_rows(x for link in found for x in (link.claim, link.other_claim))
    out = []
    for link in found:
        a, b = rows.get(link.claim), rows.get(link.other_claim)
        if a is None or b is None:
            continue
        out.append(
            {
                "relation": link.relation,
                "reason": link.reason,
                "claim": {"id": a.id, "article": a.article_id, "text": a.text, "source": a.data.get("source")},
                "other": {"id": b.id, "article": b.article_id, "text": b.text, "source": b.data.get("source")},
            }
        )
    return out
