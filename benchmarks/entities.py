"""CPU time of spaCy's entity recogniser against the parse stage's array decoder of it, on the same Docs.

    python benchmarks/entities.py                    # PolNeAR dev, 3 rounds
    python benchmarks/entities.py --corpus ptc --rounds 5

The texts are cleaned and parsed once by the parse stage's pipeline without its recogniser; each round then runs
spaCy's recogniser (``ner``, as its package ships it: blis products, spaCy's transition loop) and
``crosscheck.analyze.entity_decode.ArrayEntityRecognizer`` over copies of those Docs, in batches of the parse stage,
on one BLAS thread, the two in turn so that the machine's drift falls on both. Printed: each one's CPU seconds, the
entities found, and how many Docs' entities (spans, labels, every token's IOB tag) differ.
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

    from crosscheck.analyze import entity_decode
    from crosscheck.analyze.components import one_blas_thread
    from crosscheck.analyze.parse import BATCH_SIZE, load_nlp, load_stock_nlp

    nlp = load_nlp()
    spacy_ner = load_stock_nlp().get_pipe(entity_decode.NER)
    decoder = nlp.get_pipe(entity_decode.NAME)
    with one_blas_thread(), nlp.select_pipes(disable=[entity_decode.NAME]):
        plain = list(nlp.pipe(texts, batch_size=BATCH_SIZE))

    def run(component: Any) -> tuple[float, list[list[tuple[Any, ...]]]]:
        docs = [d.copy() for d in plain]
        with one_blas_thread():
            c0 = time.process_time()
            docs = list(component.pipe(docs, batch_size=BATCH_SIZE))
            spent = time.process_time() - c0
        return spent, [[(t.ent_iob_, t.ent_type_) for t in d] for d in docs]

    run(spacy_ner), run(decoder)
    words = sum(len(d) for d in plain)
    print(f"corpus {args.corpus}: {len(texts)} articles, {words} tokens; one process, one BLAS thread")
    for k in range(args.rounds):
        spent_spacy, theirs = run(spacy_ner)
        spent_ours, ours = run(decoder)
        found = sum(iob == "B" for d in ours for iob, _ in d)
        differ = sum(a != b for a, b in zip(theirs, ours, strict=True))
        print(
            f"round {k + 1}: spaCy's recogniser {spent_spacy:5.2f} CPU s, decoder {spent_ours:5.2f} CPU s "
            f"({spent_ours / spent_spacy:.2f}x); {found} entities, {differ} Docs differ"
        )


if __name__ == "__main__":
    main()
