"""``crosscheck check``: which stored articles corroborate, contradict or discuss a claim typed by a user.

For each claim: its numbers, places and dates are read with the same stages as an article's; its embedding is looked
up in the claim index; the matching claims are grouped by article (the best one is the evidence, with its offsets);
an article that names none of the claim's places is left out; then numbers decide where both sides state the same
measure, a denial contradicts, and otherwise the stance model reads the article against the claim (agree,
disagree, discuss; an article it reads as unrelated is left out). Articles that do not report the claim are not
listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..analyze.pipeline import Document, Pipeline, build_pipeline
from ..article import Article
from ..store import Store
from ..store.corpus import ClaimRow
from .compare import CONTRADICTS, CORROBORATES, DISCUSSES, Verdict, compare_numbers, compare_polarity
from .link import ClaimIndex, StanceFn, default_stance

#: Order of the groups in results.
RELATION_ORDER = (CORROBORATES, CONTRADICTS, DISCUSSES)


@dataclass(frozen=True)
class CheckOptions:
    """Thresholds of ``check`` (cosine similarity of claim embeddings), set like :class:`~.link.LinkOptions`."""

    neighbours: int = 64  #: stored claims looked up per query
    min_similarity: float = 0.45  #: weaker matches are not evidence
    discuss_similarity: float = 0.70  #: a match this close is listed (as discussing) even when the stance is unrelated
    stance: bool = True


@dataclass(frozen=True)
class CheckResult:
    """One (claim, article) answer: how the article relates to the claim, with its evidence and reason."""

    claim: str
    article: str
    url: str | None
    outlet: str | None
    published: str | None
    title: str | None
    relation: str
    score: float
    evidence: dict[str, Any]
    reason: str
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "claim": self.claim,
            "article": self.article,
            "url": self.url,
            "outlet": self.outlet,
            "published": self.published,
            "title": self.title,
            "relation": self.relation,
            "score": round(self.score, 4),
            "evidence": self.evidence,
            "reason": self.reason,
            "similarity": round(self.similarity, 4),
        }


@lru_cache(maxsize=1)
def _reader() -> Pipeline:
    return build_pipeline(["parse", "entities", "quantities", "dates"])


def read_claim(text: str) -> dict[str, Any]:
    """A typed claim's quantities and places, read by the same stages as articles."""
    document = Document(article=Article(raw=text, origin="check", text=text, language="en"))
    _reader()([document])
    return {
        "quantities": [q.to_dict() for q in document.quantities],
        "places": [e.to_dict() for e in document.entities if e.label == "PLACE" and e.canonical],
    }


def _article_places(store: Store, article_id: str) -> set[str]:
    analysis = store.analysis(article_id) or {}
    return {str(e["canonical"]) for e in analysis.get("entities", []) if e.get("canonical")}


def _verdict(
    claim: str,
    read: dict[str, Any],
    evidence: list[tuple[ClaimRow, float]],
    article_text: str,
    options: CheckOptions,
    stance: StanceFn | None,
) -> tuple[Verdict, ClaimRow, float] | None:
    for row, similarity in evidence:  # numbers first, on any matching sentence that states the same measure
        numbers = compare_numbers(read["quantities"], row.data.get("quantities", []), None, None)
        if numbers is not None:
            relation = DISCUSSES if numbers.relation not in (CORROBORATES, CONTRADICTS) else numbers.relation
            return Verdict(relation, numbers.reason, numbers.score), row, similarity
    best, similarity = evidence[0]
    polarity = compare_polarity(claim, best.text) if similarity >= 0.6 else None
    if polarity is not None:
        return polarity, best, similarity
    if stance is not None and options.stance:
        agree, disagree, discuss, unrelated = (float(x) for x in stance([claim], [article_text])[0])
        if agree >= max(disagree, discuss, unrelated):
            return Verdict(CORROBORATES, f"the article agrees (stance {agree:.2f})", agree), best, similarity
        if disagree >= max(agree, discuss, unrelated):
            return Verdict(CONTRADICTS, f"the article disagrees (stance {disagree:.2f})", disagree), best, similarity
        if discuss >= unrelated or similarity >= options.discuss_similarity:
            reason = f"the article reports it without taking a side (stance: discuss {discuss:.2f})"
            return Verdict(DISCUSSES, reason, max(discuss, similarity)), best, similarity
        return None
    if similarity >= options.discuss_similarity:
        return (
            Verdict(DISCUSSES, f"a closely matching sentence (cosine {similarity:.2f})", similarity),
            best,
            similarity,
        )
    return None


