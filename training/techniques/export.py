r"""Export the techniques models to ONNX with int8 weights, tune their decoding on PTC dev, print the dev figures.

1. ``techniques-si`` (token tagger) and ``techniques-tc`` (span classifier) -> ONNX -> int8 weights (per channel,
   ``training.quantize_weights``) and row-quantised int8 products (``training.quantize_rows``).
2. With the shipped models and the library's decoding: the SI decoding options (seed threshold, grow threshold,
   gap merging, minimum length, peak words) are chosen on dev (coordinate search for SI F1); the TC stacker, a logistic
   regression over the encoder's log-probabilities and the span features, is fitted on train (C chosen on dev);
   the classifier's run-time token limit is chosen on dev (the shortest within 0.005 of the best micro-F1).
3. Prints dev SI P/R/F1, TC micro-F1 and joint F1 with the chosen settings (what ``crosscheck eval techniques``
   reproduces).

    python -m training.techniques.export --si training/runs/si/best.pt --tc training/runs/tc/best.pt
    python -m training.techniques.export --si training/runs/si/best.pt --si-only    # a new tagger, same classifier
    python -m training.techniques.export --skip-export    # re-tune the shipped models on dev (no torch needed)
    python -m training.techniques.export --si training/runs/si_trunk/best.pt --frozen-layers 3 \
        --tc training/runs/tc_trunk/best.pt --tc-head-layers 3    # both above the shared encoder trunk
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from crosscheck.analyze.technique_decode import DecodeOptions
from crosscheck.analyze.technique_features import FEATURE_NAMES, context_bounds, span_features
from crosscheck.analyze.techniques import TechniqueModel
from crosscheck.evaluate.ptc import TECHNIQUES, PtcSpan, joint_scores, si_scores, tc_micro_f1
from crosscheck.evaluate.techniques import classify_spans, label_spans, line_bounds
from crosscheck.models.runtime import MODELS_DIR, load_onnx_model
from training.common import export_onnx_int8, minilm_dir
from training.split_encoder import HIDDEN, TRUNK_LAYERS
from training.techniques.data import Split, load_split, tokenizer_json


def export_si(checkpoint: Path, out: Path, *, trunk_layers: int = 0) -> None:
    """Export the tagger; trained above the shared encoder trunk (``trunk_layers`` frozen), only its head ships."""
    import torch
    from transformers import AutoModel

    from training.split_encoder import keep_head
    from training.techniques.train_si import MAX_LEN, Tagger

    model = Tagger(AutoModel.from_pretrained(str(minilm_dir())))
    model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    ids = torch.ones((2, 16), dtype=torch.long)
    export_onnx_int8(
        model,
        out,
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        example_inputs=(ids, torch.ones_like(ids)),
        dynamic_axes={
            "input_ids": {0: "batch", 1: "seq"},
            "attention_mask": {0: "batch", 1: "seq"},
            "logits": {0: "batch", 1: "seq"},
        },
        tokenizer_json=tokenizer_json(),
    )
    config: dict[str, object] = {"max_length": MAX_LEN, "pad_id": 0, "outputs": ["in_span", *TECHNIQUES], "decode": {}}
    if trunk_layers:
        same = keep_head(out / "model.onnx", trunk_layers, MODELS_DIR / "encoder-trunk" / "model.onnx")
        print(f"tagger trunk weights equal the shipped trunk's: {same}", flush=True)
        (out / "tokenizer.json").unlink()  # the trunk's tokenizer is the tagger's
        config.update(trunk="encoder-trunk", trunk_layers=trunk_layers)
    (out / "config.json").write_text(json.dumps(config, indent=1))


def export_tc(checkpoint: Path, out: Path, prior: list[int]) -> None:
    import torch
    from transformers import AutoModel

    from training.techniques.train_si import MAX_LEN
    from training.techniques.train_tc import N_FEATS, SpanClassifier

    model = SpanClassifier(AutoModel.from_pretrained(str(minilm_dir())))
    model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    ids = torch.ones((2, 16), dtype=torch.long)
    axes = {0: "batch", 1: "seq"}
    export_onnx_int8(
        model,
        out,
        input_names=["input_ids", "attention_mask", "token_type_ids", "features"],
        output_names=["logits"],
        example_inputs=(ids, torch.ones_like(ids), torch.zeros_like(ids), torch.zeros((2, N_FEATS))),
        dynamic_axes={
            "input_ids": axes,
            "attention_mask": axes,
            "token_type_ids": axes,
            "features": {0: "batch"},
            "logits": {0: "batch"},
        },
        tokenizer_json=tokenizer_json(),
    )
    write_tc_config(out, MAX_LEN, prior)


def write_tc_config(out: Path, max_length: int, prior: list[int], **more: object) -> None:
    """A classifier's ``config.json``: token limit, labels, feature names, train counts (and ``more``)."""
    config = {
        "max_length": max_length,
        "pad_id": 0,
        "labels": list(TECHNIQUES),
        "features": list(FEATURE_NAMES),
        "prior": prior,
        **more,
    }
    (out / "config.json").write_text(json.dumps(config, indent=1))


