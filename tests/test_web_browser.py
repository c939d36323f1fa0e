"""The dashboard in a real browser: Playwright driving the system Chromium against a server on loopback.

Needs Debian's ``chromium`` package (``.ci/run`` installs it; Playwright never downloads a browser here). A screenshot
of each page is saved under ``out/browser/`` (or ``$CROSSCHECK_TEST_OUTPUT/browser/``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web extra (fastapi, uvicorn, jinja2) is not installed")
playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from crosscheck.web import bind, create_app, make_server  # noqa: E402
from test_web_api import HOSTILE, KHARKIV, KHERSON_LIBERATED, hostile_copy  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("CROSSCHECK_TEST_OUTPUT", ROOT / "out")) / "browser"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def site(linked_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A server on 127.0.0.1 (a free port) in a background thread, over the examples plus the hostile article."""
    db, hostile = hostile_copy(linked_db, tmp_path_factory.mktemp("browser"))
    sock = bind("127.0.0.1", 0)
    server = make_server(create_app(db))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield {"base": f"http://127.0.0.1:{sock.getsockname()[1]}", "hostile": hostile}
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    tab = browser.new_page()
    tab.problems = []  # console errors and CSP violations: a page that needs inline script would log them
    tab.on("console", lambda m: tab.problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.problems.append(str(e)))
    tab.dialogs = []
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    yield tab
    tab.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_overview(site: dict[str, str], page: Any) -> None:
    page.goto(site["base"] + "/")
    assert page.locator("#counts .card").first.inner_text().strip().startswith("4")  # 3 examples + the hostile one
    assert page.locator("#techniques tr").count() >= 3
    assert page.locator("#timeline rect.day").count() >= 1
    assert page.locator("#cross-checks .badge-contradicts").count() == 1
    shot(page, "overview")
    assert page.problems == []


def test_article_layers_toggle_and_explain(site: dict[str, str], page: Any) -> None:
    page.goto(f"{site['base']}/articles/{KHARKIV}")
    assert "In Kharkiv, Russia suffers" in page.locator("#article-title").inner_text()
    entity = page.locator(".doc .l-entities").first
    assert entity.evaluate("e => getComputedStyle(e).boxShadow") == "none"  # the entities layer starts off
    page.locator("label[for=show-entities]").click()
    assert page.locator("#show-entities").is_checked()
    assert entity.evaluate("e => getComputedStyle(e).boxShadow") != "none"
    technique = page.locator(".doc .l-techniques").first
    assert technique.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert "Loaded language" in (technique.get_attribute("title") or "")  # the hover explanation
    shot(page, "article-layers")
    technique.click()
    panel = page.locator("#explain .explain-body")
    assert "Uses words and phrases with strong emotional implications" in panel.inner_text()
    assert "trigger words" in panel.inner_text()
    page.locator("label[for=show-techniques]").click()  # switched off: no highlight
    assert technique.evaluate("e => getComputedStyle(e).backgroundColor") == "rgba(0, 0, 0, 0)"
    page.locator("#removed summary").click()
    assert page.locator("#removed del.removed").count() >= 1
    shot(page, "article-explained")
    assert page.problems == []


def test_check_a_claim(site: dict[str, str], page: Any) -> None:
    page.goto(site["base"] + "/check")
    page.fill("#claim", "Russian troops fled Kherson")
    page.click("#check-form button[type=submit]")
    page.wait_for_selector("#check-results", timeout=120_000)
    results = page.locator("#check-results").inner_text()
    assert "Ukrainian Army liberated Kherson, Russian troops fled" in results
    assert page.locator(f"#check-results a[href='/articles/{KHERSON_LIBERATED}']").count() == 1
    assert page.locator(f"#check-results a[href='/articles/{KHARKIV}']").count() == 0
    shot(page, "check")
    assert page.problems == []


def test_follow_a_claim_to_its_cluster(site: dict[str, str], page: Any) -> None:
    page.goto(f"{site['base']}/articles/{KHARKIV}")
    claim = page.locator("#claims li", has_text="2,500 square kilometers")
    claim.locator("a.cluster").first.click()
    page.wait_for_url("**/claims/**")
    versions = page.locator("#versions .version")
    assert versions.count() == 2
    assert "6,000 square kilometers" in page.locator("#versions").inner_text()
    assert page.locator("#links .badge-contradicts").count() == 1
    assert "same area" in page.locator("#links").inner_text()
    shot(page, "cluster")
    assert page.problems == []


def test_map(site: dict[str, str], page: Any) -> None:
    page.goto(site["base"] + "/map")
    assert page.locator("#map path.country").count() > 20
    kherson = page.locator("#map a.place[data-place=Kherson]")
    assert kherson.count() == 1
    shot(page, "map")
    kherson.locator("circle").click()
    page.wait_for_url("**/search?place=Kherson")
    assert page.locator("#results li").count() >= 2
    assert page.problems == []


def test_hostile_article_renders_as_inert_text(site: dict[str, str], page: Any) -> None:
    page.goto(f"{site['base']}/articles/{site['hostile']}")
    assert page.evaluate("() => window.__pwned") is None
    assert page.dialogs == []
    assert page.locator("script").count() == 1  # /static/app.js, nothing from the article
    assert page.locator("[onerror], [onload]").count() == 0
    assert page.locator("main img, main svg").count() == 0
    assert page.locator("#article-title").inner_text() == HOSTILE["title"]
    assert "<script>window.__pwned='text'</script>" in page.locator("#doc").inner_text()
    meta = page.locator("#article-meta")
    assert "javascript:" in meta.inner_text() and meta.locator("a.url").count() == 0
    assert HOSTILE["outlet"] in meta.inner_text()
    shot(page, "hostile-article")
    page.locator("#article-meta a").first.click()  # the outlet's page, named by the hostile outlet
    page.wait_for_url("**/outlets/**")
    assert page.locator("#outlet-name").inner_text() == HOSTILE["outlet"]
    assert page.evaluate("() => window.__pwned") is None and page.locator("[onerror]").count() == 0
    assert page.problems == []
