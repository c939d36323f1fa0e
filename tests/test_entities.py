"""Golden and edge-case tests for the entities stage (gazetteer, military lexicon, NER fixes)."""

from __future__ import annotations

import gzip
import json
import math
from functools import lru_cache
from typing import Any

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


# --- kinds and the coordinates of the right feature -----------------------------------------------------------

KINDS = {"country", "region", "city", "river", "other"}
Ring = list[list[float]]


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _point(name: str) -> tuple[float, float]:
    place = load_gazetteer().lookup(name)
    assert place is not None and place.lat is not None and place.lon is not None, name
    return place.lat, place.lon


@lru_cache(maxsize=1)
def _outlines() -> dict[str, list[list[Ring]]]:
    """Shipped country outlines: ISO code -> polygons (exterior ring, then holes)."""
    with gzip.open(DATA / "countries.geojson.gz", "rt", encoding="utf-8") as fh:
        geo = json.load(fh)
    out: dict[str, list[list[Ring]]] = {}
    for f in geo["features"]:
        if f["properties"]["code"]:
            out.setdefault(f["properties"]["code"], []).extend(f["geometry"]["coordinates"])
    return out


def _in_ring(lon: float, lat: float, ring: Ring) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def _in_outline(lat: float, lon: float, polygons: list[list[Ring]]) -> bool:
    return any(_in_ring(lon, lat, p[0]) and not any(_in_ring(lon, lat, h) for h in p[1:]) for p in polygons)


@pytest.mark.parametrize(
    ("area", "capital", "min_km"),
    [
        ("Ukraine", "Kyiv", 100),
        ("Russia", "Moscow", 1000),
        ("Georgia", "Tbilisi", 50),
        ("Kherson Oblast", "Kherson", 40),
        ("Kyiv Oblast", "Kyiv", 40),
        ("Crimea", "Simferopol", 20),
        ("Kharkiv Oblast", "Kharkiv", 20),
        ("Belgorod Oblast", "Belgorod", 40),
    ],
)
def test_countries_and_regions_are_not_placed_on_their_capital(area: str, capital: str, min_km: float) -> None:
    assert _km(_point(area), _point(capital)) > min_km


def test_ukraine_sits_near_its_centroid_inside_its_outline() -> None:
    lat, lon = _point("Ukraine")
    assert 48.5 < lat < 49.5 and 30.8 < lon < 32.2  # area-weighted centroid of Ukraine with Crimea
    ukraine = _outlines()["UA"]
    xs = [x for p in ukraine for x, _ in p[0]]
    ys = [y for p in ukraine for _, y in p[0]]
    assert min(xs) < 23 and max(xs) > 40 and min(ys) < 45 and max(ys) > 52  # the outline is the whole country
    assert min(xs) < lon < max(xs) and min(ys) < lat < max(ys)
    assert _in_outline(lat, lon, ukraine)


@pytest.mark.parametrize(
    "region", ["Kherson Oblast", "Donetsk Oblast", "Zaporizhzhia Oblast", "Crimea", "Luhansk Oblast", "Kyiv Oblast"]
)
def test_ukrainian_regions_lie_inside_ukraine(region: str) -> None:
    lat, lon = _point(region)
    assert _in_outline(lat, lon, _outlines()["UA"])
    assert not _in_outline(lat, lon, _outlines()["RU"])


