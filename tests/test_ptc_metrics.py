"""The PTC (SemEval-2020 Task 11) metrics on hand-made cases with answers worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.evaluate.ptc import (
    PtcSpan,
    joint_scores,
    merge_spans,
    parse_label_lines,
    read_labels,
    si_scores,
    tc_micro_f1,
    write_si,
    write_tc,
)


def S(start: int, end: int, technique: str = "", article: str = "1") -> PtcSpan:
    return PtcSpan(article, start, end, technique)


def test_merge_spans_joins_overlaps_only() -> None:
    assert merge_spans([(5, 10), (0, 6), (10, 12), (20, 20)]) == [(0, 10), (10, 12)]


def test_si_perfect_and_empty() -> None:
    gold = [S(0, 10), S(20, 30)]
    assert si_scores(gold, gold).f1 == pytest.approx(1.0)
    empty = si_scores([], gold)
    assert (empty.precision, empty.recall, empty.f1) == (0.0, 0.0, 0.0)


def test_si_partial_overlap() -> None:
    # pred [0,10) vs gold [5,25): overlap 5 -> P = 5/10, R = 5/20.
    s = si_scores([S(0, 10)], [S(5, 25)])
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(0.25)
    assert s.f1 == pytest.approx(2 * 0.5 * 0.25 / 0.75)


def test_si_one_prediction_covering_two_gold_spans() -> None:
    # pred [0,40) covers gold [0,10) and [30,40): P = (10 + 10) / 40 = 0.5 over 1 span; R = (1 + 1) / 2 = 1.
    s = si_scores([S(0, 40)], [S(0, 10), S(30, 40)])
    assert (s.precision, s.recall) == (pytest.approx(0.5), pytest.approx(1.0))


def test_si_merges_overlapping_spans_and_ignores_labels() -> None:
    # gold [0,10) Loaded + [5,15) Doubt merge to [0,15) for SI; pred [0,15) matches it exactly.
    s = si_scores([S(0, 15, "x")], [S(0, 10, "Loaded_Language"), S(5, 15, "Doubt")])
    assert (s.precision, s.recall, s.n_gold) == (pytest.approx(1.0), pytest.approx(1.0), 1)


def test_si_other_article_never_counts() -> None:
    s = si_scores([S(0, 10, article="2")], [S(0, 10, article="1")])
    assert s.f1 == 0.0


def test_joint_counts_only_matching_techniques() -> None:
    gold = [S(0, 10, "Loaded_Language"), S(20, 30, "Doubt")]
    pred = [S(0, 10, "Loaded_Language"), S(20, 30, "Repetition")]
    j = joint_scores(pred, gold)
    assert (j.precision, j.recall) == (pytest.approx(0.5), pytest.approx(0.5))
    assert si_scores(pred, gold).f1 == pytest.approx(1.0)


def test_tc_micro_f1_with_duplicate_spans() -> None:
    gold = [S(0, 10, "A"), S(0, 10, "B"), S(20, 30, "C"), S(40, 50, "D")]
    # Both labels of the twice-annotated span found, (20,30) wrong, (40,50) right: 3 of 4.
    pred = [S(0, 10, "B"), S(0, 10, "A"), S(20, 30, "A"), S(40, 50, "D")]
    assert tc_micro_f1(pred, gold) == pytest.approx(0.75)
    # Predicting "A" twice for the duplicated span only earns one.
    pred2 = [S(0, 10, "A"), S(0, 10, "A"), S(20, 30, "C"), S(40, 50, "D")]
    assert tc_micro_f1(pred2, gold) == pytest.approx(0.75)


def test_label_lines_round_trip(tmp_path: Path) -> None:
    tc = parse_label_lines(["111\tDoubt\t149\t157\n", "111\tRepetition\t1069\t1091\n"])
    si = parse_label_lines(["730093263\t123\t128"])
    assert tc[0] == PtcSpan("111", 149, 157, "Doubt") and si == [PtcSpan("730093263", 123, 128)]
    write_tc(tc, tmp_path / "tc.txt")
    write_si(si, tmp_path / "si.txt")
    assert read_labels(tmp_path / "tc.txt") == tc and read_labels(tmp_path / "si.txt") == si
    with pytest.raises(ValueError):
        parse_label_lines(["just one column"])
