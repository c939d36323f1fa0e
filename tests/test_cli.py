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
CONTRACT = {"id", "url", "outlet", "title", "published", "language", "text", "removed", "entities", "quantities"}
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
