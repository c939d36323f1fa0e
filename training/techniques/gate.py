"""Fit the technique tagger's gate: which sentence pieces the tagger reads (``models/techniques-gate``).

The gate learns the shipped tagger's own decision: every sentence piece of PTC train (its lines, as the evaluation
cuts them) and of the PolNeAR train articles (spaCy's sentences cut at line breaks, as the ``techniques`` stage cuts
them) is tagged and decoded by the shipped models (``label``: the number of spans each piece gets). ``fit`` then
runs the encoder trunk and the tagger over every piece once (kept in ``tokens.npz`` beside the labels), fits the
token network of :class:`crosscheck.analyze.technique_gate.TechniqueGate` on the tokens of four fifths of the
articles, with the tagger's in-span probabilities as soft targets, and picks the highest threshold at which the
pieces read keep ``--recall`` of the spans of the held-out fifth. Neither PTC dev (where the evaluation measures the
result) nor PolNeAR dev (the benchmark's corpus) is read.

    python -m training.techniques.gate label            # tags every piece once (about 10 minutes on one core)
    python -m training.techniques.gate fit              # fits, picks the threshold, writes the model (a minute,
                                                        # after about 10 for the trunk and tagger states, kept)
    python -m training.techniques.gate fit --recall 0.97 --out /tmp/gate   # another recall target elsewhere
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
import zlib
from pathlib import Path

import numpy as np

from crosscheck.analyze.technique_gate import GATE_MODEL
from crosscheck.analyze.techniques import sentence_pieces, split_lines
from crosscheck.models.runtime import MODELS_DIR
from training.common import DATASETS
from training.techniques.data import line_spans, load_split

RUNS = Path(__file__).resolve().parents[1] / "runs" / "gate"
POLNEAR_TRAIN = DATASETS / "polnear" / "data" / "train" / "text"


def label(out: Path, *, polnear_limit: int | None) -> None:
    """Tag and decode every piece of PTC train and PolNeAR train with the shipped models; one JSON line a piece."""
    os.environ.setdefault("CROSSCHECK_THREADS", "1")
    from tqdm import tqdm

    from crosscheck.analyze.parse import load_nlp, parse_texts
    from crosscheck.analyze.techniques import TechniqueModel
    from crosscheck.ingest.clean import clean_text

    model = TechniqueModel(threads=1, gate=None)
    corpora: list[tuple[str, str, str, list[tuple[int, int]]]] = []  # (corpus, article id, text, sentences)
    ptc = load_split("train")
    for aid, text in sorted(ptc.articles.items()):
        corpora.append(("ptc-train", aid, text, line_spans(text)))
    files = sorted(POLNEAR_TRAIN.glob("*.txt"))[:polnear_limit]
    texts = [clean_text(p.read_text("utf-8")).text for p in files]
    nlp = load_nlp()
    docs = parse_texts(nlp, texts)
    for path, text, doc in tqdm(zip(files, texts, docs, strict=True), total=len(files), desc="parse PolNeAR train"):
        sents = [piece for s in doc.sents for piece in split_lines(text, s.start_char, s.end_char)]
        corpora.append(("polnear-train", path.stem, text, sents))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for corpus, aid, text, sents in tqdm(corpora, desc="tag"):
            pieces = sentence_pieces(text, sents)
            tagged = model.tag([text], [pieces])[0]
            for bounds, words in tagged:
                spans = model.decode(text, [(bounds, words)])
                row = {
                    "corpus": corpus,
                    "article": aid,
                    "text": text[bounds[0] : bounds[1]],
                    "spans": len(spans),
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _held_out(row: dict) -> bool:
    return zlib.crc32(f"{row['corpus']}/{row['article']}".encode()) % 5 == 0


def token_data(rows: list[dict], cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trunk hidden state of every token but [CLS] and [SEP], the tagger's in-span probability of it, its piece's
    index), computed once with the shipped models and kept in ``cache``."""
    from tqdm import tqdm

    from crosscheck.models.runtime import load_onnx_model

    if cache.exists():
        with np.load(cache) as data:
            if len(data["pieces"]) == len(rows):
                return data["states"].astype(np.float32), data["probs"], data["piece"]
    trunk = load_onnx_model("encoder-trunk", 1)
    tagger = load_onnx_model("techniques-si", 1)
    states, probs, piece = [], [], []
    texts = [r["text"] for r in rows]
    for begin in tqdm(range(0, len(texts), 512), desc="trunk and tagger states"):
        chunk = texts[begin : begin + 512]
        pairs = zip(trunk.rows(chunk, max_length=128), tagger.rows(chunk, max_length=128), strict=True)
        for k, (((hidden,), enc), ((out,), enc_tagger)) in enumerate(pairs):
            if enc.ids.tolist() != enc_tagger.ids.tolist():
                raise SystemExit("the trunk and the tagger tokenise differently")
            inner = slice(1, -1) if len(enc.ids) > 2 else slice(None)
            states.append(hidden[inner].astype(np.float16))
            probs.append((1.0 / (1.0 + np.exp(-out[inner, 0]))).astype(np.float32))
            piece.append(np.full(len(probs[-1]), begin + k, dtype=np.int32))
        trunk.clear_cache()
        tagger.clear_cache()
    result = np.concatenate(states), np.concatenate(probs), np.concatenate(piece)
    np.savez(cache, states=result[0], probs=result[1], piece=result[2], pieces=np.arange(len(rows)))
    return result[0].astype(np.float32), result[1], result[2]


