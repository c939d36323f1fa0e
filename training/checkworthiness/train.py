"""Train the check-worthiness model (CheckThat! 2024 Task 1, English) and its n-gram baseline.

Data: ``../shared/datasets/checkthat2024-task1-en`` (official splits as distributed): train on ``train``, choose the
epoch and the decision threshold on ``dev``, report positive-class F1 (the official metric) on ``dev`` and
``dev-test``.

1. Baseline: TF-IDF word 1-3-grams + logistic regression (class-balanced), threshold tuned on dev.
2. Model: all-MiniLM-L6-v2 + a 2-way classification head; the embeddings and the first :data:`FROZEN_LAYERS`
   layers stay the base model's (the shared trunk), the upper layers and the head are fine-tuned (fixed seed,
   length-bucketed batches). After every epoch the dev F1 at the best threshold is measured; the best epoch is kept.
3. Export: ONNX fp32 -> int8 weights (per channel) and row-quantised int8 products with
   ``training.common.export_onnx_int8``, cut
   after the frozen layers (``training.split_encoder``): the shipped model is the head above the shared encoder
   trunk (``models/encoder-trunk``, written by ``training.sentence_encoder.export``, which must exist first). Both
   ONNX models are scored with the runtime code of the ``claims`` stage; the shipped model's threshold is tuned on dev
   and written to ``src/crosscheck/models/checkworthiness/config.json``.

Run (about 40 minutes on 2 shared CPU cores; the baseline alone takes seconds)::

    python -m training.checkworthiness.train            # everything, writes the model
    python -m training.checkworthiness.train --baseline-only
    python -m training.checkworthiness.train --retune-only    # re-tune the shipped model's threshold on dev (minutes)

Figures are printed and written to ``training/runs/checkworthiness/figures.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from crosscheck.evaluate.checkworthiness import (
    LabelledSentence,
    best_threshold,
    positive_prf,
    read_checkthat_tsv,
    split_path,
)
from training.common import DATASETS, ROOT, export_onnx_int8, freeze_trunk, minilm_dir, seed_everything
from training.split_encoder import TRUNK_LAYERS

SEED = 13
MAX_LENGTH = 96  # covers 99.8% of training sentences (MiniLM word pieces incl. [CLS]/[SEP])
BATCH_SIZE = 32
LEARNING_RATE = 5e-5
WARMUP_SHARE = 0.06
EPOCHS = 3
#: The encoder's embeddings and first layers stay all-MiniLM-L6-v2's (not trained): they are the shared encoder trunk
#: (``models/encoder-trunk``) that the sentence encoder's upper layers also read, so one trunk pass per sentence
#: serves the check-worthiness score and the claim's embedding.
FROZEN_LAYERS = TRUNK_LAYERS
#: Encoder layers trained above the trunk (all-MiniLM-L6-v2's next ones; the rest of its six are dropped).
HEAD_LAYERS = 3
RUN_DIR = ROOT / "training" / "runs" / "checkworthiness"
MODEL_DIR = ROOT / "src" / "crosscheck" / "models" / "checkworthiness"
THRESHOLD_TUNING = (
    "maximises positive-class F1 of this model (int8 weights, row-quantised int8 products) on CheckThat! 2024 "
    "English dev (0.01 grid, ties to the value nearest 0.5)"
)


def load_splits() -> dict[str, list[LabelledSentence]]:
    return {split: read_checkthat_tsv(split_path(split, root=DATASETS)) for split in ("train", "dev", "dev-test")}


def prf_dict(gold: list[bool], scores: np.ndarray, threshold: float) -> dict[str, Any]:
    prf = positive_prf(gold, [bool(s >= threshold) for s in scores])
    return {"threshold": threshold, **prf.to_dict()}


def report(
    name: str,
    splits: dict[str, list[LabelledSentence]],
    dev_scores: np.ndarray,
    test_scores: np.ndarray,
    *,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Tune the threshold on dev (unless given), score dev and dev-test at it, print and return the figures."""
    dev_gold = [s.label for s in splits["dev"]]
    test_gold = [s.label for s in splits["dev-test"]]
    if threshold is None:
        threshold, _ = best_threshold(dev_gold, [float(s) for s in dev_scores])
    out = {"dev": prf_dict(dev_gold, dev_scores, threshold), "dev-test": prf_dict(test_gold, test_scores, threshold)}
    for split, fig in out.items():
        print(
            f"{name:>24} {split:>8}  thr {threshold:.2f}  P {fig['precision']:.4f}  R {fig['recall']:.4f}  "
            f"F1 {fig['f1']:.4f}",
            flush=True,
        )
    return out


