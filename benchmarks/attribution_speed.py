"""Speed of the attribution stage on top of spaCy parsing (sentences per second), on PolNeAR dev texts.

Run: ``python benchmarks/attribution_speed.py [--data DIR]``. Prints parse time, attribution time and both rates.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from crosscheck.analyze.attribution import AttributionStage
from crosscheck.analyze.parse import ParseStage
from crosscheck.analyze.pipeline import Document
from crosscheck.article import Article
from crosscheck.evaluate.attribution import default_dev_dir, load_polnear


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=None, help="a PolNeAR split folder (default: dev)")
    args = ap.parse_args()
    articles = load_polnear(args.data or default_dev_dir())
    docs = [Document(Article(raw=a.text, origin=a.name, text=a.text)) for a in articles]
    parse, attribution = ParseStage(), AttributionStage()
    t0 = time.perf_counter()
    parse(docs)
    t1 = time.perf_counter()
    attribution(docs)
    t2 = time.perf_counter()
    n_sents = sum(len(list(d.doc.sents)) for d in docs if d.doc is not None)
    print(f"{len(docs)} articles, {n_sents} sentences")
    print(f"parse:       {t1 - t0:.1f}s  {n_sents / (t1 - t0):.0f} sentences/s")
    print(
        f"attribution: {t2 - t1:.1f}s  {n_sents / (t2 - t1):.0f} sentences/s  ({(t2 - t1) / (t1 - t0):.1%} of parsing)"
    )


if __name__ == "__main__":
    main()
