"""Story evaluation: the SemEval-2022 Task 8 reader, split and metrics, and the gate of the shipped story model."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import DATASETS
from crosscheck.errors import InputError
from crosscheck.evaluate import eval_group
from crosscheck.evaluate.stories import (
    StoryPair,
    best_threshold,
    is_test,
    overall_pearson,
    pearson,
    read_pairs,
    semeval_path,
    split_pairs,
)

# Floors a little under the measured figures of the shipped model (docs/evaluation.md). Never lower them without
# saying why in the commit message.
# (scorer, split) -> floor. Test: the 49 held-out English pairs; all: the 161 English pairs, 112 seen in fitting.
PEARSON_FLOORS = {
    ("crosscheck-words", "test"): 0.75,  # measured 0.7823
    ("crosscheck-words", "all"): 0.81,  # measured 0.8361
    ("crosscheck-words+embedding", "test"): 0.81,  # measured 0.8408
    ("crosscheck-words+embedding", "all"): 0.85,  # measured 0.8758
}
# Same-story F1 on the test split (13 same-story pairs: one pair moves F1 by about 0.04).
TEST_F1_FLOORS = {"crosscheck-words": 0.62, "crosscheck-words+embedding": 0.80}  # measured 0.6957, 0.8667
BASELINE_MARGIN = 0.08  # test: words 0.7823 against 0.6435 for the TF-IDF cosine alone


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = ["pair_id", "lang1", "lang2", "text1", "text2", "Overall"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_reader_keeps_english_pairs(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "pairs.csv",
        [
            {"pair_id": "1_2", "lang1": "en", "lang2": "en", "text1": 'a, "b"\nc', "text2": "d", "Overall": "1.0"},
            {"pair_id": "3_4", "lang1": "de", "lang2": "en", "text1": "x", "text2": "y", "Overall": "2.0"},
            {"pair_id": "5_6", "lang1": "en", "lang2": "en", "text1": "e", "text2": "f", "Overall": "3.3333"},
        ],
    )
    pairs = read_pairs(path)
    assert [p.pair_id for p in pairs] == ["1_2", "5_6"]
    assert pairs[0].text1 == 'a, "b"\nc'
    assert pairs[0].same_story and not pairs[1].same_story
    assert pairs[0].target == 1.0
    assert pairs[1].target == pytest.approx((4 - 3.3333) / 3)


def test_reader_rejects_bad_files(tmp_path: Path) -> None:
    bad = _write(
        tmp_path / "bad.csv",
        [{"pair_id": "1", "lang1": "en", "lang2": "en", "text1": "a", "text2": "b", "Overall": "similar"}],
    )
    with pytest.raises(InputError):
        read_pairs(bad)
    no_column = tmp_path / "no_column.csv"
    no_column.write_text("pair_id,text1,text2\n1,a,b\n", encoding="utf-8")
    with pytest.raises(InputError):
        read_pairs(no_column)


def test_split_is_by_pair_id_and_about_thirty_percent() -> None:
    ids = [f"{1484000000 + i}_{1483000000 + 7 * i}" for i in range(2000)]
    share = sum(is_test(i) for i in ids) / len(ids)
    assert 0.27 < share < 0.33
    assert [is_test(i) for i in ids[:50]] == [is_test(i) for i in ids[:50]]
    with pytest.raises(ValueError):
        split_pairs([], "dev")


def test_pearson_and_the_overall_scale() -> None:
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 1, 1], [1, 2, 3]) == 0.0
    with pytest.raises(ValueError):
        pearson([1.0], [1.0, 2.0])
    pairs = [StoryPair("a", "", "", 1.0), StoryPair("b", "", "", 4.0), StoryPair("c", "", "", 2.0)]
    # A score of 1 is Overall 1 and a score of 0 is Overall 4: a perfect scorer correlates at +1.
    assert overall_pearson(pairs, [1.0, 0.0, 2 / 3]) == pytest.approx(1.0)
    assert overall_pearson(pairs, [0.0, 1.0, 0.3]) < -0.9


def test_best_threshold_with_beta_prefers_precision() -> None:
    gold = [True, True, True, False, False]
    scores = [0.9, 0.8, 0.3, 0.35, 0.1]
    f1_threshold, f1_prf = best_threshold(gold, scores)
    f05_threshold, f05_prf = best_threshold(gold, scores, beta=0.5)
    assert f1_prf.recall == 1.0 and f1_threshold <= 0.3  # F1: take the 0.35 false positive to reach 0.3
    assert f05_prf.precision == 1.0 and 0.35 < f05_threshold <= 0.8  # F0.5: stop above it


needs_semeval = pytest.mark.skipif(
    not semeval_path(DATASETS).exists(), reason="../shared/datasets/semeval2022-task8-sample is not available"
)


@pytest.mark.datasets
@pytest.mark.slow
@needs_semeval
def test_gate_pearson_and_f1() -> None:
    pairs = read_pairs(semeval_path(DATASETS))
    assert len(pairs) == 161
    assert len(split_pairs(pairs, "test")) == 49
    result = CliRunner().invoke(eval_group, ["stories", "--data", str(semeval_path(DATASETS))])
    assert result.exit_code == 0, result.output
    assert "test: 49 pairs, 13 same story" in result.output
    pearsons: dict[tuple[str, str], float] = {}
    f1s: dict[tuple[str, str], float] = {}
    for split, block in re.findall(r"^(test|all): .*?\n((?:  .*\n)+)", result.output, re.MULTILINE):
        for line in block.splitlines():
            name, _, value = line.split()[:3]
            pearsons[(name, split)] = float(value)
            if " F1 " in line:
                f1s[(name, split)] = float(line.split(" F1 ")[1].split()[0])
    for key, floor in PEARSON_FLOORS.items():
        assert pearsons[key] >= floor, (key, result.output)
    for name, floor in TEST_F1_FLOORS.items():
        assert f1s[(name, "test")] >= floor, (name, result.output)
    words, tfidf = pearsons[("crosscheck-words", "test")], pearsons[("tfidf-cosine", "test")]
    assert words >= tfidf + BASELINE_MARGIN, result.output