def check_claims(
    store: Store,
    claims: Sequence[str],
    *,
    options: CheckOptions | None = None,
    stance: StanceFn | None = None,
) -> list[list[CheckResult]]:
    """For each claim, the stored articles that report it, grouped corroborates / contradicts / discusses."""
    from .embed import embed

    options = options or CheckOptions()
    stance = stance if stance is not None else (default_stance() if options.stance else None)
    claim_ids, _, matrix = store.claim_vectors()
    if not claim_ids or not claims:
        return [[] for _ in claims]
    index = ClaimIndex(matrix)
    queries = embed(list(claims))
    sims, rows = index.search(queries, options.neighbours)
    answers = []
    for q, claim in enumerate(claims):
        read = read_claim(claim)
        # The claim's most specific places decide: "around Kharkiv" rules out articles naming only Ukraine.
        specific = [p for p in read["places"] if p.get("kind") not in (None, "country")]
        query_places = {str(p["canonical"]) for p in (specific or read["places"])}
        hits = [
            (claim_ids[int(r)], float(s))
            for s, r in zip(sims[q], rows[q], strict=True)
            if r >= 0 and s >= options.min_similarity
        ]
        found = store.claim_rows(cid for cid, _ in hits)
        by_article: dict[str, list[tuple[ClaimRow, float]]] = {}
        for cid, similarity in hits:
            if cid in found:
                by_article.setdefault(found[cid].article_id, []).append((found[cid], similarity))
        results = []
        for article_id, evidence in by_article.items():
            if query_places and not (query_places & _article_places(store, article_id)):
                continue
            article = store.get(article_id)
            if article is None:  # pragma: no cover - removed meanwhile
                continue
            decided = _verdict(claim, read, evidence, article.text, options, stance)
            if decided is None:
                continue
            verdict, row, similarity = decided
            results.append(
                CheckResult(
                    claim=claim,
                    article=article_id,
                    url=article.url,
                    outlet=article.outlet,
                    published=article.published,
                    title=article.title,
                    relation=verdict.relation,
                    score=float(verdict.score),
                    evidence={"claim_id": row.id, "start": row.start, "end": row.end, "text": row.text},
                    reason=f"{verdict.reason}; matching sentence at cosine {similarity:.2f}",
                    similarity=similarity,
                )
            )
        results.sort(key=lambda r: (RELATION_ORDER.index(r.relation), -r.score, r.article))
        answers.append(results)
    return answers


def check(store: Store, claim: str, **kwargs: Any) -> list[CheckResult]:
    """The stored articles that report ``claim`` (see :func:`check_claims`)."""
    return check_claims(store, [claim], **kwargs)[0]


def read_claims_file(path: str) -> list[str]:
    """Claims from a file: CSV or JSONL with a ``claim`` column, else one claim per line (blank lines skipped)."""
    import csv
    import json
    from pathlib import Path

    from ..errors import InputError

    text = Path(path).read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError("E090", path=path, problem="the file is empty")
    if lines[0].lstrip().startswith("{"):
        claims = []
        for n, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError("E090", path=path, problem=f"line {n} is not JSON: {exc.msg}") from exc
            if isinstance(record, dict) and str(record.get("claim") or "").strip():
                claims.append(str(record["claim"]).strip())
        if not claims:
            raise InputError("E090", path=path, problem="no record has a 'claim' field")
        return claims
    header = next(csv.reader([lines[0]]))
    if "claim" in [h.strip().lower() for h in header]:
        reader = csv.DictReader(lines)
        key = next(h for h in reader.fieldnames or [] if h.strip().lower() == "claim")
        claims = [str(row[key]).strip() for row in reader if str(row.get(key) or "").strip()]
        if not claims:
            raise InputError("E090", path=path, problem="the 'claim' column is empty")
        return claims
    return [line.strip() for line in lines]
