"""Speed of the ``claims`` stage against spaCy's own pipeline, on the example articles.

    python benchmarks/bench_claims.py [--repeat 20] [--model checkworthiness] [--threads N]

Prints spaCy parse time, the claims stage's time and its sentences/s (same-length batches vs. input order, and a few
batch sizes), and the ratio of the claims stage to spaCy.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from crosscheck.analyze.claims import ClaimsStage, candidate_sentences, load_checkworthiness, score_sentences
from crosscheck.analyze.parse import load_nlp
from crosscheck.analyze.pipeline import Document
from crosscheck.article import Article

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20, help="copies of the three examples")
    parser.add_argument("--model", default="checkworthiness")
    args = parser.parse_args()
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.txt"))] * args.repeat
    nlp = load_nlp()
    list(nlp.pipe(texts[:3]))  # warm up
    started = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=16))
    spacy_s = time.perf_counter() - started
    documents = []
    for text, doc in zip(texts, docs, strict=True):
        article = Article(raw=text, origin="bench", text=text)
        article.finalise_ids()
        documents.append(Document(article=article, doc=doc))
    model = load_checkworthiness(args.model)
    stage = ClaimsStage(model=args.model)
    stage(documents[:3])  # warm up
    started, cpu_started = time.perf_counter(), time.process_time()
    stage(documents)
    stage_s = time.perf_counter() - started
    stage_cpu = time.process_time() - cpu_started
    units = [d.text[s:e] for d in documents for s, e in candidate_sentences(d.doc, min_words=4, max_heading_words=25)]
    print(f"{len(texts)} articles, {sum(len(t) for t in texts)} chars, {len(units)} candidate sentences")
    print(f"spaCy pipeline: {spacy_s:.2f}s ({len(texts) / spacy_s:.1f} articles/s)")
    print(
        f"claims stage:   {stage_s:.2f}s ({len(units) / stage_s:.0f} sentences/s), "
        f"{stage_s / spacy_s:.2f}x spaCy's time, {sum(len(d.claims) for d in documents)} claims"
    )
    print(f"claims stage CPU: {stage_cpu:.2f}s ({len(units) / stage_cpu:.0f} sentences per CPU-second)")
    for batch_size in (8, 32, 64):
        started = time.perf_counter()
        score_sentences(units, model=model, batch_size=batch_size)
        elapsed = time.perf_counter() - started
        print(f"score, same-length batches of {batch_size:>2}: {len(units) / elapsed:.0f} sentences/s")
    # Input order (no grouping): pad to the longest of each consecutive batch.
    started = time.perf_counter()
    for begin in range(0, len(units), 32):
        feeds, _ = model.encode(units[begin : begin + 32])
        model.run(feeds)
    elapsed = time.perf_counter() - started
    print(f"score, input order,       batch 32: {len(units) / elapsed:.0f} sentences/s")


if __name__ == "__main__":
    main()
