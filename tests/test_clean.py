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
