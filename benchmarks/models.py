"""CPU time of the shipped transformer models on real sentences, against other graphs of the same models.

    python benchmarks/models.py                                  # the shipped graphs alone
    python benchmarks/models.py --against DIR [--reps 6]         # and DIR/<model>.onnx, interleaved, outputs compared

Each model scores the same texts as the analysis stages would batch them (one onnxruntime thread, texts of one token
length together, at most 32 a batch): the first ``--sentences`` sentences of at least six words of the PolNeAR dev
articles (split after final punctuation; ``CROSSCHECK_DATASETS``, else ``../shared/datasets``). The heads
(check-worthiness, sentence encoder) are timed above trunk states computed beforehand, so their figure is the head's
alone; the technique classifier reads each sentence's first five words as its span, with the sentence as context.

With ``--against``, each graph in DIR named after a model (``techniques-si.onnx``, ...) runs the same texts with the
same tokenizer, alternating with the shipped graph for ``--reps`` rounds; the figures are the fastest and the median
round of each (a shared machine's noise is mostly in the slow rounds), and whether every output is bit-identical.
For example, the graphs before ``training/unpad_graph.py``:

    mkdir before; for m in encoder-trunk checkworthiness sentence-encoder techniques-si techniques-tc; do
        git show dc2bed3~1:src/crosscheck/models/$m/model.onnx > before/$m.onnx; done
    python benchmarks/models.py --against before
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
MODELS = ("encoder-trunk", "checkworthiness", "sentence-encoder", "techniques-si", "techniques-tc")


def sentences(n: int) -> list[str]:
    env = os.environ.get("CROSSCHECK_DATASETS")
    folder = (Path(env) if env else ROOT.parent / "shared" / "datasets") / "polnear" / "data" / "dev" / "text"
    if not folder.is_dir():
        raise SystemExit(f"{folder} not found: set CROSSCHECK_DATASETS to the shared datasets folder")
    out: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        for line in path.read_text("utf-8").splitlines():
            out.extend(s for s in re.split(r"(?<=[.!?])\s+", line.strip()) if len(s.split()) >= 6)
        if len(out) >= n:
            break
    return list(dict.fromkeys(out))[:n]


def scorer(model: Any, texts: list[str]) -> Callable[[], list[np.ndarray]]:
    """A function scoring ``texts`` with ``model`` (its session as set) and returning every output row."""
    if model.path.name == "techniques-tc":
        spans = [" ".join(t.split()[:5]) for t in texts]

        def classify() -> list[np.ndarray]:
            rows: list[np.ndarray] = []
            for chunk, feeds, _ in model.batches(spans, texts, batch_size=32):
                feeds["features"] = np.zeros((len(chunk), 12), dtype=np.float32)
                rows.extend(model.run(feeds)[0])
            return rows

        return classify

    if model.trunk is not None:
        model.trunk.rows(texts)  # trunk states cached: the head alone is timed

    def rows() -> list[np.ndarray]:
        model.clear_cache()
        return [out for outputs, _ in model.rows(texts, batch_size=32) for out in outputs]

    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--against", type=Path, help="a folder of <model>.onnx graphs to compare with the shipped ones")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated models (default: all five)")
    ap.add_argument("--sentences", type=int, default=800)
    ap.add_argument("--reps", type=int, default=6)
    args = ap.parse_args(argv)
    os.environ["CROSSCHECK_THREADS"] = "1"
    from crosscheck.models.runtime import inference_session, load_onnx_model, session_options

    texts = sentences(args.sentences)
    print(f"{len(texts)} PolNeAR dev sentences, {args.reps} rounds, one thread")
    for name in args.models.split(","):
        shipped = load_onnx_model(name, 1).uncached()
        variants: dict[str, Any] = {"shipped": shipped}
        other = args.against / f"{name}.onnx" if args.against else None
        if other is not None and other.exists():
            alt = shipped.uncached()
            alt.session = inference_session(str(other), session_options(1))
            variants[other.name] = alt
        runs = {label: scorer(model, texts) for label, model in variants.items()}
        for run in runs.values():
            run()  # warm-up
        times: dict[str, list[float]] = {label: [] for label in runs}
        outputs: dict[str, list[np.ndarray]] = {}
        for _ in range(args.reps):
            for label, run in runs.items():
                c0 = time.process_time()
                outputs[label] = run()
                times[label].append(time.process_time() - c0)
        best = min(times["shipped"])
        for label, spent in times.items():
            spent = sorted(spent)
            line = f"{name:17s} {label:22s} fastest {spent[0]:6.3f} s  median {spent[len(spent) // 2]:6.3f} s"
            if label != "shipped":
                same = all(np.array_equal(a, b) for a, b in zip(outputs["shipped"], outputs[label], strict=True))
                line += f"  shipped/this {best / spent[0]:.3f}  outputs identical: {same}"
            print(line)


if __name__ == "__main__":
    main()