def test_every_country_point_lies_inside_its_own_outline() -> None:
    gaz = load_gazetteer()
    outlines = _outlines()
    checked = []
    for p in gaz.places:
        if p.kind != "country" or p.lat is None or p.lon is None or p.country not in outlines:
            continue
        polygons = outlines[p.country]
        xs = [x for poly in polygons for x, _ in poly[0]]
        ys = [y for poly in polygons for _, y in poly[0]]
        if max(xs) - min(xs) < 1 or max(ys) - min(ys) < 1:
            continue  # islands and city states: simplified to a few points
        assert _in_outline(p.lat, p.lon, polygons), p
        checked.append(p.country)
    assert {"UA", "RU", "GE", "BY", "MD", "PL", "FR", "US", "NO"} <= set(checked)
    assert len(checked) > 180


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        (RABBIT, "Kherson", "city"),
        (RABBIT, "Kherson Oblast", "region"),
        (RABBIT, "Kherson province", "region"),
        (RABBIT, "Ukraine", "country"),
        (RABBIT, "Dnieper", "river"),
        (RABBIT, "Dnipro", "river"),
        (RABBIT, "Zaporizhzhia nuclear power station", "other"),
        (KHARKIV, "Kharkiv oblast", "region"),
        (KHARKIV, "Russia", "country"),
        (KHARKIV, "Moscow", "city"),
        (KHARKIV, "Izyum", "city"),
        (LIBERATED, "Dnipro", "river"),
        (LIBERATED, "Serbia", "country"),
        (LIBERATED, "Europe", "other"),
    ],
)
def test_places_in_the_examples_carry_their_kind(name: str, text: str, kind: str) -> None:
    found = _by_text(name, text)
    assert found, f"{text} not found in {name}"
    assert {e.kind for e in found} == {kind}


def test_every_place_entity_has_a_kind_and_others_have_none() -> None:
    for name in (RABBIT, KHARKIV, LIBERATED):
        for e in analyzed(name).entities:
            if e.label == "PLACE":
                assert e.kind in KINDS, e
                if e.lat is None:  # not in the gazetteer
                    assert e.kind == "other", e
            elif e.lat is None:
                assert e.kind is None, e
    assert all("kind" in p.to_dict() for p in analyzed(RABBIT).layers["places"])


def test_kherson_city_and_kherson_oblast_are_different_points_in_one_article() -> None:
    city = _by_text(RABBIT, "Kherson")[0]
    oblast = _by_text(RABBIT, "Kherson Oblast")[0]
    assert (city.kind, oblast.kind) == ("city", "region")
    assert city.lat is not None and city.lon is not None and oblast.lat is not None and oblast.lon is not None
    assert _km((city.lat, city.lon), (oblast.lat, oblast.lon)) > 40
    assert 46.0 < oblast.lat < 47.3 and 33.0 < oblast.lon < 34.3  # the middle of the oblast, left of the Dnipro


def test_georgia_the_country_is_not_tbilisi() -> None:
    doc = analyze_text("Georgia and Moldova watched the war closely, and protesters gathered in Tbilisi.")
    georgia = [e for e in doc.entities if e.text == "Georgia"]
    tbilisi = [e for e in doc.entities if e.text == "Tbilisi"]
    assert georgia and tbilisi
    assert georgia[0].kind == "country" and tbilisi[0].kind == "city"
    assert georgia[0].lat is not None and georgia[0].lon is not None
    assert tbilisi[0].lat is not None and tbilisi[0].lon is not None
    assert _km((georgia[0].lat, georgia[0].lon), (tbilisi[0].lat, tbilisi[0].lon)) > 50


def test_every_gazetteer_kind_maps_to_an_entity_kind() -> None:
    gaz = load_gazetteer()
    assert {p.kind for p in gaz.places} <= set(gaz.entity_kinds)
    assert set(gaz.entity_kinds.values()) == KINDS


def test_country_outlines_are_compact_and_cover_europe_and_the_former_soviet_space() -> None:
    path = DATA / "countries.geojson.gz"
    assert path.stat().st_size < 1_500_000
    outlines = _outlines()
    for code in ("UA", "RU", "BY", "MD", "GE", "AM", "AZ", "KZ", "UZ", "EE", "LV", "LT", "PL", "RO", "DE", "FR", "TR"):
        polygons: list[list[Any]] = outlines[code]
        assert polygons, code
        for poly in polygons:
            for ring in poly:
                assert len(ring) >= 4 and ring[0] == ring[-1], code
                assert all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in ring), code
