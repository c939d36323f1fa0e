"""Speed of the techniques stage on the 75 PTC dev articles (CPU, onnxruntime threads from --threads).

The articles are parsed first (spaCy, not timed); then the stage runs over all of them in batches, timed after one
warm-up batch, every model's cache emptied before each run (so no run reuses the outputs of the one before). With
``--no-gate`` the tagger reads every sentence piece (``TechniqueModel(gate=None)``); by default it reads the pieces
the gate lets through, and the gate runs the encoder trunk itself (in an analysis the claims stage has run it on
nearly the same sentences). Prints articles/s, words/s, sentences/s (wall clock, and per CPU-second of this process:
the steadier figure on a shared machine) and the shipped model size.

    python benchmarks/techniques.py --threads 2
    python benchmarks/techniques.py --threads 1 --no-gate
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16, help="Articles per stage call.")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-gate", action="store_true", help="the tagger reads every sentence piece")
    args = parser.parse_args()
    os.environ["CROSSCHECK_THREADS"] = str(args.threads)

    from crosscheck.analyze.pipeline import Document, build_pipeline
    from crosscheck.analyze.techniques import split_lines
    from crosscheck.article import Article
    from crosscheck.evaluate.ptc import find_split, read_articles
    from crosscheck.evaluate.techniques import default_data
    from crosscheck.models.runtime import MODELS_DIR

    articles = read_articles(find_split(default_data(), "dev")[0])
    docs = [Document(Article(raw=t, origin=f"ptc:{i}", text=t)) for i, t in sorted(articles.items())]
    build_pipeline(["parse"])(docs)
    stage = build_pipeline(["parse", "techniques"]).stages[1]
    n_words = sum(len(re.findall(r"\w+", d.text)) for d in docs)
    n_sents = sum(len(split_lines(d.text, s.start_char, s.end_char)) for d in docs if d.doc for s in d.doc.sents)
    model = stage.model  # type: ignore[attr-defined]
    if args.no_gate:
        model.gate = None
    caches = [model.si, model.tc] + ([model.gate.trunk] if model.gate is not None else [])
    stage(docs[:4])  # warm-up
    best = best_cpu = float("inf")
    for _ in range(args.repeat):
        for cached in caches:
            cached.clear_cache()
        t0, c0 = time.perf_counter(), time.process_time()
        for k in range(0, len(docs), args.batch):
            stage(docs[k : k + args.batch])
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    n_spans = sum(len(d.techniques) for d in docs)
    size = sum(f.stat().st_size for name in ("techniques-si", "techniques-tc") for f in (MODELS_DIR / name).iterdir())
    print(f"{len(docs)} articles, {n_sents} sentences, {n_words} words, {n_spans} technique spans")
    gate = "every piece tagged" if model.gate is None else "gated"
    print(f"threads {args.threads}, {gate}, best of {args.repeat}: {best:.2f}s")
    print(f"{len(docs) / best:.1f} articles/s, {n_words / best:.0f} words/s, {n_sents / best:.0f} sentences/s")
    print(f"CPU: {best_cpu:.2f}s, {n_sents / best_cpu:.0f} sentences per CPU-second")
    print(f"model files {size / 1e6:.1f} MB ({Path(MODELS_DIR).name}/techniques-si + techniques-tc)")


if __name__ == "__main__":
    main()
