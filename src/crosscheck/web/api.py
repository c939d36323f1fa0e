"""The REST API under ``/api/`` (OpenAPI schema at ``/openapi.json``, reference at ``/docs``).

Lists answer ``{"items", "limit", "offset", "next"}`` in a stable order; ``next`` is the next page's URL or null.
Errors answer ``{"error": {"code", "status", "message"}}``. Reads use a fresh connection per request; the write
endpoints (``POST /api/ingest``, ``POST /api/articles/{id}/analyze``) need the server's token.
"""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from ..errors import WebError
from ..store.web import ArticleFilter
from .app import ReadStore, paginate, require_token, state_of
from .render import technique_definitions

router = APIRouter(prefix="/api", tags=["api"])
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (1–200).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip: the `next` link sets it.")]
Day = Annotated[
    str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="A day, YYYY-MM-DD.", examples=["2022-11-11"])
]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code (docs/errors.md)", examples=["E100"])
    status: int = Field(examples=[400])
    message: str = Field(examples=["bad parameter 'limit': Input should be less than or equal to 200 (got 500)"])


class ErrorResponse(BaseModel):
    error: ErrorDetail


class CheckRequest(BaseModel):
    claim: str = Field(min_length=3, max_length=2000, description="The claim to check, as a sentence.")
    stance: bool = Field(True, description="Let the stance model decide what numbers and denials leave open.")


RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Bad parameter (E100) or query"},
    404: {"model": ErrorResponse, "description": "Not found (E024, E101)"},
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **RESPONSES,
    401: {"model": ErrorResponse, "description": "Missing or wrong token (E103)"},
    403: {"model": ErrorResponse, "description": "Read-only server (E102)"},
    413: {"model": ErrorResponse, "description": "Upload over the size limit (E104)"},
}


def check_day(name: str, value: str | None) -> str | None:
    """A YYYY-MM-DD parameter that is a real day (the pattern lets 2022-02-30 through)."""
    if value is None:
        return None
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise WebError("E100", name=name, problem=f"{value!r} is not a day (YYYY-MM-DD)") from None
    return value


