"""Claim linking: which claims state the same fact, and do they corroborate or contradict each other?

``crosscheck link`` (:func:`link_store`) is incremental: only articles analysed since the last run are linked, each
new claim against every stored claim, and nothing is recomputed for articles already linked.

0. **Vectors**: claims the analysis left without an embedding (analysed without the ``claim_vectors`` stage) are
   embedded first (:func:`embed_claims`, the per-claim work), here or on Ray (``crosscheck link --runner ray``),
   and their vectors saved in batches; everything after this step reads the store.

1. **Candidates** come from a nearest-neighbour index over the claims' sentence embeddings (exact inner product
   for small corpora, an inverted-file index beyond :data:`EXACT_INDEX_MAX`), never from all pairs.
2. **Same fact**: a candidate pair is linked when its cosine similarity is high, or moderately high with agreement on
   a place, a named entity or a measure; claims dated too far apart, or about disjoint places, are not linked.
3. **Relation**, with its reason in words (:func:`relate`): numbers decide where both claims state the same
   measure (:mod:`.compare`); then a claim and its denial contradict; then the stance model (FNC-1) decides between
   corroborates, contradicts and related.
4. **Clusters**: linked claims form clusters (union-find); a new claim joins, and may merge, existing clusters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from ..analyze.claim_vectors import ENCODER
from ..store import Store
from ..store.corpus import ClaimRow, StoredLink
from .compare import (
    CONTRADICTS,
    CORROBORATES,
    RELATED,
    Verdict,
    compare_numbers,
    compare_polarity,
    counted_key,
    same_measure,
)

#: Bump when the linking rules change: every article is then due for linking again.
LINK_VERSION = "1"
#: Claims embedded per batch (and saved per transaction) when linking embeds claims that have no vector.
EMBED_BATCH = 64
#: Up to this many stored claims, the index is exact (inner product over all vectors); beyond it, an inverted file.
EXACT_INDEX_MAX = 20_000
#: SQLite page cache while linking (the links table's four B-trees take random-order inserts).
LINK_CACHE_MB = 256


@dataclass(frozen=True)
class LinkOptions:
    """Thresholds of claim linking (cosine similarities of all-MiniLM-L6-v2 claim embeddings).

    Set on the bundled examples, whose same-fact pairs are known: the Kharkiv area figures (2,500 vs 6,000 km²) sit
    at 0.50 and the soldier counts (more than 200 vs 201) at 0.62, both found through their shared measure; the
    Kherson claims of two outlets at 0.70 with a shared place; claims about other events of the same war reach 0.72
    without a shared place, so similarity alone links only at 0.80 and above.
    """

    neighbours: int = 16  #: candidates looked up per claim in the index
    max_links: int = 6  #: links kept per new claim, the most similar first (its cluster joins the rest)
    min_similarity: float = 0.40  #: below this a pair is never compared
    measure_similarity: float = 0.40  #: enough when both state the same measure about the same place
    measure_unplaced_similarity: float = 0.55  #: enough for the same measure when the places do not say
    supported_similarity: float = 0.65  #: enough when a place or named entity agrees
    high_similarity: float = 0.80  #: enough on its own
    max_days: int = 31  #: claims dated further apart are not about the same fact
    block_size: int = 50  #: claims of the same measure and place compared with each new claim, nearest dates first
    stance: bool = True  #: let the stance model decide pairs the numbers and denials leave open
    stance_min_similarity: float = 0.60  #: the stance model is asked only about pairs at least this similar


@dataclass
class LinkSummary:
    articles: int = 0
    claims: int = 0
    candidates: int = 0
    links: dict[str, int] = field(default_factory=dict)
    clusters_touched: int = 0
    embedded: int = 0  #: claims that had no vector and were embedded by this run


#: Embeds claims ``(claim id, article id, text)`` and saves their vectors through the store, in batches.
Embedder = Callable[[Store, Sequence[tuple[str, str, str]]], None]


def embed_claims(claims: Sequence[tuple[str, str, str]], model: Any = None) -> list[tuple[str, str, np.ndarray]]:
    """The per-claim work of linking: ``(claim id, article id, vector)`` for each ``(claim id, article id, text)``.

    A vector never depends on the claims embedded with it (:func:`crosscheck.corpus.embed.embed`).
    """
    from .embed import embed

    vectors = embed([text for _, _, text in claims], model=model)
    return [(cid, aid, vectors[i]) for i, (cid, aid, _) in enumerate(claims)]


def embed_here(store: Store, claims: Sequence[tuple[str, str, str]], *, batch_size: int = EMBED_BATCH) -> None:
    """Embed claims in this process and save their vectors, one transaction per batch."""
    from .embed import load_encoder

    model = load_encoder()
    for begin in range(0, len(claims), batch_size):
        store.save_claim_vectors(ENCODER, embed_claims(claims[begin : begin + batch_size], model))


# -- the index ---------------------------------------------------------------------------------------------------


class ClaimIndex:
    """Nearest neighbours by inner product over L2-normalised claim vectors (faiss).

    Claims with byte-identical vectors (the same sentence printed by several outlets: wire copy, syndication) are
    indexed once; a search expands each neighbour to its claims in storage order. Without that, an inverted-file list
    holding thousands of copies of one sentence made every search that probes it scan them all (the cost of a search
    grew with the corpus, not with its root).
    """

    def __init__(self, vectors: np.ndarray) -> None:
        import faiss

        self.size = int(vectors.shape[0])
        dims = int(vectors.shape[1]) if vectors.ndim == 2 and vectors.size else 384
        data = np.ascontiguousarray(vectors, dtype=np.float32).reshape(self.size, dims)
        # Unique rows, in order of first appearance; ``_members[_starts[u]:_starts[u + 1]]`` are the rows of unique u.
        rows = data.view(np.dtype((np.void, data.dtype.itemsize * dims))).ravel()
        _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        unique_of = rank[inverse.ravel()]
        self._members = np.argsort(unique_of, kind="stable")
        self._starts = np.searchsorted(unique_of[self._members], np.arange(len(first) + 1))
        unique = data[np.sort(first)]
        self.unique = len(unique)
        self.index: Any
        if self.unique <= EXACT_INDEX_MAX:
            self.index = faiss.IndexFlatIP(dims)
        else:
            lists = int(4 * np.sqrt(self.unique))
            quantizer = faiss.IndexFlatIP(dims)
            index = faiss.IndexIVFFlat(quantizer, dims, lists, faiss.METRIC_INNER_PRODUCT)
            # Train on an evenly spaced sample: deterministic for a given store.
            sample = unique[:: max(1, self.unique // (lists * 40))]
            index.train(sample)
            index.nprobe = 12
            self.index = index
        if self.unique:
            self.index.add(unique)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, row indices) of the ``k`` nearest stored vectors of each query (-1 where fewer)."""
        if self.size == 0 or len(queries) == 0:
            return np.zeros((len(queries), 0), dtype=np.float32), np.zeros((len(queries), 0), dtype=np.int64)
        k = min(k, self.size)
        sims, near = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, self.unique))
        if self.unique == self.size:  # no copies: unique u is row u
            return sims, near
        out_sims = np.full((len(queries), k), -1.0, dtype=np.float32)
        out_rows = np.full((len(queries), k), -1, dtype=np.int64)
        starts, members = self._starts, self._members
        for i in range(len(queries)):
            filled = 0
            for similarity, u in zip(sims[i].tolist(), near[i].tolist(), strict=True):
                if u < 0 or filled == k:
                    break
                group = members[starts[u] : starts[u + 1]][: k - filled]
                out_rows[i, filled : filled + len(group)] = group
                out_sims[i, filled : filled + len(group)] = similarity
                filled += len(group)
        return out_sims, out_rows


