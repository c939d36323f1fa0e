"""The attribution stage on the bundled examples and on short real-style sentences, plus its building blocks."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from crosscheck.analyze.attribution import find_quotes, load_cue_model, load_lexicon
from crosscheck.analyze.pipeline import Document, Pipeline, build_pipeline
from crosscheck.article import Article, Attribution

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
