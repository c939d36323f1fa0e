"""The plain-text cleaner: golden tests on the three real pages, property tests on generated ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crosscheck.ingest.clean import clean_text, split_lines

GOLDEN = json.loads((Path(__file__).parent / "golden" / "clean.json").read_text("utf-8"))


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_story_kept_and_furniture_removed(name: str, example_texts: dict[str, str]) -> None:
    expected = GOLDEN[name]
    cleaned = clean_text(example_texts[name])
    for sentence in expected["must_contain"]:
        assert sentence in cleaned.text, f"story text lost: {sentence!r}"
    for furniture in expected["must_not_contain"]:
        assert furniture not in cleaned.text, f"furniture kept: {furniture!r}"
    if "must_not_start_with" in expected:
        assert not cleaned.text.startswith(expected["must_not_start_with"])
    for phrase, count in expected.get("occurrences", {}).items():
        assert cleaned.text.count(phrase) == count
    assert cleaned.title == expected["title"]
    assert sorted({r.kind for r in cleaned.removed}) == sorted(expected["removed_kinds"])


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_every_story_line_of_the_examples_survives(name: str, example_texts: dict[str, str]) -> None:
    """Every raw line is either in the clean text or inside a removed range: nothing vanishes unaccounted."""
    raw = example_texts[name]
    cleaned = clean_text(raw)
    kept_lines = set(cleaned.text.splitlines())
    for line in split_lines(raw):
        kept = line.text in kept_lines
        removed = any(r.start <= line.start and line.end <= r.end for r in cleaned.removed)
        assert kept != removed, f"line neither kept nor recorded as removed (or both): {line.text!r}"


def test_removed_offsets_point_into_raw(example_texts: dict[str, str]) -> None:
    raw = example_texts["kherson-liberated.txt"]
    removed = {raw[r.start : r.end] for r in clean_text(raw).removed}
    assert "Ukraine" in removed
    assert "3 days ago" in removed
    assert any(piece.startswith("Mike") and "Media analyst" in piece for piece in removed)


def test_story_sentence_mentioning_a_newsletter_is_kept() -> None:
    raw = (
        "Officials said the shelling continued overnight in the city.\n\n"
        "The ministry's weekly newsletter, seen by reporters, listed 12 damaged schools and two hospitals in the "
        "region, and said repairs would take months because of shortages of glass and roofing material.\n"
    )
    assert "weekly newsletter, seen by reporters" in clean_text(raw).text


def test_empty_and_blank_input() -> None:
    assert clean_text("").text == ""
    assert clean_text("\n \n\t\n").text == ""
    assert clean_text("").removed == []


STORY = [
    "Russian forces shelled the city overnight, regional officials said on Tuesday, adding that two people were hurt.",
    "The governor wrote on Telegram that power had been restored to most districts by the morning.",
    "According to the military, air defence units shot down 14 of the 16 drones launched from the south.",
    "Residents queued for water at distribution points set up by volunteers near the central market.",
    "“We will rebuild everything,” the mayor told reporters outside the damaged school.",
]
FURNITURE = [
    "Recent Posts",
    "3 days ago",
    "Share this article",
    "Download the Example News app for iPhone and Android",
    "To suggest a correction or clarification, write to us here",
    "Related",
    "Ukraine",
    "By Jane Smith",
    "© 2024 Example Media. All rights reserved.",
]
lines = st.lists(st.sampled_from(STORY + FURNITURE) | st.text(min_size=0, max_size=80), min_size=0, max_size=25)


@settings(max_examples=150, deadline=None)
@given(lines=lines, seps=st.lists(st.sampled_from(["\n", "\n\n", "\r\n", "\n  \n"]), min_size=25, max_size=25))
def test_properties_idempotent_lines_from_input_offsets_valid(lines: list[str], seps: list[str]) -> None:
    raw = "".join(line + sep for line, sep in zip(lines, seps, strict=False))
    cleaned = clean_text(raw)
    # Idempotent: cleaning clean text changes nothing.
    assert clean_text(cleaned.text).text == cleaned.text
    # Every output line is a (stripped) input line.
    raw_lines = {ln.strip() for ln in raw.splitlines()}
    for out_line in cleaned.text.splitlines():
        assert not out_line or out_line in raw_lines
    # Removed ranges are ordered, disjoint and inside the raw text.
    previous_end = 0
    for piece in cleaned.removed:
        assert previous_end <= piece.start < piece.end <= len(raw)
        previous_end = piece.end


# --- records: posts, statements, headlines --------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(STORY), min_size=1, max_size=4), st.sampled_from(["\n", "\n\n"]))
def test_a_short_record_keeps_every_story_line(lines: list[str], sep: str) -> None:
    """The context steps (page head, stop-word density) never judge a post: each of its story lines stays."""
    raw = sep.join(lines)
    assert clean_text(raw, record=True).text == raw


@pytest.mark.parametrize(
    ("post", "as_page"),
    [
        ("Strikes hit Kharkiv again.\nTwo people were hurt.", ""),  # short sentences: density took both
        (
            "Sirens sounded across the country for three hours.\n\n#Ukraine #StandWithUkraine",
            "Sirens sounded across the country for three hours.",
        ),
        (
            "BREAKING\n\nRussian missiles hit Kyiv overnight, officials said.",
            "Russian missiles hit Kyiv overnight, officials said.",
        ),
    ],
)
def test_a_short_record_is_kept_whole(post: str, as_page: str) -> None:
    assert clean_text(post).text == as_page  # a page's head and its stop-word-poor lines go
    assert clean_text(post, record=True).text == post


def test_a_long_record_is_cleaned_as_the_page_it_holds(example_texts: dict[str, str]) -> None:
    for raw in example_texts.values():
        assert clean_text(raw, record=True) == clean_text(raw)


def test_a_long_record_the_context_steps_would_empty_keeps_its_lines() -> None:
    raw = "\n".join(f"Kharkiv shelled on {day} March." for day in range(1, 11))  # short lines, all "bad" alone
    assert clean_text(raw).text == ""
    assert clean_text(raw, record=True).text == raw


@pytest.mark.parametrize(
    "line",
    [
        "Home | News | World | Politics | Sport | Contact",
        "News • Ukraine • Europe • Opinion",
        "World / Europe / Ukraine / Kherson",
        "Home » News » Europe",
        "Home > War in Ukraine",
    ],
)
def test_menu_and_breadcrumb_lines_are_navigation(line: str) -> None:
    cleaned = clean_text(line, record=True)
    assert cleaned.text == "" and [r.kind for r in cleaned.removed] == ["nav"]


@pytest.mark.parametrize(
    "sentence",
    [
        "Kherson liberated | Ukraine | Example News",  # a title with its section and site: three pieces, not a menu
        "By Russia or anybody else.",  # "By" and words: a byline needs capitalised names
        "By the way...",
        "Updated: 3 killed in Russian strike on Kharkiv, 12 wounded",  # no date or time after "Updated"
        "Source: Russian forces lost 500 troops in a day, the General Staff said",
        "Donate blood at the city hospital, Kherson officials urged residents.",
        "Join us on the ground in Bakhmut as soldiers dig in.",
    ],
)
def test_news_lines_that_look_like_furniture_are_kept(sentence: str) -> None:
    assert clean_text(sentence, record=True).text == sentence


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("By Jane Smith", "byline"),
        ("by Olena Roshchina | Ukrainska Pravda", "byline"),
        ("Posted on Nov. 12, 2022", "timestamp"),
        ("Updated 2010 GMT (0410 HKT) March 14, 2021", "timestamp"),
        ("Posted by admin 6 years ago", "byline"),
        ("Photo: Ashraf Amra/Anadolu via Getty Images", "byline"),
        ("Donate Now", "promo"),
        ("Follow us on Telegram for live updates from the front line.", "promo"),
    ],
)
def test_furniture_lines_are_still_furniture(line: str, kind: str) -> None:
    assert [r.kind for r in clean_text(line, record=True).removed] == [kind]
