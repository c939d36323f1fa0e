"""Build the story model's document-frequency table (``models/stories/idf.json.gz``) from news articles.

The table is fixed and shipped, so a TF-IDF score never depends on the corpus being analysed. The documents are the
news articles among the shared datasets that are not story-labelled (the SemEval pairs stay out): FNC-1's 1,683
bodies, PTC's train and dev articles and PolNeAR's train and dev articles, about 3,000 in all. Terms seen in fewer
than ``--min-df`` documents are left out (they count as unseen, nearly the same weight) to keep the file small.

    python -m training.stories.build_idf
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from crosscheck.corpus.stories import MODEL_DIR, tokenize
from training.common import DATASETS


def documents(root: Path = DATASETS) -> Iterator[tuple[str, str]]:
    """(corpus, text) of every article used for the table, in a fixed order."""
    csv.field_size_limit(sys.maxsize)
    with (root / "fnc-1" / "data" / "train_bodies.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            yield "fnc-1", row["articleBody"]
    ptc = root / "ptc-semeval2020-task11" / "datasets"
    for split in ("train-articles", "dev-articles"):
        for path in sorted((ptc / split).glob("*.txt")):
            yield "ptc", path.read_text("utf-8")
    for split in ("train", "dev"):
        for path in sorted((root / "polnear" / "data" / split / "text").glob("*.txt")):
            yield "polnear", path.read_text("utf-8")


def build(root: Path = DATASETS, *, min_df: int = 3) -> dict[str, object]:
    df: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for corpus, text in documents(root):
        counts[corpus] += 1
        df.update(set(tokenize(text)))
    kept = {t: n for t, n in sorted(df.items()) if n >= min_df}
    return {
        "documents": sum(counts.values()),
        "min_df": min_df,
        "sources": dict(sorted(counts.items())),
        "df": kept,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-df", type=int, default=3)
    parser.add_argument("--out", type=Path, default=MODEL_DIR / "idf.json.gz")
    args = parser.parse_args()
    table = build(min_df=args.min_df)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(table, ensure_ascii=False, separators=(",", ":"))
    with gzip.GzipFile(args.out, "wb", mtime=0) as handle:
        handle.write(payload.encode("utf-8"))
    print(f"{table['documents']} documents {table['sources']}, {len(table['df'])} terms -> {args.out}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
