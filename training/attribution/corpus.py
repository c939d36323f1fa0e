"""PolNeAR train/dev parsed once with the project's spaCy pipeline and cached (training/runs/attribution/*.spacy)."""

from __future__ import annotations

import sys
from pathlib import Path

from spacy.tokens import Doc, DocBin

from crosscheck.analyze.parse import load_nlp
from crosscheck.evaluate.attribution import GoldArticle, load_polnear
from training.common import DATASETS, ROOT

CACHE = ROOT / "training" / "runs" / "attribution"


def split_dir(split: str) -> Path:
    return DATASETS / "polnear" / "data" / split


def parsed(split: str) -> tuple[list[GoldArticle], list[Doc]]:
    """The split's articles (first annotator) and their spaCy parses, parsing on the first call."""
    articles = load_polnear(split_dir(split))
    nlp = load_nlp()
    path = CACHE / f"{split}.spacy"
    if path.exists():
        docs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
        if [d.text for d in docs] == [a.text for a in articles]:
            return articles, docs
    CACHE.mkdir(parents=True, exist_ok=True)
    docs = list(nlp.pipe((a.text for a in articles), batch_size=16))
    DocBin(store_user_data=False, docs=docs).to_disk(path)
    return articles, docs


if __name__ == "__main__":
    for name in sys.argv[1:] or ["dev", "train"]:
        arts, ds = parsed(name)
        print(
            name,
            len(arts),
            "articles",
            sum(len(a.attributions) for a in arts),
            "relations",
            sum(len(list(d.sents)) for d in ds),
            "sentences",
        )
