"""The attribution stage on the bundled examples and on short real-style sentences, plus its building blocks."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from crosscheck import Store
from crosscheck.analyze.attribution import find_quotes, load_cue_model, load_lexicon
from crosscheck.analyze.pipeline import Document, Pipeline, build_pipeline
from crosscheck.article import Article, Attribution, Span
from crosscheck.report import corpus_summary

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@lru_cache(maxsize=1)
def _pipeline() -> Pipeline:
    return build_pipeline(["parse", "attribution"])


def _analyze(text: str) -> list[Attribution]:
    doc = Document(Article(raw=text, origin="test", text=text))
    _pipeline()([doc])
    return doc.attributions


@lru_cache(maxsize=4)
def _example(name: str) -> tuple[str, tuple[Attribution, ...]]:
    text = (EXAMPLES / f"{name}.txt").read_text("utf-8")
    return text, tuple(_analyze(text))


def _find(atts: tuple[Attribution, ...] | list[Attribution], *, source: str, cue: str | None = None) -> Attribution:
    for a in atts:
        if a.source is not None and source in a.source.text and (cue is None or (a.cue and cue in a.cue.text)):
            return a
    raise AssertionError(f"no attribution with source {source!r} and cue {cue!r} in {[a.to_dict() for a in atts]}")


def test_spans_are_offsets_into_the_text() -> None:
    for name in ("kherson-liberated", "kharkiv-stunning-defeat", "kherson-run-rabbit-run-video"):
        text, atts = _example(name)
        assert atts
        for a in atts:
            for span in (a.source, a.cue, a.content):
                if span is not None:
                    assert text[span.start : span.end] == span.text


def test_kherson_liberated_peskov_stated() -> None:
    _, atts = _example("kherson-liberated")
    a = _find(atts, source="Dmitry Peskov, a spokesman for the Kremlin", cue="stated")
    assert "Russia still views the Kherson area of Ukraine as its territory" in a.content.text
    assert a.kind == "reported"
    assert "On November 11" not in a.source.text  # type: ignore[union-attr]


def test_kherson_liberated_passive_agent() -> None:
    _, atts = _example("kherson-liberated")
    a = _find(atts, source="the country’s defense intelligence", cue="confirmed")
    assert a.kind == "passive"
    assert "entry of the Ukrainian Armed Forces into Kherson" in a.content.text


def test_kharkiv_direct_quote_before_cue() -> None:
    _, atts = _example("kharkiv-stunning-defeat")
    a = _find(atts, source="Nadezhdin", cue="admitted")
    assert a.kind == "direct"
    assert a.content.text.startswith("“We’re now at the point")
    assert a.content.text.endswith("”")


def test_kharkiv_reported_and_collective_sources() -> None:
    _, atts = _example("kharkiv-stunning-defeat")
    a = _find(atts, source="Ukraine’s Deputy Defense Minister", cue="claimed")
    assert "the stretch was closer to 6,000 square kilometers" in a.content.text
    kyiv = _find(atts, source="military sources in Kyiv")
    assert kyiv.kind == "according_to"
    assert kyiv.cue is not None and kyiv.cue.text.lower() == "according to"
    assert "the Russians simply fled" in kyiv.content.text
    tg = _find(atts, source="one pro-Russian Telegram channel", cue="claimed")
    assert "the Ukrainians crossed the border" in tg.content.text


def test_run_rabbit_run_sources() -> None:
    _, atts = _example("kherson-run-rabbit-run-video")
    ocs = _find(atts, source="Operational Command South of Ukraine")
    assert ocs.kind == "according_to"
    assert ocs.content.text.startswith("“the situation in our operational area")
    rutland = _find(atts, source="Wesleyan University’s Peter Rutland", cue="told")
    assert rutland.kind == "direct"
    assert rutland.content.text.startswith("“Retaking the occupied territory")
    gov = _find(atts, source="The Ukrainian government", cue="claimed")
    assert "eliminated 201 Russian soldiers" in gov.content.text


@pytest.mark.parametrize(
    ("text", "source", "cue", "content", "kind"),
    [
        (
            "Reports said that two bridges over the river had been destroyed overnight.",
            "Reports",
            "said",
            "that two bridges over the river had been destroyed overnight",
            "reported",
        ),
        (
            "“We will not leave the city,” the mayor told reporters on Sunday.",
            "the mayor",
            "told",
            "“We will not leave the city,”",
            "direct",
        ),
        (
            "The governor said: “The shelling has not stopped since morning.”",
            "The governor",
            "said",
            "“The shelling has not stopped since morning.”",
            "direct",
        ),
        (
            "The strike on the depot was confirmed by the regional administration.",
            "the regional administration",
            "confirmed",
            "The strike on the depot",
            "passive",
        ),
        (
            "According to one online weapons tracker, at least 40 tanks were abandoned near the town.",
            "one online weapons tracker",
            "According to",
            "at least 40 tanks were abandoned near the town",
            "according_to",
        ),
    ],
)
def test_each_kind_on_a_sentence(text: str, source: str, cue: str, content: str, kind: str) -> None:
    atts = _analyze(text)
    a = _find(atts, source=source, cue=cue)
    assert a.source is not None and a.source.text == source
    assert a.content.text == content
    assert a.kind == kind


def test_split_quotation_covers_both_parts() -> None:
    text = "“The front is holding,” the commander said. “But we need more shells.”"
    atts = _analyze(text)
    a = _find(atts, source="the commander", cue="said")
    assert a.content.start == 0 and a.content.end == len(text)


def test_no_attribution_without_a_cue() -> None:
    assert _analyze("The bridge over the river collapsed after heavy rain on Tuesday.") == []


def test_find_quotes_pairs_marks_and_closes_at_paragraph_end() -> None:
    pairs = load_lexicon().quote_pairs
    text = 'He said “yes” and “no.\nThen "maybe" came.'
    quotes = [text[s:e] for s, e in find_quotes(text, pairs)]
    assert quotes == ["“yes”", "“no.", '"maybe"']


def test_cue_model_threshold_is_a_probability() -> None:
    model = load_cue_model()
    assert 0.0 < model.threshold < 1.0
    assert model.score(["lemma=say", "ctype=ccomp", "lex=True"]) > model.score(["lemma=eat", "ctype=dobj", "lex=False"])


# ---------------------------------------------------------------------------------------------- sources and cues


def _texts(atts: tuple[Attribution, ...] | list[Attribution], role: str) -> list[str]:
    return [span.text for a in atts if (span := getattr(a, role)) is not None]


def test_pronoun_sources_keep_their_text_and_resolve_to_the_speaker() -> None:
    """Run rabbit run: "..., he continued" and "..., whilst also arguing" are Peter Rutland's."""
    _, atts = _example("kherson-run-rabbit-run-video")
    continued = _find(atts, source="he", cue="continued")
    assert continued.source is not None and continued.source.text == "he"
    assert continued.source.canonical == "Peter Rutland"
    assert continued.to_dict()["source"]["canonical"] == "Peter Rutland"
    arguing = _find(atts, source="he", cue="arguing")
    assert arguing.source is not None and arguing.source.canonical == "Peter Rutland"
    told = _find(atts, source="Peter Rutland", cue="told")
    assert told.source is not None and told.source.canonical == "Peter Rutland"  # the name without the appositive