def train_baseline(splits: dict[str, list[LabelledSentence]]) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectoriser = TfidfVectorizer(ngram_range=(1, 3), min_df=2, sublinear_tf=True)
    x_train = vectoriser.fit_transform([s.text for s in splits["train"]])
    classifier = LogisticRegression(C=2.0, class_weight="balanced", max_iter=2000, random_state=SEED)
    classifier.fit(x_train, [s.label for s in splits["train"]])

    def scores(split: str) -> np.ndarray:
        return np.asarray(classifier.predict_proba(vectoriser.transform([s.text for s in splits[split]]))[:, 1])

    return {
        "tuned": report("tfidf+logreg", splits, scores("dev"), scores("dev-test")),
        "at_0.5": report("tfidf+logreg @0.5", splits, scores("dev"), scores("dev-test"), threshold=0.5),
    }


def batches(lengths: list[int], rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar lengths: shuffle, sort within pools of 50 batches, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = BATCH_SIZE * 50
    out: list[list[int]] = []
    for begin in range(0, len(order), pool):
        chunk = sorted(order[begin : begin + pool], key=lambda i: lengths[i])
        out.extend(chunk[i : i + BATCH_SIZE] for i in range(0, len(chunk), BATCH_SIZE))
    rng.shuffle(out)
    return out


def torch_scores(model: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    import torch

    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    scores = np.zeros(len(texts), dtype=np.float32)
    with torch.no_grad():
        for begin in range(0, len(order), 64):
            idx = order[begin : begin + 64]
            enc = tokenizer(
                [texts[i] for i in idx],
                truncation=True,
                max_length=MAX_LENGTH,
                padding=True,
                return_tensors="pt",
                return_token_type_ids=False,
            )
            logits = model(**enc).logits
            scores[idx] = torch.softmax(logits, dim=-1)[:, 1].numpy()
    return scores


def build_model(head_layers: int, **kwargs: Any) -> Any:
    """all-MiniLM-L6-v2 with a 2-way classifier, cut to the trunk's layers and ``head_layers`` more."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(minilm_dir()), num_labels=2, **kwargs)
    keep = FROZEN_LAYERS + head_layers
    if not 1 <= head_layers <= len(model.bert.encoder.layer) - FROZEN_LAYERS:
        raise SystemExit(f"--head-layers must be 1 to {len(model.bert.encoder.layer) - FROZEN_LAYERS}")
    model.bert.encoder.layer = model.bert.encoder.layer[:keep]
    model.config.num_hidden_layers = keep
    return model


def train_model(
    splits: dict[str, list[LabelledSentence]], *, epochs: int, threads: int = 2, head_layers: int = HEAD_LAYERS
) -> tuple[Any, Any, dict[str, Any]]:
    import torch
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    torch.set_num_threads(threads)
    seed_everything(SEED)
    base = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = build_model(head_layers)
    frozen = freeze_trunk(model.bert, FROZEN_LAYERS)
    train = splits["train"]
    encoded = tokenizer([s.text for s in train], truncation=True, max_length=MAX_LENGTH, return_token_type_ids=False)
    ids: list[list[int]] = encoded["input_ids"]
    labels = torch.tensor([int(s.label) for s in train])
    rng = random.Random(SEED)
    steps_per_epoch = math.ceil(len(train) / BATCH_SIZE)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=LEARNING_RATE, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(
        optimiser, int(WARMUP_SHARE * steps_per_epoch * epochs), steps_per_epoch * epochs
    )
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, Any]] | None = None
    for epoch in range(1, epochs + 1):
        model.train()
        for module in frozen:  # the trunk computes as it does at run time: no dropout
            module.eval()
        started = time.time()
        total = 0.0
        for step, batch in enumerate(batches([len(x) for x in ids], rng), start=1):
            width = max(len(ids[i]) for i in batch)
            input_ids = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                mask[row, : len(ids[i])] = 1
            loss = model(input_ids=input_ids, attention_mask=mask, labels=labels[batch]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            total += float(loss)
            if step % 100 == 0:
                print(
                    f"epoch {epoch} step {step}/{steps_per_epoch} loss {total / step:.4f} "
                    f"({time.time() - started:.0f}s)",
                    flush=True,
                )
        dev_scores = torch_scores(model, tokenizer, [s.text for s in splits["dev"]])
        test_scores = torch_scores(model, tokenizer, [s.text for s in splits["dev-test"]])
        figures = report(f"minilm torch epoch {epoch}", splits, dev_scores, test_scores)
        history.append({"epoch": epoch, "loss": total / steps_per_epoch, "seconds": time.time() - started, **figures})
        if best is None or figures["dev"]["f1"] > best[0]:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best = (figures["dev"]["f1"], epoch, state)
    assert best is not None
    model.load_state_dict(best[2])
    print(f"best epoch on dev: {best[1]} (dev F1 {best[0]:.4f})", flush=True)
    return model, tokenizer, {"history": history, "best_epoch": best[1]}


def export(
    model: Any,
    splits: dict[str, list[LabelledSentence]],
    *,
    head_layers: int = HEAD_LAYERS,
    model_dir: Path = MODEL_DIR,
    run_dir: Path = RUN_DIR,
) -> dict[str, Any]:
    """Export to ONNX fp32 and int8, score both with the runtime code, write the model folder (the shipped one by
    default)."""
    import torch

    from crosscheck.analyze.claims import score_sentences
    from crosscheck.models.runtime import load_onnx_model
    from training.split_encoder import keep_head

    # Export through the eager attention path (plain ops that ONNX opset 17 covers).
    eager = build_model(head_layers, attn_implementation="eager")
    eager.load_state_dict(model.state_dict())

    class Logits(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    out_dir = run_dir / "onnx"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shipped_trunk = MODEL_DIR.parent / "encoder-trunk" / "model.onnx"  # always the shipped trunk
    if not shipped_trunk.exists():
        raise SystemExit(f"{shipped_trunk} is missing: run python -m training.sentence_encoder.export first")
    example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
    export_onnx_int8(
        Logits(eager),
        out_dir,
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        example_inputs=example,
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "logits": {0: "batch"},
        },
        tokenizer_json=minilm_dir() / "tokenizer.json",
        keep_fp32=True,
    )
    # The whole int8 model -> its head above the shared trunk (whose weights must be the shipped trunk's).
    figures: dict[str, Any] = {
        "trunk_is_shipped_trunk": keep_head(out_dir / "model.onnx", FROZEN_LAYERS, shipped_trunk)
    }
    print(f"trunk weights equal the shipped trunk's: {figures['trunk_is_shipped_trunk']}", flush=True)
    config = {"labels": ["No", "Yes"], "positive_label": "Yes", "max_length": MAX_LENGTH, "pad_id": 0}
    head = {"trunk": "encoder-trunk", "trunk_layers": FROZEN_LAYERS}
    fp32_dir = run_dir / "onnx-fp32"
    if fp32_dir.exists():
        shutil.rmtree(fp32_dir)
    fp32_dir.mkdir(parents=True)
    shutil.move(out_dir / "model.fp32.onnx", fp32_dir / "model.onnx")
    shutil.copy(out_dir / "tokenizer.json", fp32_dir / "tokenizer.json")
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, folder in (("onnx fp32", fp32_dir), ("onnx int8 weights", out_dir)):
        (folder / "config.json").write_text(json.dumps(config if folder == fp32_dir else {**config, **head}))
        onnx_model = load_onnx_model(str(folder), threads=1)
        scores[name] = tuple(
            score_sentences([s.text for s in splits[k]], model=onnx_model) for k in ("dev", "dev-test")
        )
        figures[name] = report(name, splits, *scores[name])
    threshold = figures["onnx int8 weights"]["dev"]["threshold"]
    fp32_threshold = figures["onnx fp32"]["dev"]["threshold"]
    figures["onnx int8 weights at fp32 threshold"] = report(
        "int8 weights @fp32 thr", splits, *scores["onnx int8 weights"], threshold=fp32_threshold
    )
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(out_dir / "model.onnx", model_dir / "model.onnx")
    (model_dir / "tokenizer.json").unlink(missing_ok=True)  # the trunk's tokenizer is the model's
    shipped = {
        **config,
        **head,
        "threshold": threshold,
        "threshold_tuning": THRESHOLD_TUNING,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2",
        "frozen": f"embeddings and encoder layers 0-{FROZEN_LAYERS - 1} (the shared trunk)",
        "head_layers": head_layers,
        "training_data": "CheckThat! 2024 Task 1 English train",
        "date": time.strftime("%Y-%m-%d"),
    }
    (model_dir / "config.json").write_text(json.dumps(shipped, indent=2) + "\n")
    figures["size_bytes"] = (model_dir / "model.onnx").stat().st_size
    print(f"wrote {model_dir} (model.onnx {figures['size_bytes'] / 1e6:.1f} MB, threshold {threshold:.2f})")
    return figures


def retune_shipped(splits: dict[str, list[LabelledSentence]]) -> dict[str, Any]:
    """Score the shipped model with the claims stage's code, tune its threshold on dev, write it to its config."""
    from crosscheck.analyze.claims import score_sentences
    from crosscheck.models.runtime import load_onnx_model

    onnx_model = load_onnx_model(str(MODEL_DIR), threads=2)
    dev, test = (score_sentences([s.text for s in splits[k]], model=onnx_model) for k in ("dev", "dev-test"))
    previous = float(onnx_model.config["threshold"])
    figures = {
        "previous threshold": report("shipped, previous thr", splits, dev, test, threshold=previous),
        "retuned": report("shipped, dev-tuned thr", splits, dev, test),
    }
    config = json.loads((MODEL_DIR / "config.json").read_text())
    config.update(threshold=figures["retuned"]["dev"]["threshold"], threshold_tuning=THRESHOLD_TUNING)
    (MODEL_DIR / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(f"wrote {MODEL_DIR / 'config.json'} (threshold {previous:.2f} -> {config['threshold']:.2f})")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-only", action="store_true")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument(
        "--head-layers", type=int, default=HEAD_LAYERS, help=f"layers trained above the trunk (default {HEAD_LAYERS})"
    )
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="where the model goes (the shipped one)")
    parser.add_argument("--run-dir", type=Path, default=RUN_DIR, help="checkpoint, ONNX files and figures")
    parser.add_argument("--export-only", action="store_true", help="export the saved best checkpoint again")
    parser.add_argument("--retune-only", action="store_true", help="re-tune the shipped model's threshold on dev")
    args = parser.parse_args()
    splits = load_splits()
    print({k: (len(v), sum(s.label for s in v)) for k, v in splits.items()}, flush=True)
    run_dir: Path = args.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.retune_only:
        figures = retune_shipped(splits)
        (run_dir / "retune.json").write_text(json.dumps(figures, indent=2) + "\n")
        return
    figures: dict[str, Any] = {"baseline": train_baseline(splits)}
    checkpoint = run_dir / "best.pt"
    where = {"head_layers": args.head_layers, "model_dir": args.model_dir, "run_dir": run_dir}
    if args.export_only:
        import torch

        model = build_model(args.head_layers)
        model.load_state_dict(torch.load(checkpoint))
        previous = run_dir / "figures.json"
        if previous.exists():
            figures["training"] = json.loads(previous.read_text()).get("training")
        figures.update(export(model, splits, **where))
    elif not args.baseline_only:
        import torch

        model, _tokenizer, training = train_model(
            splits, epochs=args.epochs, threads=args.threads, head_layers=args.head_layers
        )
        torch.save(model.state_dict(), checkpoint)
        figures["training"] = training
        (run_dir / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
        figures.update(export(model, splits, **where))
    (run_dir / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
