"""Cost of ``crosscheck analyze`` against spaCy's pipeline alone, on real articles, every configuration in one run.

    python benchmarks/analyze.py --corpus polnear
    python benchmarks/analyze.py --corpus ptc --stages parse,entities,quantities,dates
    python benchmarks/analyze.py --corpus polnear-train --articles 400 --configs spacy,analyze-1,analyze-2

Corpus (``--corpus``): ``polnear`` (the 84 PolNeAR dev articles, default), ``ptc`` (the 75 PTC dev articles),
``polnear-train`` (the 840 PolNeAR training articles, in file-name order: a longer run, where the start-up of the
workers weighs less), all
read from the shared datasets (``CROSSCHECK_DATASETS``, else ``../shared/datasets`` beside the checkout), or
``examples`` (the three bundled examples repeated with their paragraphs shuffled to ``--articles``; repeated sentences,
so not a fair measure of the model stages). The articles are ingested once into a base store; every configuration
reads the same clean texts. Configurations, each in a fresh process:

- ``spacy``: spaCy's pipeline as its package ships it (every component), ``nlp.pipe`` over the texts in the batches
  of the ``parse`` stage, one process, after loading and a warm-up: the baseline every ratio is against;
- ``parse``: the same with the ``parse`` stage's pipeline (spaCy's attribute ruler and lemmatizer computed over
  arrays, ``crosscheck.analyze.attributes``; the same attributes);
- ``stages``: the analysis pipeline in one process, batches of 16 articles, onnxruntime on one thread, each stage
  timed on its own (CPU seconds), and each transformer model's texts, tokens and CPU seconds, after loading and a
  warm-up (the models' caches emptied after it);
- ``analyze-1``, ``analyze-2``: the ``crosscheck analyze --workers N`` command on its own copy of the base store, as
  a user runs it: Python start-up, imports, model loads in every worker, the pool and the store writes are counted.
  Each worker uses one core (``CROSSCHECK_THREADS=1``, what the pool's workers use anyway), so N workers use N cores.

Figures: CPU seconds (``getrusage``, the process and every child it waited for: the pool's workers included), wall
seconds, articles per second, and the peak resident memory of the largest single process (for ``analyze-2``, one
worker). Ratios beside them: CPU against spaCy's (``spacy`` run and, for the commands, spaCy with its load), and the
throughput of two workers against one. On a shared machine the CPU seconds are the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BATCH = 16


def datasets_dir() -> Path:
    env = os.environ.get("CROSSCHECK_DATASETS")
    return Path(env) if env else ROOT.parent / "shared" / "datasets"


def corpus_texts(doc: str | None, argv: list[str] | None, rounds: int) -> tuple[argparse.Namespace, list[str]]:
    """The arguments of a component benchmark (``--corpus`` of real articles, ``--articles``, ``--rounds``) and the
    clean texts of its corpus."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=["polnear", "polnear-train", "ptc"], default="polnear")
    ap.add_argument("--articles", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=rounds)
    args = ap.parse_args(argv)
    from crosscheck.ingest.clean import clean_text

    return args, [clean_text(t).text for _, t in read_corpus(args.corpus, args.articles)]


def read_corpus(name: str, n: int | None, seed: int = 0) -> list[tuple[str, str]]:
    """(origin, raw text) of the articles of ``name``, at most ``n`` of them (examples: exactly ``n``)."""
    if name == "examples":
        texts = [p.read_text("utf-8") for p in sorted(EXAMPLES.glob("*.txt"))]
        rng = random.Random(seed)
        out = []
        for i in range(n or 150):
            paras = [p for p in texts[i % len(texts)].split("\n\n") if p.strip()]
            rng.shuffle(paras)
            paras.append(f"This dispatch, number {i}, was filed from sector {i * 7 % 101} after the evening briefing.")
            out.append((f"bench/{i:05d}.txt", "\n\n".join(paras)))
        return out
    folder = {
        "polnear": datasets_dir() / "polnear" / "data" / "dev" / "text",
        "polnear-train": datasets_dir() / "polnear" / "data" / "train" / "text",
        "ptc": datasets_dir() / "ptc-semeval2020-task11" / "datasets" / "dev-articles",
    }[name]
    if not folder.is_dir():
        raise SystemExit(f"{folder} not found: set CROSSCHECK_DATASETS to the shared datasets folder")
    files = sorted(folder.glob("*.txt"))[:n]
    return [(str(p), p.read_text("utf-8")) for p in files]


#: The vector extensions the int8 products' speed turns on: onnxruntime multiplies 8-bit codes with VNNI where a CPU
#: has it (AVX-512 or AVX), else with AVX2's slower multiply-add pairs, while spaCy's float work changes much less.
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def describe_cpu() -> str:
    """The CPU's model name, family and model numbers, and which of VECTOR_FLAGS it has: the ratios of the model
    stages to spaCy move with these (docs/performance.md)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "?"
    fields: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            break  # the first processor's block is enough
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    flags = set(fields.get("flags", "").split())
    vector = ",".join(f for f in VECTOR_FLAGS if f in flags) or "no AVX2"
    family = f"family {fields['cpu family']} model {fields['model']}" if "cpu family" in fields else ""
    return ", ".join(x for x in (fields.get("model name", "?"), family, vector) if x)


# -- measuring a configuration in a fresh process ----------------------------------------------------------------


def _usage() -> tuple[float, float, float]:
    """(CPU seconds of this process, of its waited-for children, peak RSS MB of the largest of them or this one)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime, max(own.ru_maxrss, kids.ru_maxrss) / 1024