def test_a_surname_resolves_to_the_full_name_named_before() -> None:
    _, atts = _example("kharkiv-stunning-defeat")
    responded = _find(atts, source="Nadezhdin", cue="responded")
    assert responded.source is not None and responded.source.text == "Nadezhdin"
    assert responded.source.canonical == "Boris Nadezhdin"


def test_no_attribution_for_chanting_an_inanimate_subject_or_showing_cracks() -> None:
    _, liberated = _example("kherson-liberated")
    assert not any("chant" in c.lower() for c in _texts(liberated, "cue"))
    _, kharkiv = _example("kharkiv-stunning-defeat")
    assert "the tank" not in _texts(kharkiv, "source")
    assert not any("implying" in c for c in _texts(kharkiv, "cue"))
    assert not any("propaganda matrix" in s for s in _texts(kharkiv, "source"))
    assert not any("showing" in c for c in _texts(kharkiv, "cue"))


def test_an_as_clause_names_the_tracker_as_the_source() -> None:
    """ "as one online weapons tracker pointed out, the tank was in the exact same location"."""
    _, atts = _example("kharkiv-stunning-defeat")
    a = _find(atts, source="one online weapons tracker", cue="pointed out")
    assert a.source is not None and a.source.text == "one online weapons tracker"
    assert a.content.text.startswith("the tank was in the exact same location")


