"""The parse stage's array form of spaCy's attribute ruler and lemmatizer gives every token what spaCy's own give."""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any

import pytest

from crosscheck.analyze import attributes
from crosscheck.analyze.parse import load_nlp, load_stock_nlp, parse_texts

if TYPE_CHECKING:
    from spacy.language import Language

#: Every kind of pattern of the shipped ruler: contractions and the ruler's two-token patterns, pronouns by case,
#: "there is", "that" as determiner and pronoun, auxiliaries, subordinators, whitespace tokens, a stray "_SP".
EDGE_CASES = [
    "I ain't gonna say it, y'all. Let's go, c'mon on, we gotta leave. Ya all know 'em.",
    "There is a tank. There're two. It's him, not me: she said that he'd've gone, and they'd seen us.",
    "Ol' somethin' nothin' doin' goin' 'nuff. Can't, won't, shan't, wo n't. He gets it; she got it.",
    "That is what that officer said, because those who had been there did so while these were being shelled.",
    "Two  spaces,\n\nnew paragraphs,\t\ttabs \u00a0 and\n \n trailing lines.   \n",
    "Himself, herself, themselves, ourselves: mine, yours, theirs, hers, ours, its own. Anyone? Nobody. Everything!",
    "   ",
    "",
]


def token_attributes(doc: Any) -> list[tuple[object, ...]]:
    return [
        (t.text, t.pos_, t.tag_, t.dep_, str(t.morph), t.lemma_, t.head.i, t.ent_type_, t.ent_iob_, t.is_sent_start)
        for t in doc
    ]


@pytest.fixture(scope="module")
def stock() -> Language:
    return load_stock_nlp()


def test_the_parse_pipeline_uses_the_array_attributes() -> None:
    names = load_nlp().pipe_names
    assert attributes.NAME in names and attributes.RULER not in names and attributes.LEMMATIZER not in names


def test_examples_get_the_attributes_of_spacys_components(stock: Language, example_texts: dict[str, str]) -> None:
    texts = list(example_texts.values())
    ours = list(parse_texts(load_nlp(), texts))
    for text, doc in zip(texts, ours, strict=True):
        assert len(doc) > 400
        assert token_attributes(doc) == token_attributes(stock(text))


def test_edge_cases_get_the_attributes_of_spacys_components(stock: Language) -> None:
    for text in EDGE_CASES:
        assert token_attributes(load_nlp()(text)) == token_attributes(stock(text)), text


def test_multi_token_rules_fire() -> None:
    """The two-token rules set what they should (so the comparison above covers them)."""
    doc = load_nlp()("I ain't gonna go. Let's see. There is time.")
    lemmas = {t.text: t.lemma_ for t in doc}
    assert lemmas["ai"] == "be" and lemmas["gon"] == "go" and lemmas["na"] == "to"
    assert [t.lemma_ for t in doc if t.text == "'s"] == ["us"]
    assert [t.pos_ for t in doc if t.text == "is"] == ["VERB"]


def test_a_ruler_of_another_kind_keeps_spacys_components(stock: Language) -> None:
    nlp = load_stock_nlp()
    ruler: Any = nlp.get_pipe(attributes.RULER)
    ruler.add([[{"LOWER": "tank", "OP": "+"}]], {"POS": "NOUN"})
    assert attributes.from_pipeline(nlp) is None
    assert attributes.install(nlp) is False
    assert attributes.RULER in nlp.pipe_names and attributes.LEMMATIZER in nlp.pipe_names


def test_a_lemma_is_the_same_whichever_document_comes_first(stock: Language) -> None:
    """The lemmas remembered for the process are keyed on word, part of speech and morphology, so a word's lemma
    does not depend on the documents lemmatised before it."""
    a, b = "He saw the saw.", "They saw it. Saw the wood!"
    first = [token_attributes(load_nlp()(t)) for t in (a, b)]
    fresh = load_stock_nlp()
    attributes.install(fresh)
    second = [token_attributes(fresh(t)) for t in (b, a)][::-1]
    assert first == second == [token_attributes(stock(t)) for t in (a, b)]


def test_the_caches_stay_bounded_and_change_nothing(
    stock: Language, example_texts: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache over its bound is emptied before the next Doc's entries go in (one Doc's always fit)."""
    monkeypatch.setattr(attributes, "CACHE_ENTRIES", 500)
    nlp = load_stock_nlp()
    attributes.install(nlp)
    component: Any = nlp.get_pipe(attributes.NAME)
    sizes = []
    for text in [*example_texts.values(), *example_texts.values()]:
        assert token_attributes(nlp(text)) == token_attributes(stock(text))
        assert len(component.settled) <= 500 and len(component.lemmas) <= 500
        sizes.append(len(component.settled))
    assert any(b < a for a, b in pairwise(sizes))  # emptied at least once


def test_rule_lemmas_are_spacys_for_every_part_of_speech(stock: Language, example_texts: dict[str, str]) -> None:
    """The lemma of each word of the examples, tagged as each part of speech with tables (and as its own), is the
    first that spaCy's rule lemmatizer gives."""
    lemmatizer: Any = stock.get_pipe(attributes.LEMMATIZER)
    ours = attributes.RuleLemmas.of(lemmatizer)
    assert {"noun", "verb", "adj", "adv"} <= set(ours.tables)
    text = " ".join(example_texts.values())[:20_000] + " " + " ".join(EDGE_CASES)
    doc = stock(text)
    checked = 0
    for pos in ("", "NOUN", "VERB", "ADJ", "ADV", "PROPN", "PUNCT"):
        if pos:
            for token in doc:
                token.pos_ = pos
        for token in doc:
            if token.pos_:
                assert ours.lemma(token) == lemmatizer.rule_lemmatize(token)[0], (token.text, token.pos_)
                checked += 1
    assert checked > 10_000
