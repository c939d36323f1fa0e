"""Text-reuse speed and memory: indexing and querying a generated corpus with ``ReuseIndex``, then rebuilding it.

Corpus: real article texts (PTC and PolNeAR under ``../shared/datasets`` when present, and the bundled examples),
each made distinct by substituting a share of its words (``--distinct``, seeded), so that unrelated articles share no
text; then ``--copy-share`` of the articles are copies of an earlier one (verbatim, a few paragraphs inside another
article, or lightly paraphrased), as in a crawl where some outlets reprint others. Prints one JSON object:

- ``copies_found``: copies whose ``add`` reported a passage shared with the article they copy;
- ``index``: ``ReuseIndex.add`` over every article in order (fingerprinting, LSH look-up, alignment of every candidate
  pair, the article's passages), articles per wall second and per CPU second of the process;
- ``rebuild``: ``ReuseIndex.restore`` of every article from its stored fingerprint bytes (no text hashed);
- ``memory``: peak resident memory of the process before indexing (the corpus in memory) and after.

    python benchmarks/reuse.py --articles 5000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from crosscheck.article import Article  # noqa: E402
from crosscheck.corpus.reuse import ReuseIndex, fingerprint  # noqa: E402
from crosscheck.evaluate.reuse import _usable, dataset_texts, example_texts  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _scramble(paragraphs: list[str], rng: random.Random, vocabulary: list[str], share: float) -> list[str]:
    out = []
    for p in paragraphs:
        words = [rng.choice(vocabulary) if rng.random() < share else w for w in p.split()]
        out.append(" ".join(words))
    return out


def corpus(n: int, *, seed: int, distinct: float, copy_share: float) -> tuple[list[Article], dict[str, str]]:
    """``n`` articles, of which about ``copy_share`` copy an earlier one; returns them and copy id -> source id."""
    rng = random.Random(seed)
    texts = _usable(dataset_texts() + example_texts()) or example_texts()
    vocabulary = sorted({w for t in texts[:200] for w in t.text.split() if w.isalpha() and len(w) > 3})
    articles: list[Article] = []
    copies: dict[str, str] = {}
    for i in range(n):
        published = f"2022-{1 + i * 12 // n:02d}-{1 + i % 28:02d}"
        if articles and rng.random() < copy_share:
            original = rng.choice(articles)
            copies[f"a{i:06d}"] = original.id
            source = original.text.split("\n\n")
            kind = rng.randrange(3)
            if kind == 0:
                paragraphs = source
            elif kind == 1:
                host = _scramble(list(rng.choice(texts).paragraphs), rng, vocabulary, distinct)
                at = rng.randrange(1, max(2, len(host)))
                start = rng.randrange(0, max(1, len(source) - 2))
                paragraphs = host[:at] + source[start : start + 2] + host[at:]
            else:
                paragraphs = _scramble(source, rng, vocabulary, 0.1)
        else:
            paragraphs = _scramble(list(rng.choice(texts).paragraphs), rng, vocabulary, distinct)
        articles.append(
            Article(
                raw="",
                origin=f"bench:{i}",
                text="\n\n".join(paragraphs),
                id=f"a{i:06d}",
                outlet=f"outlet-{rng.randrange(40):02d}",
                published=published,
                language="en",
            )
        )
    return articles, copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--distinct", type=float, default=0.35, help="share of words substituted in each base text")
    parser.add_argument("--copy-share", type=float, default=0.1, help="share of articles that copy an earlier one")
    args = parser.parse_args()

    articles, copies = corpus(args.articles, seed=args.seed, distinct=args.distinct, copy_share=args.copy_share)
    words = sum(len(a.text.split()) for a in articles)
    before = _peak_mb()

    index = ReuseIndex()
    wall, cpu = time.perf_counter(), time.process_time()
    with_reuse = 0
    copies_found = 0
    for article in articles:
        found = index.add(article)
        with_reuse += bool(found)
        copies_found += article.id in copies and any(p.other_article == copies[article.id] for p in found)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = _peak_mb()
    passages = index.all_passages()

    blobs = [fingerprint(a.text, language=a.language).to_bytes() for a in articles]
    texts = {a.id: a.text for a in articles}
    rebuilt = ReuseIndex(texts=texts.__getitem__)
    rebuild_wall, rebuild_cpu = time.perf_counter(), time.process_time()
    for article, blob in zip(articles, blobs, strict=True):
        rebuilt.restore(article, blob)
    rebuild_wall, rebuild_cpu = time.perf_counter() - rebuild_wall, time.process_time() - rebuild_cpu

    report = {
        "articles": len(articles),
        "words": words,
        "copies": len(copies),
        "copies_found": copies_found,
        "articles_with_reuse": with_reuse,
        "shared_passages": len(passages),
        "pairs_aligned": sum(1 for p in index._pairs.values() if p.runs is not None),
        "index": {
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "articles_per_wall_s": round(len(articles) / wall, 1),
            "articles_per_cpu_s": round(len(articles) / cpu, 1),
        },
        "rebuild": {
            "wall_s": round(rebuild_wall, 1),
            "articles_per_cpu_s": round(len(articles) / rebuild_cpu, 1),
            "fingerprint_bytes_per_article": round(sum(map(len, blobs)) / len(blobs)),
        },
        "memory": {"peak_mb_before_index": round(before), "peak_mb_after_index": round(after)},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
