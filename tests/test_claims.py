"""The ``claims`` stage on real sentences from the example articles.

The entities, quantities, dates and attributions are built here by hand (offsets found in the text), so these tests
exercise only the claims stage.
"""

from __future__ import annotations

import pytest

from crosscheck.analyze.claims import (
    ClaimsStage,
    candidate_sentences,
    claim_source,
    load_checkworthiness,
    score_sentences,
)
from crosscheck.analyze.parse import load_nlp
from crosscheck.analyze.pipeline import Document
from crosscheck.article import Article, Attribution, Entity, Quantity, Span, TimeExpression

# From examples/kherson-run-rabbit-run-video.txt (the last two lines are the page's boilerplate).
GOVERNMENT = (
    "The Ukrainian government have claimed that the country’s military services eliminated 201 Russian soldiers and "
    "attacked six Russian ammunition depots, 12 Russian T-72 tanks, and a variety of other Russian military tools and "
    "armaments."
)
TASS = (
    "According to the Russian news agency TASS, five explosions occurred in Kherson on Tuesday and were most likely "
    "caused by active air defence systems."
)
REPORTED = "Ukraine reported on Wednesday that its armed forces had already killed more than 200 Russian soldiers."
CTRL_ENTER = "You can also highlight the text and press Ctrl + Enter"
CORRECTION = "To suggest a correction or clarification, write to us here"
TEXT = (
    "Ukraine\n\n"
    "Ukrainian Army liberated Kherson, Russian troops fled\n\n"
    f"Kyiv has begun a counteroffensive to reclaim Ukrainian territories stolen by the Russian invaders. {REPORTED}\n\n"
    f"{GOVERNMENT}\n\n"
    f"{TASS}\n\n"
    "Mike\n\n"
    f"{CORRECTION}\n"
    f"{CTRL_ENTER}"
)


def span(text: str, piece: str, *, after: int = 0) -> Span:
    start = text.index(piece, after)
    return Span(start, start + len(piece), piece)


@pytest.fixture(scope="module")
def document() -> Document:
    article = Article(raw=TEXT, origin="test", text=TEXT, published="2022-09-07")
    article.finalise_ids()
    doc = load_nlp()(TEXT)
    g = span(TEXT, GOVERNMENT)
    t = span(TEXT, TASS)
    r = span(TEXT, REPORTED)
    q201 = span(TEXT, "201 Russian soldiers")
    q200 = span(TEXT, "more than 200 Russian soldiers")
    kherson = span(TEXT, "Kherson", after=t.start)
    kyiv = span(TEXT, "Kyiv")
    tass = span(TEXT, "TASS")
    tuesday = span(TEXT, "Tuesday")
    wednesday = span(TEXT, "Wednesday")
    return Document(
        article=article,
        doc=doc,
        entities=[
            Entity(kyiv.start, kyiv.end, kyiv.text, "GPE", canonical="Kyiv", lat=50.45, lon=30.52, country="UA"),
            Entity(kherson.start, kherson.end, kherson.text, "GPE", canonical="Kherson", lat=46.64, lon=32.61),
            Entity(tass.start, tass.end, tass.text, "ORG"),
        ],
        quantities=[
            Quantity(q200.start, q200.end, q200.text, 200.0, None, counted="Russian soldiers", qualifier="more than"),
            Quantity(q201.start, q201.end, q201.text, 201.0, None, counted="Russian soldiers"),
        ],
        dates=[
            TimeExpression(wednesday.start, wednesday.end, wednesday.text, "2022-08-31"),
            TimeExpression(tuesday.start, tuesday.end, tuesday.text, "2022-09-06"),
        ],
        attributions=[
            Attribution(
                source=span(TEXT, "The Ukrainian government"),
                cue=span(TEXT, "have claimed", after=g.start),
                content=span(TEXT, GOVERNMENT[GOVERNMENT.index("the country") :].rstrip(".")),
            ),
            Attribution(
                source=span(TEXT, "the Russian news agency TASS"),
                cue=span(TEXT, "According to", after=t.start),
                content=span(TEXT, TASS[TASS.index("five") :].rstrip(".")),
                kind="according_to",
            ),
            Attribution(
                source=span(TEXT, "Ukraine", after=r.start),
                cue=span(TEXT, "reported", after=r.start),
                content=span(TEXT, REPORTED[REPORTED.index("its armed") :].rstrip(".")),
            ),
        ],
    )


