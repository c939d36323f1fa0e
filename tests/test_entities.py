"""Golden and edge-case tests for the entities stage (gazetteer, military lexicon, NER fixes)."""

from __future__ import annotations

import gzip
import json

import pytest

from _analyze_examples import analyze_text, analyzed
from crosscheck.analyze.entities import DATA, load_gazetteer

RABBIT = "kherson-run-rabbit-run-video"
KHARKIV = "kharkiv-stunning-defeat"
LIBERATED = "kherson-liberated"


def _by_text(name: str, text: str) -> list:
    return [e for e in analyzed(name).entities if e.text == text]


def test_offsets_point_into_the_text_and_do_not_overlap() -> None:
    for name in (RABBIT, KHARKIV, LIBERATED):
        doc = analyzed(name)
        last_end = -1
        for e in doc.entities:
            assert doc.text[e.start : e.end] == e.text
            assert e.start >= last_end, e
            last_end = e.end


def test_dnipro_and_dnieper_are_one_river_with_coordinates() -> None:
    dnipro = _by_text(LIBERATED, "Dnipro")  # "on the right bank of the Dnipro"
    dnieper = _by_text(RABBIT, "Dnieper")  # "on the west bank of the Dnieper"
    crossed = _by_text(RABBIT, "Dnipro")  # "A pontoon that crossed the Dnipro"
    assert dnipro and dnieper and crossed
    canon = {e.canonical for e in dnipro + dnieper + crossed}
    assert canon == {"Dnipro River"}
    assert all(e.label == "PLACE" and e.lat is not None and e.lon is not None for e in dnipro + dnieper)


def test_dnipro_the_city_is_not_the_river() -> None:
    doc = analyze_text("Missiles hit Dnipro on Monday, and residents of Dnipro sheltered underground.")
    cities = [e for e in doc.entities if e.text == "Dnipro"]
    assert cities and {e.canonical for e in cities} == {"Dnipro"}
    assert all(e.admin1 == "Dnipropetrovsk Oblast" for e in cities)


def test_kherson_is_a_place_not_a_person() -> None:
    for name in (RABBIT, LIBERATED):
        kherson = _by_text(name, "Kherson")
        assert len(kherson) >= 3
        assert all(e.label == "PLACE" for e in kherson)
        assert all(e.canonical == "Kherson" and e.country == "UA" and e.lat is not None for e in kherson)
    assert not [e for e in analyzed(LIBERATED).entities if e.label == "PERSON" and "Kherson" in e.text]


@pytest.mark.parametrize(
    ("name", "text", "canonical"),
    [
        (RABBIT, "Kyiv", "Kyiv"),
        (KHARKIV, "Kharkiv", "Kharkiv"),
        (KHARKIV, "Izyum", "Izium"),
        (KHARKIV, "Belgorod", "Belgorod"),
        (RABBIT, "Odesa", "Odesa"),
        (KHARKIV, "Moscow", "Moscow"),
        (KHARKIV, "Kharkiv oblast", "Kharkiv Oblast"),
        (RABBIT, "Kherson Oblast", "Kherson Oblast"),
        (RABBIT, "Kherson region", "Kherson Oblast"),
        (LIBERATED, "Kherson region", "Kherson Oblast"),
        (LIBERATED, "Serbia", "Serbia"),
    ],
)
def test_places_resolve_with_coordinates(name: str, text: str, canonical: str) -> None:
    found = _by_text(name, text)
    assert found, f"{text} not found in {name}"
    for e in found:
        assert e.label == "PLACE" and e.canonical == canonical
        assert e.lat is not None and e.lon is not None and e.country is not None


