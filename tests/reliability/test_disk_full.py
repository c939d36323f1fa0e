"""A full disk: ingest and analyze stop with a clear error (E026, no traceback), the store stays consistent, and the
same command completes the work once space is freed, with the export an uninterrupted run gives.

Two ways to run out of space: a small tmpfs (mounted for the test when this process may mount, as root in a container
usually can; freed by deleting a filler file), and everywhere a file size limit (RLIMIT_FSIZE on the command, the
equivalent of a full disk for SQLite's files; freed by running without it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from _reliability import counts, export_jsonl, integrity, run, short_articles, write_corpus

N = 300
STAGES = "parse,entities"
#: What the stored corpus takes at most (store, write-ahead log, its index), measured: about 4 MB.
ROOM = 24 * 2**20


class Space:
    """Where the store lives and how its space runs out: ``squeeze`` leaves about ``free`` bytes, ``release`` frees."""

    def __init__(self, folder: Path, kind: str) -> None:
        self.folder = folder
        self.kind = kind
        self.limit: int | None = None
        self.filler = folder / "filler"

    def squeeze(self, db: Path, free: int) -> None:
        if self.kind == "tmpfs":
            stat = os.statvfs(self.folder)
            room = stat.f_bavail * stat.f_frsize
            with open(self.filler, "wb") as f:
                f.write(bytes(max(0, room - free)))
        else:
            largest = max(
                (Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists()), default=0
            )
            self.limit = largest + free

    def release(self) -> None:
        self.filler.unlink(missing_ok=True)
        self.limit = None

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        extra = {"CROSSCHECK_TEST_FSIZE": str(self.limit)} if self.limit is not None else {}
        return run(*args, **extra)


@pytest.fixture(params=["tmpfs", "rlimit"])
def space(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Space]:
    folder = tmp_path / "small"
    folder.mkdir()
    if request.param == "tmpfs":
        if shutil.which("mount") is None or os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={ROOM}", "tmpfs", str(folder)], capture_output=True, check=False
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
        try:
            yield Space(folder, "tmpfs")
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
    else:
        yield Space(folder, "rlimit")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The corpus, and the exports of its uninterrupted ingest and analysis."""
    folder = tmp_path_factory.mktemp("full")
    corpus = write_corpus(folder / "corpus", short_articles(N, seed=5))
    db = folder / "reference.db"
    assert run("ingest", str(corpus), "--db", str(db), "-q").returncode == 0
    ingested = export_jsonl(db)
    assert run("analyze", "--stages", STAGES, "--workers", "1", "--db", str(db), "-q").returncode == 0
    return corpus, ingested, export_jsonl(db)


def _failed_cleanly(done: subprocess.CompletedProcess[str], db: Path) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"[E026] cannot write to the database {db}" in done.stderr
    assert "full" in done.stderr or "disk I/O error" in done.stderr or "too large" in done.stderr.lower()


@pytest.mark.slow
def test_a_full_disk_stops_ingest_and_analyze_cleanly_and_both_resume(
    reference: tuple[Path, str, str], space: Space
) -> None:
    corpus, ingested, analysed = reference

    db = space.folder / "store.db"
    space.squeeze(db, free=2**20)
    _failed_cleanly(space.run("ingest", str(corpus), "--db", str(db), "-q"), db)
    space.release()
    assert integrity(db) == []
    stored = counts(db)["articles"]
    assert 0 < stored < N
    done = space.run("ingest", str(corpus), "--db", str(db), "-q")
    assert done.returncode == 0, done.stderr
    assert export_jsonl(db) == ingested

    space.squeeze(db, free=512 * 1024)
    _failed_cleanly(space.run("analyze", "--stages", STAGES, "--workers", "1", "--db", str(db), "-q"), db)
    space.release()
    assert integrity(db) == []
    analysed_before = counts(db)["analyses"]
    assert analysed_before < N
    print(f"disk full ({space.kind}): ingest stopped after {stored} of {N}, analyze after {analysed_before}")
    done = space.run("analyze", "--stages", STAGES, "--workers", "1", "--db", str(db), "-q")
    assert done.returncode == 0, done.stderr
    assert export_jsonl(db) == analysed
