"""The store layer (SQLite). No SQL anywhere else in Crosscheck."""

from .db import DEFAULT_DB, Store, StoredArticle, open_store

__all__ = ["DEFAULT_DB", "Store", "StoredArticle", "open_store"]
