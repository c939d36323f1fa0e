"""The web application: settings, per-request store connections, security headers, errors in one JSON shape.

:func:`create_app` builds the FastAPI app over one SQLite file; :func:`make_server` binds it to an address (loopback
unless told otherwise) and returns a uvicorn server to run. Every request opens its own read connection (sqlite3
connections are not shared between threads) and WAL mode lets it read while ``crosscheck analyze`` or ``link``
write. The app is read-only unless it was given a token; write endpoints (upload, re-analyse) then require it.
"""

from __future__ import annotations

import hmac
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import CrosscheckError, WebError
from ..store import Store

HERE = Path(__file__).resolve().parent
#: Largest upload accepted by ``POST /api/ingest`` unless the server is started with another limit.
DEFAULT_MAX_UPLOAD = 20 * 1024 * 1024
#: Largest body of any other request (a claim to check is a sentence, not a file).
MAX_BODY = 64 * 1024
#: Every response carries these. No inline script or style anywhere: the pages load /static/app.js and style.css.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
#: HTTP status of each error code the API answers with (anything else is a 400).
STATUS = {
    "E023": 503,
    "E024": 404,
    "E101": 404,
    "E102": 403,
    "E103": 401,
    "E104": 413,
    "E108": 405,
    "E020": 503,
    "E021": 503,
    "E022": 503,
    "E026": 507,
}


@dataclass(frozen=True)
class WebSettings:
    """What ``crosscheck serve`` was started with."""

    db: str
    token: str | None = None  #: None: read-only (write endpoints answer 403)
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD


class ClaimVectorCache:
    """The stored claim vectors, loaded once per process and reloaded when a vector is added or replaced (keyed on
    the count and largest rowid of ``claim_vectors``), so ``check`` does not read every vector on every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._value: tuple[list[str], list[str], np.ndarray] = ([], [], np.zeros((0, 0), dtype=np.float32))
        self.loads = 0

    def get(self, store: Store) -> tuple[list[str], list[str], np.ndarray]:
        key = store.claim_vectors_state()
        with self._lock:
            if key != self._key:
                self._value = Store.claim_vectors(store)
                self._key = key
                self.loads += 1
            return self._value


class ReadStore(Store):
    """A store opened for one request; every-vector reads come from the process's :class:`ClaimVectorCache`."""

    def __init__(self, path: str | Path, cache: ClaimVectorCache) -> None:
        super().__init__(path, create=False)
        self._cache = cache

    def claim_vectors(self, article_ids: Sequence[str] | None = None) -> tuple[list[str], list[str], np.ndarray]:
        if article_ids is not None:
            return super().claim_vectors(article_ids)
        return self._cache.get(self)


@dataclass
class WebState:
    settings: WebSettings
    vectors: ClaimVectorCache = field(default_factory=ClaimVectorCache)
    #: ``check`` runs the spaCy reader and the stance model: one request at a time per process.
    check_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Uploads and re-analyses write: one at a time per process (SQLite allows one writer anyway).
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def read(self) -> Iterator[ReadStore]:
        """A fresh connection for this request, closed after it."""
        store = ReadStore(self.settings.db, self.vectors)
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def write(self, action: str, request: Request) -> Iterator[Store]:
        """A connection for a write endpoint, after checking the token (E102 without one, E103 when wrong)."""
        require_token(self.settings, request, action)
        with self.write_lock:
            store = Store(self.settings.db, create=False)
            try:
                yield store
            finally:
                store.close()


def require_token(settings: WebSettings, request: Request, action: str) -> None:
    if settings.token is None:
        raise WebError("E102", action=action)
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), settings.token.encode()):
        raise WebError("E103", action=action)


def state_of(request: Request) -> WebState:
    state: WebState = request.app.state.crosscheck
    return state


# -- errors ----------------------------------------------------------------------------------------------------------


def error_body(code: str, message: str, status: int, **extra: Any) -> dict[str, Any]:
    """The one JSON shape of every API error."""
    return {"error": {"code": code, "status": status, "message": message, **extra}}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and request.url.path not in ("/openapi.json",)


def _error_response(request: Request, code: str, message: str, status: int, **extra: Any) -> Response:
    if _wants_html(request):
        from .pages import render_error

        return render_error(request, code, message, status)
    return JSONResponse(error_body(code, message, status, **extra), status_code=status)


