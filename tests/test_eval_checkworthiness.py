"""Check-worthiness metrics, the CheckThat! reader, and the evaluation gate of the shipped model."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import DATASETS
from crosscheck.errors import InputError
from crosscheck.evaluate import eval_group
from crosscheck.evaluate.checkworthiness import (
    best_threshold,
    evaluate_model,
    positive_prf,
    read_checkthat_tsv,
    split_path,
)

# Floors a little under the measured figures of the shipped int8 model (docs/evaluation.md). Never lower them without
# saying why in the commit message.
DEV_TEST_F1_FLOOR = 0.83  # measured 0.8404 (behind the gate and without it; row-quantised int8 products, thr 0.48)
DEV_F1_FLOOR = 0.92  # measured 0.9328


def test_positive_prf_counts_only_the_positive_class() -> None:
    gold = [True, True, True, False, False, False]
    predicted = [True, True, False, True, False, False]
    prf = positive_prf(gold, predicted)
    assert (prf.tp, prf.fp, prf.fn) == (2, 1, 1)
    assert prf.precision == pytest.approx(2 / 3)
    assert prf.recall == pytest.approx(2 / 3)
    assert prf.f1 == pytest.approx(2 / 3)


def test_positive_prf_degenerate_cases() -> None:
    assert positive_prf([False, False], [False, False]).f1 == 0.0
    none_predicted = positive_prf([True, False], [False, False])
    assert (none_predicted.precision, none_predicted.recall, none_predicted.f1) == (0.0, 0.0, 0.0)
    all_predicted = positive_prf([True, False, False, False], [True, True, True, True])
    assert all_predicted.recall == 1.0
    assert all_predicted.f1 == pytest.approx(2 * 0.25 / 1.25)
    with pytest.raises(ValueError):
        positive_prf([True], [True, False])


def test_best_threshold_separates_scores() -> None:
    gold = [True, True, False, False, True]
    scores = [0.9, 0.7, 0.4, 0.2, 0.65]
    threshold, prf = best_threshold(gold, scores)
    assert prf.f1 == 1.0
    # Every threshold in (0.40, 0.65] is perfect; the tie goes to the one nearest 0.5.
    assert threshold == pytest.approx(0.5)


def test_best_threshold_prefers_recall_when_it_pays() -> None:
    gold = [True, True, True, False]
    scores = [0.3, 0.2, 0.9, 0.1]
    threshold, prf = best_threshold(gold, scores)
    assert prf.f1 == 1.0
    assert 0.1 < threshold <= 0.2


def test_reader_handles_quotes_and_the_fused_line(tmp_path: Path) -> None:
    path = tmp_path / "sample.tsv"
    path.write_text(
        "Sentence_id\tText\tclass_label\n"
        '19099\t"Now, let\'s balance the budget and protect Medicare, Medicaid, education and the environment."\tNo\n'
        "80\tWe're consuming 50 percent of the world's cocaine.\tYes\n"
        "24098\tWe've got to invest and grow.\tNo29286\tYou can't bring back jobs.\tNo\n",
        encoding="utf-8",
    )
    rows = read_checkthat_tsv(path)
    assert [r.id for r in rows] == ["19099", "80", "24098", "29286"]
    assert rows[0].text.startswith("Now, let's balance") and rows[0].text.endswith("environment.")
    assert [r.label for r in rows] == [False, True, False, False]
    assert rows[3].text == "You can't bring back jobs."


def test_reader_rejects_bad_labels_and_headers(tmp_path: Path) -> None:
    bad_label = tmp_path / "bad_label.tsv"
    bad_label.write_text("Sentence_id\tText\tclass_label\n1\tSome text.\tMaybe\n", encoding="utf-8")
    with pytest.raises(InputError):
        read_checkthat_tsv(bad_label)
    bad_header = tmp_path / "bad_header.tsv"
    bad_header.write_text("id\ttext\tlabel\n1\tSome text.\tYes\n", encoding="utf-8")
    with pytest.raises(InputError):
        read_checkthat_tsv(bad_header)


needs_datasets = pytest.mark.skipif(
    not (DATASETS / "checkthat2024-task1-en").is_dir(), reason="../shared/datasets is not available"
)


@pytest.mark.datasets
@pytest.mark.slow
@needs_datasets
@pytest.mark.parametrize(
    ("split", "rows", "floor"), [("dev-test", 318, DEV_TEST_F1_FLOOR), ("dev", 1032, DEV_F1_FLOOR)]
)
def test_gate_f1(split: str, rows: int, floor: float) -> None:
    sentences = read_checkthat_tsv(split_path(split, root=DATASETS))
    assert len(sentences) == rows
    prf, _ = evaluate_model(sentences)
    assert prf.f1 >= floor, prf


@pytest.mark.datasets
@pytest.mark.slow
@needs_datasets
def test_eval_command_prints_prf() -> None:
    path = split_path("dev-test", root=DATASETS)
    result = CliRunner().invoke(eval_group, ["checkworthiness", "--data", str(path)])
    assert result.exit_code == 0, result.output
    assert "318 sentences, 108 check-worthy" in result.output
    f1 = float(result.output.split(" F1 ")[1].split()[0])
    assert f1 >= DEV_TEST_F1_FLOOR
