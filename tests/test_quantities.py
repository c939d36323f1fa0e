"""Golden, edge-case and property tests for the quantities stage and its number parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _analyze_examples import analyze_text, analyzed
from crosscheck.analyze.quantities import parse_number, parse_range

RABBIT = "kherson-run-rabbit-run-video"
KHARKIV = "kharkiv-stunning-defeat"


def _find(name: str, text: str) -> list:
    return [q for q in analyzed(name).quantities if q.text == text]


def test_rabbit_golden_quantities() -> None:
    (q200,) = _find(RABBIT, "more than 200")
    assert (q200.value, q200.qualifier, q200.counted, q200.unit) == (200, "more than", "Russian soldiers", "people")
    (q201,) = _find(RABBIT, "201")
    assert q201.counted == "Russian soldiers" and q201.qualifier is None
    (q900,) = _find(RABBIT, "More than 900,000")
    assert (q900.value, q900.qualifier, q900.counted, q900.unit) == (900_000, "more than", "people", "people")
    (six,) = _find(RABBIT, "six")
    assert six.value == 6 and six.counted is not None and six.counted.endswith("ammunition depots")
    (tanks,) = _find(RABBIT, "12")
    assert tanks.value == 12 and tanks.counted is not None and tanks.counted.endswith("T-72 tanks")
    assert tanks.unit == "tanks"
    (five,) = _find(RABBIT, "five")
    assert five.value == 5 and five.counted == "explosions"
    (twelve,) = _find(RABBIT, "twelve")
    assert twelve.value == 12 and twelve.counted == "command posts"
    (video,) = _find(RABBIT, "40-second")
    assert video.value == 40 and video.unit == "s" and video.counted == "video"


def test_kharkiv_golden_quantities() -> None:
    (a,) = _find(KHARKIV, "2,500 square kilometers")
    assert (a.value, a.unit, a.counted, a.qualifier) == (2500, "km²", "area", None)
    (b,) = _find(KHARKIV, "closer to 6,000 square kilometers")
    assert (b.value, b.unit, b.counted, b.qualifier) == (6000, "km²", "area", "closer to")


@pytest.mark.parametrize(("name", "not_a_quantity"), [(RABBIT, "1932"), (RABBIT, "72"), (KHARKIV, "2017")])
def test_years_and_model_numbers_are_not_quantities(name: str, not_a_quantity: str) -> None:
    doc = analyzed(name)
    assert not [q for q in doc.quantities if not_a_quantity in q.text]


def test_dates_and_points_in_time_are_not_quantities() -> None:
    doc = analyzed(KHARKIV)
    texts = " | ".join(q.text for q in doc.quantities)
    for bad in ("11", "9", "48", "two days"):
        assert not [q for q in doc.quantities if q.text == bad or q.text.startswith(bad + " ")], texts
    doc = analyze_text("On November 11 and 3 March 2022 the talks began at 5 pm, 3 days ago.")
    assert doc.quantities == []


def test_ranges_money_percent_and_scales() -> None:
    doc = analyze_text(
        "Between 10 and 15 tanks and 20-30 drones were lost. Kyiv received $2 million and 1.5 billion rubles "
        "were spent; about 40% of the town, some 2,000 people, fled."
    )
    got = {q.text: q for q in doc.quantities}
    assert (got["Between 10 and 15"].value, got["Between 10 and 15"].value_max) == (10, 15)
    assert got["Between 10 and 15"].unit == "tanks"
    assert (got["20-30"].value, got["20-30"].value_max, got["20-30"].unit) == (20, 30, "drones")
    assert (got["$2 million"].value, got["$2 million"].unit) == (2_000_000, "USD")
    assert (got["1.5 billion rubles"].value, got["1.5 billion rubles"].unit) == (1.5e9, "RUB")
    assert (got["about 40%"].value, got["about 40%"].unit, got["about 40%"].qualifier) == (40, "percent", "about")
    assert (got["some 2,000"].value, got["some 2,000"].qualifier) == (2000, "some")


def test_offsets_and_edge_cases() -> None:
    for name in (RABBIT, KHARKIV):
        doc = analyzed(name)
        assert all(doc.text[q.start : q.end] == q.text for q in doc.quantities)
    assert analyze_text("").quantities == []
    assert analyze_text("Nothing here is counted, only words and the Kremlin.").quantities == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("five", 5),
        ("twelve", 12),
        ("twenty-one", 21),
        ("two hundred", 200),
        ("two hundred and fifty", 250),
        ("a hundred", 100),
        ("1.5 million", 1_500_000),
        ("900,000", 900_000),
        ("3 thousand", 3000),
        ("ten thousand", 10_000),
        ("banana", None),
        ("", None),
    ],
)
def test_parse_number(text: str, value: float | None) -> None:
    assert parse_number(text) == value


@given(st.integers(min_value=0, max_value=10**15))
def test_thousands_separators_parse_back(n: int) -> None:
    assert parse_number(f"{n:,}") == n
    assert parse_number(str(n)) == n


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=99))
def test_decimals_parse_back(n: int, cents: int) -> None:
    assert parse_number(f"{n:,}.{cents:02d}") == pytest.approx(n + cents / 100)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=10**6))
def test_ranges_parse_back(lo: int, width: int) -> None:
    assert parse_range(f"{lo:,}-{lo + width:,}") == (lo, lo + width)
    assert parse_range(f"{lo + width}-{lo}") is None
