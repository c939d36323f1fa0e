"""kill -9 of ingest, analyze and link at random points, twenty times each: the store passes SQLite's integrity check
(and the suite's own consistency checks) after every kill, and a re-run completes with nothing lost and nothing
duplicated: its export and its row counts equal an uninterrupted run's.

Ingest and analyze are killed as a chain: each run resumes the store the killed one left, and is killed in turn, a
quarter of the time during start-up (a random moment before the first commit of the uninterrupted run), else a random
moment after its first new commit; then one run completes it. Link does little per run, so each kill is of a fresh
copy of the same analysed store, followed by a run (in this process) that completes it. Also here: a worker of the
local process pool killed mid-batch loses only the batches in flight, which the next run redoes.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _reliability import (
    command,
    count,
    counts,
    env,
    export_jsonl,
    integrity,
    long_variant,
    run,
    short_articles,
    write_corpus,
)
from click.testing import CliRunner

from _faulty_stages import KILL, KILL_FLAG
from crosscheck.cli import main

QUICK = "parse,entities"
NO_VECTORS = "parse,entities,quantities,dates,attribution,claims"


@dataclass
class Kills:
    """What a kill loop did: kills of a live process, and how many of them came after the run had committed work."""

    kills: int = 0
    after_commits: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Timing:
    first_commit: float  # seconds from start to the first commit of an uninterrupted run
    total: float  # seconds of the whole uninterrupted run


def _timed(args: list[str], db: Path, progress: str) -> Timing:
    """Run a command to completion, noting when its first commit shows in the store."""
    before = count(db, progress)
    start = time.monotonic()
    proc = subprocess.Popen(command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env())
    first = None
    while proc.poll() is None:
        if first is None and count(db, progress) > before:
            first = time.monotonic() - start
        time.sleep(0.02)
    total = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    return Timing(first if first is not None else total, total)


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: its parent and its state (from /proc)."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            out[int(entry)] = (int(fields[1]), fields[0])
    return out


def _descendants(pid: int) -> set[int]:
    table = _processes()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, (parent, _) in table.items() if parent in frontier} - found
        found |= frontier
    return found


def _outliving(pids: set[int], wait: float = 30.0) -> set[int]:
    """Those of ``pids`` still running (not zombies) after up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        table = _processes()
        alive = {p for p in pids if p in table and table[p][1] != "Z"}
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _kill_once(
    args: list[str], db: Path, progress: str, delay: float, after_commit: bool, problems: list[str] | None = None
) -> tuple[bool, bool]:
    """Start the command and SIGKILL it ``delay`` seconds after its start (or after its first new commit); a process
    it started that outlives it (a pool worker) is a problem. Returns (killed while alive, had committed in this run).
    """
    before = count(db, progress)
    proc = subprocess.Popen(command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
    try:
        if after_commit:
            deadline = time.monotonic() + 300
            while proc.poll() is None and count(db, progress) == before and time.monotonic() < deadline:
                time.sleep(0.01)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=delay)
        alive = proc.poll() is None
        committed = count(db, progress) > before
        if alive:
            family = _descendants(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            if (left := _outliving(family)) and problems is not None:
                problems.append(f"{len(left)} processes outlived the killed command: {sorted(left)}")
                for pid in left:  # do not leave them running on the machine
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        return alive, committed
    finally:
        proc.wait()


def _restore(db: Path, start: Path | None) -> None:
    """Put the store back as it was before the chain: a copy of ``start``, or no store at all."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if start is not None:
        shutil.copy(start, db)


def _chain(
    args: list[str], db: Path, progress: str, timing: Timing, kills: int, seed: int, start: Path | None = None
) -> Kills:
    """Kill runs that each resume what the killed one left. A run that ends before its kill is not counted and has
    finished the work, so the chain starts again from ``start`` (see :func:`_restore`) and goes on killing."""
    rng = random.Random(seed)
    result = Kills()
    work = max(timing.total - timing.first_commit, 0.05)
    for _ in range(kills * 3):
        if result.kills == kills:
            break
        during_startup = rng.random() < 0.25
        delay = rng.uniform(0, timing.first_commit) if during_startup else rng.uniform(0, work / (2 * kills))
        alive, committed = _kill_once(args, db, progress, delay, not during_startup, result.problems)
        result.kills += alive
        result.after_commits += alive and committed
        result.problems += integrity(db)
        if not alive:
            _restore(db, start)
    return result


def _kill_and_resume(
    tmp_path: Path, args: list[str], source: Path, progress: str, kills: int, seed: int
) -> tuple[Kills, Path]:
    """Link-style: each kill is of a fresh copy of ``source``, then a run completes that copy (compared by caller)."""
    rng = random.Random(seed)
    reference = tmp_path / "reference.db"
    shutil.copy(source, reference)
    timing = _timed([*args, "--db", str(reference)], reference, progress)
    expected, expected_counts = export_jsonl(reference), counts(reference)
    result = Kills()
    victim = tmp_path / "victim.db"
    for _ in range(kills * 3):
        if result.kills == kills:
            break
        for suffix in ("", "-wal", "-shm"):
            Path(f"{victim}{suffix}").unlink(missing_ok=True)
        shutil.copy(source, victim)
        alive, committed = _kill_once(
            [*args, "--db", str(victim)], victim, progress, rng.uniform(0, timing.total), False, result.problems
        )
        result.kills += alive
        result.after_commits += alive and committed
        result.problems += integrity(victim)
        # The completing run in this process: the same command, without a model load per kill.
        done = CliRunner().invoke(main, [*args, "--db", str(victim)])
        assert done.exit_code == 0, done.output[-2000:]
        if export_jsonl(victim) != expected or counts(victim) != expected_counts:
            result.problems.append(f"a resumed run differs from the uninterrupted one (kill {result.kills})")
    return result, reference


def _ingest_kills(tmp_path: Path, n: int, kills: int, seed: int) -> Kills:
    corpus = write_corpus(tmp_path / "corpus", short_articles(n, seed))
    reference, victim = tmp_path / "reference.db", tmp_path / "victim.db"
    args = ["ingest", str(corpus), "-q"]
    progress = "SELECT count(*) FROM origins"
    timing = _timed([*args, "--db", str(reference)], reference, progress)
    result = _chain([*args, "--db", str(victim)], victim, progress, timing, kills, seed)
    done = run(*args, "--db", str(victim))
    assert done.returncode == 0, done.stderr[-2000:]
    assert result.kills == kills and result.problems == []
    assert counts(victim) == counts(reference)
    assert export_jsonl(victim) == export_jsonl(reference)
    return result


def _analyze_kills(tmp_path: Path, n: int, stages: str, kills: int, seed: int, workers: list[str]) -> Kills:
    corpus = write_corpus(tmp_path / "corpus", short_articles(n, seed))
    ingested = tmp_path / "ingested.db"
    assert run("ingest", str(corpus), "--db", str(ingested), "-q").returncode == 0
    reference, victim = tmp_path / "reference.db", tmp_path / "victim.db"
    shutil.copy(ingested, reference)
    shutil.copy(ingested, victim)
    args = ["analyze", "--stages", stages, *workers, "-q"]
    progress = "SELECT count(*) FROM analyses"
    timing = _timed([*args, "--db", str(reference)], reference, progress)
    result = _chain([*args, "--db", str(victim)], victim, progress, timing, kills, seed, start=ingested)
    done = run(*args, "--db", str(victim))
    assert done.returncode == 0, done.stderr[-2000:]
    assert result.kills == kills and result.problems == []
    assert counts(victim) == counts(reference) and counts(victim)["analyses"] == n
    assert export_jsonl(victim) == export_jsonl(reference)
    return result


def _link_kills(tmp_path: Path, n: int, stages: str, kills: int, seed: int) -> Kills:
    corpus = write_corpus(tmp_path / "corpus", short_articles(n, seed, size=3))
    analysed = tmp_path / "analysed.db"
    assert run("ingest", str(corpus), "--db", str(analysed), "-q").returncode == 0
    done = run("analyze", "--stages", stages, "--db", str(analysed), "-q")
    assert done.returncode == 0, done.stderr[-2000:]
    result, reference = _kill_and_resume(
        tmp_path, ["link", "--no-stance", "-q"], analysed, "SELECT count(*) FROM claim_vectors", kills, seed
    )
    assert result.kills == kills and result.problems == []
    assert counts(reference)["links"] > 0  # the corpus does link: the comparison covers links and clusters
    return result


@pytest.mark.slow
def test_ingest_killed_twenty_times_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    result = _ingest_kills(tmp_path, n=300, kills=20, seed=1)
    print(f"ingest: {result.kills} kills, {result.after_commits} after commits")


@pytest.mark.slow
def test_analyze_killed_twenty_times_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    # In the command's own process (a pool's start-up would take most of each run here; the long variant uses one).
    result = _analyze_kills(tmp_path, n=480, stages=QUICK, kills=20, seed=2, workers=["--workers", "1"])
    print(f"analyze: {result.kills} kills, {result.after_commits} after commits")


@pytest.mark.slow
def test_link_killed_twenty_times_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    result = _link_kills(tmp_path, n=30, stages=NO_VECTORS, kills=20, seed=3)
    print(f"link: {result.kills} kills, {result.after_commits} after commits")


@pytest.mark.slow
def test_a_killed_pool_worker_loses_only_the_batches_in_flight(tmp_path: Path) -> None:
    texts = short_articles(48, seed=4)
    texts[30] = texts[30].replace(" after the briefing.", f" after the briefing {KILL}.", 1)
    corpus = write_corpus(tmp_path / "corpus", texts)
    db, reference = tmp_path / "victim.db", tmp_path / "reference.db"
    assert run("ingest", str(corpus), "--db", str(db), "-q").returncode == 0
    shutil.copy(db, reference)
    args = ["analyze", "--stages", "parse,test-faulty", "--workers", "2", "-q"]
    flag = tmp_path / "killed"
    first = run(*args, "--db", str(db), **{KILL_FLAG: str(flag)})
    assert flag.exists(), "no worker was killed: the test proves nothing"
    assert first.returncode == 1 and "[E114] a worker process stopped while analysing" in first.stderr
    assert integrity(db) == []
    saved = counts(db)["analyses"]
    assert f"{saved} articles were saved and {48 - saved} are not done" in first.stderr
    second = run(*args, "--db", str(db), **{KILL_FLAG: str(flag)})
    assert second.returncode == 0 and f"analysed {48 - saved} of {48 - saved} articles" in second.stdout
    done = run(*args, "--db", str(reference), **{KILL_FLAG: str(flag)})  # the flag is set: nothing is killed
    assert done.returncode == 0
    assert export_jsonl(db) == export_jsonl(reference)


@pytest.mark.slow
def test_the_workers_of_a_killed_pool_run_end_with_it(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", short_articles(96, seed=7))
    db = tmp_path / "pool.db"
    assert run("ingest", str(corpus), "--db", str(db), "-q").returncode == 0
    problems: list[str] = []
    alive, _ = _kill_once(
        ["analyze", "--stages", QUICK, "--workers", "2", "--db", str(db), "-q"],
        db,
        "SELECT count(*) FROM analyses",
        0.0,
        True,
        problems,
    )
    assert alive, "the run ended before it was killed"
    assert problems == []  # before: both workers waited on their queue forever, holding their memory
    assert integrity(db) == []


@long_variant
def test_long_ingest_killed_a_hundred_times(tmp_path: Path) -> None:
    result = _ingest_kills(tmp_path, n=2_000, kills=100, seed=11)
    print(f"long ingest: {result.kills} kills, {result.after_commits} after commits")


@long_variant
def test_long_analyze_with_every_stage_and_a_pool_killed_thirty_times(tmp_path: Path) -> None:
    # Enough articles that thirty kills, each after at least one commit of 16, leave work for the next run.
    result = _analyze_kills(
        tmp_path,
        n=800,
        stages="parse,entities,quantities,dates,attribution,claims,claim_vectors,techniques",
        kills=30,
        seed=12,
        workers=[],
    )
    print(f"long analyze: {result.kills} kills, {result.after_commits} after commits")


@long_variant
def test_long_link_killed_fifty_times(tmp_path: Path) -> None:
    result = _link_kills(tmp_path, n=120, stages=NO_VECTORS, kills=50, seed=13)
    print(f"long link: {result.kills} kills, {result.after_commits} after commits")
