"""spaCy's entity recogniser, decoded over arrays instead of one transition at a time.

In ``en_core_web_sm`` the entity recogniser costs about half of the pipeline's CPU, and most of that is not its
network: spaCy's greedy parser loop scores every state of the batch, then validates each of the 74 moves of each
state one call at a time (each call takes and releases the interpreter's thread state), once per token. This
component computes the same entities from the recogniser's own weights:

- the recogniser's tok2vec (spaCy's layers, multiplied through numpy's BLAS, which runs the same products several
  times faster than blis's generic kernels on CPUs blis does not know) gives a vector per token, and its
  precomputable lower layer the three feature rows of every token, for each text on its own;
- with no entity open, a state's features are the token's first row and the two padding rows, so the scores of
  every token's "closed" state come out of one product for the whole text; the valid moves there are ``O``, ``U-``
  (not on whitespace) and ``B-`` (not on whitespace, not on the last token, not before a sentence start);
- only inside an entity do the features depend on the state (its first token and the previous one); there the only
  valid moves are ``I-`` and ``L-`` of the open label, and the decoder steps token by token.

The rows are summed in spaCy's order (first, second, third feature, then the bias), the maximum of the pieces is
taken, and the output layer goes through the same blis routine as spaCy's loop (a row's products do not depend on
the rows beside it), so the scores are spaCy's to the last bit (on PolNeAR and PTC dev, 12,053 entities, none
different) and the first best valid move wins as in spaCy; each text is decoded alone, so its entities do not
depend on the texts parsed with it. ``tests/test_entity_decode.py`` checks the entities against spaCy's recogniser
on the examples and on real news text. A Doc that already carries entity annotation (preset entities constrain
spaCy's moves) is handed to spaCy's recogniser, and :func:`install` leaves any recogniser of another shape (another
feature set, beam search, unseen classes) in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .components import install_component, one_blas_thread

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

#: The pipeline's component this replaces, and the name it takes in the pipeline.
NER, NAME = "ner", "array_ner"
#: Texts whose tok2vec runs at once (a component's ``pipe`` is given the parse stage's batch).
BATCH = 4


@dataclass
class Moves:
    """The recogniser's moves by kind: index arrays into its 74 classes, and the ``I-``/``L-`` move of each label."""

    begin: np.ndarray
    unit: np.ndarray
    out: np.ndarray
    label: list[str]
    inside: dict[str, int]
    last: dict[str, int]

    @classmethod
    def from_names(cls, names: list[str]) -> Moves | None:
        kinds: dict[str, list[int]] = {"B": [], "U": [], "O": []}
        inside: dict[str, int] = {}
        last: dict[str, int] = {}
        labels = []
        for i, name in enumerate(names):
            kind, _, label = name.partition("-")
            labels.append(label)
            if kind == "O" and not label:
                kinds["O"].append(i)
            elif kind in "BIUL" and len(kind) == 1 and not label:
                continue  # a move without label is valid only on preset entities
            elif kind in ("B", "U"):
                kinds[kind].append(i)
            elif kind == "I":
                inside[label] = i
            elif kind == "L":
                last[label] = i
            else:
                return None
        begin_labels = {labels[i] for i in kinds["B"]}
        if len(kinds["O"]) != 1 or begin_labels != set(inside) or begin_labels != set(last):
            return None
        return cls(
            begin=np.array(kinds["B"], dtype=np.intp),
            unit=np.array(kinds["U"], dtype=np.intp),
            out=np.array(kinds["O"], dtype=np.intp),
            label=labels,
            inside=inside,
            last=last,
        )


