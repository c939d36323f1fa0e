"""``http(s)://`` inputs: fetched with urllib (redirects followed, a size cap, a deadline, our User-Agent).

The body then goes through the same dispatch as a file: an HTML content type makes it a page; otherwise its name
(the URL path) and first bytes pick the reader, so a URL of a JSONL or WARC file is read as one.
"""

from __future__ import annotations

import datetime as dt
import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from ... import errors
from ...article import Skipped
from ..options import IngestOptions
from .base import CHUNK_BYTES, human_size, too_large
from .warc import HTML_TYPES, split_content_type

ACCEPT = "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5"


@dataclass(frozen=True)
class Fetched:
    """A fetched body (at most ``max_bytes``) and what the response said about it."""

    url: str  # after redirects
    body: bytes
    mime: str
    charset: str | None
    fetched: str

    @property
    def is_html(self) -> bool:
        return self.mime in HTML_TYPES


def _failed(url: str, reason: str) -> Skipped:
    return Skipped(origin=url, reason=reason, code=errors.SKIP_FETCH)


def fetch(url: str, options: IngestOptions) -> Fetched | Skipped:
    """GET a URL. ``options.fetch_timeout`` limits each network wait (connecting, each read) and the whole body
    read: reading stops, as a timeout, once that many seconds have passed since the request.

    Every failure is a Skipped: fetch-failed (DNS, refused, timeout, HTTP 4xx/5xx, bad URL) or too-large (a declared
    or actual body over ``max_bytes``; reading stops at the cap).
    """
    timeout = options.fetch_timeout
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"User-Agent": options.user_agent, "Accept": ACCEPT})
    fetched = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            final_url = response.geturl()
            declared = response.headers.get("Content-Length")
            if declared and declared.strip().isdigit() and int(declared) > options.max_bytes:
                return too_large(url, options.max_bytes, what="response body declared larger than", size=int(declared))
            chunks: list[bytes] = []
            total = 0
            while total <= options.max_bytes:
                if time.monotonic() > deadline:
                    return _failed(url, f"timed out after {timeout:g} s reading the body ({human_size(total)} read)")
                chunk = response.read1(min(CHUNK_BYTES, options.max_bytes + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            if total > options.max_bytes:
                return too_large(url, options.max_bytes, what="response body larger than")
            mime, charset = split_content_type(response.headers.get("Content-Type"))
            return Fetched(url=final_url, body=b"".join(chunks), mime=mime, charset=charset, fetched=fetched)
    except urllib.error.HTTPError as exc:
        return _failed(url, f"HTTP {exc.code} {exc.reason}")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return _failed(url, f"timed out after {timeout:g} s ({reason})")
        return _failed(url, f"cannot connect: {reason}")
    except TimeoutError as exc:
        return _failed(url, f"timed out after {timeout:g} s ({exc})")
    except (http.client.HTTPException, OSError, ValueError) as exc:
        return _failed(url, f"{type(exc).__name__}: {exc}")
