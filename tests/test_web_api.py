"""The REST API and the server-rendered pages, in process (httpx through Starlette's test client).

Over the linked examples (the session's ``linked_db``); write endpoints and hostile input over a copy of it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web extra (fastapi, uvicorn, jinja2) is not installed")

from click.testing import CliRunner
from fastapi.testclient import TestClient

from crosscheck import open_store
from crosscheck.cli import main
from crosscheck.corpus.views import timeline
from crosscheck.ingest import ingest
from crosscheck.web import (
    bind,
    create_app,
    render,
)

KHERSON_LIBERATED = "99d9b01e0b8547ac"
KHARKIV = "37c0afe1aa0f3acc"
RABBIT = "0dea36b8dd20e3cb"
TOKEN = "s3cret-token"

#: An article whose every field carries script and event-handler payloads.
HOSTILE = {
    "title": "<script>window.__pwned='title'</script>Hostile <img src=x onerror=\"window.__pwned='title-img'\"> title",
    "url": "javascript:window.__pwned='url'//\"><script>window.__pwned='url-tag'</script>",
    "outlet": 'Evil"><img src=x onerror="window.__pwned=\'outlet\'"> News',
    "published": "2022-11-12",
    "text": (
        "Officials said on Friday that the bridge near Kherson was damaged overnight by shelling.\n\n"
        "<script>window.__pwned='text'</script> A second paragraph <img src=x onerror=\"window.__pwned='text-img'\"> "
        "reports that residents were evacuated from three villages, according to the regional governor.\n\n"
        'A third paragraph quotes a resident: "<svg onload=\\"window.__pwned=1\\">" was written on the wall.'
    ),
}
HOSTILE_MARKERS = ("<script>", "onerror=", "onload=")


def hostile_copy(linked_db: Path, folder: Path) -> tuple[Path, str]:
    """A copy of the linked examples with the hostile article ingested; returns (database, the article's id)."""
    db = folder / "hostile.db"
    shutil.copyfile(linked_db, db)
    feed = folder / "hostile.jsonl"
    feed.write_text(json.dumps(HOSTILE) + "\n", encoding="utf-8")
    with open_store(db) as store:
        summary = ingest([str(feed)], store)
        assert summary.ingested == 1, summary
        [found] = [a for a in store.articles() if a.origin.startswith(str(feed))]
        assert "<script>" in (found.title or "") and "<script>" in found.text and "javascript:" in (found.url or "")
        return db, found.id


@pytest.fixture(scope="module")
def client(linked_db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(linked_db)) as c:
        yield c


@pytest.fixture
def writable(linked_db: Path, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    db, hostile = hostile_copy(linked_db, tmp_path)
    with TestClient(create_app(db, token=TOKEN, max_upload_bytes=4096)) as c:
        yield c, hostile


def error_of(response: Any, status: int, code: str) -> str:
    """The error's message, after checking the one error shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "status", "message"} <= set(body["error"])
    assert body["error"]["code"] == code and body["error"]["status"] == status
    return str(body["error"]["message"])


def walk(client: TestClient, url: str) -> list[dict[str, Any]]:
    """Every item of a paginated list, following the next links."""
    items: list[dict[str, Any]] = []
    seen = 0
    while url:
        page = client.get(url).json()
        items.extend(page["items"])
        url = page["next"]
        seen += 1
        assert seen < 100
    return items


# -- articles ----------------------------------------------------------------------------------------------------


def test_articles_page_in_a_stable_order_with_next_links(client: TestClient) -> None:
    whole = client.get("/api/articles").json()
    assert [a["id"] for a in whole["items"]] == [KHARKIV, KHERSON_LIBERATED, RABBIT]  # storage order
    assert whole["next"] is None and whole["limit"] == 20 and whole["offset"] == 0
    first = client.get("/api/articles?limit=1").json()
    assert len(first["items"]) == 1 and first["next"] == "/api/articles?limit=1&offset=1"
    paged = walk(client, "/api/articles?limit=1")
    assert [a["id"] for a in paged] == [a["id"] for a in whole["items"]]
    assert all(a["claims"] > 0 for a in paged)


def test_search_ranks_and_marks_the_matches(client: TestClient) -> None:
    found = client.get("/api/articles", params={"q": "Kherson"}).json()["items"]
    assert {a["id"] for a in found} == {KHERSON_LIBERATED, RABBIT}
    assert all("\x02" in a["snippet"] and "\x03" in a["snippet"] for a in found)
    # Not valid FTS5 syntax: searched again as words; nothing to search at all: E045.
    assert client.get("/api/articles", params={"q": "Kherson's"}).status_code == 200
    assert "not valid full-text syntax" in error_of(client.get("/api/articles", params={"q": '"'}), 400, "E045")


def test_article_filters(client: TestClient, linked_db: Path) -> None:
    def ids(**params: str) -> set[str]:
        return {a["id"] for a in walk(client, "/api/articles?" + render.query(**params))}

    with open_store(linked_db, create=False) as store:
        by_technique: dict[str, set[str]] = {}
        by_place: dict[str, set[str]] = {}
        for a in store.articles():
            for t in (store.analysis(a.id) or {})["techniques"]:
                by_technique.setdefault(t["technique"], set()).add(a.id)
            for e in (store.analysis(a.id) or {})["entities"]:
                if e.get("canonical"):
                    by_place.setdefault(e["canonical"].lower(), set()).add(a.id)
    assert by_technique, "the examples have technique spans"
    for technique, expected in by_technique.items():
        assert ids(technique=technique) == expected
    assert ids(place="Kherson") == by_place["kherson"] and KHERSON_LIBERATED in by_place["kherson"]
    assert ids(place="kHARKIV") == by_place["kharkiv"]
    assert ids(place="Kherson", q="liberated") == {KHERSON_LIBERATED}
    assert ids(language="en") == {KHARKIV, KHERSON_LIBERATED, RABBIT}
    assert ids(outlet="unknown") == {KHARKIV, KHERSON_LIBERATED, RABBIT}  # the examples name no outlet
    assert ids(outlet="nobody.example") == set()
    assert ids(since="2022-01-01") == set()  # undated articles are not in a date range
    assert ids(story="no-such-story") == set()


def test_one_article_with_every_layer(client: TestClient) -> None:
    record = client.get(f"/api/articles/{KHARKIV}").json()
    for layer in ("text", "removed", "entities", "quantities", "attributions", "claims", "techniques", "links"):
        assert layer in record
    assert any("6,000 km²" in link["reason"] for link in record["links"])
    assert client.get(f"/api/articles/{KHARKIV[:6]}").json()["id"] == KHARKIV  # a unique prefix
    assert "no article with id" in error_of(client.get("/api/articles/ffffffffffffffff"), 404, "E024")


# -- claims and check --------------------------------------------------------------------------------------------


def test_claim_clusters_with_filters_and_detail(client: TestClient) -> None:
    clusters = walk(client, "/api/claims?limit=2")
    assert clusters and all(len(c["claims"]) >= 2 for c in clusters)
    assert len({c["cluster"] for c in clusters}) == len(clusters)
    [contradiction] = client.get("/api/claims", params={"relation": "contradicts"}).json()["items"]
    texts = " ".join(c["text"] for c in contradiction["claims"])
    assert "2,500 square kilometers" in texts and "6,000 square kilometers" in texts
    detail = client.get(f"/api/claims/{contradiction['cluster']}").json()
    assert detail["relations"] == contradiction["relations"]
    assert any("same area" in link["reason"] for link in detail["links"])
    kherson = client.get("/api/claims", params={"place": "Kherson"}).json()["items"]
    assert kherson and all(any("Kherson" in " ".join(c["places"]) for c in k["claims"]) for k in kherson)
    assert "claim cluster" in error_of(client.get("/api/claims/nope:1-2"), 404, "E101")


def test_check_lists_the_kherson_articles_and_caches_the_index(client: TestClient, linked_db: Path) -> None:
    from crosscheck.corpus.check import check

    cache = client.app.state.crosscheck.vectors  # type: ignore[attr-defined]
    answer = client.post("/api/check", json={"claim": "Russian troops fled Kherson"}).json()
    assert answer["claim"] == "Russian troops fled Kherson"
    assert set(answer["results"]) == {"corroborates", "contradicts", "discusses"}
    found = {r["article"] for group in answer["results"].values() for r in group}
    assert KHERSON_LIBERATED in found and KHARKIV not in found  # the Kharkiv article names no Kherson
    with open_store(linked_db, create=False) as store:
        direct = check(store, "Russian troops fled Kherson")
    assert [r.to_dict() for r in direct] == [r for group in answer["results"].values() for r in group]
    assert answer["count"] == len(found) == len(direct)
    for group in answer["results"].values():
        for r in group:
            assert r["reason"] and r["evidence"]["text"] and r["evidence"]["end"] > r["evidence"]["start"]
    loads = cache.loads
    again = client.post("/api/check", json={"claim": "Ukraine retook 6,000 square kilometers around Kharkiv"}).json()
    assert KHARKIV in {r["article"] for group in again["results"].values() for r in group}
    assert cache.loads == loads  # the vectors did not change: not read again


def test_check_rejects_bad_bodies(client: TestClient) -> None:
    error_of(client.post("/api/check", json={"claim": ""}), 400, "E100")
    error_of(client.post("/api/check", json={"claim": "    x   "}), 400, "E100")
    error_of(client.post("/api/check", json={}), 400, "E100")
    error_of(client.post("/api/check", content=b"not json", headers={"content-type": "application/json"}), 400, "E100")
    big = client.post("/api/check", json={"claim": "x" * 100_000})
    assert "limit" in error_of(big, 413, "E104")
    assert "POST" in error_of(client.get("/api/check"), 405, "E108")


# -- the other lists ---------------------------------------------------------------------------------------------


def test_stories_reuse_outlets_timeline_places_summary(client: TestClient, linked_db: Path) -> None:
    for url in ("/api/stories", "/api/reuse", "/api/outlets", "/api/timeline", "/api/places"):
        page = client.get(url).json()
        assert {"items", "limit", "offset", "next"} <= set(page), url
    assert "outlet_pairs" in client.get("/api/reuse").json()
    [outlet] = client.get("/api/outlets").json()["items"]
    assert outlet["outlet"] == "unknown" and outlet["articles"] == 3
    profile = client.get("/api/outlets/unknown").json()
    assert profile["articles"] == 3 and profile["claims"] == outlet["claims"] and profile["words"] > 1000
    spans = sum(t["spans"] for t in profile["techniques"])
    assert spans == profile["technique_spans"] == outlet["techniques"]
    assert profile["techniques_per_1000_words"] == round(1000 * spans / profile["words"], 2)
    assert "outlet" in error_of(client.get("/api/outlets/nobody.example"), 404, "E101")
    places = walk(client, "/api/places?limit=5")
    assert places[0]["name"] == "Kherson" and places[0]["mentions"] >= places[-1]["mentions"]
    assert len({p["name"] for p in places}) == len(places)
    kherson_articles = {a["id"] for a in client.get(places[0]["articles_url"]).json()["items"]}
    assert kherson_articles == {KHERSON_LIBERATED, RABBIT} | (kherson_articles & {KHARKIV})
    countries = client.get("/api/places", params={"kind": "country"}).json()["items"]
    assert countries and all(p["kind"] == "country" for p in countries)
    with open_store(linked_db, create=False) as store:
        expected = timeline(store)
    line = client.get("/api/timeline").json()
    assert line["per_day"] == expected["per_day"]
    assert [e["claim_id"] for e in walk(client, "/api/timeline?limit=1")] == [e["claim_id"] for e in expected["events"]]
    summary = client.get("/api/summary").json()
    assert summary["counts"]["articles"] == 3 and summary["links"].get("contradicts") == 1
    assert summary["claims_per_day"] == expected["per_day"]  # the store's SQL dates claims as the timeline does
    assert sum(t["spans"] for t in summary["techniques"]) == spans


def test_bad_parameters_answer_400_naming_the_parameter(client: TestClient) -> None:
    cases = {
        "/api/articles?limit=0": "limit",
        "/api/articles?limit=5000": "limit",
        "/api/articles?offset=-1": "offset",
        "/api/articles?limit=ten": "limit",
        "/api/articles?since=2022-02-30": "since",
        "/api/articles?since=yesterday": "since",
        "/api/articles?since=2022-12-01&until=2022-01-01": "since",
        "/api/articles?technique=Propaganda": "technique",
        "/api/claims?relation=agrees": "relation",
        "/api/claims?until=20221111": "until",
        "/api/places?kind=planet": "kind",
        "/api/stories?min_articles=0": "min_articles",
        "/api/timeline?since=2022-13-01": "since",
    }
    for url, name in cases.items():
        assert f"'{name}'" in error_of(client.get(url), 400, "E100"), url
    assert "Loaded_Language" in error_of(client.get("/api/articles?technique=Propaganda"), 400, "E100")


# -- writes, limits, security --------------------------------------------------------------------------------------


def test_the_server_is_read_only_without_a_token(client: TestClient) -> None:
    upload = {"file": ("a.txt", b"Some text that would be an article if it were allowed in here at all.")}
    assert "--token" in error_of(client.post("/api/ingest", files=upload), 403, "E102")
    error_of(client.post(f"/api/articles/{KHARKIV}/analyze"), 403, "E102")


def test_upload_needs_the_token_and_is_capped(writable: tuple[TestClient, str]) -> None:
    client, _ = writable
    page = (
        "Kyiv said on Monday that Ukrainian forces had retaken two villages near Bakhmut after heavy fighting, "
        "according to the General Staff, which gave no figures.\n\nResidents reported shelling overnight."
    )
    upload = {"file": ("../../etc/report.txt", page.encode())}
    error_of(client.post("/api/ingest", files=upload), 401, "E103")
    error_of(client.post("/api/ingest", files=upload, headers={"Authorization": "Bearer wrong"}), 401, "E103")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    done = client.post("/api/ingest", files=upload, headers=auth).json()
    assert done["ingested"] == 1 and done["file"] == "report.txt" and done["articles"] == 5
    again = client.post("/api/ingest", files=upload, headers=auth).json()
    assert again["ingested"] == 0 and again["duplicates"] == 1
    found = client.get("/api/articles", params={"q": "Bakhmut"}).json()["items"]
    assert len(found) == 1
    assert "4096 bytes" in error_of(
        client.post("/api/ingest", files={"file": ("big.txt", b"x" * 5000)}, headers=auth), 413, "E104"
    )
    error_of(client.post("/api/ingest", data={"other": "field"}, headers=auth), 400, "E107")
    # A body with no declared length is counted as it arrives.
    chunks = iter([b"x" * 3000] * 30)
    streamed = client.post(
        "/api/ingest", content=chunks, headers={**auth, "content-type": "multipart/form-data; boundary=xyz"}
    )
    error_of(streamed, 413, "E104")


@pytest.mark.slow
def test_reanalyse_one_article_with_the_token(writable: tuple[TestClient, str]) -> None:
    client, hostile = writable
    error_of(client.post(f"/api/articles/{hostile}/analyze"), 401, "E103")
    done = client.post(f"/api/articles/{hostile}/analyze", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert done["article"] == hostile and done["status"] == "analyzed" and done["error"] is None
    assert done["claims"] >= 1 and done["linked"] == 1
    record = client.get(f"/api/articles/{hostile}").json()
    assert len(record["claims"]) == done["claims"] and record["entities"]


def test_every_response_has_the_security_headers(client: TestClient) -> None:
    for url in ("/", f"/articles/{KHARKIV}", "/api/articles", "/static/app.js", "/nope", "/api/nope"):
        response = client.get(url)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp, url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_pages_hold_no_inline_script_or_style(client: TestClient) -> None:
    pages = ["/", f"/articles/{KHARKIV}", "/search?q=Kherson", "/claims", "/stories", "/outlets", "/map", "/docs"]
    for url in pages:
        text = client.get(url).text
        assert re.findall(r"<script\b[^>]*>", text) == ['<script src="/static/app.js" defer>'], url
        assert not re.search(r"\son[a-z]+\s*=", text), url
        assert " style=" not in text and "<style" not in text, url


def test_hostile_article_is_escaped_everywhere(writable: tuple[TestClient, str]) -> None:
    client, hostile = writable
    outlet = HOSTILE["outlet"]
    urls = [
        f"/articles/{hostile}",
        "/",
        "/search?" + render.query(q="bridge Kherson"),
        "/search?" + render.query(outlet=outlet),
        "/outlets",
        "/outlets/" + render.path_part(outlet),
        "/map",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.text
        for marker in ("<script>window", "<img src=x", "<svg onload", 'onerror="window'):
            assert marker not in text, (url, marker)
        assert 'href="javascript:' not in text, url
    page = client.get(f"/articles/{hostile}").text
    assert "&lt;script&gt;window.__pwned=&#39;title&#39;&lt;/script&gt;Hostile" in page
    assert "&lt;script&gt;window.__pwned=&#39;text&#39;&lt;/script&gt;" in page
    assert "javascript:window.__pwned" in page  # shown, as text, not as a link
    assert client.get("/api/articles/" + hostile).json()["title"] == HOSTILE["title"]


# -- pages ---------------------------------------------------------------------------------------------------------


def test_every_page_renders_the_examples(client: TestClient) -> None:
    pages = {
        "/": ["Persuasion techniques", "Claims per day", "contradicts"],
        f"/articles/{KHARKIV}": [
            "In Kharkiv, Russia suffers",
            'id="show-entities"',
            "l-techniques",
            "Removed boilerplate",
        ],
        "/search?q=Kherson": ["Ukrainian Army liberated Kherson", "<mark>Kherson</mark>"],
        "/search?technique=Loaded_Language": [KHARKIV],
        "/claims": ["claims in 2 articles", "badge-contradicts"],
        "/stories": ["Stories"],
        "/outlets": ["/outlets/unknown"],
        "/outlets/unknown": ["technique spans per 1,000 words"],
        "/map": ['class="country"', "<title>Ukraine</title>", "Kherson: 14 mentions"],
        "/map?view=world": ["<title>Ukraine</title>"],
        "/docs": ["/api/articles", "/api/check", "/api/ingest", "POST"],
        "/check": ['name="claim"'],
    }
    for url, needles in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith("text/html")
        for needle in needles:
            assert needle in response.text, (url, needle)


def test_check_page_and_cluster_page(client: TestClient) -> None:
    page = client.get("/check", params={"claim": "Russian troops fled Kherson"}).text
    assert "Ukrainian Army liberated Kherson, Russian troops fled" in page and 'id="col-discusses"' in page
    [contradiction] = client.get("/api/claims", params={"relation": "contradicts"}).json()["items"]
    cluster = client.get("/claims/" + render.path_part(contradiction["cluster"])).text
    assert cluster.count('class="column card version"') == len(contradiction["claims"])
    assert "same area" in cluster and "badge-contradicts" in cluster


def test_page_errors_are_pages_api_errors_are_json(client: TestClient) -> None:
    missing = client.get("/articles/ffffffffffffffff")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "E024" in missing.text
    assert client.get("/nowhere").status_code == 404
    assert "E100" in client.get("/search?since=2022-02-30").text  # shown above the form
    error_of(client.get("/api/nowhere"), 404, "E101")


def test_openapi_lists_the_contract_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for route in (
        "/api/articles",
        "/api/articles/{article_id}",
        "/api/claims",
        "/api/check",
        "/api/stories",
        "/api/reuse",
        "/api/outlets",
        "/api/timeline",
        "/api/places",
        "/api/ingest",
    ):
        assert route in paths, route
    assert "post" in paths["/api/check"] and "post" in paths["/api/ingest"]
    assert not [p for p in paths if not p.startswith("/api/")]  # pages are not API operations


# -- building blocks -----------------------------------------------------------------------------------------------


def test_annotated_text_covers_the_text_once(client: TestClient) -> None:
    record = client.get(f"/api/articles/{KHARKIV}").json()
    segments, notes = render.annotate(record)
    assert "".join(s.text for s in segments) == record["text"]
    assert len([n for n in notes if n.layer == "techniques"]) == len(record["techniques"])
    stunning = next(n for n in notes if n.layer == "techniques" and "stunning" in n.quote)
    assert ("definition", "Uses words and phrases with strong emotional implications to influence the reader.") in (
        stunning.fields
    )
    marked = [s for s in segments if stunning.id in s.notes.split()]
    assert "".join(s.text for s in marked) == stunning.quote and all("l-techniques" in s.classes for s in marked)
    contradicting = next(n for n in notes if n.layer == "claims" and "2,500" in n.quote)
    assert any(link.get("badge") == "contradicts" for link in contradicting.links)


def test_removed_boilerplate_segments_rebuild_the_raw_page(linked_db: Path) -> None:
    with open_store(linked_db, create=False) as store:
        article = store.require(KHARKIV)
    pieces = render.removed_segments(article.raw, [r.to_dict() for r in article.removed])
    assert "".join(t for t, _ in pieces) == article.raw
    assert {k for _, k in pieces if k} == {r.kind for r in article.removed}


def test_the_map_projection_and_outlines() -> None:
    europe = render.map_view("europe")
    inside, outside = render.place_marks(
        [
            {"name": "Kyiv", "lat": 50.45, "lon": 30.52, "mentions": 4},
            {"name": "Kherson", "lat": 46.64, "lon": 32.61, "mentions": 1},
            {"name": "Russia", "lat": 60.3, "lon": 95.7, "mentions": 9},
        ],
        europe,
    )
    assert [m["name"] for m in inside] == ["Kyiv", "Kherson"] and [p["name"] for p in outside] == ["Russia"]
    kyiv, kherson = inside
    assert kyiv["r"] > kherson["r"] and kherson["y"] > kyiv["y"] and kherson["x"] > kyiv["x"]  # south-east of Kyiv
    names = {name for name, _ in render.base_map(europe)}
    assert {"Ukraine", "Poland", "Moldova"} <= names and "Australia" not in names
    assert "Australia" in {name for name, _ in render.base_map(render.map_view("world"))}


def test_safe_href_only_links_http() -> None:
    assert render.safe_href("https://example.org/a") == "https://example.org/a"
    for url in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "vbscript:x", "/relative", None):
        assert render.safe_href(url) is None


def test_serve_reports_a_missing_database_and_a_taken_port(tmp_path: Path, linked_db: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "typo.db")])
    assert result.exit_code == 1 and "[E023]" in result.output
    taken = bind("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--db", str(linked_db), "--port", str(port)])
        assert result.exit_code == 1 and "[E106]" in result.output and str(port) in result.output
    finally:
        taken.close()


def test_upload_names_lose_their_folders() -> None:
    from crosscheck.web.api import upload_name

    assert upload_name("../../etc/passwd") == "passwd"
    assert upload_name("C:\\Users\\x\\feed.jsonl") == "feed.jsonl"
    assert upload_name("<script>.html") == "script_.html"
    assert upload_name("") == "upload" and upload_name(None) == "upload"
