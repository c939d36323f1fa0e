"""Ingest speed and memory: text cleaning, HTML extraction, whole ingests into SQLite, peak memory vs corpus size.

    python benchmarks/ingest.py --n 2000            # writes the corpus with make_corpus.py into a temporary folder

Prints one JSON object. Every timing runs in one process on one core (no pool); the memory figures come from child
processes that ingest the WARC at two corpus sizes, so a flat figure means memory does not grow with the corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from crosscheck.article import Article  # noqa: E402
from crosscheck.ingest import IngestOptions, prepare_article  # noqa: E402
from crosscheck.ingest.clean import clean_text  # noqa: E402
from crosscheck.ingest.html import extract_html  # noqa: E402
from crosscheck.ingest.readers import read_inputs  # noqa: E402
from make_corpus import write_corpus  # noqa: E402


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds else 0.0


def _timed(label: str, count: int, func: Callable[[], object], out: dict[str, float]) -> None:
    """Rate per wall-clock second and per CPU second of this process (the second is steadier on a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    out[f"{label}_per_s"] = _rate(count, time.perf_counter() - wall)
    out[f"{label}_per_cpu_s"] = _rate(count, time.process_time() - cpu)


def bench_text(folder: Path) -> dict[str, float]:
    pages = [p.read_text("utf-8") for p in sorted((folder / "text").glob("*.txt"))]
    clean_text(pages[0])  # load the pattern tables once, as a long-running ingest would
    prepare_article(Article(raw=pages[0], origin="warm-up"))
    out: dict[str, float] = {"pages": len(pages), "words": sum(len(p.split()) for p in pages)}
    _timed("clean_articles", len(pages), lambda: [clean_text(p) for p in pages], out)
    _timed(
        "clean_plus_metadata_articles",
        len(pages),
        lambda: [prepare_article(Article(raw=p, origin=f"p{i}")) for i, p in enumerate(pages)],
        out,
    )
    return out


def bench_html(folder: Path, limit: int) -> dict[str, float]:
    import trafilatura

    items = [a for a in read_inputs([str(folder / "html")], IngestOptions()) if isinstance(a, Article)][:limit]
    pages = [a.raw for a in items]
    extract_html(pages[0])
    trafilatura.extract(pages[0], fast=True)
    out: dict[str, float] = {"pages": len(pages)}
    _timed("trafilatura_fast_pages", len(pages), lambda: [trafilatura.extract(p, fast=True) for p in pages], out)
    _timed(
        "trafilatura_fast_with_metadata_pages",
        len(pages),
        lambda: [trafilatura.extract(p, fast=True, with_metadata=True) for p in pages],
        out,
    )
    _timed("trafilatura_standard_pages", len(pages), lambda: [trafilatura.extract(p) for p in pages], out)
    _timed("crosscheck_extract_html_pages", len(pages), lambda: [extract_html(p) for p in pages], out)
    _timed(
        "crosscheck_prepare_html_pages",
        len(pages),
        lambda: [prepare_article(Article(raw=a.raw, origin=a.origin, raw_format="html", url=a.url)) for a in items],
        out,
    )
    return out


def _ingest_child(inputs: list[str], db: Path) -> dict[str, float]:
    """Run `crosscheck ingest` in a child process; its wall time."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "crosscheck.cli", "ingest", *inputs, "--db", str(db), "-q"],
        check=True,
        capture_output=True,
    )
    return {"seconds": round(time.perf_counter() - start, 2)}


def bench_store(folder: Path, n: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        text = _ingest_child([str(folder / "text")], Path(tmp) / "text.db")
        warc = _ingest_child([str(folder / "crawl.warc.gz")], Path(tmp) / "warc.db")
    return {
        "text_dir_articles_per_s (with process start)": _rate(n, text["seconds"]),
        "warc_articles_per_s (with process start)": _rate(n, warc["seconds"]),
        "text_dir": text,
        "warc": warc,
    }


def bench_memory(n: int) -> dict[str, object]:
    """Peak RSS of ingesting a WARC of n and 4n records, each in a fresh child process."""
    out: dict[str, object] = {}
    for size in (n, 4 * n):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            write_corpus(folder, n=size, seed=7)
            script = (
                "import resource, sys\n"
                "from crosscheck import open_store\n"
                "from crosscheck.ingest import ingest\n"
                "with open_store(sys.argv[2]) as s: ingest([sys.argv[1]], s)\n"
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
            )
            warc = folder / "crawl.warc.gz"
            result = subprocess.run(
                [sys.executable, "-c", script, str(warc), str(folder / "m.db")],
                check=True,
                capture_output=True,
                text=True,
            )
            out[f"warc_{size}_records"] = {
                "warc_mb": round(warc.stat().st_size / 2**20, 1),
                "peak_rss_mb": round(int(result.stdout.strip().splitlines()[-1]) / 1024, 1),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="articles per format (default 2000)")
    parser.add_argument("--html-pages", type=int, default=500, help="HTML pages timed (default 500)")
    parser.add_argument("--memory-n", type=int, default=500, help="smaller WARC size for the memory check")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_corpus(folder, n=args.n, seed=13)
        report = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            "corpus_articles_per_format": args.n,
            "text_cleaning": bench_text(folder),
            "html_extraction": bench_html(folder, args.html_pages),
            "ingest_to_sqlite": bench_store(folder, args.n),
        }
    report["memory"] = bench_memory(args.memory_n)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