def _run_spacy(texts: list[str], stock: bool = True) -> dict[str, Any]:
    c0 = time.process_time()
    from crosscheck.analyze.parse import load_nlp, load_stock_nlp, parse_texts

    nlp = load_stock_nlp() if stock else load_nlp()
    list(nlp.pipe(texts[:3]))
    load_cpu = time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in parse_texts(nlp, texts):
        pass
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "load_cpu_s": load_cpu}


def _run_stages(texts: list[str], stages: list[str]) -> dict[str, Any]:
    os.environ["CROSSCHECK_THREADS"] = "1"
    c0 = time.process_time()
    from crosscheck.analyze.pipeline import Document
    from crosscheck.article import Article
    from crosscheck.models.runtime import OnnxModel, clear_model_caches
    from crosscheck.runners.base import load_pipeline

    pipe = load_pipeline(stages)
    # Each transformer model's texts, tokens and CPU seconds: every session run goes through OnnxModel.run.
    per_model: dict[str, list[float]] = {}
    session_run = OnnxModel.run

    def counted_run(model: OnnxModel, feeds: dict[str, Any]) -> list[Any]:
        m0 = time.process_time()
        outputs = session_run(model, feeds)
        mask = feeds["attention_mask"]
        row = per_model.setdefault(model.path.name, [0, 0, 0.0, 0])
        row[0] += mask.shape[0]
        row[1] += int(mask.sum())
        row[2] += time.process_time() - m0
        row[3] += 1
        return outputs

    OnnxModel.run = counted_run  # type: ignore[method-assign]

    def docs(batch: list[str]) -> list[Document]:
        return [Document(article=Article(raw=t, origin="bench", text=t, published="2016-10-01")) for t in batch]

    pipe(docs(texts[:2]))
    # The warm-up's sentences are in the models' caches now: without this, the first two articles' model work
    # would be free in the timed run (the commands below start with empty caches).
    clear_model_caches()
    load_cpu = time.process_time() - c0
    per_model.clear()
    per_stage = dict.fromkeys(pipe.names, 0.0)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), BATCH):
        batch = docs(texts[i : i + BATCH])
        for stage in pipe.stages:
            s0 = time.process_time()
            stage(batch)
            per_stage[stage.name] += time.process_time() - s0
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "load_cpu_s": load_cpu,
        "stages_cpu": per_stage,
        "models": {name: {"texts": n, "tokens": t, "cpu_s": c, "runs": r} for name, (n, t, c, r) in per_model.items()},
    }


def _run_command(db: str, stages: list[str], workers: int) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    # One core per worker: the pool's workers run onnxruntime on one thread each, and so does the one-worker run
    # here (in the calling process it would use every core), so the two figures compare like with like.
    env["CROSSCHECK_THREADS"] = "1"
    command = [sys.executable, "-m", "crosscheck.cli", "analyze", "--db", db, "--stages", ",".join(stages)]
    command += ["--workers", str(workers), "-q"]
    t0 = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return {"wall_s": wall, "stdout": done.stdout.strip()}


def _child(kind: str, args: tuple[Any, ...], queue: Any) -> None:
    try:
        if kind == "spacy":
            result = _run_spacy(*args)
        elif kind == "stages":
            result = _run_stages(*args)
        else:
            result = _run_command(*args)
    except Exception as exc:  # reported by the parent
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        return
    own, kids, peak = _usage()
    result["process_cpu_s"] = own + kids
    result["peak_mb"] = peak
    if kind == "command":
        result["cpu_s"] = kids  # the command's process tree (this measuring process only waits)
    queue.put(result)