def test_candidates_skip_headings_bylines_and_menu_lines(document: Document) -> None:
    assert document.doc is not None
    ranges = candidate_sentences(document.doc, min_words=4, max_heading_words=25)
    texts = [TEXT[s:e] for s, e in ranges]
    assert GOVERNMENT in texts
    assert TASS in texts
    assert REPORTED in texts
    assert "Kyiv has begun a counteroffensive to reclaim Ukrainian territories stolen by the Russian invaders." in texts
    for skipped in ("Ukraine", "Mike", "Ukrainian Army liberated Kherson, Russian troops fled", CORRECTION, CTRL_ENTER):
        assert skipped not in texts
    # Every candidate is trimmed and lies on one line.
    assert all(t == t.strip() and "\n" not in t for t in texts)


def test_candidates_keep_a_long_unpunctuated_line() -> None:
    line = " ".join(GOVERNMENT.rstrip(".").split()[:30])
    doc = load_nlp()(f"{line}\n")
    assert [doc.text[s:e] for s, e in candidate_sentences(doc, min_words=4, max_heading_words=25)] == [line]


def test_model_scores_claims_above_and_boilerplate_below_the_threshold() -> None:
    model = load_checkworthiness()
    threshold = float(model.config["threshold"])
    scores = score_sentences([GOVERNMENT, TASS, REPORTED, CTRL_ENTER, CORRECTION], model=model)
    assert scores.shape == (5,)
    assert all(s >= threshold for s in scores[:3]), scores
    assert all(s < threshold for s in scores[3:]), scores


def test_scores_do_not_depend_on_batching() -> None:
    texts = [GOVERNMENT, TASS, REPORTED, CTRL_ENTER, CORRECTION, "Kherson."]
    together = score_sentences(texts, batch_size=32)
    one_by_one = score_sentences(texts, batch_size=1)
    assert together == pytest.approx(one_by_one, abs=0.03)
    assert score_sentences([]).shape == (0,)


def test_stage_creates_claims_tied_to_source_quantities_places_and_date(document: Document) -> None:
    ClaimsStage()([document])
    by_text = {c.text: c for c in document.claims}
    assert GOVERNMENT in by_text and TASS in by_text and REPORTED in by_text
    assert not any(CTRL_ENTER in c.text or CORRECTION in c.text for c in document.claims)

    government = by_text[GOVERNMENT]
    start = TEXT.index(GOVERNMENT)
    assert (government.start, government.end) == (start, start + len(GOVERNMENT))
    assert government.id == f"{document.article.id}:{start}-{start + len(GOVERNMENT)}"
    assert government.source == "The Ukrainian government"
    assert [q["value"] for q in government.quantities] == [201.0]
    assert government.places == [] and government.date is None

    tass = by_text[TASS]
    assert tass.source == "the Russian news agency TASS"
    assert [p["canonical"] for p in tass.places] == ["Kherson"]
    assert [e["text"] for e in tass.entities] == ["TASS"]
    assert tass.date == "2022-09-06"
    assert tass.quantities == []

    reported = by_text[REPORTED]
    assert reported.source == "Ukraine"
    assert reported.quantities[0]["qualifier"] == "more than"
    assert reported.date == "2022-08-31"
    assert all(0.0 <= c.score <= 1.0 for c in document.claims)
    assert [c.start for c in document.claims] == sorted(c.start for c in document.claims)


def test_stage_is_idempotent_and_threshold_is_an_option(document: Document) -> None:
    stage = ClaimsStage()
    stage([document])
    first = [c.to_dict() for c in document.claims]
    stage([document])
    assert [c.to_dict() for c in document.claims] == first
    ClaimsStage(threshold=0.0)([document])
    everything = {c.text for c in document.claims}
    assert CORRECTION not in everything  # skipped before scoring: a whole unpunctuated line
    assert "Kyiv has begun a counteroffensive to reclaim Ukrainian territories stolen by the Russian invaders." in (
        everything
    )
    ClaimsStage(threshold=1.01)([document])
    assert document.claims == []


def test_stage_handles_an_empty_batch_and_a_document_without_sentences() -> None:
    article = Article(raw="", origin="test", text="")
    article.finalise_ids()
    empty = Document(article=article, doc=load_nlp()(""))
    stage = ClaimsStage()
    stage([])
    stage([empty])
    assert empty.claims == []


