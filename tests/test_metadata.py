"""Metadata: outlet from URL, dates in any common form, dates at the top of a text, language."""

from __future__ import annotations

import pytest

from crosscheck.ingest.metadata import date_from_text, detect_language, normalise_date, outlet_from_url, outlet_name


@pytest.mark.parametrize(
    ("url", "outlet"),
    [
        ("https://www.kyivindependent.com/news/x", "kyivindependent.com"),
        ("http://tass.ru/politika/1", "tass.ru"),
        ("euromaidanpress.com/2022/11/11/", "euromaidanpress.com"),
        (None, None),
        ("", None),
    ],
)
def test_outlet_from_url(url: str | None, outlet: str | None) -> None:
    assert outlet_from_url(url) == outlet


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2022-11-11", "2022-11-11"),
        ("2022-11-11T15:04:00Z", "2022-11-11T15:04:00+00:00"),
        ("Fri, 11 Nov 2022 15:04:00 +0000", "2022-11-11T15:04:00+00:00"),
        ("November 11, 2022", "2022-11-11"),
        ("11 November 2022", "2022-11-11"),
        ("not a date", None),
        (None, None),
    ],
)
def test_normalise_date(value: str | None, iso: str | None) -> None:
    assert normalise_date(value) == iso


def test_date_from_the_top_of_a_text_only() -> None:
    assert date_from_text("Ukraine\nNov. 12, 2022\nRussian troops fled Kherson.") == "2022-11-12"
    late = "Russian troops fled Kherson. " * 30 + "The city was occupied on March 2, 2022."
    assert date_from_text(late) is None
    assert date_from_text("February 30, 2022 was not a day") is None


def test_language(example_texts: dict[str, str]) -> None:
    assert detect_language(example_texts["kherson-liberated.txt"]) == "en"
    assert detect_language("Російські війська відступили з Херсона, повідомили у Генштабі ЗСУ.") == "uk"
    assert detect_language("Kherson") is None


@pytest.mark.parametrize(
    ("value", "outlet"),
    [
        ("The Kyiv Independent", "The Kyiv Independent"),
        ("https://www.newsnationnow.com/", "newsnationnow.com"),  # a site name given as a URL: its host
        ("www.newsnationnow.com", "newsnationnow.com"),
        ("  Ukrainska   Pravda ", "Ukrainska Pravda"),
        ("", None),
        (None, None),
    ],
)
def test_outlet_name(value: str | None, outlet: str | None) -> None:
    assert outlet_name(value) == outlet
