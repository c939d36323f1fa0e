"""The text-reuse evaluation: its metric, its generator, and the gate on generated copies of real articles."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from conftest import DATASETS
from crosscheck.evaluate import eval_group
from crosscheck.evaluate.reuse import (
    KINDS,
    MIN_GOLD_WORDS,
    covered,
    example_texts,
    generate,
    overlaps,
    run_evaluation,
)

# Floors a little under the measured figures (docs/evaluation.md, "Text reuse"). Never lower one without saying why in
# the commit message.
DATASET_FLOORS = {
    # kind: (precision, recall), measured on PTC + PolNeAR + the examples, seed 13
    "verbatim": (0.97, 0.97),  # measured 1.000 / 1.000
    "partial": (0.97, 0.95),  # measured 1.000 / 1.000
    "reordered": (0.97, 0.94),  # measured 1.000 / 0.974
    "paraphrase": (0.97, 0.95),  # measured 1.000 / 0.983
}
DATASET_FIRST_FLOOR = 0.99  # measured 1.000
EXAMPLE_RECALL_FLOOR = 0.95  # measured 1.000 (each kind)

needs_datasets = pytest.mark.skipif(
    not ((DATASETS / "ptc-semeval2020-task11").is_dir() or (DATASETS / "polnear").is_dir()),
    reason="../shared/datasets is not available",
)


def test_overlap_rule_is_half_of_the_shorter_span() -> None:
    assert overlaps((0, 100), (50, 300))  # 50 of the shorter 100
    assert not overlaps((0, 100), (51, 300))
    assert overlaps((10, 20), (0, 1000))  # a short prediction inside a long gold passage
    assert not overlaps((0, 10), (10, 20))


def test_a_gold_passage_is_found_by_predictions_together() -> None:
    gold_copy, gold_source = (100, 300), (1000, 1200)
    halves = [((90, 190), (990, 1090)), ((200, 320), (1100, 1220))]  # a run broken in two by a dropped sentence
    assert covered(gold_copy, gold_source, halves)
    assert not covered(gold_copy, gold_source, halves[:1])  # 90 of 200 characters
    elsewhere = [((100, 300), (5000, 5200))]  # the right words in the copy, linked to another place in the source
    assert not covered(gold_copy, gold_source, elsewhere)


def test_generator_is_seeded_and_its_gold_points_at_copied_text() -> None:
    texts = example_texts()
    first = generate(texts, cases_per_kind=3, seed=5, separate_worlds=True, corpus_furniture=False)
    again = generate(texts, cases_per_kind=3, seed=5, separate_worlds=True, corpus_furniture=False)
    assert [w.cases[0].copy.text for w in first] == [w.cases[0].copy.text for w in again]
    kinds = {w.cases[0].kind for w in first}
    assert kinds == set(KINDS)
    for world in first:
        case = world.cases[0]
        if case.kind == "boilerplate":
            assert not case.gold and case.expected_first is None
            continue
        assert case.gold and case.expected_first in (case.source.id, "unknown")
        for g in case.gold:
            copied = case.copy.text[g.copy_start : g.copy_end]
            original = case.source.text[g.source_start : g.source_end]
            if case.kind == "paraphrase":
                words = set(copied.split())
                assert words and len(words & set(original.split())) >= 0.6 * len(words)
            else:
                assert copied == original
    partial = next(w.cases[0] for w in first if w.cases[0].kind == "partial")
    assert any(g.words >= MIN_GOLD_WORDS for g in partial.gold)
    assert len(partial.copy.text) > sum(g.copy_end - g.copy_start for g in partial.gold)


@pytest.mark.slow
def test_gate_on_the_examples() -> None:
    result = run_evaluation(examples_only=True)
    assert result.mode == "examples"
    for kind in ("verbatim", "partial", "reordered", "paraphrase"):
        score = result.kinds[kind]
        assert score.precision == 1.0, score
        assert score.recall >= EXAMPLE_RECALL_FLOOR, score
    assert result.boilerplate_false_positives == 0
    assert result.kinds["unrelated"].predicted == 0
    assert result.overall.first_accuracy == 1.0


@pytest.mark.datasets
@pytest.mark.slow
@needs_datasets
def test_gate_on_the_datasets() -> None:
    result = run_evaluation(root=DATASETS)
    assert result.mode == "datasets"
    for kind, (precision, recall) in DATASET_FLOORS.items():
        score = result.kinds[kind]
        assert score.cases >= 40, score
        assert score.precision >= precision, score
        assert score.recall >= recall, score
    assert result.boilerplate_false_positives == 0
    assert result.overall.precision >= 0.97
    assert result.overall.first_accuracy >= DATASET_FIRST_FLOOR


@pytest.mark.slow
def test_eval_command_prints_the_table() -> None:
    result = CliRunner().invoke(eval_group, ["reuse", "--examples-only", "--seed", "7"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split()[:4] == ["kind", "cases", "gold", "pred"]
    assert any(line.startswith("verbatim ") for line in lines)
    assert lines[-1] == "boilerplate-only false positives: 0"