def _validation_problem(error: dict[str, Any]) -> tuple[str, str]:
    loc = [str(x) for x in error.get("loc", ()) if x not in ("query", "path", "body")]
    name = ".".join(loc) or "body"
    message = str(error.get("msg", "invalid value"))
    if "input" in error and error.get("type") != "missing" and not isinstance(error["input"], dict | list):
        message += f" (got {error['input']!r})"
    return name, message


async def _on_crosscheck_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CrosscheckError)
    return _error_response(request, exc.code, exc.message, STATUS.get(exc.code, 400))


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [_validation_problem(e) for e in exc.errors()]
    name, problem = problems[0] if problems else ("request", "invalid")
    error = WebError("E100", name=name, problem=problem)
    others = [{"parameter": n, "problem": p} for n, p in problems]
    return _error_response(request, error.code, error.message, 400, problems=others)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        error = WebError("E101", what="page", key=request.url.path, hint="; see /docs for the API and / for the pages")
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        error = WebError("E108", method=request.method, path=request.url.path, allowed=allowed or "none")
    else:
        message = str(exc.detail)
        return _error_response(request, "E100", message, exc.status_code)
    return _error_response(request, error.code, error.message, exc.status_code)


# -- middleware ------------------------------------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _BodyTooLarge(Exception):
    pass


class Guard:
    """ASGI middleware: security headers on every response; request bodies capped (the upload limit for
    ``/api/ingest``, :data:`MAX_BODY` elsewhere) before the app reads them, whether or not a length is declared."""

    def __init__(self, app: ASGIApp, max_upload: int) -> None:
        self.app = app
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"] == "/api/ingest"
        limit = self.max_upload + MAX_BODY if upload else MAX_BODY  # room for the multipart envelope
        shown = self.max_upload if upload else MAX_BODY
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    headers[key] = value
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, send_with_headers, shown)
            return
        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except _BodyTooLarge:
            if not started:
                await self._too_large(scope, send_with_headers, shown)

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        error = WebError("E104", limit=limit)
        response = JSONResponse(error_body(error.code, error.message, 413), status_code=413)
        await response(scope, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


# -- the app ---------------------------------------------------------------------------------------------------------


def create_app(db: str | Path, *, token: str | None = None, max_upload_bytes: int = DEFAULT_MAX_UPLOAD) -> FastAPI:
    """The dashboard and REST API over the database at ``db`` (which must exist: E023 otherwise)."""
    from . import api, pages

    settings = WebSettings(db=str(db), token=token or None, max_upload_bytes=max_upload_bytes)
    Store(settings.db, create=False).close()  # fail now (E023, E021, E022) rather than on the first request
    app = FastAPI(
        title="Crosscheck",
        version=__version__,
        summary="Who claims what in war reporting, how they say it, and where sources agree or contradict.",
        description=(
            "Read-only over a Crosscheck database unless the server was started with a token; write endpoints then "
            "need `Authorization: Bearer TOKEN`. Lists are paginated with `limit` and `offset` in a stable order; "
            "`next` is the next page's URL, or null on the last page. Every error has the shape "
            '`{"error": {"code", "status", "message"}}`.'
        ),
        docs_url=None,  # /docs is our own page (pages.py): the stock one loads scripts from a CDN
        redoc_url=None,
    )
    app.state.crosscheck = WebState(settings)
    app.add_exception_handler(CrosscheckError, _on_crosscheck_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(Guard, max_upload=max_upload_bytes)
    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port); E106 when the address cannot be used."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(128)
    except OSError as exc:
        raise WebError("E106", host=host, port=port, reason=exc.strerror or exc) from exc
    sock.setblocking(False)
    return sock


def make_server(app: FastAPI, *, log_level: str = "warning") -> Any:
    """A uvicorn server for ``app`` (run it with ``server.run(sockets=[bind(host, port)])``)."""
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off", server_header=False)
    return uvicorn.Server(config)


def page_url(request: Request, offset: int) -> str:
    """This request's URL (path and query, no host) with ``offset`` replaced: the ``next`` link of a page."""
    url = request.url.include_query_params(offset=offset)
    return f"{url.path}?{url.query}"


def paginate(request: Request, rows: list[Any], limit: int, offset: int, **extra: Any) -> dict[str, Any]:
    """A page of ``rows`` (fetched with ``limit + 1`` to know whether another page follows)."""
    more = len(rows) > limit
    return {
        "items": rows[:limit],
        "limit": limit,
        "offset": offset,
        "next": page_url(request, offset + limit) if more else None,
        **extra,
    }


def html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status)