def test_claim_source_prefers_the_attribution_covering_the_sentence() -> None:
    text = f"{GOVERNMENT} {TASS}"
    g_start, t_start = 0, len(GOVERNMENT) + 1
    attributions = [
        Attribution(source=span(text, "The Ukrainian government"), cue=None, content=span(text, GOVERNMENT[10:])),
        Attribution(source=span(text, "the Russian news agency TASS"), cue=None, content=span(text, TASS[43:])),
        Attribution(source=None, cue=None, content=span(text, TASS)),
    ]
    assert claim_source(attributions, g_start, len(GOVERNMENT)) == "The Ukrainian government"
    assert claim_source(attributions, t_start, len(text)) == "the Russian news agency TASS"
    assert claim_source(attributions[2:], t_start, len(text)) is None
    assert claim_source([], 0, len(text)) is None


def test_stage_declares_its_contract() -> None:
    assert ClaimsStage.name == "claims"
    assert ClaimsStage.requires == ("doc", "entities", "quantities", "dates", "attributions")
    assert ClaimsStage.provides == ("claims",)


def test_pipeline_end_to_end_on_an_example_article() -> None:
    from pathlib import Path

    from crosscheck.analyze.pipeline import build_pipeline

    path = Path(__file__).resolve().parents[1] / "examples" / "kherson-run-rabbit-run-video.txt"
    text = path.read_text(encoding="utf-8")
    article = Article(raw=text, origin=str(path), text=text, published="2022-09-01")
    article.finalise_ids()
    document = Document(article=article)
    build_pipeline(["parse", "entities", "quantities", "dates", "attribution", "claims"])([document])
    claims = {c.text: c for c in document.claims}
    government = next(c for t, c in claims.items() if "eliminated 201 Russian soldiers" in t)
    assert 201.0 in [q["value"] for q in government.quantities]
    assert government.source is not None and "Ukrainian government" in government.source
    tass = next(c for t, c in claims.items() if "five explosions occurred in Kherson" in t)
    assert "Kherson" in [p["canonical"] for p in tass.places]
    assert tass.source is not None and "TASS" in tass.source
    assert tass.date == "2022-08-30"  # "on Tuesday" before the publication date
    assert not any("Ctrl + Enter" in t or "write to us here" in t for t in claims)
    for claim in document.claims:
        assert text[claim.start : claim.end] == claim.text
        assert claim.id == f"{article.id}:{claim.start}-{claim.end}"


def test_two_recaptured_areas_have_different_sources() -> None:
    """Kharkiv: 2,500 km² on a conservative estimate, 6,000 km² on the Deputy Defense Minister's word."""
    from pathlib import Path

    from crosscheck.analyze.pipeline import build_pipeline
    from crosscheck.ingest.clean import clean_text

    raw = (Path(__file__).resolve().parents[1] / "examples" / "kharkiv-stunning-defeat.txt").read_text("utf-8")
    article = Article(raw=raw, origin="kharkiv", text=clean_text(raw).text, published="2022-09-13")
    article.finalise_ids()
    document = Document(article=article)
    build_pipeline(["parse", "entities", "quantities", "dates", "attribution", "claims"])([document])
    by_value = {q["value"]: c for c in document.claims for q in c.quantities if q["unit"] == "km²"}
    assert by_value[2500.0].source == "A conservative estimate"
    assert by_value[6000.0].source == "Ukraine’s Deputy Defense Minister"
    assert by_value[6000.0].date == "2022-09-12"  # "on Monday", the day before publication
    assert next(q for q in by_value[6000.0].quantities if q["value"] == 6000.0)["qualifier"] == "closer to"


def test_pronoun_source_takes_the_last_person_named_before() -> None:
    from crosscheck.analyze.claims import load_rules, resolve_pronoun

    rules = load_rules()
    people = [
        Entity(0, 13, "Peter Rutland", "PERSON"),
        Entity(20, 24, "TASS", "ORG"),
        Entity(200, 210, "Kate Smith", "PERSON"),
    ]
    assert resolve_pronoun("he", people, 150, rules) == "Peter Rutland"
    assert resolve_pronoun("She", people, 300, rules) == "Kate Smith"
    assert resolve_pronoun("he", people, 5, rules) == "he"  # nobody named before: kept as found
    assert resolve_pronoun("The Ukrainian government", people, 150, rules) == "The Ukrainian government"
    assert resolve_pronoun(None, people, 150, rules) is None
