"""Shared pieces of the reliability suite: the command line in a subprocess, corpora, store checks and exports.

The long variants of the suite run only with ``CROSSCHECK_LONG_TESTS=1`` (and carry the ``long`` marker); their
figures are in docs/reliability.md.
"""

from __future__ import annotations

import io
import json
import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CLI = Path(__file__).resolve().parent / "_cli.py"
LONG = os.environ.get("CROSSCHECK_LONG_TESTS") == "1"

F = TypeVar("F", bound=Callable[..., Any])


def long_variant(func: F) -> F:
    """Mark a test as a long variant: run only with CROSSCHECK_LONG_TESTS=1."""
    marked = pytest.mark.long(pytest.mark.slow(func))
    return pytest.mark.skipif(not LONG, reason="a long variant: set CROSSCHECK_LONG_TESTS=1")(marked)  # type: ignore[no-any-return]


def env(**extra: str) -> dict[str, str]:
    """The environment of a command subprocess: this one's, with ``src`` importable."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), out.get("PYTHONPATH", "")) if p)
    out.update(extra)
    return out


def command(*args: str) -> list[str]:
    """``crosscheck ARGS`` as a subprocess command line (through :mod:`_cli`)."""
    return [sys.executable, str(CLI), *args]


def run(*args: str, timeout: float = 600, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args), capture_output=True, text=True, timeout=timeout, env=env(**extra), check=False
    )


def paragraphs() -> list[str]:
    """The story paragraphs of the examples (cleaned: no app promotions or correction notices)."""
    from crosscheck.ingest.clean import clean_text

    texts = [clean_text(f.read_text("utf-8")).text for f in sorted(EXAMPLES.glob("*.txt"))]
    return [p.strip() for text in texts for p in text.split("\n\n") if p.strip()]


def short_articles(n: int, seed: int = 0, size: int = 2) -> list[str]:
    """``n`` distinct short articles: ``size`` paragraphs of the examples each, the first opened by a numbered
    dispatch sentence (inside the paragraph, so the cleaner keeps it)."""
    rng = random.Random(seed)
    pool = [p for p in paragraphs() if len(p.split()) > 12]
    out = []
    for i in range(n):
        chosen = rng.sample(pool, size)
        chosen[0] = f"Dispatch {i} was filed from sector {i * 7 % 101} after the briefing. {chosen[0]}"
        out.append("\n\n".join(chosen))
    return out


def write_corpus(folder: Path, texts: list[str]) -> Path:
    """One text file per article, plus a JSON Lines file of the same count (so records and files both ingest)."""
    folder.mkdir(parents=True, exist_ok=True)
    half = len(texts) // 2
    for i, text in enumerate(texts[:half]):
        (folder / f"page-{i:04d}.txt").write_text(text, "utf-8")
    with (folder / "feed.jsonl").open("w", encoding="utf-8") as f:
        for i, text in enumerate(texts[half:]):
            f.write(json.dumps({"text": text, "url": f"https://news.example/{i}", "outlet": "news.example"}) + "\n")
    return folder


def integrity(db: Path) -> list[str]:
    """Problems in a store: SQLite's integrity check, foreign keys, and rows that must not exist on their own."""
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {tuple(r)}" for r in conn.execute("PRAGMA foreign_key_check")]
        checks = {
            "article without its origin": "SELECT count(*) FROM articles a WHERE NOT EXISTS "
            "(SELECT 1 FROM origins o WHERE o.article_id = a.id)",
            "analysed article without analysis": "SELECT count(*) FROM articles a WHERE a.status = 'analyzed' AND "
            "NOT EXISTS (SELECT 1 FROM analyses x WHERE x.article_id = a.id)",
            "spans of an article not analysed": "SELECT count(*) FROM spans s WHERE NOT EXISTS "
            "(SELECT 1 FROM analyses x WHERE x.article_id = s.article_id)",
            "claims of an article not analysed": "SELECT count(*) FROM claims c WHERE NOT EXISTS "
            "(SELECT 1 FROM analyses x WHERE x.article_id = c.article_id)",
        }
        for what, sql in checks.items():
            if (count := conn.execute(sql).fetchone()[0]) != 0:
                problems.append(f"{what}: {count}")
    return problems


TABLES = ("articles", "origins", "analyses", "spans", "claims", "claim_vectors", "claim_keys", "links", "linked")


def counts(db: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in TABLES}


def count(db: Path, sql: str) -> int:
    """One count from a store that may not exist yet or be busy (0 then)."""
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return 0


def export_jsonl(db: Path) -> str:
    """The store's JSONL export (the export contract), as one string."""
    from crosscheck import open_store
    from crosscheck.export import export

    out = io.StringIO()
    with open_store(db, create=False) as store:
        export(store, "jsonl", out)
    return out.getvalue()
