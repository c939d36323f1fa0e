"""The local and Ray runners on the same generated corpus, in one run: speed, speed-up, memory, Ray's start-up cost,
and whether every configuration leaves the same export.

    python benchmarks/runners.py --articles 500 --out /tmp/runners.json

The corpus: the bundled examples with their paragraphs shuffled (seeded) and a distinct dispatch line each, ingested
once into a base store; each configuration analyses its own copy of that store with every built-in stage (``--stages``
to change), in a fresh process, and exports it. Configurations: the local runner with 1 and 2 worker processes, the
Ray runner on a local Ray instance with 1 and 2 CPUs. Every configuration runs onnxruntime on one thread per worker
(the pool's and Ray's workers do so anyway; the one-worker local run is given ``CROSSCHECK_THREADS=1``), so N workers
use N cores and the speed-ups compare like with like.

Figures per configuration: wall seconds of the whole ``analyze`` call (Ray's start included), the CPU seconds of the
process tree (driver, pool workers or Ray's daemons and workers, sampled from /proc twice a second), articles per
second, speed-up over the local runner with one worker, the peak resident memory of the process tree (sum over its
processes), and the seconds until the first batch was saved (process pool or Ray start, model loads, first batch);
for Ray also the seconds ``ray.init`` took. On a shared machine the CPU seconds are the steadier figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CONFIGS = {"local-1": ("local", 1), "local-2": ("local", 2), "ray-1": ("ray", 1), "ray-2": ("ray", 2)}
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def corpus(n: int, seed: int = 0) -> list[str]:
    texts = [p.read_text("utf-8") for p in sorted(EXAMPLES.glob("*.txt"))]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        paras = [p for p in texts[i % len(texts)].split("\n\n") if p.strip()]
        rng.shuffle(paras)
        paras.append(f"This dispatch, number {i}, was filed from sector {i * 7 % 101} after the evening briefing.")
        out.append("\n\n".join(paras))
    return out


# -- the process tree, from /proc --------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds, resident bytes) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            rss = int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, rss


class TreeSampler:
    """Samples the CPU time and resident memory of this process and all its descendants."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.cpu: dict[int, float] = {}  # last CPU seconds seen per process (a process that ends keeps its last)
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (found := _stat(int(entry))) is not None:
                stats[int(entry)] = found
        tree = {os.getpid()}
        grew = True
        while grew:
            grew = False
            for pid, (ppid, _, _) in stats.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        self.peak_rss = max(self.peak_rss, sum(stats[p][2] for p in tree if p in stats))
        for pid in tree:
            if pid in stats:
                self.cpu[pid] = stats[pid][1]

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> TreeSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())


# -- one configuration (child process) ---------------------------------------------------------------------------


def run_child(config: str, db: str, stages: list[str], export_path: str) -> dict[str, Any]:
    from crosscheck import open_store
    from crosscheck.export import export

    runner, n = CONFIGS[config]
    result: dict[str, Any] = {"config": config}
    first: list[float] = []
    with open_store(db) as store, TreeSampler() as sampler:
        t0 = time.perf_counter()

        def progress(k: int) -> None:
            if not first:
                first.append(time.perf_counter() - t0)

        if runner == "local":
            from crosscheck.runners.local import analyze_store

            done = analyze_store(store, stages=stages, workers=n, progress=progress)
        else:
            import ray

            from crosscheck.runners.ray import analyze_store_ray

            ray.init(num_cpus=n, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
            result["ray_init_s"] = time.perf_counter() - t0
            try:
                done = analyze_store_ray(store, stages=stages, progress=progress)
                sampler.sample()  # Ray's workers are gone after shutdown: take their last CPU seconds now
            finally:
                ray.shutdown()
        result["wall_s"] = time.perf_counter() - t0
        result["first_batch_s"] = first[0] if first else None
        result["articles"] = done
        result["failures"] = len(store.failures())
    result["cpu_s"] = sampler.cpu_s
    result["peak_rss_mb"] = sampler.peak_rss / 2**20
    with open_store(db) as store, open(export_path, "w", encoding="utf-8") as out:
        export(store, "jsonl", out)
    return result


# -- the run ------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--stages", default=None, help="comma-separated (default: every built-in stage)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--db", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--export", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    from crosscheck.runners.base import DEFAULT_STAGES

    stages = args.stages.split(",") if args.stages else list(DEFAULT_STAGES)
    if args.child:
        print(json.dumps(run_child(args.child, args.db, stages, args.export)))
        return

    from crosscheck import open_store
    from crosscheck.article import Article
    from crosscheck.ingest import ingest_items

    work = Path(tempfile.mkdtemp(prefix="crosscheck-runners-"))
    base = work / "base.db"
    texts = corpus(args.articles)
    with open_store(base) as store:
        summary = ingest_items((Article(raw=t, origin=f"bench/{i:05d}.txt") for i, t in enumerate(texts)), store)
        assert summary.ingested == args.articles, summary
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    words = sum(len(t.split()) for t in texts)
    print(f"corpus: {args.articles} articles, {words} words; stages {','.join(stages)}", file=sys.stderr)
    results = []
    for config in args.configs.split(","):
        db = work / f"{config}.db"
        shutil.copy(base, db)
        load_before = os.getloadavg()[0]
        command = [
            sys.executable,
            __file__,
            "--child",
            config,
            "--db",
            str(db),
            "--export",
            str(work / f"{config}.jsonl"),
        ]
        command += ["--stages", ",".join(stages)]
        child_env = dict(os.environ, CROSSCHECK_THREADS="1")
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=child_env)
        if done.returncode != 0:
            sys.exit(f"{config} failed:\n{done.stderr[-4000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
        results.append(result)
        print(json.dumps(result), file=sys.stderr)
    reference = next((r for r in results if r["config"] == "local-1"), results[0])
    expected = (work / f"{reference['config']}.jsonl").read_bytes()
    for r in results:
        r["articles_per_s"] = r["articles"] / r["wall_s"]
        r["articles_per_cpu_s"] = r["articles"] / r["cpu_s"]
        r["speedup"] = reference["wall_s"] / r["wall_s"]
        exported = (work / f"{r['config']}.jsonl").read_bytes()
        r["identical_export"] = exported == expected
        r["export_sha256"] = hashlib.sha256(exported).hexdigest()
    print(
        f"\n{'config':8} {'art/s':>6} {'speed-up':>8} {'wall s':>7} {'CPU s':>7} {'art/CPU s':>9} {'first':>6} "
        f"{'ray.init':>8} {'peak MB':>8} {'load':>10} same-export"
    )
    for r in results:
        init = f"{r['ray_init_s']:.1f}" if "ray_init_s" in r else "-"
        print(
            f"{r['config']:8} {r['articles_per_s']:6.2f} {r['speedup']:8.2f} {r['wall_s']:7.1f} {r['cpu_s']:7.1f} "
            f"{r['articles_per_cpu_s']:9.2f} {r['first_batch_s']:6.1f} {init:>8} {r['peak_rss_mb']:8.0f} "
            f"{r['load_average']!s:>10} {r['identical_export']}"
        )
    if args.out:
        Path(args.out).write_text(
            json.dumps({"articles": args.articles, "words": words, "stages": stages, "results": results}, indent=2)
        )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
