"""Ingest end to end: the CLI over real pages, summaries, re-runs, and a killed ingest resumed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosscheck import open_store
from crosscheck.cli import main
from crosscheck.ingest import ingest


def test_ingest_examples_then_rerun_is_a_no_op(examples_dir: Path, db_path: Path) -> None:
    with open_store(db_path) as store:
        first = ingest([str(examples_dir)], store)
        assert (first.ingested, first.duplicates, len(first.skipped)) == (3, 0, 0)
        second = ingest([str(examples_dir)], store)
        assert (second.ingested, second.unchanged, second.duplicates) == (0, 3, 0)
        assert store.count() == 3
        titles = {a.title for a in store.articles()}
        assert "Ukrainian Army liberated Kherson, Russian troops fled" in titles
        assert all(a.language == "en" for a in store.articles())


def test_copies_under_other_names_are_duplicates(examples_dir: Path, tmp_path: Path, db_path: Path) -> None:
    copy = tmp_path / "copy-of-kharkiv.txt"
    copy.write_text((examples_dir / "kharkiv-stunning-defeat.txt").read_text("utf-8") + "\n\n")
    with open_store(db_path) as store:
        summary = ingest([str(examples_dir), str(copy)], store)
        assert (summary.ingested, summary.duplicates) == (3, 1)


def test_bad_inputs_are_reported_and_the_batch_goes_on(examples_dir: Path, tmp_path: Path, db_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("")
    (bad / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (bad / "furniture-only.txt").write_text("Recent Posts\n\n3 days ago\n\nShare this article\n")
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", str(bad), str(examples_dir), "--db", str(db_path), "-q"])
    assert result.exit_code == 0, result.output
    assert "ingested 3" in result.output and "skipped 3" in result.output
    assert "empty.txt: empty" in result.output
    assert "image.txt: binary" in result.output
    assert "furniture-only.txt: empty: no story text left after cleaning" in result.output
    stats = runner.invoke(main, ["stats", "--db", str(db_path)])
    assert "skipped    3" in stats.output


def _make_corpus(folder: Path, examples_dir: Path, n: int) -> None:
    sources = sorted(examples_dir.glob("*.txt"))
    for i in range(n):
        text = sources[i % len(sources)].read_text("utf-8")
        dispatch = f"This dispatch, number {i}, was filed from sector {i * 7 % 101} after the evening briefing."
        (folder / f"page-{i:04d}.txt").write_text(f"{text}\n\n{dispatch}\n", "utf-8")


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_killed_ingest_is_consistent_and_resumes(examples_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    n = 600
    _make_corpus(corpus, examples_dir, n)
    db = tmp_path / "kill.db"
    command = [sys.executable, "-m", "crosscheck.cli", "ingest", str(corpus), "--db", str(db), "-q"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _count(db) < 25 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; raise n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = _count(db)
    assert 25 <= done_before < n
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Every stored article has its origin row: each input was one transaction.
        orphans = conn.execute(
            "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM origins o WHERE o.article_id = a.id)"
        ).fetchone()[0]
        assert orphans == 0
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)
    with open_store(db) as store:
        assert store.count() == n
        assert store.stats()["duplicates"] == 0
    # The re-run stores exactly what the killed run had not, and recognises what it had.
    assert f"ingested {n - done_before}, duplicates 0, unchanged {done_before}, skipped 0" in rerun.stdout
