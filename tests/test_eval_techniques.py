"""Evaluation gate: the shipped techniques models on PTC dev (SemEval-2020 Task 11 metrics).

Floors sit a little under the figures in docs/evaluation.md; never lower one without saying why there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import datasets_or_skip
from crosscheck.evaluate import eval_group
from crosscheck.evaluate.techniques import evaluate_techniques

SI_F1_FLOOR = 0.45  # measured 0.4674 as shipped (row-quantised int8 products, no SkipLayerNormalization fusion)
TC_MICRO_F1_FLOOR = 0.59  # measured 0.6077
JOINT_F1_FLOOR = 0.19  # measured 0.2106


def _ptc() -> Path:
    return datasets_or_skip("ptc-semeval2020-task11") / "datasets"


@pytest.mark.datasets
@pytest.mark.slow
def test_dev_figures_hold() -> None:
    result = evaluate_techniques(_ptc(), split="dev")
    assert result.n_articles == 75
    assert result.si.f1 >= SI_F1_FLOOR
    assert result.tc_micro_f1 >= TC_MICRO_F1_FLOOR
    assert result.joint.f1 >= JOINT_F1_FLOOR


@pytest.mark.datasets
@pytest.mark.slow
def test_predict_test_writes_submission_files(tmp_path: Path) -> None:
    data = _ptc()
    out = CliRunner().invoke(eval_group, ["techniques", "--data", str(data), "--predict-test", str(tmp_path)])
    assert out.exit_code == 0, out.output
    template = (data / "test-task-tc-template.out").read_text("utf-8").splitlines()
    tc = (tmp_path / "test-task-tc.txt").read_text("utf-8").splitlines()
    assert len(tc) == len(template)
    for pred, gold in zip(tc, template, strict=True):
        p, g = pred.split("\t"), gold.split("\t")
        assert (p[0], p[2], p[3]) == (g[0], g[2], g[3]) and p[1] != "?"
    si = (tmp_path / "test-task-si.txt").read_text("utf-8").splitlines()
    assert si and all(len(line.split("\t")) == 3 for line in si)
    assert len({line.split("\t")[0] for line in si}) > 45  # spans in most of the 90 test articles
