"""CPU time of spaCy's attribute ruler and lemmatizer against the parse stage's array form of them, on real articles.

    python benchmarks/attributes.py                    # PolNeAR dev, 3 rounds
    python benchmarks/attributes.py --corpus ptc --rounds 5

The articles (``--corpus``, as ``benchmarks/analyze.py`` reads them) are parsed once by spaCy's pipeline as shipped
without the two components; each round then gives a fresh copy of every Doc to spaCy's two components and another to
:class:`crosscheck.analyze.attributes.ArrayAttributes` (one process, so the first round of each runs with cold
caches), and the figures are the CPU seconds of each. Every token's part of speech, tag, label, morphology and lemma
is compared between the two; the run fails if one differs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main(argv: list[str] | None = None) -> None:
    from analyze import corpus_texts

    args, texts = corpus_texts(__doc__, argv, rounds=3)

    from crosscheck.analyze import attributes
    from crosscheck.analyze.parse import load_stock_nlp, parse_texts

    nlp = load_stock_nlp()
    array = attributes.from_pipeline(nlp)
    if array is None:
        raise SystemExit("this spaCy pipeline's attribute ruler is not of the supported kind")
    ruler, lemmatizer = nlp.get_pipe(attributes.RULER), nlp.get_pipe(attributes.LEMMATIZER)
    with nlp.select_pipes(disable=[attributes.RULER, attributes.LEMMATIZER]):
        parsed = [doc.to_bytes() for doc in parse_texts(nlp, texts)]

    def fresh() -> list[Any]:
        from spacy.tokens import Doc

        return [Doc(nlp.vocab).from_bytes(b) for b in parsed]

    def attrs(docs: list[Any]) -> list[tuple[str, ...]]:
        return [(t.pos_, t.tag_, t.dep_, str(t.morph), t.lemma_) for d in docs for t in d]

    print(f"corpus {args.corpus}: {len(texts)} articles; one process, {args.rounds} rounds")
    for k in range(args.rounds):
        docs = fresh()
        c0 = time.process_time()
        for doc in docs:
            lemmatizer(ruler(doc))
        spacy_s = time.process_time() - c0
        ours = fresh()
        c0 = time.process_time()
        for doc in ours:
            array(doc)
        array_s = time.process_time() - c0
        theirs, mine = attrs(docs), attrs(ours)
        differ = sum(a != b for a, b in zip(theirs, mine, strict=True))
        print(
            f"round {k + 1}: spaCy's ruler and lemmatizer {spacy_s:6.2f} CPU s, arrays {array_s:6.2f} CPU s "
            f"({spacy_s / array_s:4.1f}x); {len(theirs)} tokens, {differ} differ"
        )
        if differ:
            raise SystemExit("the array attributes differ from spaCy's")


if __name__ == "__main__":
    main()
