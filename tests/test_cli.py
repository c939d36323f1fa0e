"""The CLI over a store of the three examples: list, show, search, export, stats, errors, docs."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosscheck.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = {
    "id",
    "origin",
    "url",
    "outlet",
    "title",
    "published",
    "language",
    "text",
    "removed",
    "entities",
    "quantities",
}
CONTRACT |= {"attributions", "claims", "techniques", "links"}


@pytest.fixture
def ingested(examples_dir: Path, db_path: Path) -> Path:
    result = CliRunner().invoke(main, ["ingest", str(examples_dir), "--db", str(db_path), "-q"])
    assert result.exit_code == 0, result.output
    return db_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _ids(db: Path) -> list[str]:
    return [line.split()[0] for line in _run("list", "--db", str(db)).splitlines()]


def test_list_and_show(ingested: Path) -> None:
    listing = _run("list", "--db", str(ingested))
    assert "Ukrainian Army liberated Kherson, Russian troops fled" in listing
    kharkiv = next(i for i, line in zip(_ids(ingested), listing.splitlines(), strict=True) if "Kharkiv" in line)
    shown = _run("show", kharkiv[:6], "--db", str(ingested), "--no-color")
    assert "Boris Nadezhdin admitted yesterday on NTV" in shown
    assert "Download" not in shown.split("pieces of boilerplate removed")[0]
    removed = _run("show", kharkiv, "--db", str(ingested), "--removed", "--no-color")
    assert "[removed: promo]⟦Download" in removed
    record = json.loads(_run("show", kharkiv, "--db", str(ingested), "--json"))
    assert set(record) >= CONTRACT


def test_unknown_article_is_a_clean_error(ingested: Path) -> None:
    result = CliRunner().invoke(main, ["show", "doesnotexist", "--db", str(ingested)])
    assert result.exit_code != 0
    assert "no article with id 'doesnotexist'" in result.output
    assert "Traceback" not in result.output


def test_search(ingested: Path) -> None:
    assert "[Peskov]" in _run("search", "Peskov", "--db", str(ingested))
    assert "no matches" in _run("search", "Zelenskyy", "--db", str(ingested))


def test_export_jsonl_csv_parquet(ingested: Path, tmp_path: Path) -> None:
    lines = _run("export", "--db", str(ingested), "--format", "jsonl").strip().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(records) == 3 and all(set(r) >= CONTRACT for r in records)
    for r in records:
        for piece in r["removed"]:
            assert 0 <= piece["start"] < piece["end"]
    rows = list(csv.DictReader(io.StringIO(_run("export", "--db", str(ingested), "--format", "csv"))))
    assert {r["id"] for r in rows} == {r["id"] for r in records}
    out = tmp_path / "a.parquet"
    _run("export", "--db", str(ingested), "--format", "parquet", "-o", str(out))
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert table.num_rows == 3 and set(table.column("id").to_pylist()) == {r["id"] for r in records}
    assert json.loads(table.column("removed").to_pylist()[0]) == records[0]["removed"]
    # Every field of the JSONL record is a column of CSV and Parquet (the layers as JSON text).
    for field in ("origin", "technique_profile", "techniques", "claims", "links"):
        assert field in rows[0] and field in table.column_names
    assert {r["origin"] for r in rows} == {r["origin"] for r in records}
    assert all(r["origin"].endswith(".txt") for r in records)


def _fails(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.output


def test_export_to_a_missing_folder_is_one_line_with_a_code(ingested: Path, tmp_path: Path) -> None:
    output = _fails("export", "--db", str(ingested), "-o", str(tmp_path / "nonexistent" / "dir" / "x.jsonl"))
    assert "[E044] cannot write" in output and "No such file or directory" in output
    assert len(output.strip().splitlines()) == 1


def test_reading_commands_do_not_create_a_missing_database(tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    for command in ("list", "stats", "summary", "export", "analyze"):
        assert "[E023] no database at" in _fails(command, "--db", str(typo))
    assert "[E023]" in _fails("show", "abc", "--db", str(typo))
    assert not typo.exists()


def test_an_ambiguous_id_prefix_says_so(db_path: Path) -> None:
    from crosscheck import open_store
    from crosscheck.article import Article

    with open_store(db_path) as store:
        for n in range(17):  # 17 ids over 16 hex digits: two share a first digit
            text = f"Report number {n} from Kherson."
            store.add_article(Article(raw=text, origin=f"{n}.txt", text=text))
        ids = [a.id for a in store.articles()]
    digit = next(d for d in "0123456789abcdef" if sum(i.startswith(d) for i in ids) >= 2)
    output = _fails("show", digit, "--db", str(db_path))
    assert f"[E025] id prefix '{digit}' matches" in output and "give more of the id" in output


def test_a_search_with_no_words_reports_the_syntax_error(ingested: Path) -> None:
    assert "[E045] search query '\"' is not valid full-text syntax" in _fails("search", '"', "--db", str(ingested))
    # A query that is not FTS5 syntax but has words is searched as those words.
    assert "[Peskov]" in _run("search", "Peskov's", "--db", str(ingested))


def test_claims_are_shown_whole(ingested: Path) -> None:
    _run("analyze", "--db", str(ingested), "-q", "--stages", "parse,entities,quantities,dates,attribution,claims")
    records = [json.loads(x) for x in _run("export", "--db", str(ingested)).splitlines() if x.startswith("{")]
    record = max(records, key=lambda r: max((len(c["text"]) for c in r["claims"]), default=0))
    longest = max(record["claims"], key=lambda c: len(c["text"]))
    assert len(longest["text"]) > 140
    shown = _run("show", record["id"], "--db", str(ingested), "--no-color")
    assert " ".join(longest["text"].split()) in shown


def test_parquet_needs_a_file(ingested: Path) -> None:
    result = CliRunner().invoke(main, ["export", "--db", str(ingested), "--format", "parquet"])
    assert result.exit_code != 0 and "give a file" in result.output


def test_stages_lists_requirements() -> None:
    out = _run("stages")
    assert re.search(r"^parse\s+requires text", out, re.MULTILINE)


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for name in main.commands:
        assert f"crosscheck {name}" in readme, f"command '{name}' is not in README.md"
    for line in readme.splitlines()[:6]:
        if line.startswith("make "):
            target = line.split()[1]
            assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), re.MULTILINE)
