"""Speed of ``crosscheck serve`` on loopback: requests/s and p50/p99 latency of the article, search and check
endpoints over a store of 10k articles, with concurrent readers, alone and while ``crosscheck analyze`` writes.

The store is the one ``benchmarks/link.py`` builds (generated articles carrying the examples' real claims, claim
vectors and dates, marked analysed), plus ``--writer-articles`` generated pages (``benchmarks/make_corpus.py``)
ingested but not analysed: ``crosscheck analyze`` analyses them in a second process during the second phase. The
server runs in its own process (``crosscheck serve``); each reader is a thread with its own HTTP connection. Every
loop is bounded in requests and seconds and talks to 127.0.0.1 only.

    python benchmarks/serve.py --articles 10000 --concurrency 8

prints a table and writes it to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORDS = ["Kherson", "Kharkiv", "Russian troops", "soldiers", "Izium OR Lyman", "Peskov", "tanks", "liberated", "fled"]
CLAIMS = [
    "Russian troops fled Kherson",
    "Ukraine retook 6,000 square kilometers around Kharkiv",
    "More than 200 Russian soldiers were killed",
    "The Kremlin still views Kherson as Russian territory",
    "Russian soldiers left their tanks in Izium",
]


def build_store(path: Path, articles: int, writer_articles: int) -> list[str]:
    """The benchmark store; returns the ids of the analysed (generated) articles."""
    sys.path.insert(0, str(HERE))
    from crosscheck import __version__, open_store
    from crosscheck.ingest import ingest
    from crosscheck.runners.base import DEFAULT_STAGES
    from link import build  # benchmarks/link.py
    from make_corpus import as_text, documents

    build(path, articles)
    with open_store(path) as store:
        # The generated analyses stand for a full analysis, so `crosscheck analyze` leaves them alone.
        stages = json.dumps(list(DEFAULT_STAGES))
        store.conn.execute("UPDATE analyses SET stages = ?, version = ?", (stages, __version__))
        ids = store.article_ids()
        with tempfile.TemporaryDirectory() as tmp:
            for doc in documents(writer_articles, seed=11):
                Path(tmp, f"page-{doc.index:05d}.txt").write_text(as_text(doc), encoding="utf-8")
            ingest([tmp], store)
    return ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "crosscheck.cli", "serve", "--db", str(db), "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/static/app.js", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("the server did not start: " + (server.stderr.read().decode() if server.stderr else ""))


def load(
    base: str, make: Callable[[random.Random], tuple[str, str, Any]], requests: int, concurrency: int, seconds: float
) -> dict[str, Any]:
    """Send ``requests`` requests from ``concurrency`` threads (stopping after ``seconds``); latency percentiles."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    counter = iter(range(requests))
    stop = time.monotonic() + seconds

    def reader(seed: int) -> None:
        nonlocal failures
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=300) as client:
            while time.monotonic() < stop:
                with lock:
                    if next(counter, None) is None:
                        return
                method, url, body = make(rng)
                t0 = time.perf_counter()
                response = client.request(method, url, json=body)
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    failures += response.status_code != 200

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1) if ordered else 0.0

    return {
        "requests": len(latencies),
        "failures": failures,
        "seconds": round(wall, 2),
        "requests_per_s": round(len(latencies) / wall, 1) if wall else 0.0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": round(1000 * statistics.fmean(latencies), 1) if latencies else 0.0,
    }


def analysed(db: Path) -> int:
    from crosscheck import open_store

    with open_store(db, create=False) as store:
        return store.stats()["analyzed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--writer-articles", type=int, default=80, help="Pages analysed during the second phase.")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=600, help="Requests per endpoint (article, search).")
    parser.add_argument("--check-requests", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60, help="Longest run of one endpoint.")
    parser.add_argument("--out", default="out/serve-benchmark.json")
    args = parser.parse_args()

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "serve.db"
        t0 = time.perf_counter()
        ids = build_store(db, args.articles, args.writer_articles)
        built = time.perf_counter() - t0
        print(f"built {len(ids)} analysed articles (+{args.writer_articles} to analyse) in {built:.0f} s")
        port = free_port()
        server = start_server(db, port)
        base = f"http://127.0.0.1:{port}"
        endpoints: dict[str, tuple[Callable[[random.Random], tuple[str, str, Any]], int]] = {
            "GET /api/articles/{id}": (lambda r: ("GET", f"/api/articles/{r.choice(ids)}", None), args.requests),
            "GET /api/articles?q=": (
                lambda r: ("GET", "/api/articles?" + httpx.QueryParams(q=r.choice(WORDS), limit=20).__str__(), None),
                args.requests,
            ),
            "POST /api/check": (
                lambda r: ("POST", "/api/check", {"claim": r.choice(CLAIMS)}),
                args.check_requests,
            ),
        }
        try:
            with httpx.Client(base_url=base, timeout=600) as warm:  # model loads and the first index build
                t1 = time.perf_counter()
                warm.post("/api/check", json={"claim": CLAIMS[0]}).raise_for_status()
                first = time.perf_counter() - t1
                print(f"first check (loads the models and the claim vectors): {first:.1f} s")
                warm.get(f"/api/articles/{ids[0]}").raise_for_status()
            for phase in ("readers only", "readers + analyze writing"):
                writer = None
                if phase != "readers only":
                    before = analysed(db)
                    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
                    command = [sys.executable, "-m", "crosscheck.cli", "analyze", "--db", str(db), "--workers", "1"]
                    writer = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    deadline = time.monotonic() + 300
                    while analysed(db) == before and writer.poll() is None and time.monotonic() < deadline:
                        time.sleep(0.5)  # until its first batch is committed: it is writing from now on
                for name, (make, count) in endpoints.items():
                    done_before = analysed(db)
                    result = load(base, make, count, args.concurrency, args.seconds)
                    result.update(endpoint=name, phase=phase, concurrency=args.concurrency, articles=len(ids))
                    if writer is not None:
                        result["analysed_meanwhile"] = analysed(db) - done_before
                        result["writer_running_at_end"] = writer.poll() is None
                    rows.append(result)
                    print(
                        f"{phase:26} {name:24} {result['requests']:>5} req  {result['requests_per_s']:>7.1f} req/s  "
                        f"p50 {result['p50_ms']:>8.1f} ms  p99 {result['p99_ms']:>8.1f} ms  "
                        f"failures {result['failures']}"
                        + (f"  (analysed {result['analysed_meanwhile']} meanwhile)" if writer is not None else ""),
                        flush=True,
                    )
                if writer is not None:  # measured: the rest of its work is not needed
                    writer.terminate()
                    writer.wait(timeout=60)
        finally:
            server.terminate()
            server.wait(timeout=30)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