def export_tc_trunk(checkpoint: Path, out: Path, prior: list[int], head_layers: int) -> None:
    """Export a classifier trained above the shared encoder trunk (``training.techniques.train_tc_trunk``): its
    inputs are the trunk's hidden states of the span's context, the attention mask, the span's token mask and the
    span features."""
    import torch
    from transformers import AutoModel

    from training.techniques.train_tc_trunk import MAX_LEN, N_FEATS, TrunkSpanClassifier

    encoder = AutoModel.from_pretrained(str(minilm_dir()), attn_implementation="eager")
    model = TrunkSpanClassifier(encoder, head_layers)
    model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    states = torch.zeros((2, 16, encoder.config.hidden_size))
    axes = {0: "batch", 1: "seq"}
    export_onnx_int8(
        model,
        out,
        input_names=[HIDDEN, "attention_mask", "span_mask", "features"],
        output_names=["logits"],
        example_inputs=(states, torch.ones((2, 16), dtype=torch.long), torch.ones((2, 16)), torch.zeros((2, N_FEATS))),
        dynamic_axes={
            HIDDEN: axes,
            "attention_mask": axes,
            "span_mask": axes,
            "features": {0: "batch"},
            "logits": {0: "batch"},
        },
        tokenizer_json=tokenizer_json(),
    )
    (out / "tokenizer.json").unlink()  # the trunk's tokenizer is the classifier's
    write_tc_config(out, MAX_LEN, prior, trunk="encoder-trunk", trunk_layers=TRUNK_LAYERS, head_layers=head_layers)


