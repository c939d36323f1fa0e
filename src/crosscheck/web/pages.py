"""The dashboard's pages: Jinja2 templates rendered on the server, every value escaped on output.

Routes (a contract): ``/``, ``/articles/{id}``, ``/search``, ``/check``, ``/claims`` and ``/claims/{cluster}``,
``/stories`` and ``/stories/{id}``, ``/outlets`` and ``/outlets/{name}``, ``/map``, ``/docs`` (the API reference).
The pages load one script (``/static/app.js``: click a span for its explanation) and one style sheet; they work
without the script, and nothing inline runs (the Content-Security-Policy forbids it).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from .. import __version__
from ..errors import CrosscheckError, WebError
from ..store.web import ArticleFilter
from . import render
from .api import article_filter, overview, run_check, story_detail
from .app import HERE, html, page_url, state_of

router = APIRouter(include_in_schema=False)

NAV = (
    ("/", "Overview"),
    ("/search", "Search"),
    ("/check", "Check"),
    ("/claims", "Claims"),
    ("/stories", "Stories"),
    ("/outlets", "Outlets"),
    ("/map", "Map"),
    ("/docs", "API"),
)
PAGE = 20


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its name: article text, titles, URLs are data
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["path_part"] = render.path_part
    env.filters["technique_name"] = render.technique_name
    env.filters["safe_href"] = render.safe_href
    env.filters["day"] = lambda value: (value or "")[:10] or "undated"
    env.globals["query"] = render.query
    env.globals["nav"] = NAV
    env.globals["version"] = __version__
    return env


def page(request: Request, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    text = environment().get_template(template).render(path=request.url.path, title=context.pop("title", ""), **context)
    return html(text, http_status)


def render_error(request: Request, code: str, message: str, status: int) -> HTMLResponse:
    return page(request, "error.html", status, title=f"Error {status}", code=code, message=message, status=status)


def _next(request: Request, rows: list[Any], offset: int, limit: int = PAGE) -> str | None:
    return page_url(request, offset + limit) if len(rows) > limit else None


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request) -> HTMLResponse:
    with state_of(request).read() as store:
        data = overview(store)
    techniques = render.bars(
        [
            (render.technique_name(t["technique"]), t["spans"], "/search?" + render.query(technique=t["technique"]))
            for t in data["techniques"]
        ]
    )
    chart = render.day_chart(list(data["claims_per_day"].items()))
    return page(request, "index.html", title="Overview", data=data, techniques=techniques, chart=chart)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, article_id: str) -> HTMLResponse:
    from ..export import article_record

    with state_of(request).read() as store:
        article = store.require(article_id)
        record = article_record(store, article)
        others = {a.id: a for a in store.get_many(sorted({link["other_article"] for link in record["links"]}))}
    segments, notes = render.annotate(record)
    removed = render.removed_segments(article.raw, record["removed"]) if record["removed"] else []
    counts = {layer: len(record.get(layer) or []) for layer, _, _ in render.TEXT_LAYERS}
    links_of: dict[str, list[dict[str, Any]]] = {}
    for link in record["links"]:
        links_of.setdefault(link["claim"], []).append(link)
    return page(
        request,
        "article.html",
        title=record["title"] or article.id,
        a=record,
        segments=segments,
        notes=notes,
        removed=removed,
        layers=render.TEXT_LAYERS,
        counts=counts,
        others=others,
        links_of=links_of,
        profile=record.get("technique_profile") or {},
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: Annotated[str | None, Query(max_length=500)] = None,
    outlet: Annotated[str | None, Query(max_length=300)] = None,
    since: str | None = None,
    until: str | None = None,
    language: Annotated[str | None, Query(max_length=20)] = None,
    technique: Annotated[str | None, Query(max_length=100)] = None,
    place: Annotated[str | None, Query(max_length=200)] = None,
    story: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    filters = ArticleFilter()
    problem = None
    rows: list[dict[str, Any]] = []
    try:
        filters = article_filter(q, outlet, since, until, language, technique, place, story)
        with state_of(request).read() as store:
            rows = store.find_articles(filters, limit=PAGE + 1, offset=offset)
    except CrosscheckError as exc:  # shown above the form, which keeps what was typed
        problem = f"[{exc.code}] {exc.message}"
    for row in rows:
        row["parts"] = render.snippet_parts(row.get("snippet"))
    return page(
        request,
        "search.html",
        title="Search",
        rows=rows[:PAGE],
        next=_next(request, rows, offset),
        offset=offset,
        problem=problem,
        form={
            "q": q or "",
            "outlet": outlet or "",
            "since": since or "",
            "until": until or "",
            "language": language or "",
            "technique": technique or "",
            "place": place or "",
            "story": story or "",
        },
        filtered=filters != ArticleFilter(),
        techniques=render.technique_definitions(),
    )


@router.get("/check", response_class=HTMLResponse)
def check_page(
    request: Request,
    claim: Annotated[str | None, Query(max_length=2000)] = None,
    stance: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    text = " ".join((claim or "").split())
    result = None
    problem = None
    use_stance = stance != "off"
    if text:
        if len(text) < 3:
            problem = "Type a claim of at least 3 characters."
        else:
            state = state_of(request)
            with state.read() as store, state.check_lock:
                result = run_check(store, text, use_stance)
    return page(
        request, "check.html", title="Check a claim", claim=text, result=result, problem=problem, stance=use_stance
    )


@router.get("/claims", response_class=HTMLResponse)
def claims_page(
    request: Request,
    place: Annotated[str | None, Query(max_length=200)] = None,
    source: Annotated[str | None, Query(max_length=200)] = None,
    outlet: Annotated[str | None, Query(max_length=300)] = None,
    relation: Annotated[str | None, Query(max_length=20)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    from ..corpus.views import ClusterFilter, list_clusters

    if relation and relation not in ("corroborates", "contradicts", "related"):
        raise WebError("E100", name="relation", problem=f"{relation!r}: choose corroborates, contradicts or related")
    filters = ClusterFilter(
        place=place or None, source=source or None, outlet=outlet or None, relation=relation or None
    )
    with state_of(request).read() as store:
        rows = list_clusters(store, filters, limit=PAGE + 1, offset=offset)
    form = {"place": place or "", "source": source or "", "outlet": outlet or "", "relation": relation or ""}
    return page(request, "claims.html", title="Claims", rows=rows[:PAGE], next=_next(request, rows, offset), form=form)


@router.get("/claims/{cluster}", response_class=HTMLResponse)
def cluster_page(request: Request, cluster: str) -> HTMLResponse:
    from ..corpus.views import cluster_detail

    with state_of(request).read() as store:
        detail = cluster_detail(store, cluster)
        if detail is None:
            raise WebError("E101", what="claim cluster", key=cluster, hint=" (see /claims)")
        titles = {a.id: a for a in store.get_many(sorted({c["article"] for c in detail["claims"]}))}
    texts = {c["claim_id"]: c for c in detail["claims"]}
    return page(request, "cluster.html", title="Claim cluster", c=detail, articles=titles, texts=texts)


@router.get("/stories", response_class=HTMLResponse)
def stories_page(request: Request, offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    with state_of(request).read() as store:
        rows = store.story_list(limit=PAGE + 1, offset=offset, min_articles=1)
        titles = {a.id: a.title for a in store.get_many([i for s in rows[:PAGE] for i in s["article_ids"][:5]])}
    return page(
        request, "stories.html", title="Stories", rows=rows[:PAGE], next=_next(request, rows, offset), titles=titles
    )


@router.get("/stories/{story}", response_class=HTMLResponse)
def story_page(request: Request, story: str) -> HTMLResponse:
    with state_of(request).read() as store:
        detail = story_detail(store, story)
    texts = {c["claim_id"]: c for a in detail["articles"] for c in a["claims"]}
    return page(request, "story.html", title="Story", s=detail, texts=texts)


@router.get("/outlets", response_class=HTMLResponse)
def outlets_page(request: Request, offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    with state_of(request).read() as store:
        rows = store.outlet_list(limit=PAGE + 1, offset=offset)
    return page(request, "outlets.html", title="Outlets", rows=rows[:PAGE], next=_next(request, rows, offset))


@router.get("/outlets/{name:path}", response_class=HTMLResponse)
def outlet_page(request: Request, name: str) -> HTMLResponse:
    with state_of(request).read() as store:
        profile = store.outlet_profile(name)
        if profile is None:
            raise WebError("E101", what="outlet", key=name, hint=" (see /outlets)")
        latest = store.find_articles(ArticleFilter(outlet=name), limit=PAGE)
    techniques = render.bars(
        [
            (
                render.technique_name(t["technique"]),
                t["per_1000_words"],
                "/search?" + render.query(technique=t["technique"], outlet=name),
            )
            for t in profile["techniques"]
        ]
    )
    return page(request, "outlet.html", title=profile["outlet"], o=profile, techniques=techniques, latest=latest)


@router.get("/map", response_class=HTMLResponse)
def map_page(
    request: Request,
    view: Annotated[str, Query(pattern="^(europe|world)$")] = "europe",
) -> HTMLResponse:
    with state_of(request).read() as store:
        places = store.place_counts(limit=500)
    box = render.map_view(view)
    marks, outside = render.place_marks(places, box)
    proj = render.Projection(*box)
    return page(
        request,
        "map.html",
        title="Map",
        countries=render.base_map(box),
        marks=marks,
        outside=outside,
        places=places,
        width=render.MAP_WIDTH,
        height=proj.height,
        view=view,
    )


@router.get("/docs", response_class=HTMLResponse)
def docs_page(request: Request) -> HTMLResponse:
    schema = request.app.openapi()
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {})
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": _type_of(p.get("schema", {})),
                            "description": p.get("description") or p.get("schema", {}).get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": ", ".join(body),
                    "responses": sorted(op.get("responses", {})),
                }
            )
    return page(request, "docs.html", title="API", schema=schema, operations=operations)


def _type_of(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " | ".join(_type_of(s) for s in schema["anyOf"] if s.get("type") != "null")
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    kind = str(schema.get("type", "any"))
    bounds = [
        f"≥ {schema['minimum']}" if "minimum" in schema else "",
        f"≤ {schema['maximum']}" if "maximum" in schema else "",
    ]
    return " ".join([kind, *[b for b in bounds if b]])