def check_technique(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    known = technique_definitions()
    if value not in known:
        raise WebError("E100", name="technique", problem=f"unknown technique {value!r}; known: {', '.join(known)}")
    return value


def article_filter(
    q: str | None,
    outlet: str | None,
    since: str | None,
    until: str | None,
    language: str | None,
    technique: str | None,
    place: str | None,
    story: str | None,
) -> ArticleFilter:
    def clean(value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    since, until = check_day("since", clean(since)), check_day("until", clean(until))
    if since and until and since > until:
        raise WebError("E100", name="since", problem=f"{since} is after until={until}")
    return ArticleFilter(
        q=clean(q),
        outlet=clean(outlet),
        since=since,
        until=until,
        language=clean(language),
        technique=check_technique(clean(technique)),
        place=clean(place),
        story=clean(story),
    )


# -- articles --------------------------------------------------------------------------------------------------------


@router.get("/articles", summary="List or search articles", responses=RESPONSES)
def list_articles(
    request: Request,
    q: Annotated[str | None, Query(max_length=500, description="Full-text query (FTS5 syntax or plain words).")] = None,
    outlet: Annotated[str | None, Query(max_length=300, description="Outlet name ('unknown': none known).")] = None,
    since: Day = None,
    until: Day = None,
    language: Annotated[str | None, Query(max_length=20, description="Language code, e.g. en.")] = None,
    technique: Annotated[
        str | None, Query(max_length=100, description="A technique label (data/techniques.json).")
    ] = None,
    place: Annotated[str | None, Query(max_length=200, description="A place's canonical name, e.g. Kherson.")] = None,
    story: Annotated[str | None, Query(max_length=200, description="A story id.")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Articles passing every filter given: by search rank with `q` (each with a `snippet`), else in storage order."""
    filters = article_filter(q, outlet, since, until, language, technique, place, story)
    with state_of(request).read() as store:
        rows = store.find_articles(filters, limit=limit + 1, offset=offset)
    return paginate(request, rows, limit, offset)


@router.get("/articles/{article_id}", summary="One article with every layer", responses=RESPONSES)
def get_article(request: Request, article_id: str) -> dict[str, Any]:
    """The export-contract record: metadata, clean text, removed boilerplate, every layer, links, story, reuse.
    A unique id prefix also works."""
    from ..export import article_record

    with state_of(request).read() as store:
        return article_record(store, store.require(article_id))


@router.post("/articles/{article_id}/analyze", summary="Re-analyse one article (token)", responses=WRITE_RESPONSES)
def reanalyze_article(
    request: Request,
    article_id: str,
    link: Annotated[bool, Query(description="Link the new claims against the store afterwards.")] = True,
) -> dict[str, Any]:
    """Run every analysis stage over the article again (and link it), replacing its analysis."""
    from ..runners.base import DEFAULT_STAGES, analyze_articles, save_outcomes

    with state_of(request).write("re-analysis", request) as store:
        article = store.require(article_id)
        outcomes = analyze_articles([article.to_article()], DEFAULT_STAGES)
        save_outcomes(store, DEFAULT_STAGES, outcomes)
        linked = 0
        if link:
            from ..corpus import link_corpus

            linked = link_corpus(store).links.articles
        analysis = store.analysis(article.id) or {}
        return {
            "article": article.id,
            "status": store.require(article.id).status,
            "error": outcomes[0].error,
            "claims": len(analysis.get("claims", [])),
            "techniques": len(analysis.get("techniques", [])),
            "linked": linked,
        }


# -- claims and check ------------------------------------------------------------------------------------------------


@router.get("/claims", summary="Claim clusters", responses=RESPONSES)
def list_claims(
    request: Request,
    place: Annotated[str | None, Query(max_length=200, description="A claim about this place.")] = None,
    source: Annotated[str | None, Query(max_length=200, description="A claim whose source contains this.")] = None,
    outlet: Annotated[str | None, Query(max_length=300, description="Told by this outlet.")] = None,
    since: Day = None,
    until: Day = None,
    relation: Annotated[Literal["corroborates", "contradicts", "related"] | None, Query()] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Clusters of claims stating the same fact (as `crosscheck claims`), most articles first, each with its claims
    (every outlet's version) and the links between them with their reasons."""
    from ..corpus.views import ClusterFilter, list_clusters

    filters = ClusterFilter(
        place=place or None,
        source=source or None,
        outlet=outlet or None,
        since=check_day("since", since),
        until=check_day("until", until),
        relation=relation,
    )
    with state_of(request).read() as store:
        rows = list_clusters(store, filters, limit=limit + 1, offset=offset)
    return paginate(request, rows, limit, offset)


@router.get("/claims/{cluster}", summary="One claim cluster", responses=RESPONSES)
def get_cluster(request: Request, cluster: str) -> dict[str, Any]:
    """Every claim of the cluster and the links between them (corroborates / contradicts / related, with reasons).
    A claim id that is in no cluster of several claims is a cluster of its own."""
    from ..corpus.views import cluster_detail

    with state_of(request).read() as store:
        detail = cluster_detail(store, cluster)
        if detail is None:
            raise WebError("E101", what="claim cluster", key=cluster, hint=" (see /api/claims)")
        return detail


def run_check(store: ReadStore, claim: str, stance: bool) -> dict[str, Any]:
    from ..corpus.check import RELATION_ORDER, CheckOptions, check

    results = check(store, claim, options=CheckOptions(stance=stance))
    grouped: dict[str, list[dict[str, Any]]] = {relation: [] for relation in RELATION_ORDER}
    for r in results:
        grouped[r.relation].append(r.to_dict())
    return {"claim": claim, "count": len(results), "results": grouped}


@router.post("/check", summary="Check a claim against the store", responses=RESPONSES)
def check_claim(request: Request, body: CheckRequest) -> dict[str, Any]:
    """The stored articles that corroborate, contradict or discuss the claim, each with its evidence sentence
    (offsets into the article's text) and the reason. Articles that do not report the claim are not listed."""
    claim = " ".join(body.claim.split())
    if len(claim) < 3:
        raise WebError("E100", name="claim", problem="give a claim of at least 3 characters")
    state = state_of(request)
    with state.read() as store, state.check_lock:
        return run_check(store, claim, body.stance)


# -- stories, reuse, outlets -------------------------------------------------------------------------------------------


@router.get("/stories", summary="News stories", responses=RESPONSES)
def list_stories(
    request: Request,
    min_articles: Annotated[int, Query(ge=1, le=1000, description="Only stories told by this many articles.")] = 1,
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Stories (articles from any outlet reporting the same event), largest first."""
    with state_of(request).read() as store:
        rows = store.story_list(limit=limit + 1, offset=offset, min_articles=min_articles)
    return paginate(request, rows, limit, offset)


def story_detail(store: ReadStore, story: str) -> dict[str, Any]:
    from ..corpus.views import claim_record

    ids = store.story_articles(story)
    if not ids:
        raise WebError("E101", what="story", key=story, hint=" (see /api/stories)")
    articles = store.get_many(ids)
    claim_ids = store.claim_ids_of(ids)
    rows = store.claim_rows(claim_ids)
    inside = set(claim_ids)
    links = [
        {
            "claim": link.claim,
            "other_claim": link.other_claim,
            "article": link.article_id,
            "other_article": link.other_article,
            "relation": link.relation,
            "score": round(link.score, 4),
            "reason": link.reason,
        }
        for link in store.links_between(claim_ids)
        if link.other_claim in inside and link.claim < link.other_claim
    ]
    clusters = store.clusters_of(claim_ids)
    return {
        "story": story,
        "articles": [
            {
                "id": a.id,
                "title": a.title,
                "outlet": a.outlet,
                "published": a.published,
                "url": a.url,
                "claims": [
                    {**claim_record(rows[c]), "cluster": clusters.get(c)}
                    for c in claim_ids
                    if c in rows and rows[c].article_id == a.id
                ],
            }
            for a in articles
        ],
        "links": links,
    }


@router.get("/stories/{story}", summary="One story", responses=RESPONSES)
def get_story(request: Request, story: str) -> dict[str, Any]:
    """The story's articles (oldest first) with their claims, and the links between those claims."""
    with state_of(request).read() as store:
        return story_detail(store, story)


@router.get("/reuse", summary="Reused passages", responses=RESPONSES)
def list_reuse(request: Request, limit: Limit = 20, offset: Offset = 0) -> dict[str, Any]:
    """Passages copied between articles (longest first, from the copier's side when the first publisher is known),
    and who repeatedly copies whom (`outlet_pairs`)."""
    with state_of(request).read() as store:
        rows = store.reuse_pairs(limit=limit + 1, offset=offset)
        pairs = store.reuse_outlet_pairs() if offset == 0 else None
    extra = {"outlet_pairs": pairs} if pairs is not None else {}
    return paginate(request, rows, limit, offset, **extra)


@router.get("/outlets", summary="Outlets", responses=RESPONSES)
def list_outlets(request: Request, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Outlets by number of articles ('unknown' gathers the articles without one)."""
    with state_of(request).read() as store:
        rows = store.outlet_list(limit=limit + 1, offset=offset)
    return paginate(request, rows, limit, offset)


@router.get("/outlets/{name:path}", summary="One outlet's profile", responses=RESPONSES)
def get_outlet(request: Request, name: str) -> dict[str, Any]:
    """Articles, words, languages, claims, techniques per 1,000 words (overall and per technique), whom it copies
    from and who copies it."""
    with state_of(request).read() as store:
        profile = store.outlet_profile(name)
    if profile is None:
        raise WebError("E101", what="outlet", key=name, hint=" (see /api/outlets)")
    return profile


# -- timeline and places ---------------------------------------------------------------------------------------------


@router.get("/timeline", summary="Dated claims, day by day", responses=RESPONSES)
def get_timeline(
    request: Request,
    since: Day = None,
    until: Day = None,
    narratives: Annotated[bool, Query(description="Also group the claims into narratives (slower).")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Claims per day (`per_day`, complete) and the dated claims themselves in day order (`items`, paginated), each
    with its places and coordinates."""
    from ..corpus.views import narratives as build_narratives
    from ..corpus.views import timeline

    since, until = check_day("since", since), check_day("until", until)
    with state_of(request).read() as store:
        data = timeline(store, since=since, until=until)
        extra: dict[str, Any] = {"per_day": data["per_day"]}
        if narratives:
            extra["narratives"] = build_narratives(store)
    events = data["events"]
    return paginate(request, events[offset : offset + limit + 1], limit, offset, **extra)


@router.get("/places", summary="Places mentioned, with counts", responses=RESPONSES)
def list_places(
    request: Request,
    kind: Annotated[Literal["country", "region", "city", "river", "other"] | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Places with coordinates, most mentioned first, each with its mentions, articles and the articles' URL."""
    from .render import query

    with state_of(request).read() as store:
        rows = store.place_counts(limit=limit + 1, offset=offset, kind=kind)
    for row in rows:
        row["articles_url"] = "/api/articles?" + query(place=row["name"])
    return paginate(request, rows, limit, offset)


@router.get("/summary", summary="Corpus counts for the overview", responses=RESPONSES)
def get_summary(request: Request) -> dict[str, Any]:
    """Counts, links by relation, techniques, claims per day, the latest stories and articles."""
    with state_of(request).read() as store:
        return overview(store)


def overview(store: ReadStore) -> dict[str, Any]:
    from ..report import cross_checks

    return {
        "counts": {**store.stats(), **store.corpus_counts()},
        "links": store.link_counts(),
        "techniques": store.technique_counts(),
        "claims_per_day": dict(store.claims_per_day()),
        "latest_stories": store.latest_stories(limit=8),
        "latest_articles": store.latest_articles(limit=8),
        "cross_checks": cross_checks(store, top=6),
    }


# -- ingest ----------------------------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^\w.\-]+")


def upload_name(name: str | None) -> str:
    """The upload's file name without folders or odd characters (its extension picks the reader)."""
    base = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip("._") or "upload"
    return cleaned[:120]


@router.post("/ingest", summary="Ingest an uploaded file (token)", responses=WRITE_RESPONSES)
async def ingest_upload(request: Request) -> dict[str, Any]:
    """Upload one file as multipart form field `file` (text, HTML, WARC, JSONL, CSV, as `crosscheck ingest` reads
    them); it is cleaned and stored. Answers the ingest summary. Run `crosscheck analyze` (or the analyze endpoint)
    afterwards."""
    from starlette.concurrency import run_in_threadpool
    from starlette.datastructures import UploadFile

    state = state_of(request)
    require_token(state.settings, request, "upload")
    form = await request.form(max_files=1, max_fields=10, max_part_size=state.settings.max_upload_bytes)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise WebError("E107")
    data = await upload.read(state.settings.max_upload_bytes + 1)
    if len(data) > state.settings.max_upload_bytes:
        raise WebError("E104", limit=state.settings.max_upload_bytes)
    name = upload_name(upload.filename)
    return await run_in_threadpool(_ingest_bytes, request, name, data)


def _ingest_bytes(request: Request, name: str, data: bytes) -> dict[str, Any]:
    from ..ingest import IngestOptions, ingest

    state = state_of(request)
    with tempfile.TemporaryDirectory(prefix="crosscheck-upload-") as tmp, state.write("upload", request) as store:
        path = Path(tmp) / name
        path.write_bytes(data)
        summary = ingest([str(path)], store, options=IngestOptions(max_bytes=state.settings.max_upload_bytes))
        total = store.count()
    return {
        "file": name,
        "bytes": len(data),
        "ingested": summary.ingested,
        "duplicates": summary.duplicates,
        "unchanged": summary.unchanged,
        "skipped": [
            {"origin": s.origin.replace(str(path), name), "code": s.code, "reason": s.reason.replace(str(path), name)}
            for s in summary.skipped
        ],
        "articles": total,
    }