def update_config(folder: Path, **values: object) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(values)
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    load_onnx_model.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--si", type=Path, default=Path("training/runs/si/best.pt"))
    parser.add_argument("--tc", type=Path, default=Path("training/runs/tc/best.pt"))
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument("--skip-export", action="store_true", help="Only re-tune and re-score the exported models.")
    parser.add_argument("--si-only", action="store_true", help="Export the tagger only (the classifier as shipped).")
    parser.add_argument("--tc-only", action="store_true", help="Export the classifier only (the tagger as shipped).")
    parser.add_argument(
        "--frozen-layers",
        type=int,
        default=0,
        help=f"encoder layers the tagger kept frozen ({TRUNK_LAYERS}: ship its head above the shared trunk; 0: none)",
    )
    parser.add_argument(
        "--tc-head-layers",
        type=int,
        default=0,
        help="the classifier (--tc) was trained above the shared trunk with this many layers of its own "
        "(training.techniques.train_tc_trunk); 0: a classifier of its own encoder (training.techniques.train_tc)",
    )
    args = parser.parse_args()
    si_dir, tc_dir = args.out / "techniques-si", args.out / "techniques-tc"
    train, dev = load_split("train"), load_split("dev")
    counts = Counter(s.technique for s in train.spans)
    if not args.skip_export:
        import torch

        torch.set_num_threads(2)
        if not args.tc_only:
            export_si(args.si, si_dir, trunk_layers=args.frozen_layers)
        if args.tc_head_layers:
            export_tc_trunk(args.tc, tc_dir, [counts[t] for t in TECHNIQUES], args.tc_head_layers)
        elif not args.si_only:
            export_tc(args.tc, tc_dir, [counts[t] for t in TECHNIQUES])
    # The classifier is re-tuned from the token limit it was trained with (the tagger's); a re-tune also starts its
    # decoding search from the decoding shipped so far.
    si_config = json.loads((si_dir / "config.json").read_text())
    max_len = int(si_config["max_length"])
    previous = dict(si_config.get("decode") or {})
    update_config(si_dir, decode={})
    above_trunk = bool(json.loads((tc_dir / "config.json").read_text()).get("trunk"))
    update_config(tc_dir, stacker=None, max_length=max_len)
    model = TechniqueModel(si_model=str(si_dir), tc_model=str(tc_dir))

    # SI: tag once, choose the decoding on dev.
    ids = sorted(dev.articles)
    texts = [dev.articles[i] for i in ids]
    t0 = time.time()
    tagged = model.tag(texts, [line_bounds(t) for t in texts])
    n_lines = sum(len(t) for t in tagged)
    print(f"tagged {n_lines} dev lines in {time.time() - t0:.1f}s")

    def score(options: DecodeOptions) -> tuple[float, list[PtcSpan]]:
        pred = [
            PtcSpan(aid, c.span.start, c.span.end)
            for aid, text, tags in zip(ids, texts, tagged, strict=True)
            for c in model.decode(text, tags, options)
        ]
        return si_scores(pred, dev.spans).f1, pred

    plain = max((score(DecodeOptions(threshold=t, low=t))[0], t) for t in np.arange(0.1, 0.61, 0.05))
    print(f"SI F1 with the training script's decoding (threshold sweep): {plain[0]:.4f} at {plain[1]:.2f}")
    # Coordinate search from the plain threshold (or the decoding shipped so far, when that is better on dev): grow
    # threshold, peak words, gap merging, minimum length, then the seed threshold again.
    best_opts = DecodeOptions(threshold=round(float(plain[1]), 2), low=round(float(plain[1]), 2))
    best_f1 = plain[0]
    if previous:
        previous_f1, _ = score(DecodeOptions(**previous))
        print(f"SI F1 with the decoding shipped so far {previous}: {previous_f1:.4f}")
        if previous_f1 > best_f1:
            best_f1, best_opts = previous_f1, DecodeOptions(**previous)
    grids = {
        "low": [round(best_opts.threshold - d, 2) for d in (0.05, 0.1, 0.15, 0.2)],
        "peak_ratio": [5.0, 10.0, 20.0],
        "peak_floor": [0.1, 0.15, 0.2, 0.25, 0.3],
        "max_gap_chars": [1, 2, 4, 8, 16],
        "min_chars": [2, 4, 8, 12],
        "threshold": [round(best_opts.threshold + d, 2) for d in (-0.1, -0.05, 0.05, 0.1)],
    }
    for field, values in grids.items():
        for value in values:
            values_now = {**best_opts.__dict__, field: value}
            if field == "peak_ratio" and best_opts.peak_floor >= 1.0:
                values_now["peak_floor"] = 0.2  # the ratio is only searched with peaks on
            opts = DecodeOptions(**values_now)
            if opts.low > opts.threshold:
                continue
            f1, _ = score(opts)
            print(f"  {opts}: SI F1 {f1:.4f}")
            if f1 > best_f1 + 1e-4:
                best_f1, best_opts = f1, opts
    print(f"chosen decoding: {best_opts} -> dev SI F1 {best_f1:.4f}")
    update_config(si_dir, decode=best_opts.__dict__)

    # TC: logistic regression over [encoder log-probabilities, span features], fitted on train; C chosen on dev.
    def tc_inputs(split: Split) -> np.ndarray:
        items = [
            (
                split.articles[s.article_id],
                s.start,
                s.end,
                *context_bounds(split.articles[s.article_id], s.start, s.end),
            )
            for s in split.spans
        ]
        feats = np.stack([span_features(*item) for item in items])
        return np.hstack([np.log(model.classify(items) + 1e-9), feats])

    x_train, x_dev = tc_inputs(train), tc_inputs(dev)
    plain_tc = tc_micro_f1(label_spans(dev.spans, x_dev[:, : len(TECHNIQUES)], TECHNIQUES), dev.spans)
    print(f"TC micro-F1 of the encoder alone: {plain_tc:.4f}")
    y_train = [TECHNIQUES.index(s.technique) for s in train.spans]
    best_tc, best_lr = -1.0, None
    for c in (0.01, 0.03, 0.1, 0.3, 1.0):
        lr = LogisticRegression(C=c, max_iter=5000).fit(x_train, y_train)
        f1 = tc_micro_f1(label_spans(dev.spans, lr.predict_log_proba(x_dev), TECHNIQUES), dev.spans)
        print(f"TC stacker C={c}: dev micro-F1 {f1:.4f}")
        if f1 > best_tc + 1e-9:
            best_tc, best_lr = f1, lr
    assert best_lr is not None
    stacker = {
        "C": best_lr.C,
        "coef": best_lr.coef_.round(6).tolist(),
        "intercept": best_lr.intercept_.round(6).tolist(),
    }
    update_config(tc_dir, stacker=stacker)

    # TC context length at run time: the shortest of the best (the span comes first, the sentence is cut).
    model = TechniqueModel(si_model=str(si_dir), tc_model=str(tc_dir))
    by_length = {}
    # Above the trunk the classifier reads its context's states at the tagger's token limit (cached by then).
    for max_length in (max_len,) if above_trunk else (128, 96, 64, 48, 32):
        model.tc.config["max_length"] = max_length
        by_length[max_length] = tc_micro_f1(classify_spans(model, dev.articles, dev.spans), dev.spans)
        print(f"TC max_length {max_length}: dev micro-F1 {by_length[max_length]:.4f}")
    # Take the shortest limit within 0.005 of the best (it is the fastest).
    best_len = min(k for k, v in by_length.items() if v >= max(by_length.values()) - 0.005)
    update_config(tc_dir, max_length=best_len)

    # Final figures with the shipped configuration.
    model = TechniqueModel(si_model=str(si_dir), tc_model=str(tc_dir))
    _, pred = score(model.options)
    pred = classify_spans(model, dev.articles, pred)
    si = si_scores(pred, dev.spans)
    joint = joint_scores(pred, dev.spans)
    tc = tc_micro_f1(classify_spans(model, dev.articles, dev.spans), dev.spans)
    t0 = time.time()
    model.tag(texts, [line_bounds(t) for t in texts])
    print(f"tagger: {n_lines / (time.time() - t0):.0f} lines/s (onnxruntime default threads)")
    sizes = {d.name: round(sum(f.stat().st_size for f in d.iterdir()) / 1e6, 1) for d in (si_dir, tc_dir)}
    print(
        f"DEV SI P {si.precision:.4f} R {si.recall:.4f} F1 {si.f1:.4f} ({si.n_pred} predicted, {si.n_gold} gold spans)"
    )
    print(f"DEV TC micro-F1 {tc:.4f} (stacker C={stacker['C']}, max_length {best_len})")
    print(f"DEV joint P {joint.precision:.4f} R {joint.recall:.4f} F1 {joint.f1:.4f}")
    print(f"sizes MB {sizes}")


if __name__ == "__main__":
    main()
