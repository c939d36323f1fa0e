"""Could the technique classifier be a head over the tagger's hidden states? (Measured; not shipped.)

Instead of its own MiniLM pass over (span, sentence) pairs, each gold span of PTC is classified from what the tagger
already computed for its line: the tagger's last hidden states averaged and max-pooled over the span's word pieces,
the line's [CLS] state, the tagger's per-technique outputs averaged over the span, and the classifier's span
features; a logistic regression (standardised inputs, C swept) is fitted on train and scored on dev with the official
TC micro-F1. The shipped classifier scores 0.612 there; this head scored 0.560 at best (C 0.01), so it was not adopted.

    python -m training.techniques.tc_from_tagger          # about 3 minutes on one core
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

#: The tagger's last encoder layer, added as an output of its graph.
LAST_HIDDEN = "/encoder/encoder/layer.5/output/LayerNorm/LayerNormalization_output_0"
MAX_LENGTH = 128


def main() -> None:
    import onnx
    from sklearn.linear_model import LogisticRegression

    from crosscheck.analyze.technique_features import context_bounds, span_features
    from crosscheck.evaluate.ptc import TECHNIQUES, tc_micro_f1
    from crosscheck.evaluate.techniques import label_spans
    from crosscheck.models.runtime import MODELS_DIR, inference_session, load_onnx_model
    from training.techniques.data import Split, load_split

    tagger = load_onnx_model("techniques-si", 1)
    graph = onnx.load(str(MODELS_DIR / "techniques-si" / "model.onnx"))
    graph.graph.output.append(onnx.helper.make_tensor_value_info(LAST_HIDDEN, onnx.TensorProto.FLOAT, None))
    session = inference_session(graph.SerializeToString())
    tokenizer = tagger.tokenizer
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_LENGTH)
    states: dict[str, tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]] = {}

    def line_states(text: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
        if text not in states:
            enc = tokenizer.encode(text)
            feeds = {"input_ids": np.array([enc.ids]), "attention_mask": np.array([enc.attention_mask])}
            logits, hidden = session.run(None, feeds)
            states[text] = (hidden[0], logits[0], enc.offsets)
        return states[text]

    def features(split: Split) -> tuple[np.ndarray, np.ndarray]:
        rows: list[np.ndarray] = []
        gold: list[int] = []
        for span in split.spans:
            article = split.articles[span.article_id]
            start, end = context_bounds(article, span.start, span.end)
            hidden, logits, offsets = line_states(article[start:end])
            low, high = span.start - start, span.end - start
            inside = [j for j, (a, b) in enumerate(offsets) if b > a and a < high and b > low]
            pooled = hidden[inside].mean(0) if inside else hidden.mean(0)
            peak = hidden[inside].max(0) if inside else pooled
            outputs = logits[inside, 1:].mean(0) if inside else np.zeros(logits.shape[1] - 1)
            extra = span_features(article, span.start, span.end, start, end)
            rows.append(np.concatenate([pooled, peak, hidden[0], outputs, extra]))
            gold.append(TECHNIQUES.index(span.technique))
        return np.asarray(rows, dtype=np.float32), np.asarray(gold)

    started = time.time()
    train, dev = load_split("train"), load_split("dev")
    x_train, y_train = features(train)
    x_dev, _ = features(dev)
    print(f"features: train {x_train.shape}, dev {x_dev.shape} ({time.time() - started:.0f} s)", flush=True)
    mean, scale = x_train.mean(0), x_train.std(0) + 1e-6
    results: dict[float, Any] = {}
    for c in (0.01, 0.03, 0.1, 0.3):
        model = LogisticRegression(C=c, max_iter=3000).fit((x_train - mean) / scale, y_train)
        probs = model.predict_proba((x_dev - mean) / scale)
        results[c] = tc_micro_f1(label_spans(dev.spans, probs, TECHNIQUES), dev.spans)
        print(f"C {c}: dev TC micro-F1 {results[c]:.4f}", flush=True)
    best = max(results, key=lambda k: results[k])
    print(f"best: C {best}, dev TC micro-F1 {results[best]:.4f} (shipped classifier: 0.612)")


if __name__ == "__main__":
    main()
