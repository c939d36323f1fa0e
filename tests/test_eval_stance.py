"""Stance (FNC-1): the official weighted score, the split by claim, and the evaluation gate of the shipped model."""

from __future__ import annotations

import pytest

from conftest import datasets_or_skip
from crosscheck.evaluate.stance import fnc_score, read_fnc1, score_stances, split_pairs

#: Floors on every 8th pair of the held-out split (the figures measured there, less a margin; see docs/evaluation.md).
FLOOR_RELATIVE = 0.81
FLOOR_MACRO_F1 = 0.55


def test_the_weighted_score_follows_the_organisers_rules() -> None:
    gold = ["agree", "disagree", "discuss", "unrelated"]
    assert fnc_score(gold, gold) == pytest.approx(0.25 * 4 + 0.75 * 3)
    # Related but the wrong related label: only the 0.25 for relatedness; unrelated for a related pair: nothing.
    assert fnc_score(["agree"], ["discuss"]) == pytest.approx(0.25)
    assert fnc_score(["agree"], ["unrelated"]) == 0.0
    assert fnc_score(["unrelated"], ["unrelated"]) == pytest.approx(0.25)
    scores = score_stances(gold, ["agree", "agree", "discuss", "unrelated"])
    assert scores.per_class_f1["disagree"] == 0.0 and scores.per_class_f1["discuss"] == 1.0
    assert scores.relative_score == pytest.approx((0.25 * 4 + 0.75 * 2) / (0.25 * 4 + 0.75 * 3))


@pytest.mark.datasets
def test_the_split_keeps_each_body_on_one_side() -> None:
    data = read_fnc1(datasets_or_skip("fnc-1") / "data")
    splits = split_pairs(data)
    assert set(splits) == {"train", "dev", "test"}
    seen: dict[int, str] = {}
    for name, pairs in splits.items():
        assert pairs
        for pair in pairs:
            assert seen.setdefault(pair.body_id, name) == name
    related_test = {p.headline for p in splits["test"] if p.stance != "unrelated"}
    related_train = {p.headline for p in splits["train"] if p.stance != "unrelated"}
    assert not related_test & related_train  # a claim is judged against its bodies on one side only


@pytest.mark.datasets
@pytest.mark.slow
def test_stance_gate() -> None:
    from crosscheck.evaluate.stance import evaluate_model

    data = read_fnc1(datasets_or_skip("fnc-1") / "data")
    sample = split_pairs(data)["test"][::8]
    scores = evaluate_model(sample, data)
    assert scores.relative_score >= FLOOR_RELATIVE, scores.to_dict()
    assert scores.macro_f1 >= FLOOR_MACRO_F1, scores.to_dict()
