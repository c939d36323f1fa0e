"""Fuzzing ingest: ten thousand generated hostile inputs through one real ``crosscheck ingest``.

Zero crashes (no traceback; exit 0, or 1 for E051 when some CSV/JSONL file has no usable text field); every input
ends with exactly one outcome (ingested, duplicate or skipped with a known code: each file, or each record of a file,
is one row of the store's origins, and the rows add up to the command's summary); memory stays bounded (the peak of
the whole run, whatever the inputs). The long variant takes a hundred thousand inputs of another seed and ingests
them twice (the second run changes nothing).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from _hostile import KINDS, write_inputs
from _reliability import env, long_variant, run

from crosscheck import errors

#: Peak resident memory allowed for the whole run. Measured: about 530 MB over 10,000 inputs, the peak set by one
#: 1.5 MB HTML page of 200,000 tiny elements (trafilatura's tree); the cap is the default 20 MB per page.
MAX_RSS_MB = 1024
SKIP_CODES = {getattr(errors, name) for name in dir(errors) if name.startswith("SKIP_")}
SUMMARY = re.compile(r"ingested (\d+), duplicates (\d+), unchanged (\d+), skipped (\d+)")


def _ended_cleanly(returncode: int, stderr: str) -> None:
    """No crash: exit 0, or exit 1 with the one error that reports CSV/JSONL files without a usable text field (E051,
    after every other input was read), and never a traceback."""
    assert "Traceback" not in stderr, stderr[-3000:]
    if returncode:
        last = stderr.strip().splitlines()[-1]
        assert returncode == 1 and last.startswith("Error: [E051]"), stderr[-3000:]


def _fuzz(tmp_path: Path, n: int, seed: int, *, rerun: bool = False) -> dict[str, int]:
    inputs = tmp_path / "inputs"
    made = write_inputs(inputs, n, seed)
    assert sum(made.values()) == n and all(made[k] > 0 for k in KINDS if KINDS[k][1] >= 1)
    db, rss = tmp_path / "fuzz.db", tmp_path / "rss"
    done = run("ingest", str(inputs), "--db", str(db), "-q", timeout=3_600, CROSSCHECK_TEST_RSS=str(rss))
    _ended_cleanly(done.returncode, done.stderr)
    match = SUMMARY.search(done.stdout)
    assert match, done.stdout[:500]
    ingested, duplicates, unchanged, skipped = map(int, match.groups())
    assert unchanged == 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT origin, outcome, code FROM origins").fetchall()
        stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    # One outcome per input: the origins are unique (a primary key) and as many as the summary counts.
    assert len(rows) == ingested + duplicates + skipped
    assert stored == ingested
    outcomes = [o for _, o, _ in rows]
    assert (outcomes.count("ingested"), outcomes.count("duplicate"), outcomes.count("skipped")) == (
        ingested,
        duplicates,
        skipped,
    )
    assert {c for _, o, c in rows if o == "skipped"} <= SKIP_CODES
    # No input without an outcome: every file is an origin itself, or the file of its records' origins.
    files = {str(p) for p in inputs.iterdir()}
    covered = {re.sub(r"(#[LR]\d+|@\d+)$", "", origin) for origin, _, _ in rows}
    assert files - covered == set()
    peak_mb = int(rss.read_text()) / 1024
    assert peak_mb < MAX_RSS_MB
    figures = {"inputs": n, "outcomes": len(rows), "ingested": ingested, "duplicates": duplicates, "skipped": skipped}
    figures["peak_mb"] = round(peak_mb)
    if rerun:
        again = run("ingest", str(inputs), "--db", str(db), "-q", timeout=3_600)
        _ended_cleanly(again.returncode, again.stderr)
        second = SUMMARY.search(again.stdout)
        assert second and tuple(map(int, second.groups())) == (0, 0, ingested + duplicates, skipped)
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == stored
    print(f"fuzz figures: {figures}")  # shown with -s; docs/reliability.md quotes them
    return figures


@pytest.mark.slow
def test_ten_thousand_hostile_inputs_each_end_with_exactly_one_outcome(tmp_path: Path) -> None:
    figures = _fuzz(tmp_path, 10_000, seed=20221111)
    assert figures["ingested"] > 0 and figures["skipped"] > figures["ingested"]


@long_variant
def test_a_hundred_thousand_hostile_inputs_twice(tmp_path: Path) -> None:
    _fuzz(tmp_path, 100_000, seed=int(env().get("CROSSCHECK_FUZZ_SEED", "7")), rerun=True)
