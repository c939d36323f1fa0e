"""The web dashboard and REST API over a Crosscheck store (``crosscheck serve``; needs the ``web`` extra)."""

from __future__ import annotations

from .app import DEFAULT_MAX_UPLOAD, WebSettings, bind, create_app, make_server

__all__ = ["DEFAULT_MAX_UPLOAD", "WebSettings", "bind", "create_app", "make_server"]