@pytest.mark.parametrize(
    ("text", "source", "cue", "canonical"),
    [
        (
            "The Defence Ministry said on Tuesday that 40 drones had been shot down overnight. It said the attack "
            "had targeted energy sites in the Kharkiv region.",
            "It",
            "said",
            "The Defence Ministry",
        ),
        (
            "“They came at night and took everything,” said a soldier who asked not to be named.",
            "who",
            "asked",
            "a soldier",
        ),
        (
            "Peter Rutland, a professor at Wesleyan University, told reporters that the city would fall. “It is only "
            "a matter of time,” he added.",
            "he",
            "added",
            "Peter Rutland",
        ),
    ],
)
def test_pronoun_source_resolution_on_sentences(text: str, source: str, cue: str, canonical: str) -> None:
    a = _find(_analyze(text), source=source, cue=cue)
    assert a.source is not None and a.source.text == source
    assert a.source.canonical == canonical


@pytest.mark.parametrize(
    "text",
    [
        "Protesters chanted “Glory to Ukraine” outside the Russian embassy on Saturday.",
        "The tank was abandoned near the village, implying it had never been used in combat.",
        "The explosion shows that the air defences around the city are weak.",
        "The bridge was damaged on Monday. It showed that the defences along the river had failed.",
        "Russian troops attacked the village of Bilohorivka with artillery overnight.",
    ],
)
def test_no_attribution_without_speech_or_a_speaker(text: str) -> None:
    assert _analyze(text) == []


@pytest.mark.parametrize(
    ("text", "source", "cue", "content"),
    [
        (
            "A poll by the Kyiv International Institute of Sociology shows that 85 percent of Ukrainians reject "
            "territorial concessions.",
            "A poll by the Kyiv International Institute of Sociology",
            "shows",
            "that 85 percent of Ukrainians reject territorial concessions",
        ),
        (
            "As the regional governor noted, the power station was hit twice.",
            "the regional governor",
            "noted",
            "the power station was hit twice",
        ),
        (
            "President Zelensky called for more air defence systems at the summit.",
            "President Zelensky",
            "called for",
            "more air defence systems",
        ),
    ],
)
def test_speech_by_people_organisations_and_media_is_kept(text: str, source: str, cue: str, content: str) -> None:
    a = _find(_analyze(text), source=source, cue=cue)
    assert a.source is not None and a.source.text == source
    assert a.cue is not None and a.cue.text == cue
    assert a.content.text == content


def test_canonical_is_exported_only_when_set() -> None:
    assert Span(0, 2, "he").to_dict() == {"start": 0, "end": 2, "text": "he"}
    assert Span(0, 2, "he", canonical="Peter Rutland").to_dict()["canonical"] == "Peter Rutland"
    a = Attribution(
        source=Span(0, 2, "he", canonical="Peter Rutland"), cue=Span(3, 7, "said"), content=Span(8, 10, "no")
    )
    out = a.to_dict()
    assert out["source"]["canonical"] == "Peter Rutland"
    assert "canonical" not in out["cue"] and "canonical" not in out["content"]


def test_summary_counts_the_resolved_source(store: Store) -> None:
    """The corpus summary counts "he" under the person it stands for."""
    text = "Peter Rutland told reporters the city would fall. He added that the front was holding."
    article = Article(raw=text, origin="test", text=text)
    article.finalise_ids()
    store.add_article(article)
    document = Document(article)
    _pipeline()([document])
    store.save_analysis(article.id, ["parse", "attribution"], "test", document.to_dict())
    sources = dict(corpus_summary(store)["sources"])
    assert sources.get("Peter Rutland") == 2
    assert "He" not in sources
