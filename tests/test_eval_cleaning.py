"""Evaluation gate: boilerplate removal on trafilatura's evaluation pages must not slide back.

Floors sit a little under the figures in docs/evaluation.md (measured 2026-11-22: crosscheck-html F1 0.922,
trafilatura-fast 0.921; 2026-12-01: text-cleaner 0.815, its floor raised from 0.78). Lower a floor only with a note
in docs/evaluation.md saying why.
"""

from __future__ import annotations

import pytest

from conftest import datasets_or_skip
from crosscheck.evaluate.cleaning import evaluate_cleaning

FLOORS = {"crosscheck-html": 0.915, "text-cleaner": 0.80}


@pytest.mark.datasets
@pytest.mark.slow
def test_cleaning_scores_hold() -> None:
    data = datasets_or_skip("trafilatura-eval")
    scores = evaluate_cleaning(data, methods=("crosscheck-html", "trafilatura-fast", "text-cleaner"))
    for method, floor in FLOORS.items():
        assert scores[method].f1 >= floor, f"{method} F1 {scores[method].f1:.4f} fell under {floor}"
    # Chaining the cleaner after trafilatura's fast mode must not cost F1.
    assert scores["crosscheck-html"].f1 >= scores["trafilatura-fast"].f1
    # Cleaning text pages must keep most of the story.
    assert scores["text-cleaner"].recall >= 0.90
