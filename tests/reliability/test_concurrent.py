"""Readers while analyze writes: search, list, show, stats and export keep answering, and a second writer (an ingest
of new pages) waits its turn; no "database is locked" reaches the user (WAL mode, a 30 s busy timeout, one short
transaction per batch)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from _reliability import command, count, env, export_jsonl, integrity, run, short_articles, write_corpus
from click.testing import CliRunner

from crosscheck import open_store
from crosscheck.cli import main

N = 400


@pytest.mark.slow
def test_readers_and_a_second_writer_while_analyze_writes(tmp_path: Path) -> None:
    texts = short_articles(N + 40, seed=6)
    corpus = write_corpus(tmp_path / "corpus", texts[:N])
    more = write_corpus(tmp_path / "more", texts[N:])
    db = tmp_path / "busy.db"
    assert run("ingest", str(corpus), "--db", str(db), "-q").returncode == 0
    with open_store(db) as store:
        some_id = store.article_ids()[N // 2]
    writer = subprocess.Popen(
        command("analyze", "--stages", "parse,entities", "--workers", "1", "--db", str(db), "-q"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    runner = CliRunner()
    reads: list[tuple[list[str], int, str]] = []
    second: subprocess.Popen[str] | None = None
    exports = 0
    deadline = time.monotonic() + 600
    while writer.poll() is None and time.monotonic() < deadline:
        for args in (["search", "Kherson"], ["list", "--limit", "5"], ["show", some_id], ["stats"]):
            result = runner.invoke(main, [*args, "--db", str(db)])
            reads.append((args, result.exit_code, result.output))
        if second is None and count(db, "SELECT count(*) FROM analyses") > 0:
            second = subprocess.Popen(
                command("ingest", str(more), "--db", str(db), "-q"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env(),
            )
        if exports < 3:
            assert export_jsonl(db).count("\n") >= N  # a long read, all through one query's rows
            exports += 1
    _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert second is not None, "analyze finished before the second writer started: the test proves nothing"
    second_out, second_err = second.communicate(timeout=600)
    assert second.returncode == 0, second_err
    assert "ingested 40" in second_out
    assert len(reads) >= 20
    failed = [(args, code, output[-300:]) for args, code, output in reads if code != 0 or "locked" in output]
    assert failed == []
    assert "locked" not in err + second_err
    assert integrity(db) == []
    print(f"concurrent: {len(reads)} reads and {exports} exports while analyze wrote")
    with open_store(db) as store:
        assert store.stats()["articles"] == N + 40
        assert store.stats()["analyzed"] >= N  # the new pages came in while analyze ran: they wait for the next
