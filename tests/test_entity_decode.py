"""The parse stage's array decoder of spaCy's entity recogniser sets exactly the entities spaCy's recogniser sets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from conftest import datasets_or_skip
from crosscheck.analyze import entity_decode
from crosscheck.analyze.parse import load_nlp, load_stock_nlp, parse_texts, use_numpy_blas

if TYPE_CHECKING:
    from spacy.language import Language

#: Entities at the very start and end of a text, before a sentence start, across whitespace and line breaks, long
#: names, numbers and dates, a one-token text, whitespace only, nothing.
EDGE_CASES = [
    "Ukraine",
    "Volodymyr Zelensky",
    "The Armed Forces of Ukraine said on Monday, 12 February 2024, that 1,200 Russian soldiers died near Bakhmut.",
    "He met the U.S. Secretary of Defense Lloyd J. Austin III in Brussels.\nNATO\n\nKyiv   Kharkiv  \t Odesa",
    'The 93rd Mechanized Brigade "Kholodnyi Yar" held the line. Russia\'s Ministry of Defence disagreed. Putin',
    "On 24 February 2022 at 5 a.m. Moscow time, $1.5 billion, 40 % of the Black Sea Fleet and the Kerch Strait.",
    "   ",
    "",
]


def entities(doc: Any) -> list[tuple[object, ...]]:
    return [(e.start, e.end, e.label_) for e in doc.ents] + [(t.i, t.ent_iob_, t.ent_type_) for t in doc]


@pytest.fixture(scope="module")
def reference() -> Language:
    """spaCy's pipeline with its own recogniser, its tok2vec products through the same BLAS as the decoder's, so that
    the two see the same token vectors on any CPU."""
    nlp = load_stock_nlp()
    use_numpy_blas(nlp)
    from thinc.api import NumpyOps

    for layer in nlp.get_pipe(entity_decode.NER).model.layers[0].walk():
        layer.ops = NumpyOps(use_blis=False)
    return nlp


def test_the_parse_pipeline_uses_the_decoder() -> None:
    names = load_nlp().pipe_names
    assert entity_decode.NAME in names and entity_decode.NER not in names
    assert names.index(entity_decode.NAME) == len(names) - 1


def test_examples_get_spacys_entities(reference: Language, example_texts: dict[str, str]) -> None:
    texts = list(example_texts.values())
    ours = list(parse_texts(load_nlp(), texts))
    for text, doc in zip(texts, ours, strict=True):
        assert len(doc.ents) > 20
        assert entities(doc) == entities(reference(text))


def test_edge_cases_get_spacys_entities(reference: Language) -> None:
    for text in EDGE_CASES:
        assert entities(load_nlp()(text)) == entities(reference(text)), text


def test_news_articles_get_spacys_entities(reference: Language) -> None:
    folder = datasets_or_skip("polnear") / "data" / "dev" / "text"
    texts = [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))[:12]]
    ours = list(parse_texts(load_nlp(), texts))
    theirs = list(reference.pipe(texts, batch_size=4))
    assert sum(len(d.ents) for d in ours) > 500
    for doc, ref in zip(ours, theirs, strict=True):
        assert entities(doc) == entities(ref)


def test_a_texts_entities_do_not_depend_on_its_batch(example_texts: dict[str, str]) -> None:
    texts = [*EDGE_CASES, *example_texts.values()]
    nlp = load_nlp()
    together = [entities(d) for d in nlp.pipe(texts, batch_size=len(texts))]
    assert together == [entities(nlp(t)) for t in texts]


def test_preset_entities_are_left_to_spacys_recogniser(reference: Language) -> None:
    """A Doc that already has entities (they constrain the moves) gets what spaCy's recogniser makes of it."""
    text = "Officials in Kyiv said the 47th Brigade moved towards Avdiivka on Tuesday."

    def preset(nlp: Language) -> Any:
        doc = nlp.make_doc(text)
        doc.set_ents([doc.char_span(0, 9, label="ORG")], default="unmodified")
        for _, proc in nlp.pipeline:
            doc = proc(doc)
        return doc

    ours, theirs = preset(load_nlp()), preset(reference)
    assert entities(ours) == entities(theirs)
    assert (ours.ents[0].text, ours.ents[0].label_) == ("Officials", "ORG")


def test_a_recogniser_of_another_kind_is_kept() -> None:
    nlp = load_stock_nlp()
    ner: Any = nlp.get_pipe(entity_decode.NER)
    ner.cfg["beam_width"] = 4
    assert entity_decode.from_pipeline(nlp) is None
    assert entity_decode.install(nlp) is False
    assert entity_decode.NER in nlp.pipe_names and entity_decode.NAME not in nlp.pipe_names
