"""Golden and edge-case tests for the dates stage."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _analyze_examples import analyze_text, analyzed
from crosscheck.analyze.dates import find_dates
from crosscheck.analyze.parse import load_nlp

RABBIT = "kherson-run-rabbit-run-video"
KHARKIV = "kharkiv-stunning-defeat"
LIBERATED = "kherson-liberated"


def _values(name: str, published: str | None) -> list[tuple[str, str | None, bool]]:
    return [(d.text, d.value, d.partial) for d in analyzed(name, published).dates]


def test_rabbit_with_publication_date() -> None:
    got = _values(RABBIT, "2022-09-02")
    assert ("Wednesday, August 31", "2022-08-31", False) in got
    assert ("Wednesday", "2022-08-31", False) in got  # "Ukraine reported on Wednesday"
    assert ("Tuesday", "2022-08-30", False) in got


def test_kharkiv_with_publication_date() -> None:
    got = _values(KHARKIV, "2022-09-13")
    for expected in [
        ("48 hours ago", "2022-09-11", False),
        ("Monday", "2022-09-12", False),
        ("yesterday", "2022-09-12", False),
        ("September 11", "2022-09-11", False),
        ("September 9", "2022-09-09", False),
        ("two days later", "2022-09-11", False),  # after "September 9", not after publication
        ("2017", "2017", True),
    ]:
        assert expected in got


def test_liberated_months_are_before_publication() -> None:
    got = _values(LIBERATED, "2022-11-12")
    assert ("February", "2022-02", True) in got and ("March", "2022-03", True) in got
    assert ("September", "2022-09", True) in got
    assert ("November 11", "2022-11-11", False) in got
    assert ("3 days ago", "2022-11-09", False) in got


def test_without_publication_date() -> None:
    got = _values(RABBIT, None)
    # Aug 31 fell on a Wednesday in 2022 and not again until 2033: the year is certain
    assert ("Wednesday, August 31", "2022-08-31", False) in got
    assert ("Wednesday", None, True) in got and ("Tuesday", None, True) in got
    lib = _values(LIBERATED, None)
    assert ("November 11", "--11-11", True) in lib and ("September", "--09", True) in lib
    assert ("3 days ago", None, True) in lib


def test_ambiguous_weekday_year_is_partial() -> None:
    nlp = load_nlp()
    # Sunday, June 5 was a Sunday in 2022 and in 2016: with earliest_year 2014 both count
    doc = nlp("The strike came on Sunday, June 5.")
    (d,) = find_dates(doc, reference_year=2026, earliest_year=2014)
    assert (d.value, d.partial) == ("2022-06-05", True)
    (d,) = find_dates(doc, reference_year=2026, earliest_year=2022)
    assert (d.value, d.partial) == ("2022-06-05", False)


def test_without_a_publication_date_the_year_is_the_tables_not_the_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    from crosscheck.analyze import dates

    class Later(dt.date):
        @classmethod
        def today(cls) -> Later:
            return cls(2040, 1, 1)

    doc = load_nlp()("The strike came on Sunday, June 5.")  # a Sunday in 2022, 2033 and 2039
    year = dates.load_tables().reference_year
    before = [(d.value, d.partial) for d in find_dates(doc)]
    monkeypatch.setattr(dates.dt, "date", Later)
    assert [(d.value, d.partial) for d in find_dates(doc)] == before == [("2022-06-05", False)]
    # a later reference year, given, does reach the later Sundays
    (d,) = find_dates(doc, reference_year=2040)
    assert (d.value, d.partial) == ("2039-06-05", True)
    assert 2026 <= year < 2033


def test_explicit_dates_and_frequencies() -> None:
    doc = analyze_text("On 24 February 2022, and again on 2023-06-06, his weekly column said so.", published=None)
    got = [(d.text, d.value, d.partial) for d in doc.dates]
    assert ("24 February 2022", "2022-02-24", False) in got
    assert ("2023-06-06", "2023-06-06", False) in got
    assert not [d for d in doc.dates if d.text == "weekly"]


def test_may_the_verb_is_not_a_month() -> None:
    doc = analyze_text("May the talks succeed. Fighting resumed in May.", published="2023-07-01")
    assert [(d.text, d.value) for d in doc.dates] == [("May", "2023-05")]


def test_offsets_and_empty_text() -> None:
    doc = analyzed(KHARKIV, "2022-09-13")
    assert all(doc.text[d.start : d.end] == d.text for d in doc.dates)
    assert analyze_text("").dates == []
    assert analyze_text("No time is mentioned in this sentence.").dates == []


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_days_ago_count_back_from_publication(published: dt.date) -> None:
    nlp = load_nlp()
    (d,) = find_dates(nlp("It happened 3 days ago."), published=published.isoformat())
    assert d.value == (published - dt.timedelta(days=3)).isoformat()


@pytest.mark.parametrize("weekday", ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"])
def test_weekday_is_the_latest_on_or_before_publication(weekday: str) -> None:
    nlp = load_nlp()
    pub = dt.date(2022, 9, 13)
    (d,) = find_dates(nlp(f"The attack came on {weekday}."), published=pub.isoformat())
    day = dt.date.fromisoformat(d.value or "")
    assert day.strftime("%A") == weekday and 0 <= (pub - day).days < 7
