"""The technique tagger's gate: its score, its independence from the batch, and what it reads on the examples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crosscheck.analyze.parse import load_nlp
from crosscheck.analyze.technique_gate import TechniqueGate, load_gate, read_gate
from crosscheck.analyze.techniques import TechniqueModel, load_technique_model, sentence_pieces, split_lines
from crosscheck.errors import ModelError
from crosscheck.models.runtime import MODELS_DIR, load_onnx_model

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAMES = ("kherson-liberated", "kharkiv-stunning-defeat", "kherson-run-rabbit-run-video")
#: A piece the tests need read clears the gate's threshold by this much log-odds, so no CPU moves it across.
LOGIT_MARGIN = 0.5
#: A span whose best word clears the tagger's seed threshold by this much is one the tagger is sure of (as in
#: tests/test_techniques.py).
MARGIN = 0.1


def _pieces(text: str) -> list[tuple[int, int]]:
    """The pieces the techniques stage cuts a text into."""
    lines = [line for sent in load_nlp()(text).sents for line in split_lines(text, sent.start_char, sent.end_char)]
    return sentence_pieces(text, lines)


def _example(name: str) -> str:
    return (EXAMPLES / f"{name}.txt").read_text("utf-8")


def _gate(w1: np.ndarray, w2: np.ndarray, b2: float, threshold: float) -> TechniqueGate:
    return TechniqueGate(load_onnx_model("encoder-trunk"), w1, np.zeros(w1.shape[1]), w2, b2, threshold)


def test_a_piece_is_read_when_its_best_token_reaches_the_threshold() -> None:
    trunk = load_onnx_model("encoder-trunk")
    hidden = int(trunk.session.get_outputs()[0].shape[-1])
    pieces = ["Traitors, all of them!", "The bridge was repaired on Tuesday."]
    flat = np.zeros((hidden, 2))
    assert _gate(flat, np.zeros(2), 0.3, threshold=0.2).passes(pieces) == [True, True]
    assert _gate(flat, np.zeros(2), 0.3, threshold=0.4).passes(pieces) == [False, False]
    # One unit reading one dimension: a piece's score is its best token's value there (ReLU), [CLS] and [SEP] left out.
    one = flat.copy()
    one[7, 0] = 1.0
    gate = _gate(one, np.array([1.0, 0.0]), 0.0, threshold=0.0)
    (states, *_), _ = trunk.rows([pieces[0]], max_length=128)[0]
    assert gate.logits([pieces[0]]) == [max(0.0, float(states[1:-1, 7].astype(np.float64).max()))]
    assert gate.token_logits(states[1:-1]).tolist() == np.maximum(states[1:-1, 7].astype(np.float64), 0).tolist()


def test_gate_scores_do_not_depend_on_the_other_pieces() -> None:
    gate = load_gate()
    text = _example("kharkiv-stunning-defeat")
    pieces = [text[a:b] for a, b in _pieces(text)]
    together = gate.logits(pieces)
    gate.trunk.clear_cache()
    alone = []
    for piece in reversed(pieces):
        alone.append(gate.logits([piece])[0])
        gate.trunk.clear_cache()
    assert together == alone[::-1]


def test_a_piece_with_a_loaded_war_term_is_read_whatever_the_gate_says() -> None:
    model = TechniqueModel(gate=None)
    gated = TechniqueModel(gate=None)
    gated.gate = _gate(np.zeros((384, 2)), np.zeros(2), -50.0, threshold=0.0)
    text = "The invaders shelled the town. Officials said the bridge was repaired."
    items = [(0, 0, 30), (0, 31, len(text))]
    assert gated.reads([text], items) == [True, False]
    tagged = gated.tag([text], [[(0, 30), (31, len(text))]])[0]
    assert tagged[0][1] and tagged[1][1] == []  # the closed piece keeps no words, so no spans
    assert model.tag([text], [[(0, 30)]])[0][0] == tagged[0]


def test_a_gate_fitted_over_another_trunk_is_refused(tmp_path: Path) -> None:
    shipped = json.loads(_gate_file().read_text("utf-8"))
    shipped["w1"] = shipped["w1"][:10]
    folder = tmp_path / "techniques-gate"
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps(shipped), "utf-8")
    with pytest.raises(ModelError, match="E062"):
        read_gate(folder)


def _gate_file() -> Path:
    return MODELS_DIR / "techniques-gate" / "model.json"


def test_shipped_gate_reads_the_examples_loaded_sentences_and_skips_others() -> None:
    gate = load_gate()
    read = skipped = 0
    for name in NAMES:
        text = _example(name)
        pieces = [text[a:b] for a, b in _pieces(text)]
        logits = gate.logits(pieces)
        for piece, z in zip(pieces, logits, strict=True):
            if "stunning" in piece:  # the tagger's golden phrase (tests/test_techniques.py)
                assert z >= gate.threshold + LOGIT_MARGIN, (piece, z)
        read += sum(z >= gate.threshold for z in logits)
        skipped += sum(z < gate.threshold for z in logits)
    assert read and skipped


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_gate_changes_nothing_in_the_pieces_it_reads(name: str) -> None:
    """A read piece gets the same words gated or not, a skipped one none; no piece the tagger is sure of is skipped.

    On the examples the gate skips one piece the ungated tagger finds a span in: "Run Rabbit Run" (best word 0.47
    against the seed threshold 0.45, a phrase the technique tests leave alone for that reason).
    """
    text = _example(name)
    pieces = _pieces(text)
    gated = load_technique_model()
    assert gated.gate is not None
    ungated = TechniqueModel(gate=None)
    full = ungated.tag([text], [pieces])[0]
    part = gated.tag([text], [pieces])[0]
    kept = 0
    for (bounds, words), (bounds_g, words_g) in zip(full, part, strict=True):
        assert bounds == bounds_g
        assert words_g in (words, [])
        if ungated.decode(text, [(bounds, words)]):
            best = max(p for _, _, p in words)
            assert words_g or best < gated.options.threshold + MARGIN, (text[slice(*bounds)], best)
            kept += bool(words_g)
    assert kept
