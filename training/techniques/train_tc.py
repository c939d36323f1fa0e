"""Train the technique classifier: all-MiniLM-L6-v2 over ``[span] [SEP] [line]`` plus cheap span features.

The encoder's mean-pooled span tokens and mean-pooled pair are concatenated with the features of
``crosscheck.analyze.technique_features`` (repetition of the span in the article, length, quotes, punctuation) and
fed to one linear layer over the 14 techniques; cross-entropy with label smoothing. Trained on PTC train spans; the
dev TC micro-F1 (gold spans, official definition) is printed after each epoch and the best epoch is kept.

    python -m training.techniques.train_tc --epochs 4 --out training/runs/tc
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn
from transformers import AutoModel, get_linear_schedule_with_warmup

from crosscheck.analyze.technique_features import FEATURE_NAMES, context_bounds, span_features
from crosscheck.evaluate.ptc import TECHNIQUES, PtcSpan, tc_micro_f1
from crosscheck.evaluate.techniques import label_spans
from training.common import minilm_dir, start_run
from training.techniques.data import Split, batches, load_split, technique_index, tokenizer_json

MAX_LEN = 128
N_FEATS = len(FEATURE_NAMES)


class SpanClassifier(nn.Module):
    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(2 * hidden + N_FEATS, len(TECHNIQUES))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        features: torch.Tensor,
    ) -> torch.Tensor:
        out = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).float()
        span_mask = mask * (1 - token_type_ids).unsqueeze(-1).float()
        pooled_all = (out * mask).sum(1) / mask.sum(1).clamp(min=1)
        pooled_span = (out * span_mask).sum(1) / span_mask.sum(1).clamp(min=1)
        return self.head(self.dropout(torch.cat([pooled_span, pooled_all, features], dim=-1)))


def make_examples(split: Split, spans: list[PtcSpan], tok: Tokenizer) -> list[dict]:
    tech = technique_index()
    examples = []
    for s in spans:
        text = split.articles[s.article_id]
        ls, le = context_bounds(text, s.start, s.end)
        enc = tok.encode(text[s.start : s.end], text[ls:le])
        examples.append(
            {
                "span": s,
                "ids": enc.ids,
                "types": enc.type_ids,
                "feats": span_features(text, s.start, s.end, ls, le),
                "label": tech.get(s.technique, -100),
            }
        )
    return examples


def collate(group: list[dict]) -> tuple[torch.Tensor, ...]:
    width = max(len(e["ids"]) for e in group)
    ids = torch.zeros((len(group), width), dtype=torch.long)
    types = torch.zeros((len(group), width), dtype=torch.long)
    mask = torch.zeros((len(group), width), dtype=torch.long)
    for i, e in enumerate(group):
        n = len(e["ids"])
        ids[i, :n] = torch.tensor(e["ids"])
        types[i, :n] = torch.tensor(e["types"])
        mask[i, :n] = 1
    feats = torch.from_numpy(np.stack([e["feats"] for e in group]))
    labels = torch.tensor([e["label"] for e in group])
    return ids, mask, types, feats, labels


@torch.no_grad()
def predict_logits(
    model: nn.Module, examples: list[dict], collate_fn: Callable[[list[dict]], tuple[torch.Tensor, ...]] = collate
) -> np.ndarray:
    """Each example's logits; ``collate_fn`` makes a batch's model inputs, then its labels (not read)."""
    model.eval()
    out = np.zeros((len(examples), len(TECHNIQUES)), dtype=np.float32)
    index = {id(e): i for i, e in enumerate(examples)}
    for group in batches(examples, 64, shuffle=False, rng=random.Random(0)):
        *inputs, _ = collate_fn(group)
        for row, e in zip(model(*inputs).numpy(), group, strict=True):
            out[index[id(e)]] = row
    return out


def assign_labels(spans: list[PtcSpan], logits: np.ndarray) -> list[PtcSpan]:
    """Best technique per span; the k-th copy of an identical span gets the k-th best technique."""
    return label_spans(spans, logits, TECHNIQUES)


def fit(
    model: nn.Module,
    train_ex: list[dict],
    dev: Split,
    dev_ex: list[dict],
    collate_fn: Callable[[list[dict]], tuple[torch.Tensor, ...]],
    args: argparse.Namespace,
    rng: random.Random,
) -> list[dict]:
    """Train every parameter of ``model`` (AdamW, linear decay with 6 % warm-up, cross-entropy with label smoothing;
    ``args``: epochs, lr, batch, smoothing, out); after each epoch the dev TC micro-F1 is printed, and the best
    epoch's weights and dev logits go to ``args.out``. Returns each epoch's dev figure."""
    trained = list(model.parameters())
    optim = torch.optim.AdamW(trained, lr=args.lr, weight_decay=0.01)
    steps = args.epochs * len(batches(train_ex, args.batch, shuffle=False, rng=rng))
    sched = get_linear_schedule_with_warmup(optim, int(0.06 * steps), steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.smoothing)
    history = []
    best_f1 = -1.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.time()
        total = 0.0
        groups = batches(train_ex, args.batch, shuffle=True, rng=rng)
        for step, group in enumerate(groups, 1):
            *inputs, labels = collate_fn(group)
            loss = loss_fn(model(*inputs), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optim.step()
            sched.step()
            optim.zero_grad()
            total += float(loss.detach())
            if step % 100 == 0:
                print(
                    f"epoch {epoch} step {step}/{len(groups)} loss {total / step:.4f} {time.time() - t0:.0f}s",
                    flush=True,
                )
        logits = predict_logits(model, dev_ex, collate_fn)
        f1 = tc_micro_f1(assign_labels(dev.spans, logits), dev.spans)
        history.append({"epoch": epoch, "dev_tc_micro_f1": round(f1, 4)})
        print(f"epoch {epoch} done in {time.time() - t0:.0f}s: dev TC micro-F1 {f1:.4f}", flush=True)
        if f1 > best_f1:
            best_f1 = f1
            torch.save(model.state_dict(), args.out / "best.pt")
            np.save(args.out / "dev_logits.npy", logits)
    return history


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--smoothing", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("training/runs/tc"))
    args = parser.parse_args()
    rng = start_run(seed=args.seed, threads=args.threads, out=args.out)

    tok = Tokenizer.from_file(str(tokenizer_json()))
    tok.enable_truncation(max_length=MAX_LEN, strategy="longest_first")
    tok.no_padding()
    train, dev = load_split("train"), load_split("dev")
    train_ex = make_examples(train, train.spans, tok)
    dev_ex = make_examples(dev, dev.spans, tok)
    print(f"train spans {len(train_ex)}, dev spans {len(dev_ex)}", flush=True)

    model = SpanClassifier(AutoModel.from_pretrained(str(minilm_dir())))
    history = fit(model, train_ex, dev, dev_ex, collate, args, rng)
    (args.out / "history.json").write_text(json.dumps(history, indent=1))
    print(json.dumps(history), flush=True)


if __name__ == "__main__":
    main()