def measure(kind: str, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(kind, args, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


# -- the run ------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=["polnear", "polnear-train", "ptc", "examples"], default="polnear")
    ap.add_argument("--articles", type=int, default=None, help="at most this many articles (examples: exactly)")
    ap.add_argument("--stages", default=None, help="comma-separated (default: every built-in stage)")
    ap.add_argument(
        "--configs",
        default="spacy,parse,stages,analyze-1,analyze-2",
        help="comma-separated subset of the configurations",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every configuration this many times, in turn, and give the median of each figure and ratio (each "
        "ratio against its own round's spaCy run): on a shared machine one round's ratios can move by 10 %%",
    )
    ap.add_argument("--out", default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT / "src"))
    from crosscheck import open_store
    from crosscheck.article import Article
    from crosscheck.ingest import ingest_items
    from crosscheck.runners.base import DEFAULT_STAGES

    stages = args.stages.split(",") if args.stages else list(DEFAULT_STAGES)
    work = Path(tempfile.mkdtemp(prefix="crosscheck-analyze-"))
    try:
        base = work / "base.db"
        with open_store(base) as store:
            ingest_items((Article(raw=t, origin=o) for o, t in read_corpus(args.corpus, args.articles)), store)
            texts = [a.text for a in store.get_many(store.article_ids())]
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        words = sum(len(t.split()) for t in texts)
        cpu_model = describe_cpu()
        print(
            f"corpus {args.corpus}: {len(texts)} articles, {words} words; stages {','.join(stages)}\n"
            f"machine: {os.cpu_count()} cores ({cpu_model}), python {sys.version.split()[0]}, "
            f"load average at start {os.getloadavg()[0]:.2f}"
        )
        rounds: list[dict[str, dict[str, Any]]] = []
        for k in range(args.rounds):
            if args.rounds > 1:
                print(f"round {k + 1} of {args.rounds}")
            results: dict[str, dict[str, Any]] = {}
            for config in args.configs.split(","):
                if config == "spacy":
                    r = measure("spacy", texts)
                elif config == "parse":
                    r = measure("spacy", texts, False)
                elif config == "stages":
                    r = measure("stages", texts, stages)
                else:
                    workers = int(config.rsplit("-", 1)[1])
                    db = work / f"{config}.db"
                    shutil.copy(base, db)
                    r = measure("command", str(db), stages, workers)
                r["load_average"] = os.getloadavg()[0]
                results[config] = r
                if "error" in r:
                    print(f"{config:10s} failed: {r['error']}")
                    continue
                report(config, r, results, len(texts), words)
            rounds.append(results)
        if args.rounds > 1:
            summarise(rounds)
        if args.out:
            Path(args.out).write_text(
                json.dumps(
                    {
                        "corpus": args.corpus,
                        "articles": len(texts),
                        "words": words,
                        "stages": stages,
                        "results": rounds[-1],
                        "rounds": rounds,
                    },
                    indent=2,
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summarise(rounds: list[dict[str, dict[str, Any]]]) -> None:
    """The median over the rounds of each configuration's CPU and wall seconds and of its ratios."""
    print(f"median of {len(rounds)} rounds (each ratio against its own round's spaCy run):")
    for config in rounds[0]:
        ok = [r for r in rounds if "error" not in r.get(config, {"error": 1})]
        if not ok:
            continue
        cpu, wall = median(r[config]["cpu_s"] for r in ok), median(r[config]["wall_s"] for r in ok)
        peak = median(r[config]["peak_mb"] for r in ok)
        line = f"{config:10s} CPU {cpu:7.1f} s  wall {wall:7.1f} s  peak {peak:5.0f} MB"
        with_spacy = [r for r in ok if "cpu_s" in r.get("spacy", {})]
        if with_spacy:
            line += f"  CPU x{median(r[config]['cpu_s'] / r['spacy']['cpu_s'] for r in with_spacy):.2f} of spaCy's"
        if config == "analyze-2":
            pairs = [r for r in ok if "wall_s" in r.get("analyze-1", {})]
            if pairs:
                line += f"; throughput x{median(r['analyze-1']['wall_s'] / r[config]['wall_s'] for r in pairs):.2f}"
                line += " of one worker"
        print(line)


def report(config: str, r: dict[str, Any], results: dict[str, dict[str, Any]], n: int, words: int) -> None:
    spacy = results.get("spacy", {})
    ratio = ""
    if "cpu_s" in spacy:
        ratio = f"CPU x{r['cpu_s'] / spacy['cpu_s']:.2f} of spaCy's"
        if config.startswith("analyze"):
            ratio += f", x{r['cpu_s'] / (spacy['cpu_s'] + spacy['load_cpu_s']):.2f} of spaCy's with its load"
    if config == "analyze-2" and "wall_s" in results.get("analyze-1", {}):
        ratio += f"; throughput x{results['analyze-1']['wall_s'] / r['wall_s']:.2f} of one worker"
    print(
        f"{config:10s} CPU {r['cpu_s']:7.1f} s  wall {r['wall_s']:7.1f} s  {n / r['wall_s']:5.2f} articles/s "
        f"{words / r['wall_s']:6.0f} words/s  peak {r['peak_mb']:5.0f} MB  {ratio}  (load avg {r['load_average']:.1f})"
    )
    if "load_cpu_s" in r:
        print(f"    load and warm-up: CPU {r['load_cpu_s']:.1f} s (not in the figures above)")
    for name, cpu in r.get("stages_cpu", {}).items():
        share = f"x{cpu / spacy['cpu_s']:.2f} of spaCy's" if "cpu_s" in spacy else ""
        print(f"    {name:14s} CPU {cpu:7.2f} s ({100 * cpu / r['cpu_s']:5.1f}%)  {share}")
    for name, m in r.get("models", {}).items():
        print(
            f"    model {name:18s} {m['texts']:6d} texts {m['tokens']:7d} tokens {m['runs']:5d} runs"
            f"  CPU {m['cpu_s']:6.2f} s"
        )


if __name__ == "__main__":
    main()