def fit(data: Path, out: Path, *, recall: float, hidden: int, epochs: int, seed: int) -> dict:
    """Fit the token network on the training articles' tokens (the tagger's in-span probabilities as soft targets),
    pick the threshold on the held-out articles' pieces, write the model."""
    import torch

    from crosscheck.analyze.technique_gate import TechniqueGate

    torch.manual_seed(seed)
    rows = [json.loads(line) for line in data.read_text("utf-8").splitlines()]
    states, probs, piece = token_data(rows, data.with_name("tokens.npz"))
    held_piece = np.array([_held_out(r) for r in rows])
    spans = np.array([r["spans"] for r in rows])
    words = np.array([len(r["text"].split()) for r in rows])
    train = np.flatnonzero(~held_piece[piece])
    x, y = torch.from_numpy(states), torch.from_numpy(probs)
    net = torch.nn.Sequential(
        torch.nn.Linear(states.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
    ).double()
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    t0 = time.time()
    for epoch in range(epochs):
        order = train[rng.permutation(len(train))]
        total = 0.0
        for begin in range(0, len(order), 2048):
            idx = torch.from_numpy(order[begin : begin + 2048])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                net(x[idx].double()).squeeze(1), y[idx].double()
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(train):.4f} ({time.time() - t0:.0f}s)", flush=True)
    w1, b1 = net[0].weight.detach().numpy().T, net[0].bias.detach().numpy()
    w2, b2 = net[2].weight.detach().numpy()[0], float(net[2].bias.detach().numpy()[0])
    rounded = (np.round(w1, 6), np.round(b1, 6), np.round(w2, 6), round(b2, 6))
    # Each piece's best token, computed by the runtime code from the rounded weights.
    token_logit = np.concatenate(
        [TechniqueGate.network(states[begin : begin + 65536], *rounded) for begin in range(0, len(states), 65536)]
    )
    best = np.full(len(rows), -np.inf)
    np.maximum.at(best, piece, token_logit)
    threshold = _threshold(best[held_piece], spans[held_piece], recall)
    kept = best[held_piece] >= threshold
    held_spans, held_words = spans[held_piece], words[held_piece]
    report = {
        "fit_seconds": round(time.time() - t0, 1),
        "pieces": {"train": int((~held_piece).sum()), "held_out": int(held_piece.sum())},
        "tokens": {"train": len(train), "held_out": int(len(piece) - len(train))},
        "hidden": hidden,
        "epochs": epochs,
        "recall_target": recall,
        "threshold": threshold,
        "held_out": {
            "span_recall": round(float(held_spans[kept].sum() / max(1, held_spans.sum())), 4),
            "piece_recall": round(float((kept & (held_spans > 0)).sum() / max(1, (held_spans > 0).sum())), 4),
            "pieces_tagged": round(float(kept.mean()), 4),
            "words_tagged": round(float(held_words[kept].sum() / held_words.sum()), 4),
            "positive_share": round(float((held_spans > 0).mean()), 4),
        },
    }
    model = {
        "description": "Technique tagger gate: a network (one hidden ReLU layer) over each token's hidden state "
        "from the shared encoder trunk, predicting the techniques-si tagger's in-span probability; a sentence piece "
        "whose best token scores under the threshold (log-odds) is not tagged (crosscheck.analyze.technique_gate)",
        "trained_on": "the tokens of every sentence piece of PTC train and PolNeAR v1.0.0 train (four fifths of the "
        "articles; the rest choose the threshold), with the shipped tagger's in-span probabilities as targets",
        "date": dt.date.today().isoformat(),
        "trunk": "encoder-trunk",
        "max_length": 128,
        "report": report,
        "threshold": threshold,
        "w1": rounded[0].tolist(),
        "b1": rounded[1].tolist(),
        "w2": rounded[2].tolist(),
        "b2": rounded[3],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.json").write_text(json.dumps(model) + "\n", encoding="utf-8")
    return report


def _threshold(best: np.ndarray, spans: np.ndarray, recall: float) -> float:
    """The highest log-odds threshold (0.05 grid) at which the pieces read keep ``recall`` of the spans."""
    total = spans.sum()
    for t in np.arange(10.0, -20.0, -0.05):
        if spans[best >= t].sum() >= recall * total:
            return round(float(t), 2)
    return -20.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    lab = sub.add_parser("label", help="tag every training piece with the shipped models")
    lab.add_argument("--data", type=Path, default=RUNS / "pieces.jsonl")
    lab.add_argument("--polnear-limit", type=int, default=None, help="at most this many PolNeAR train articles")
    fitp = sub.add_parser("fit", help="fit the gate and write its model.json")
    fitp.add_argument("--data", type=Path, default=RUNS / "pieces.jsonl")
    fitp.add_argument("--out", type=Path, default=MODELS_DIR / GATE_MODEL)
    fitp.add_argument("--recall", type=float, default=0.95, help="share of held-out spans to keep (default 0.95)")
    fitp.add_argument("--hidden", type=int, default=64, help="hidden units of the token network")
    fitp.add_argument("--epochs", type=int, default=8)
    fitp.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "label":
        label(args.data, polnear_limit=args.polnear_limit)
    else:
        report = fit(args.data, args.out, recall=args.recall, hidden=args.hidden, epochs=args.epochs, seed=args.seed)
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
