"""Hostile text through every front end: escape sequences, other control characters, bidi overrides, line separators,
NUL and very long tokens in article text go through analysis (every stage) and linking, then through show, list,
search, stats, summary and the across-sources commands on a real terminal (a pseudo-terminal), and through the JSONL,
CSV and Parquet exports. The terminal gets only visible stand-ins for what it would act on; the exports give back the
text exactly, one record per line or row."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
from pathlib import Path

import pytest
from _reliability import command, env, paragraphs, run
from click.testing import CliRunner

from crosscheck import open_store
from crosscheck.article import Article
from crosscheck.cli import main
from crosscheck.corpus import link_corpus
from crosscheck.export import export
from crosscheck.render import terminal_safe
from crosscheck.runners.local import analyze_store

ESCAPES = "\x1b[2J\x1b[H\x1b]0;owned\x07\x1b]52;c;ZXZpbA==\x07\x1b[8m\x1b[?1049h"
BIDI = "\u202eevil\u202c \u2066isolated\u2069 \u202bembedded\u202c \u200f"
CONTROLS = "\x00 \x08\x08 \r \x0b \x0c \x7f \x85 \x9b31m \x9d0;t\x9c \u2028 \u2029"
#: What a terminal must never receive from article text: any escape but a colour code, C1 controls, bidi controls,
#: and C0 controls other than tab, line feed and carriage return (the pseudo-terminal turns \n into \r\n).
FORBIDDEN = re.compile("\x1b(?!\\[[0-9;]*m)|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _texts() -> list[str]:
    paras = paragraphs()
    return [
        f"{paras[0]} The statement read {ESCAPES} in full.\n\n{paras[1]}",
        f"{paras[2]} Officials said {BIDI} on Friday.\n\n{paras[3]}",
        f"{paras[4]} {CONTROLS} More than 200 soldiers surrendered.\n\n{paras[5]}",
        f"{paras[6]} The code was {'Z' * 60_000} and {'Ж' * 30_000}.\n\n{paras[7]}",
    ]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile articles, stored as given (the Python API) and from files (ingest), analysed and linked."""
    folder = tmp_path_factory.mktemp("hostile")
    db = folder / "hostile.db"
    with open_store(db) as store:
        for n, text in enumerate(_texts()):
            store.add_article(Article(raw=text, origin=f"api-{n}", text=text, title=text[:200], language="en"))
    pages = folder / "pages"
    pages.mkdir()
    (pages / "escapes.txt").write_text(_texts()[0], "utf-8")
    records = [{"text": t, "title": t[:80], "url": f"https://x.example/{n}"} for n, t in enumerate(_texts()[1:])]
    (pages / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    done = run("ingest", str(pages), "--db", str(db), "-q")
    assert done.returncode == 0, done.stderr
    with open_store(db) as store:
        analyze_store(store, workers=1)
        assert store.failures() == []
        link_corpus(store)
    return db


def _on_terminal(*args: str) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as its standard output and error; its exit status and output."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(command(*args), stdin=follower, stdout=follower, stderr=follower, env=env())
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # the follower side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_the_terminal_gets_visible_stand_ins_only(hostile_db: Path) -> None:
    with open_store(hostile_db) as store:
        ids = store.article_ids()
    db = ["--db", str(hostile_db)]
    commands = [["show", i, *db] for i in ids] + [["show", ids[0], "--removed", *db]]
    commands += [["list", *db], ["search", "statement", *db], ["stats", *db], ["summary", *db], ["claims", *db]]
    commands += [["timeline", *db], ["stories", "--all", *db], ["check", "More than 200 soldiers surrendered", *db]]
    for args in commands:
        code, out = _on_terminal(*args)
        assert code == 0, (args, out[-500:])
        assert FORBIDDEN.findall(out) == [], args
    code, out = _on_terminal("show", ids[0], *db)
    assert "␛[2J␛[H␛]0;owned␇" in out  # shown, not acted on
    code, out = _on_terminal("show", ids[1], *db)
    assert "\ufffdevil\ufffd" in out


def test_terminal_safe_keeps_offsets_and_text_it_need_not_touch() -> None:
    text = "Херсон «звільнено» — مرحبا\tשלום\n" + ESCAPES + BIDI + CONTROLS
    safe = terminal_safe(text)
    assert len(safe) == len(text)
    assert safe.startswith("Херсон «звільнено» — مرحبا\tשלום\n")  # letters of any script, tab, line feed as they are
    assert FORBIDDEN.findall(safe.replace("\r", "")) == [] and "\r" not in safe


@pytest.mark.slow
def test_exports_give_back_the_text_exactly_one_record_per_line(hostile_db: Path, tmp_path: Path) -> None:
    with open_store(hostile_db) as store:
        stored = {a.id: a.text for a in store.articles()}
        jsonl, table = io.StringIO(), io.StringIO()
        export(store, "jsonl", jsonl)
        export(store, "csv", table)
        export(store, "parquet", tmp_path / "out.parquet")
    lines = jsonl.getvalue().splitlines()  # str.splitlines breaks at U+2028, U+0085 ...: they must be escaped
    assert len(lines) == len(stored)
    assert {r["id"]: r["text"] for r in map(json.loads, lines)} == stored
    rows = list(csv.DictReader(io.StringIO(table.getvalue(), newline="")))
    assert {r["id"]: r["text"] for r in rows} == stored
    import pyarrow.parquet as pq

    parquet = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert {r["id"]: r["text"] for r in parquet} == stored
    show = CliRunner().invoke(main, ["show", next(iter(stored)), "--json", "--db", str(hostile_db)])
    assert show.exit_code == 0 and json.loads(show.output)["text"] == stored[next(iter(stored))]
