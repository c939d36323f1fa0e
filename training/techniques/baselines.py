"""Baselines for PTC dev, scored with the official metrics (printed; copied into docs/evaluation.md).

SI: every line is a span; a lexicon of words that are mostly inside spans in PTC train (count >= 5, in-span
share >= 0.5), each match a span, adjacent matches merged. TC (gold spans): the majority technique; TF-IDF word
1-2-grams + character 2-5-grams of the span text with logistic regression (C chosen on dev from 4 values).

    python -m training.techniques.baselines
"""

from __future__ import annotations

import re
from collections import Counter

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

from crosscheck.evaluate.ptc import PtcSpan, joint_scores, merge_spans, si_scores, tc_micro_f1
from training.techniques.data import Split, line_spans, load_split

WORD = re.compile(r"\w+")


def every_line(split: Split) -> list[PtcSpan]:
    return [PtcSpan(aid, s, e) for aid, text in split.articles.items() for s, e in line_spans(text)]


def learn_lexicon(train: Split, *, min_count: int = 5, min_share: float = 0.5) -> set[str]:
    inside: Counter[str] = Counter()
    total: Counter[str] = Counter()
    gold: dict[str, list[tuple[int, int]]] = {}
    for s in train.spans:
        gold.setdefault(s.article_id, []).append((s.start, s.end))
    for aid, text in train.articles.items():
        spans = merge_spans(gold.get(aid, []))
        for m in WORD.finditer(text):
            w = m.group().lower()
            total[w] += 1
            if any(s <= m.start() and m.end() <= e for s, e in spans):
                inside[w] += 1
    return {w for w, n in total.items() if n >= min_count and inside[w] / n >= min_share}


def lexicon_spans(split: Split, lexicon: set[str]) -> list[PtcSpan]:
    out = []
    for aid, text in split.articles.items():
        hits = [(m.start(), m.end()) for m in WORD.finditer(text) if m.group().lower() in lexicon]
        merged: list[tuple[int, int]] = []
        for s, e in hits:
            if merged and text[merged[-1][1] : s].strip() == "":
                merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        out.extend(PtcSpan(aid, s, e) for s, e in merged)
    return out


def main() -> None:
    train, dev = load_split("train"), load_split("dev")
    lines = every_line(dev)
    s = si_scores(lines, dev.spans)
    print(f"SI every line is a span: P {s.precision:.4f} R {s.recall:.4f} F1 {s.f1:.4f}")
    lexicon = learn_lexicon(train)
    lex = lexicon_spans(dev, lexicon)
    s = si_scores(lex, dev.spans)
    print(f"SI lexicon ({len(lexicon)} words): P {s.precision:.4f} R {s.recall:.4f} F1 {s.f1:.4f}")

    majority = Counter(sp.technique for sp in train.spans).most_common(1)[0][0]
    pred = [PtcSpan(sp.article_id, sp.start, sp.end, majority) for sp in dev.spans]
    print(f"TC majority ({majority}): micro-F1 {tc_micro_f1(pred, dev.spans):.4f}")
    joint = joint_scores([PtcSpan(x.article_id, x.start, x.end, majority) for x in lex], dev.spans)
    print(f"Joint lexicon + majority: P {joint.precision:.4f} R {joint.recall:.4f} F1 {joint.f1:.4f}")

    def texts(split: Split) -> list[str]:
        return [split.articles[sp.article_id][sp.start : sp.end] for sp in split.spans]

    best = (0.0, 0.0)
    for c in (1.0, 3.0, 10.0, 30.0):
        model = make_pipeline(
            make_union(
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
            ),
            LogisticRegression(C=c, max_iter=2000),
        )
        model.fit(texts(train), [sp.technique for sp in train.spans])
        labels = model.predict(texts(dev))
        pred = [PtcSpan(sp.article_id, sp.start, sp.end, str(lab)) for sp, lab in zip(dev.spans, labels, strict=True)]
        f1 = tc_micro_f1(pred, dev.spans)
        print(f"TC TF-IDF + LR (C={c}): micro-F1 {f1:.4f}")
        best = max(best, (f1, c))
    print(f"TC TF-IDF + LR best: micro-F1 {best[0]:.4f} (C={best[1]})")


if __name__ == "__main__":
    main()
