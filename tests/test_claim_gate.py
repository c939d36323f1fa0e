"""The check-worthiness gate: its independence from the batch, what it keeps on the examples, its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crosscheck.analyze.claim_gate import GATE_MODEL, load_gate, pooled_states, read_gate
from crosscheck.analyze.claims import ClaimsStage, candidate_sentences, load_checkworthiness, score_sentences
from crosscheck.analyze.parse import load_nlp
from crosscheck.errors import ModelError
from crosscheck.models.runtime import MODELS_DIR

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: A claim the tests need scored clears the gate's threshold by this much log-odds, so no CPU moves it across.
LOGIT_MARGIN = 0.5


def _candidates() -> list[str]:
    """Every candidate sentence of the three examples, as the claims stage cuts them."""
    out: list[str] = []
    for path in sorted(EXAMPLES.glob("*.txt")):
        text = path.read_text("utf-8")
        out += [text[s:e] for s, e in candidate_sentences(load_nlp()(text), min_words=4, max_heading_words=25)]
    return out


def test_pooled_states_are_mean_first_and_max() -> None:
    states = np.array([[1.0, -2.0], [3.0, 4.0], [-1.0, 1.0]], dtype=np.float32)
    assert pooled_states(states).tolist() == [1.0, 1.0, 1.0, -2.0, 3.0, 4.0]


def test_the_gate_keeps_every_claim_the_head_finds_on_the_examples() -> None:
    texts = _candidates()
    gate, model = load_gate(), load_checkworthiness()
    threshold = float(model.config["threshold"])
    alone = score_sentences(texts, model=model)
    gated = score_sentences(texts, model=model, gate=gate)
    logits = np.array(gate.logits(texts))
    claims = alone >= threshold
    assert claims.sum() > 20
    assert (logits[claims] >= gate.threshold + LOGIT_MARGIN).all()
    # Scored sentences keep their score bit for bit; the others are NaN (not scored), never a claim.
    read = logits >= gate.threshold
    assert gated[read].tolist() == alone[read].tolist()
    assert np.isnan(gated[~read]).all() and (alone[~read] < threshold).all()
    assert 0 < (~read).sum() < len(texts)  # the gate rules out some of the examples' sentences, not all


def test_the_gate_does_not_depend_on_the_batch() -> None:
    texts = _candidates()[:30]
    gate = load_gate()
    together = gate.logits(texts)
    assert [gate.logits([t])[0] for t in texts] == together
    assert gate.logits(texts[::-1])[::-1] == together


def test_the_stage_uses_the_gate_and_can_do_without_it() -> None:
    assert ClaimsStage().gate is load_gate(GATE_MODEL)
    assert ClaimsStage(gate=None).gate is None


def test_a_gate_fitted_over_another_trunk_is_refused(tmp_path: Path) -> None:
    shipped = json.loads((MODELS_DIR / GATE_MODEL / "model.json").read_text("utf-8"))
    shipped["weights"] = shipped["weights"][:100]
    folder = tmp_path / GATE_MODEL
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps(shipped), "utf-8")
    with pytest.raises(ModelError, match="E063"):
        read_gate(folder)
    with pytest.raises(ModelError, match="E031"):
        read_gate(tmp_path / "nothing-here")
