"""The techniques stage on the bundled examples, plus its decoding and profile building blocks."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from crosscheck.analyze.pipeline import Document, Pipeline, build_pipeline
from crosscheck.analyze.technique_decode import DecodeOptions, decode_words, group_words
from crosscheck.analyze.technique_features import FEATURE_NAMES, count_repeats, span_features
from crosscheck.analyze.techniques import (
    _war_terms,
    boost_lexicon_words,
    load_technique_model,
    split_lines,
    split_long,
    technique_definitions,
    technique_profile,
)
from crosscheck.article import Article, Technique
from crosscheck.evaluate.ptc import TECHNIQUES

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAMES = ("kherson-liberated", "kharkiv-stunning-defeat", "kherson-run-rabbit-run-video")
#: The examples' obvious loaded language: phrases the tagger scores well above its seed threshold ...
TAGGER_LOADED = {"kharkiv-stunning-defeat": ["stunning"]}
#: ... and phrases of the war-reporting lexicon, which seed spans whatever the tagger scores.
LEXICON_LOADED = {
    "kherson-run-rabbit-run-video": ["Russian invaders"],
    "kherson-liberated": ["occupants"],
    "kharkiv-stunning-defeat": ["blitzkrieg"],
}
LOADED = {name: TAGGER_LOADED.get(name, []) + LEXICON_LOADED.get(name, []) for name in NAMES}
#: A golden phrase of the tagger's clears the seed threshold by this much, so no CPU or batch moves it across.
MARGIN = 0.1


@lru_cache(maxsize=1)
def _pipeline() -> Pipeline:
    return build_pipeline(["parse", "techniques"])


@lru_cache(maxsize=4)
def _example(name: str) -> Document:
    text = (EXAMPLES / f"{name}.txt").read_text("utf-8")
    doc = Document(Article(raw=text, origin="test", text=text))
    _pipeline()([doc])
    return doc


def _covered(doc: Document, phrase: str) -> bool:
    """Whether some predicted span overlaps at least one occurrence of the phrase."""
    text = doc.text
    start = text.find(phrase)
    while start >= 0:
        end = start + len(phrase)
        if any(t.start < end and start < t.end for t in doc.techniques):
            return True
        start = text.find(phrase, end)
    return False


@pytest.mark.slow
def test_obvious_loaded_language_is_marked() -> None:
    phrases = [(name, p) for name in NAMES for p in LOADED[name]]
    hits = [(name, p) for name, p in phrases if _covered(_example(name), p)]
    # "stunning" (defeat) comes from the tagger alone; "invaders", "occupants" and "blitzkrieg" need the war-reporting
    # lexicon (data/loaded_war_terms.json), which seeds spans the tagger, trained on PTC's political news, scores
    # under its thresholds.
    assert hits == phrases


@pytest.mark.slow
def test_golden_phrases_are_not_on_a_threshold_edge() -> None:
    """The tagger's golden phrases clear the seed threshold by MARGIN; the lexicon's are matched by the lexicon."""
    model = load_technique_model()
    for name in NAMES:
        doc = _example(name)
        assert doc.doc is not None
        sentences = [p for s in doc.doc.sents for p in split_lines(doc.text, s.start_char, s.end_char)]
        words = [w for _, ws in model.tag([doc.text], [sentences])[0] for w in ws]
        for phrase in TAGGER_LOADED.get(name, []):
            start = doc.text.index(phrase)
            best = max(p for a, b, p in words if a < start + len(phrase) and start < b)
            assert best >= model.options.threshold + MARGIN, (name, phrase, best)
        for phrase in LEXICON_LOADED.get(name, []):
            assert _war_terms().search(phrase), (name, phrase)


def test_war_lexicon_only_seeds_words_inside_its_phrases() -> None:
    text = "The invaders shelled the town. Officials said the bridge was repaired."
    words = [(4, 12, 0.1), (13, 20, 0.05), (36, 41, 0.02)]
    boosted = boost_lexicon_words(text, (0, len(text)), words, 0.4)
    assert boosted == [(4, 12, 0.4), (13, 20, 0.05), (36, 41, 0.02)]
    assert boost_lexicon_words("Plain reporting only.", (0, 21), [(0, 5, 0.1)], 0.4) == [(0, 5, 0.1)]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_plain_reporting_is_not_marked_wholesale(name: str) -> None:
    doc = _example(name)
    assert doc.doc is not None
    sentences = [s for s in doc.doc.sents if s.text.strip()]
    marked = [s for s in sentences if any(t.start < s.end_char and s.start_char < t.end for t in doc.techniques)]
    assert len(marked) < len(sentences) / 2


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_techniques_are_valid_spans_with_explanations(name: str) -> None:
    doc = _example(name)
    definitions = technique_definitions()
    assert doc.techniques
    for t in doc.techniques:
        assert 0 <= t.start < t.end <= len(doc.text)
        assert doc.text[t.start : t.end] == t.text
        assert t.text == t.text.strip()
        assert t.technique in TECHNIQUES
        assert t.explanation == definitions[t.technique]["definition"]
        assert 0.0 < t.score <= 1.0
        assert t.triggers and all(trigger in t.text and trigger.strip(".,'’‘“”") for trigger in t.triggers)
    profile = doc.layers["technique_profile"]
    assert sum(profile["counts"].values()) == len(doc.techniques)
    assert profile["techniques_per_1000_words"] > 0
    assert set(profile["most_frequent"]) <= set(profile["counts"])


def test_definitions_cover_every_technique() -> None:
    assert set(technique_definitions()) == set(TECHNIQUES)


def test_group_words_joins_word_pieces_only() -> None:
    text = "the invaders fled."
    # tokens: the | in | ##vad | ##ers | fled | .
    offsets = [(0, 3), (4, 6), (6, 9), (9, 12), (13, 17), (17, 18)]
    words = group_words(text, offsets, [0.1, 0.2, 0.9, 0.3, 0.1, 0.05])
    assert [(text[a:b], p) for a, b, p in words] == [("the", 0.1), ("invaders", 0.9), ("fled", 0.1), (".", 0.05)]


def test_decode_words_seeds_grows_merges_and_drops() -> None:
    text = "a very brutal and cruel regime did it"
    starts = [0, 2, 7, 14, 18, 24, 31, 35]
    probs = [0.1, 0.45, 0.8, 0.2, 0.7, 0.45, 0.1, 0.1]
    words = [(s, s + len(w), p) for s, w, p in zip(starts, text.split(), probs, strict=True)]
    spans = decode_words(text, words, DecodeOptions(threshold=0.6, low=0.6))
    assert [text[s.start : s.end] for s in spans] == ["brutal", "cruel"]
    spans = decode_words(text, words, DecodeOptions(threshold=0.6, low=0.4))
    assert [text[s.start : s.end] for s in spans] == ["very brutal", "cruel regime"]
    spans = decode_words(text, words, DecodeOptions(threshold=0.6, low=0.4, max_gap_chars=5))
    assert [text[s.start : s.end] for s in spans] == ["very brutal and cruel regime"]
    spans = decode_words(text, words, DecodeOptions(threshold=0.6, low=0.6, min_chars=6))
    assert [text[s.start : s.end] for s in spans] == ["brutal"]


def test_split_helpers_keep_offsets() -> None:
    text = "First line here.\n\n  Second line.  \nx"
    assert [text[a:b] for a, b in split_lines(text, 0, len(text))] == ["First line here.", "Second line.", "x"]
    long = " ".join(["word"] * 300)
    pieces = split_long(long, 0, len(long), max_chars=100)
    assert all(b - a <= 100 for a, b in pieces)
    assert " ".join(long[a:b] for a, b in pieces) == long


def test_count_repeats_whole_words_case_insensitive() -> None:
    article = "Make America great again! We will make america GREAT again. Greatness awaits."
    assert count_repeats(article, "make America great again") == 2
    assert count_repeats(article, "great") == 2


def test_repeats_are_whole_word_sequences_that_do_not_overlap(example_texts: dict[str, str]) -> None:
    """The repeat count is the number of non-overlapping matches of the span's words as one whole-word pattern,
    the definition the classifier's stacker was fitted with (checked against that regex on every span of up to
    four words of an example)."""
    import re

    def by_regex(article: str, span: str) -> int:
        words = re.findall(r"\w+", span.lower())
        pattern = r"\b" + r"\W+".join(re.escape(w) for w in words) + r"\b"
        return max(1, len(re.findall(pattern, article.lower())))

    assert count_repeats("the the the. The THE", "the the") == 2
    article = example_texts["kherson-liberated.txt"][:6000]
    words = list(re.finditer(r"\w+", article))
    for n in (1, 2, 4):
        for i in range(0, len(words) - n, 7):
            span = article[words[i].start() : words[i + n - 1].end()]
            assert count_repeats(article, span) == by_regex(article, span), span


def test_span_features_tell_first_from_later_mentions() -> None:
    article = '"Build the wall" they chanted. Then again: build the wall!'
    first = dict(zip(FEATURE_NAMES, span_features(article, 0, 16, 0, 30), strict=True))
    later = dict(zip(FEATURE_NAMES, span_features(article, 43, 57, 31, 58), strict=True))
    assert (first["earlier_mention"], first["later_mention"], first["quote"]) == (0.0, 1.0, 1.0)
    assert (later["earlier_mention"], later["later_mention"], later["exclamation"]) == (1.0, 0.0, 0.0)
    assert first["repeated"] == later["repeated"] == 1.0


def test_profile_counts() -> None:
    text = " ".join(["word"] * 500)
    found = [
        Technique(0, 4, "Loaded_Language", 0.9),
        Technique(5, 9, "Loaded_Language", 0.8),
        Technique(10, 14, "Doubt", 0.7),
    ]
    profile = technique_profile(found, text)
    assert profile == {
        "techniques_per_1000_words": 6.0,
        "counts": {"Loaded_Language": 2, "Doubt": 1},
        "most_frequent": ["Loaded_Language"],
    }
    assert technique_profile([], "")["techniques_per_1000_words"] == 0.0