class ArrayEntityRecognizer:
    """A pipeline component that sets the same entities as spaCy's recogniser ``ner`` (see the module's text)."""

    def __init__(self, ner: Any, moves: Moves) -> None:
        from thinc.api import NumpyOps

        self.ner = ner
        self.moves = moves
        tok2vec, lower, upper = ner.model.layers
        for layer in tok2vec.walk():
            layer.ops = NumpyOps(use_blis=False)
        self.tok2vec = tok2vec
        self.lower = lower
        self.bias = lower.get_param("b")
        self.weights = upper.get_param("W")
        self.output_bias = upper.get_param("b")
        self.gemm = upper.ops.gemm  # blis, as spaCy's loop: the same scores to the last bit

    def __call__(self, doc: Doc) -> Doc:
        self._annotate([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], *, batch_size: int = BATCH) -> Iterator[Doc]:
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                self._annotate(batch)
                yield from batch
                batch = []
        if batch:
            self._annotate(batch)
            yield from batch

    def _annotate(self, docs: list[Doc]) -> None:
        from spacy.attrs import ENT_IOB

        preset = [d for d in docs if len(d) and d.to_array(ENT_IOB).any()]
        if preset:
            self.ner.set_annotations(preset, self.ner.predict(preset))
        own = [d for d in docs if len(d) and not any(d is p for p in preset)]
        if not own:
            return
        with one_blas_thread():
            vectors = self.tok2vec.predict(own)
            start = 0
            for doc in own:
                self._decode(doc, vectors[start : start + len(doc)])
                start += len(doc)

    def _scores(self, hidden_in: np.ndarray) -> np.ndarray:
        hidden = (hidden_in + self.bias).max(axis=-1)
        scores: np.ndarray = self.gemm(hidden, self.weights, trans2=True) + self.output_bias
        return scores

    def _decode(self, doc: Doc, vectors: np.ndarray) -> None:
        from spacy.attrs import IS_SPACE, SENT_START
        from spacy.tokens import Span

        moves = self.moves
        n = len(doc)
        rows = self.lower.predict(vectors)  # (n + 1, 3 features, hidden, pieces); row 0 is the padding
        closed = self._scores((rows[1:, 0] + rows[0, 1]) + rows[0, 2])
        columns = doc.to_array([IS_SPACE, SENT_START])
        space = columns[:, 0].astype(bool)
        before_start = np.zeros(n, dtype=bool)  # the next token starts a sentence
        before_start[:-1] = columns[1:, 1] == 1
        can_begin = ~space & ~before_start
        can_begin[-1] = False
        valid = np.zeros(closed.shape, dtype=bool)
        valid[:, moves.out] = True
        valid[:, moves.unit] = ~space[:, None]
        valid[:, moves.begin] = can_begin[:, None]
        best = np.where(valid, closed, -np.inf).argmax(axis=1)
        kinds = np.zeros(closed.shape[1], dtype=np.int8)  # 0 out, 1 unit, 2 begin
        kinds[moves.unit] = 1
        kinds[moves.begin] = 2
        best_kind = kinds[best]
        spans = []
        t = 0
        opening = np.flatnonzero(best_kind)
        while True:
            following = np.searchsorted(opening, t)
            if following == len(opening):
                break
            t = int(opening[following])
            label = moves.label[int(best[t])]
            if best_kind[t] == 1:
                spans.append(Span(doc, t, t + 1, label=label))
                t += 1
                continue
            first = t
            inside, last = moves.inside[label], moves.last[label]
            t += 1
            while True:
                scores = self._scores(((rows[t + 1, 0] + rows[first + 1, 1]) + rows[t, 2])[None])[0]
                # spaCy takes the first of the best valid moves in class order
                wins = scores[inside] >= scores[last] if inside < last else scores[inside] > scores[last]
                if wins and t + 1 < n and not before_start[t]:
                    t += 1
                    continue
                spans.append(Span(doc, first, t + 1, label=label))
                t += 1
                break
        doc.set_ents(spans, default="outside")


def from_pipeline(nlp: Language) -> ArrayEntityRecognizer | None:
    """An :class:`ArrayEntityRecognizer` for ``nlp``'s recogniser, or ``None`` if it has none of the supported shape
    (greedy, three features: the next token, the open entity's first token and the previous token, with an output
    layer and no unseen classes)."""
    from spacy.pipeline import EntityRecognizer

    if NER not in nlp.pipe_names:
        return None
    ner: Any = nlp.get_pipe(NER)
    if type(ner) is not EntityRecognizer or ner.cfg.get("beam_width", 1) != 1:
        return None
    model = ner.model
    if len(model.layers) != 3 or not model.attrs.get("has_upper") or model.attrs.get("unseen_classes"):
        return None
    lower, upper = model.layers[1], model.layers[2]
    if lower.name != "precomputable_affine" or lower.get_dim("nF") != 3 or upper.name != "linear":
        return None
    moves = Moves.from_names([ner.moves.get_class_name(i) for i in range(ner.moves.n_moves)])
    if moves is None or upper.get_dim("nO") != len(moves.label):
        return None
    return ArrayEntityRecognizer(ner, moves)


def install(nlp: Language) -> bool:
    """Put :class:`ArrayEntityRecognizer` in place of ``nlp``'s recogniser (same position, same entities); False,
    and ``nlp`` unchanged, where :func:`from_pipeline` does not support it."""
    return install_component(nlp, NAME, from_pipeline, (NER,), "entity recogniser")