def test_zaporizhzhia_resolves_with_coordinates() -> None:
    zap = [e for e in analyzed(RABBIT).entities if e.text.startswith("Zaporizhzhia")]
    assert zap and all(e.label == "PLACE" and e.lat is not None for e in zap)
    assert 47 < zap[0].lat < 48.5 and 34 < zap[0].lon < 36  # type: ignore[operator]
    doc = analyze_text("Shelling was reported near Zaporizhzhia and Zaporozhye overnight.")
    assert {e.canonical for e in doc.entities if e.label == "PLACE"} == {"Zaporizhzhia"}


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("Kiev", "Kyiv"),
        ("Kharkov", "Kharkiv"),
        ("Odessa", "Odesa"),
        ("Lugansk", "Luhansk"),
        ("Nikolaev", "Mykolaiv"),
        ("Artemovsk", "Bakhmut"),
        ("Donbass", "Donbas"),
        ("Crimea", "Crimea"),
        ("Mariupol", "Mariupol"),
        ("Dnieper", "Dnipro River"),
    ],
)
def test_spelling_variants_resolve_to_one_place(variant: str, canonical: str) -> None:
    place = load_gazetteer().lookup(variant)
    assert place is not None and place.canonical == canonical and place.lat is not None


def test_equipment_and_units() -> None:
    rabbit = {(e.text, e.label, e.canonical) for e in analyzed(RABBIT).entities}
    assert ("T-72", "EQUIPMENT", "T-72") in rabbit
    assert ("Operational Command South", "UNIT", "Operational Command South") in rabbit
    assert ("Operation Command South", "UNIT", "Operational Command South") in rabbit
    kharkiv = {(e.text, e.label) for e in analyzed(KHARKIV).entities}
    assert ("T-80BVM", "EQUIPMENT") in kharkiv
    assert ("T-80BVM", "PLACE") not in kharkiv
    liberated = {(e.text, e.label) for e in analyzed(LIBERATED).entities}
    assert ("Oreshnik", "EQUIPMENT") in liberated
    # a Twitter account named "Defense of Ukraine" is not a unit
    assert not [e for e in analyzed(RABBIT).entities if e.label == "UNIT" and "Defense of Ukraine" in e.text]


def test_patterns_find_unlisted_models_and_numbered_brigades() -> None:
    doc = analyze_text(
        "The 93rd Separate Mechanized Brigade destroyed a T-62MV tank and two BTR-4 vehicles near Bakhmut, "
        "while HIMARS and Storm Shadow missiles hit depots."
    )
    got = {(e.text, e.label) for e in doc.entities}
    assert ("93rd Separate Mechanized Brigade", "UNIT") in got
    assert ("T-62MV", "EQUIPMENT") in got
    assert ("BTR-4", "EQUIPMENT") in got
    assert ("HIMARS", "EQUIPMENT") in got and ("Storm Shadow", "EQUIPMENT") in got
    assert ("Bakhmut", "PLACE") in got


def test_nationalities_and_people() -> None:
    kharkiv = analyzed(KHARKIV).entities
    assert {e.label for e in kharkiv if e.text in ("Russian", "Ukrainian", "Ukrainians")} == {"NORP"}
    people = {e.text for e in kharkiv if e.label == "PERSON"}
    assert {"Anton Gerashchenko", "Boris Nadezhdin", "Vladimir Putin"} <= people
    # a surname alone refers to the person named earlier, not to a place
    nadezhdin = [e for e in kharkiv if e.text == "Nadezhdin"]
    assert nadezhdin and all(e.label == "PERSON" and e.canonical == "Boris Nadezhdin" for e in nadezhdin)


def test_places_list_holds_the_located_places() -> None:
    doc = analyzed(RABBIT)
    places = doc.layers["places"]
    assert places and all(p.label == "PLACE" and p.lat is not None for p in places)
    assert {"Kherson", "Kyiv", "Dnipro River", "Odesa"} <= {p.canonical for p in places}


def test_empty_text_and_text_without_entities() -> None:
    assert analyze_text("").entities == []
    doc = analyze_text("the soldiers walked home slowly and nobody said anything at all.")
    assert doc.entities == [] and doc.layers["places"] == []


def test_gazetteer_file_is_compact_and_consistent() -> None:
    path = DATA / "gazetteer.json.gz"
    assert path.stat().st_size < 5_000_000
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    n = len(data["places"])
    assert n > 30_000
    assert all(0 <= i < n for i in data["names"].values())
    assert set(data["match"]) <= set(data["names"])