# -- same fact and relation ----------------------------------------------------------------------------------------


def _places(claim: dict[str, Any]) -> set[str]:
    return {str(p["canonical"]) for p in claim.get("places", []) if p.get("canonical")}


def _named(claim: dict[str, Any]) -> set[str]:
    return {
        str(e.get("canonical") or e["text"]).lower()
        for e in claim.get("entities", [])
        if e.get("label") in ("PERSON", "ORG", "UNIT", "EQUIPMENT")
    }


def claim_date(row: ClaimRow) -> date | None:
    """The claim's own resolved date when it is a full date, else its article's publication date."""
    return row.day


def _date_text(row: ClaimRow) -> str | None:
    found = claim_date(row)
    return found.isoformat() if found else None


def shares_measure(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return any(same_measure(qa, qb) for qa in a.get("quantities", []) for qb in b.get("quantities", []))


def same_fact(a: ClaimRow, b: ClaimRow, similarity: float, options: LinkOptions) -> bool:
    """Do two claims state the same fact (same event or measure, same place, compatible time)?"""
    if similarity < options.min_similarity:
        return False
    da, db = claim_date(a), claim_date(b)
    if da and db and abs((da - db).days) > options.max_days:
        return False
    pa, pb = _places(a.data), _places(b.data)
    if pa and pb and not (pa & pb) and similarity < options.high_similarity + 0.1:
        return False  # about different places
    if similarity >= options.high_similarity:
        return True
    if shares_measure(a.data, b.data) and (
        (similarity >= options.measure_similarity and pa & pb) or similarity >= options.measure_unplaced_similarity
    ):
        return True
    return similarity >= options.supported_similarity and bool((pa & pb) or (_named(a.data) & _named(b.data)))


def measure_keys(claim: dict[str, Any]) -> set[str]:
    """Blocking keys of a claim: each measure it states (unit and counted head word) with each of its places."""
    places = sorted(_places(claim)) or [""]
    keys: set[str] = set()
    for q in claim.get("quantities", []):
        if q.get("value") is None:
            continue
        measure = f"{q.get('unit') or ''}|{counted_key(q)}"
        if measure == "|":
            continue
        keys.update(f"{measure}|{place}" for place in places)
    return keys


def _with_sources(verdict: Verdict, a: ClaimRow, b: ClaimRow) -> Verdict:
    sa, sb = a.data.get("source"), b.data.get("source")
    if not (sa or sb):
        return verdict
    return Verdict(
        verdict.relation, f"{verdict.reason} (sources: {sa or 'unnamed'} vs {sb or 'unnamed'})", verdict.score
    )


StanceFn = Callable[[Sequence[str], Sequence[str]], np.ndarray]


def _stance_verdict(probabilities: np.ndarray) -> Verdict:
    agree, disagree, discuss, unrelated = (float(x) for x in probabilities)
    if agree >= max(disagree, discuss, unrelated):
        return Verdict(CORROBORATES, f"the stance model reads agreement ({agree:.2f})", agree)
    if disagree >= max(agree, discuss, unrelated):
        return Verdict(CONTRADICTS, f"the stance model reads disagreement ({disagree:.2f})", disagree)
    return Verdict(RELATED, f"the same fact told without taking a side (stance: discuss {discuss:.2f})", discuss)


def relate(
    a: ClaimRow,
    b: ClaimRow,
    similarity: float,
    *,
    options: LinkOptions | None = None,
    stance: StanceFn | None = None,
) -> Verdict:
    """The relation between two linked claims, with its reason in words and a score in [0, 1]."""
    options = options or LinkOptions()
    numbers = compare_numbers(a.data.get("quantities", []), b.data.get("quantities", []), _date_text(a), _date_text(b))
    if numbers is not None:
        return _with_sources(numbers, a, b)
    polarity = compare_polarity(a.text, b.text) if similarity >= 0.7 else None
    if polarity is not None:
        return _with_sources(polarity, a, b)
    if stance is not None and options.stance and similarity >= options.stance_min_similarity:
        forward, backward = stance([a.text, b.text], [b.text, a.text])
        return _with_sources(_stance_verdict((np.asarray(forward) + np.asarray(backward)) / 2), a, b)
    return Verdict(RELATED, f"similar claims (cosine {similarity:.2f})", float(similarity))


def default_stance() -> StanceFn | None:
    """The shipped stance model's probabilities, or None when it is not installed."""
    from ..models.runtime import MODELS_DIR
    from .stance import predict_stance

    if not (MODELS_DIR / "stance" / "model.onnx").exists():
        return None
    return predict_stance


# -- clusters ------------------------------------------------------------------------------------------------------


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            low, high = sorted((ra, rb))
            self.parent[high] = low


def _clusters(
    claim_ids: Sequence[str], links: Sequence[StoredLink], existing: dict[str, str]
) -> tuple[dict[str, str], int]:
    """Cluster ids for the new claims and every claim whose cluster they join or merge.

    A cluster is named by its smallest existing cluster id, or by its smallest claim id when it is new.
    """
    uf = _UnionFind()
    for claim_id in claim_ids:
        uf.find(claim_id)
    for link in links:
        uf.union(link.claim, link.other_claim)
    groups: dict[str, list[str]] = {}
    for claim_id in list(uf.parent):
        groups.setdefault(uf.find(claim_id), []).append(claim_id)
    out: dict[str, str] = {}
    for members in groups.values():
        named = sorted({existing[m] for m in members if m in existing})
        name = named[0] if named else min(members)
        for m in members:
            out[m] = name
    return out, len(groups)


# -- linking a store -----------------------------------------------------------------------------------------------


def link_store(
    store: Store,
    *,
    options: LinkOptions | None = None,
    stance: StanceFn | None = None,
    progress: Callable[[int], None] | None = None,
    batch_articles: int = 2_000,
    embedder: Embedder | None = None,
) -> LinkSummary:
    """Link the claims of every article analysed since the last run against every stored claim.

    ``embedder`` embeds the claims that have no vector yet (default :func:`embed_here`; the Ray runner passes its own).
    """
    options = options or LinkOptions()
    due = store.due_for_linking(LINK_VERSION)
    summary = LinkSummary()
    if not due:
        return summary
    with store.page_cache(LINK_CACHE_MB):
        return _link_due(store, due, summary, options, stance, progress, batch_articles, embedder)


def _link_due(
    store: Store,
    due: list[str],
    summary: LinkSummary,
    options: LinkOptions,
    stance: StanceFn | None,
    progress: Callable[[int], None] | None,
    batch_articles: int,
    embedder: Embedder | None,
) -> LinkSummary:
    missing = store.claims_without_vectors(due)
    if missing:
        (embedder or embed_here)(store, missing)
        summary.embedded = len(missing)
    stance = stance if stance is not None else (default_stance() if options.stance else None)
    claim_ids, _, matrix = store.claim_vectors()
    index = ClaimIndex(matrix) if claim_ids else None
    row_of = {cid: i for i, cid in enumerate(claim_ids)}
    for begin in range(0, len(due), batch_articles):
        batch = due[begin : begin + batch_articles]
        new_ids, _, new_matrix = store.claim_vectors(batch)
        store.save_claim_keys({cid: measure_keys(row.data) for cid, row in store.claim_rows(new_ids).items()})
        links: list[StoredLink] = []
        if new_ids and index is not None:
            links = _link_claims(store, new_ids, new_matrix, index, claim_ids, matrix, row_of, options, stance)
        summary.candidates += len(links)
        involved = set(new_ids) | {x for link in links for x in (link.claim, link.other_claim)}
        existing = store.clusters_of(involved)
        clusters, groups = _clusters(new_ids, links, existing)
        store.save_links(batch, links, clusters, LINK_VERSION)
        summary.articles += len(batch)
        summary.claims += len(new_ids)
        summary.clusters_touched += groups
        for link in links:
            summary.links[link.relation] = summary.links.get(link.relation, 0) + 1
        if progress:
            progress(len(batch))
    return summary


def _link_claims(
    store: Store,
    new_ids: Sequence[str],
    new_matrix: np.ndarray,
    index: ClaimIndex,
    claim_ids: Sequence[str],
    matrix: np.ndarray,
    row_of: dict[str, int],
    options: LinkOptions,
    stance: StanceFn | None,
) -> list[StoredLink]:
    sims, rows = index.search(new_matrix, options.neighbours + 1)
    pairs: dict[tuple[str, str], float] = {}
    hit_q, hit_k = np.nonzero((rows >= 0) & (sims >= options.min_similarity))
    for i, row, similarity in zip(
        hit_q.tolist(), rows[hit_q, hit_k].tolist(), sims[hit_q, hit_k].tolist(), strict=True
    ):
        claim_id, other = new_ids[i], claim_ids[row]
        if other == claim_id:
            continue
        key = (claim_id, other) if claim_id < other else (other, claim_id)
        if similarity > pairs.get(key, -1.0):
            pairs[key] = similarity
    # Blocking: claims stating the same measure about the same place, whatever their wording (numbers decide).
    new_rows = store.claim_rows(new_ids)
    for claim_id in new_ids:
        row = new_rows.get(claim_id)
        if row is None:
            continue
        for other in store.claims_by_measure(measure_keys(row.data), limit=options.block_size):
            if other == claim_id:
                continue
            key = (claim_id, other) if claim_id < other else (other, claim_id)
            if key not in pairs:
                first, second = row_of.get(key[0]), row_of.get(key[1])
                if first is not None and second is not None:
                    pairs[key] = float(matrix[first] @ matrix[second])
    claims = store.claim_rows({x for pair in pairs for x in pair})
    new = set(new_ids)
    kept: dict[str, int] = {}
    links = []
    # Most similar pairs first, so each new claim keeps its strongest links.
    for (a_id, b_id), similarity in sorted(pairs.items(), key=lambda item: (-item[1], item[0])):
        a, b = claims.get(a_id), claims.get(b_id)
        if a is None or b is None:
            continue
        owners = [x for x in (a_id, b_id) if x in new]
        if all(kept.get(x, 0) >= options.max_links for x in owners):
            continue
        if not same_fact(a, b, similarity, options):
            continue
        for x in owners:
            kept[x] = kept.get(x, 0) + 1
        verdict = relate(a, b, similarity, options=options, stance=stance)
        links.append(
            StoredLink(
                a.id, b.id, a.article_id, b.article_id, verdict.relation, verdict.score, similarity, verdict.reason
            )
        )
    links.sort(key=lambda link: (link.claim, link.other_claim))
    return links
