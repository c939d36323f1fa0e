"""Do the shipped models give the same outputs on another CPU? Dump them on one, compare with another.

For the bundled examples: every candidate sentence's check-worthiness score, every claim's embedding, every sentence
piece's in-span probabilities and every decoded span's technique probabilities, plus the claims and techniques the
analysis keeps. Run once natively and once on an emulated CPU without AVX-512 or VNNI, then compare::

    python -m training.cross_cpu dump native.json
    qemu-x86_64 -cpu Haswell .venv/bin/python -m training.cross_cpu dump haswell.json
    python -m training.cross_cpu compare native.json haswell.json

``compare`` prints the largest difference of each output and whether the kept claims and techniques are the same;
it exits 1 when they are not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def dump(out: Path) -> None:
    from crosscheck.analyze.claims import candidate_sentences, load_checkworthiness, score_sentences
    from crosscheck.analyze.pipeline import Document
    from crosscheck.analyze.techniques import load_technique_model, split_lines
    from crosscheck.article import Article
    from crosscheck.corpus.embed import embed
    from crosscheck.runners.base import load_pipeline

    texts = [path.read_text("utf-8") for path in sorted((ROOT / "examples").glob("*.txt"))]
    pipeline = load_pipeline(["parse", "entities", "quantities", "dates", "attribution", "claims", "techniques"])
    docs = [Document(article=Article(raw=t, origin=str(i), text=t)) for i, t in enumerate(texts)]
    pipeline(docs)
    model = load_technique_model()
    figures: dict[str, Any] = {"checkworthiness": [], "embeddings": [], "in_span": [], "technique": [], "kept": []}
    for d in docs:
        units = [d.text[s:e] for s, e in candidate_sentences(d.doc, min_words=4, max_heading_words=25)]
        figures["checkworthiness"] += score_sentences(units, model=load_checkworthiness()).tolist()
        figures["embeddings"] += embed([c.text for c in d.claims]).tolist()
        pieces = [piece for s in d.doc.sents for piece in split_lines(d.text, s.start_char, s.end_char)]
        tagged = model.tag([d.text], [pieces])[0]
        figures["in_span"] += [p for _, words in tagged for _, _, p in words]
        candidates = model.decode(d.text, tagged)
        items = [(d.text, c.span.start, c.span.end, *c.sentence) for c in candidates]
        figures["technique"] += model.classify(items).tolist() if items else []
        figures["kept"].append(
            {
                "claims": [[c.start, c.end] for c in d.claims],
                "techniques": [[t.start, t.end, t.technique] for t in d.techniques],
            }
        )
    out.write_text(json.dumps(figures))


def compare(a: Path, b: Path) -> int:
    first, second = json.loads(a.read_text()), json.loads(b.read_text())
    same = first["kept"] == second["kept"]
    for key in ("checkworthiness", "embeddings", "in_span", "technique"):
        x, y = np.asarray(first[key], dtype=np.float64), np.asarray(second[key], dtype=np.float64)
        diff = float(np.abs(x - y).max()) if x.shape == y.shape and x.size else float("nan")
        print(f"{key:>16}: {x.size} values, largest difference {diff:.2e}")
    print(f"kept claims and techniques identical: {same}")
    return 0 if same else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dump").add_argument("out", type=Path)
    both = sub.add_parser("compare")
    both.add_argument("a", type=Path)
    both.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out)
    else:
        sys.exit(compare(args.a, args.b))


if __name__ == "__main__":
    main()
