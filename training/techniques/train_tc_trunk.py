"""Train the technique classifier above the shared encoder trunk: its own upper layers over the trunk's hidden states
of the span's sentence piece, the span's tokens marked.

The classifier shipped before reads ``[span] [SEP] [line]`` through all six layers of its own encoder, a pass per
span. This one reads what the analysis has already computed for the piece the span was decoded from, the trunk's
hidden states (``models/encoder-trunk``: all-MiniLM-L6-v2's embeddings and layers 0-2, not trained), adds one learned
vector to the states of the span's tokens, and runs ``--head-layers`` encoder layers of its own (initialised from
all-MiniLM-L6-v2's layers 3, 4, ...) before the same head as before: mean-pooled span tokens, mean-pooled piece and
the cheap span features (``crosscheck.analyze.technique_features``) into one linear layer over the 14 techniques,
cross-entropy with label smoothing. Trained on PTC train spans with their line as the piece; the dev TC micro-F1
(gold spans, official definition) is printed after each epoch and the best epoch is kept.

    python -m training.techniques.train_tc_trunk --head-layers 3 --epochs 4 --out training/runs/tc_trunk

The trunk is frozen, so its hidden states are computed once per line (in fp32; the shipped trunk's int8 products
differ from them in the last bits) and every epoch trains the head alone.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn
from transformers import AutoModel

from crosscheck.analyze.technique_features import FEATURE_NAMES, context_bounds, span_features
from crosscheck.analyze.techniques import span_token_mask
from crosscheck.evaluate.ptc import TECHNIQUES, PtcSpan
from training.common import minilm_dir, start_run
from training.split_encoder import TRUNK_LAYERS
from training.techniques.data import Split, load_split, technique_index, tokenizer_json
from training.techniques.train_tc import fit

MAX_LEN = 128
N_FEATS = len(FEATURE_NAMES)


class TrunkSpanClassifier(nn.Module):
    """Encoder layers of its own above the trunk's hidden states, a learned vector added to the span's tokens."""

    def __init__(self, encoder: nn.Module, head_layers: int) -> None:
        super().__init__()
        hidden = encoder.config.hidden_size
        self.layers = nn.ModuleList(encoder.encoder.layer[TRUNK_LAYERS : TRUNK_LAYERS + head_layers])
        if len(self.layers) != head_layers:
            raise ValueError(f"the base encoder has {len(encoder.encoder.layer)} layers, above the trunk too few")
        self.marker = nn.Parameter(torch.randn(hidden, generator=torch.Generator().manual_seed(0)) * 0.1)
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(2 * hidden + N_FEATS, len(TECHNIQUES))

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor,
        span_mask: torch.Tensor,
        features: torch.Tensor,
    ) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(hidden_states.dtype)
        span = span_mask.unsqueeze(-1)
        x = hidden_states + span * self.marker
        additive = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, attention_mask=additive)
        pooled_all = (x * mask).sum(1) / mask.sum(1).clamp(min=1)
        pooled_span = (x * span).sum(1) / span.sum(1).clamp(min=1)
        return self.head(self.dropout(torch.cat([pooled_span, pooled_all, features], dim=-1)))


@torch.no_grad()
def trunk_states(encoder: nn.Module, ids: list[int]) -> torch.Tensor:
    """The trunk's hidden states of one text (fp32): the embeddings and the first TRUNK_LAYERS layers."""
    x = encoder.embeddings(input_ids=torch.tensor([ids]))
    for layer in encoder.encoder.layer[:TRUNK_LAYERS]:
        x = layer(x)
    return x[0]


def make_examples(split: Split, spans: list[PtcSpan], tok: Tokenizer, encoder: nn.Module) -> list[dict]:
    tech = technique_index()
    states: dict[tuple[str, int, int], tuple[torch.Tensor, list[tuple[int, int]]]] = {}
    examples = []
    for s in spans:
        text = split.articles[s.article_id]
        ls, le = context_bounds(text, s.start, s.end)
        key = (s.article_id, ls, le)
        if key not in states:
            enc = tok.encode(text[ls:le])
            states[key] = (trunk_states(encoder, enc.ids), [(a, b) if b > a else (0, 0) for a, b in enc.offsets])
        hidden, offsets = states[key]
        examples.append(
            {
                "span": s,
                "ids": offsets,  # batches() groups by len(e["ids"])
                "states": hidden,
                "span_mask": span_token_mask(offsets, s.start - ls, s.end - ls),
                "feats": span_features(text, s.start, s.end, ls, le),
                "label": tech.get(s.technique, -100),
            }
        )
    return examples


def collate(group: list[dict]) -> tuple[torch.Tensor, ...]:
    width = max(len(e["ids"]) for e in group)
    states = torch.zeros((len(group), width, group[0]["states"].shape[-1]))
    mask = torch.zeros((len(group), width), dtype=torch.long)
    span = torch.zeros((len(group), width))
    for i, e in enumerate(group):
        n = len(e["ids"])
        states[i, :n] = e["states"]
        mask[i, :n] = 1
        span[i, :n] = torch.from_numpy(e["span_mask"])
    feats = torch.from_numpy(np.stack([e["feats"] for e in group]))
    labels = torch.tensor([e["label"] for e in group])
    return states, mask, span, feats, labels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--head-layers", type=int, default=3, help="encoder layers of its own above the trunk")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--smoothing", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("training/runs/tc_trunk"))
    args = parser.parse_args()
    rng = start_run(seed=args.seed, threads=args.threads, out=args.out)

    tok = Tokenizer.from_file(str(tokenizer_json()))
    tok.enable_truncation(max_length=MAX_LEN)
    tok.no_padding()
    encoder = AutoModel.from_pretrained(str(minilm_dir()), attn_implementation="eager")
    encoder.eval()
    train, dev = load_split("train"), load_split("dev")
    t0 = time.time()
    train_ex = make_examples(train, train.spans, tok, encoder)
    dev_ex = make_examples(dev, dev.spans, tok, encoder)
    print(f"train spans {len(train_ex)}, dev spans {len(dev_ex)}; trunk states in {time.time() - t0:.0f}s", flush=True)

    model = TrunkSpanClassifier(encoder, args.head_layers)
    del encoder
    history = fit(model, train_ex, dev, dev_ex, collate, args, rng)
    (args.out / "history.json").write_text(json.dumps({"head_layers": args.head_layers, "epochs": history}, indent=1))
    print(json.dumps(history), flush=True)


if __name__ == "__main__":
    main()
