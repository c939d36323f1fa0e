r"""Train the span-identification tagger: all-MiniLM-L6-v2 fine-tuned to mark in-span tokens of PTC lines.

One output per token for "inside any technique span" plus 14 auxiliary outputs (inside a span of technique k),
all sigmoid / binary cross-entropy. Trained on PTC train only; after each epoch the dev SI F1 (official
partial-overlap metric, decision threshold swept on dev) is printed and the best epoch is kept.

    python -m training.techniques.train_si --epochs 3 --out training/runs/si

Above the shared encoder trunk (``--frozen-layers 3``: only the upper layers and the output layer train, so the
stage runs three layers of its own over the trunk's cached states), the tagger learns better from the shipped
tagger's probabilities as well as the gold spans (distillation, ``--teacher``), over PTC train and, with
``--extra-articles N``, the sentences of N PolNeAR training articles, which only the teacher labels:

    python -m training.techniques.train_si --frozen-layers 3 --teacher training/runs/teacher-si.onnx \
        --extra-articles 200 --epochs 3 --out training/runs/si_trunk
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn
from transformers import AutoModel, get_linear_schedule_with_warmup

from crosscheck.analyze.technique_decode import DecodeOptions, decode_words, group_words
from crosscheck.evaluate.ptc import PtcSpan, merge_spans, si_scores
from training.common import DATASETS, freeze_trunk, minilm_dir, onnx_weights, start_run
from training.split_encoder import TRUNK_LAYERS
from training.techniques.data import Split, batches, line_spans, load_split, technique_index, tokenizer_json

MAX_LEN = 128
N_OUT = 15


class Tagger(nn.Module):
    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(encoder.config.hidden_size, N_OUT)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(hidden))


def make_examples(split: Split, tok: Tokenizer, *, with_labels: bool) -> list[dict]:
    tech = technique_index()
    by_article: dict[str, list[PtcSpan]] = {}
    for s in split.spans:
        by_article.setdefault(s.article_id, []).append(s)
    examples = []
    for aid, text in split.articles.items():
        gold = by_article.get(aid, [])
        merged = merge_spans((s.start, s.end) for s in gold)
        for ls, le in line_spans(text):
            enc = tok.encode(text[ls:le])
            ids = enc.ids[:MAX_LEN]
            if ids[-1] != enc.ids[-1]:
                ids[-1] = enc.ids[-1]  # keep [SEP]
            offsets = [(a + ls, b + ls) if b > a else (0, 0) for a, b in enc.offsets[: len(ids)]]
            offsets[-1] = (0, 0)
            labels = np.full((len(ids), N_OUT), -100.0, dtype=np.float32)
            if with_labels:
                for i, (a, b) in enumerate(offsets):
                    if b <= a:
                        continue
                    labels[i] = 0.0
                    if any(min(b, e) > max(a, s) for s, e in merged):
                        labels[i, 0] = 1.0
                    for s in gold:
                        if min(b, s.end) > max(a, s.start):
                            labels[i, 1 + tech[s.technique]] = 1.0
            examples.append({"aid": aid, "ids": ids, "offsets": offsets, "labels": labels})
    return examples


def collate(group: list[dict]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    width = max(len(e["ids"]) for e in group)
    ids = torch.zeros((len(group), width), dtype=torch.long)
    mask = torch.zeros((len(group), width), dtype=torch.long)
    labels = torch.full((len(group), width, N_OUT), -100.0)
    for i, e in enumerate(group):
        n = len(e["ids"])
        ids[i, :n] = torch.tensor(e["ids"])
        mask[i, :n] = 1
        labels[i, :n] = torch.from_numpy(e["labels"])
    return ids, mask, labels


def collate_soft(group: list[dict]) -> torch.Tensor:
    """The teacher's probabilities of each token's outputs (-1 where a token has none: specials, padding)."""
    width = max(len(e["ids"]) for e in group)
    soft = torch.full((len(group), width, N_OUT), -1.0)
    for i, e in enumerate(group):
        soft[i, : len(e["ids"])] = torch.from_numpy(e["soft"].astype(np.float32))
    return soft


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def extra_examples(n_articles: int, tok: Tokenizer) -> list[dict]:
    """The sentences of the first ``n_articles`` PolNeAR training articles (in file-name order), unlabelled."""
    folder = DATASETS / "polnear" / "data" / "train" / "text"
    files = sorted(folder.glob("*.txt"))[:n_articles]
    if len(files) < n_articles:
        raise SystemExit(f"{folder}: {len(files)} articles, {n_articles} asked for")
    examples = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for ls, le in line_spans(text):
            pos = ls
            for part in [*SENTENCE_END.split(text[ls:le]), ""]:
                if not part.strip():
                    continue
                start = text.index(part, pos)
                pos = start + len(part)
                enc = tok.encode(part)
                if len(enc.ids) < 4:
                    continue
                ids = enc.ids[:MAX_LEN]
                ids[-1] = enc.ids[-1]
                offsets = [(a + start, b + start) if b > a else (0, 0) for a, b in enc.offsets[: len(ids)]]
                offsets[-1] = (0, 0)
                labels = np.full((len(ids), N_OUT), -100.0, dtype=np.float32)
                examples.append({"aid": path.stem, "ids": ids, "offsets": offsets, "labels": labels})
    return examples


def add_teacher(examples: list[dict], teacher: Path, threads: int) -> None:
    """Each example's ``soft`` targets: the teacher tagger's (an ONNX export) probabilities, the texts unpadded."""
    from crosscheck.models.runtime import MAX_BATCH_TOKENS, inference_session, same_length_batches, session_options

    session = inference_session(str(teacher), session_options(threads))
    names = {i.name for i in session.get_inputs()}
    for indices in same_length_batches([len(e["ids"]) for e in examples], 64, MAX_BATCH_TOKENS):
        group = [examples[k] for k in indices]
        ids = np.array([e["ids"] for e in group], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        logits = session.run(None, {n: v for n, v in feeds.items() if n in names})[0]
        probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        for e, p in zip(group, probs, strict=True):
            content = np.array([b > a for a, b in e["offsets"]])
            e["soft"] = np.where(content[:, None], p, -1.0).astype(np.float16)


@torch.no_grad()
def predict_probs(model: Tagger, examples: list[dict]) -> list[np.ndarray]:
    model.eval()
    out: list[np.ndarray] = [np.zeros(0)] * len(examples)
    index = {id(e): i for i, e in enumerate(examples)}
    for group in batches(examples, 64, shuffle=False, rng=random.Random(0)):
        ids, mask, _ = collate(group)
        probs = torch.sigmoid(model(ids, mask)[..., 0]).numpy()
        for row, e in zip(probs, group, strict=True):
            out[index[id(e)]] = row[: len(e["ids"])]
    return out


def spans_from_probs(
    split: Split, examples: list[dict], probs: list[np.ndarray], options: DecodeOptions
) -> list[PtcSpan]:
    pred = []
    for e, p in zip(examples, probs, strict=True):
        keep = [i for i, (a, b) in enumerate(e["offsets"]) if b > a]
        text = split.articles[e["aid"]]
        words = group_words(text, [e["offsets"][i] for i in keep], [float(p[i]) for i in keep])
        for s in decode_words(text, words, options):
            pred.append(PtcSpan(e["aid"], s.start, s.end))
    return pred


def sweep(split: Split, examples: list[dict], probs: list[np.ndarray]) -> tuple[float, float]:
    best = (0.0, 0.5)
    for t in np.arange(0.1, 0.61, 0.05):
        opts = DecodeOptions(threshold=float(t), low=float(t))
        f1 = si_scores(spans_from_probs(split, examples, probs, opts), split.spans).f1
        best = max(best, (f1, float(t)))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=6e-5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--aux-weight", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--frozen-layers",
        type=int,
        default=0,
        help=f"encoder layers kept frozen, embeddings included ({TRUNK_LAYERS}: above the shared trunk; the shipped "
        "tagger: 0, fine-tuned end to end)",
    )
    parser.add_argument("--teacher", type=Path, help="an ONNX tagger whose probabilities the tagger learns as well")
    parser.add_argument(
        "--distill-weight", type=float, default=0.5, help="share of the teacher's targets in the loss (with --teacher)"
    )
    parser.add_argument(
        "--extra-articles", type=int, default=0, help="PolNeAR training articles the teacher labels (with --teacher)"
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        help="an ONNX tagger whose encoder layers above --frozen-layers and output layer start the training",
    )
    parser.add_argument("--out", type=Path, default=Path("training/runs/si"))
    args = parser.parse_args()
    if args.extra_articles and not args.teacher:
        parser.error("--extra-articles needs --teacher")
    rng = start_run(seed=args.seed, threads=args.threads, out=args.out)

    tok = Tokenizer.from_file(str(tokenizer_json()))
    tok.no_truncation()
    tok.no_padding()
    train, dev = load_split("train"), load_split("dev")
    train_ex = make_examples(train, tok, with_labels=True)
    dev_ex = make_examples(dev, tok, with_labels=False)
    share = float(np.mean([lab[0] for e in train_ex for lab in e["labels"] if lab[0] >= 0]))
    print(f"train lines {len(train_ex)}, dev lines {len(dev_ex)}, train in-span token share {share:.3f}", flush=True)
    if args.teacher:
        extra = extra_examples(args.extra_articles, tok) if args.extra_articles else []
        train_ex += extra
        add_teacher(train_ex, args.teacher, args.threads)
        print(f"teacher {args.teacher}: {len(train_ex)} lines ({len(extra)} PolNeAR sentences)", flush=True)

    model = Tagger(AutoModel.from_pretrained(str(minilm_dir())))
    frozen = freeze_trunk(model.encoder, args.frozen_layers) if args.frozen_layers else []
    if args.init_from:
        keep = ("head.", *(f"encoder.encoder.layer.{k}." for k in range(args.frozen_layers, 64)))
        start = {k: v for k, v in onnx_weights(args.init_from).items() if k.startswith(keep)}
        missing = [k for k, _ in model.named_parameters() if k.startswith(keep) and k not in start]
        if missing:
            raise SystemExit(f"{args.init_from}: no weights for {missing[:3]}")
        model.load_state_dict(start, strict=False)
        f1, threshold = sweep(dev, dev_ex, predict_probs(model, dev_ex))
        print(f"started from {args.init_from}: dev SI F1 {f1:.4f} at threshold {threshold:.2f}", flush=True)
    trained = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(trained, lr=args.lr, weight_decay=0.01)
    steps = args.epochs * len(batches(train_ex, args.batch, shuffle=False, rng=rng))
    sched = get_linear_schedule_with_warmup(optim, int(0.06 * steps), steps)
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    history = []
    best_f1 = -1.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        for module in frozen:  # the trunk computes as it does at run time: no dropout
            module.eval()
        t0 = time.time()
        total = 0.0
        groups = batches(train_ex, args.batch, shuffle=True, rng=rng)
        for step, group in enumerate(groups, 1):
            ids, mask, labels = collate(group)
            logits = model(ids, mask)
            valid = (labels >= 0).float()
            losses = loss_fn(logits, labels.clamp(min=0)) * valid
            weights = torch.tensor([1.0] + [args.aux_weight] * (N_OUT - 1))
            loss = (losses * weights).sum() / valid[..., 0].sum().clamp(min=1)
            if args.teacher:
                soft = collate_soft(group)
                known = (soft >= 0).float()
                soft_loss = (loss_fn(logits, soft.clamp(min=0)) * known * weights).sum() / known[..., 0].sum().clamp(
                    min=1
                )
                gold_share = (1.0 - args.distill_weight) if valid.any() else 0.0
                loss = gold_share * loss + (1.0 - gold_share) * soft_loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optim.step()
            sched.step()
            optim.zero_grad()
            total += float(loss.detach())
            if step % 200 == 0:
                print(
                    f"epoch {epoch} step {step}/{len(groups)} loss {total / step:.4f} {time.time() - t0:.0f}s",
                    flush=True,
                )
        probs = predict_probs(model, dev_ex)
        f1, threshold = sweep(dev, dev_ex, probs)
        history.append({"epoch": epoch, "dev_si_f1": round(f1, 4), "threshold": round(threshold, 2)})
        print(
            f"epoch {epoch} done in {time.time() - t0:.0f}s: dev SI F1 {f1:.4f} at threshold {threshold:.2f}",
            flush=True,
        )
        torch.save(model.state_dict(), args.out / f"epoch{epoch}.pt")
        if f1 > best_f1:
            best_f1 = f1
            torch.save(model.state_dict(), args.out / "best.pt")
    (args.out / "history.json").write_text(json.dumps(history, indent=1))
    print(json.dumps(history), flush=True)


if __name__ == "__main__":
    main()
