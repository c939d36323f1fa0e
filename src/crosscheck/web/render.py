"""What the page templates draw, computed from store records: annotated text, removed boilerplate, charts, the map.

Everything returns plain data (strings are never pre-escaped); the Jinja2 templates escape every value on output.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

#: The text layers an article page can show, in toolbar order: (layer, label, shown at first).
TEXT_LAYERS = (
    ("techniques", "Techniques", True),
    ("claims", "Claims", True),
    ("attributions", "Attributions", False),
    ("entities", "Entities", False),
    ("quantities", "Quantities", False),
    ("dates", "Dates", False),
)
_PREFIX = {"techniques": "t", "claims": "c", "attributions": "a", "entities": "e", "quantities": "q", "dates": "d"}


@lru_cache(maxsize=1)
def technique_definitions() -> dict[str, dict[str, str]]:
    from ..analyze.techniques import technique_definitions as load

    return load()


def technique_name(label: str) -> str:
    return technique_definitions().get(label, {}).get("name", label.replace("_", " "))


def path_part(value: str) -> str:
    """A value as one URL path segment (slashes and all)."""
    return quote(value, safe="")


def query(**params: Any) -> str:
    """A query string from the parameters that are set."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def safe_href(url: str | None) -> str | None:
    """An article's URL when it is http(s) (a link may be followed), else None (shown as text only)."""
    if not url:
        return None
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    return url if scheme in ("http", "https") else None


# -- annotated text --------------------------------------------------------------------------------------------------


@dataclass
class Note:
    """One span's explanation: a hover title and the details shown on click."""

    id: str
    layer: str
    title: str
    heading: str
    quote: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Segment:
    """A piece of text between two span edges, with the layers and notes covering it."""

    text: str
    classes: str = ""
    notes: str = ""
    title: str = ""


def _fmt_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def _quantity_text(q: dict[str, Any]) -> str:
    parts = [q.get("qualifier") or "", _fmt_number(q.get("value")) if q.get("value") is not None else q["text"]]
    if q.get("value_max") is not None:
        parts[-1] += f"–{_fmt_number(q['value_max'])}"
    parts += [q.get("unit") or "", f"({q['counted']})" if q.get("counted") else ""]
    return " ".join(p for p in parts if p)


def _notes(record: dict[str, Any]) -> list[tuple[Note, list[tuple[int, int, str]]]]:
    """Every span of every text layer as a note with its (start, end, extra class) pieces."""
    text = record["text"]
    out: list[tuple[Note, list[tuple[int, int, str]]]] = []
    links_of: dict[str, list[dict[str, Any]]] = {}
    for link in record.get("links", []):
        links_of.setdefault(link["claim"], []).append(link)
    for n, t in enumerate(record.get("techniques", []), start=1):
        name = technique_name(t["technique"])
        definition = technique_definitions().get(t["technique"], {}).get("definition", t.get("explanation", ""))
        fields = [("definition", definition), ("confidence", f"{float(t['score']):.2f}")]
        if t.get("triggers"):
            fields.append(("trigger words", ", ".join(t["triggers"])))
        note = Note(
            f"t{n}", "techniques", f"{name} ({float(t['score']):.2f})", name, text[t["start"] : t["end"]], fields
        )
        note.links.append({"text": "articles using it", "href": "/search?" + query(technique=t["technique"])})
        out.append((note, [(t["start"], t["end"], "")]))
    for n, c in enumerate(record.get("claims", []), start=1):
        fields = [("check-worthiness", f"{float(c['score']):.2f}")]
        if c.get("source"):
            fields.append(("source", str(c["source"])))
        if c.get("date"):
            fields.append(("date", str(c["date"])))
        for q in c.get("quantities", []):
            fields.append(("number", _quantity_text(q)))
        places = sorted({str(p["canonical"]) for p in c.get("places", []) if p.get("canonical")})
        if places:
            fields.append(("places", ", ".join(places)))
        note = Note(f"c{n}", "claims", f"claim ({float(c['score']):.2f})", "Check-worthy claim", c["text"], fields)
        for link in links_of.get(c["id"], []):
            same = link["other_article"] == record["id"]
            note.links.append(
                {
                    "badge": link["relation"],
                    "text": link["reason"],
                    "href": f"/articles/{path_part(link['other_article'])}",
                    "where": "this article" if same else link["other_article"],
                }
            )
        if links_of.get(c["id"]):
            note.links.append(
                {"text": "the claim's cluster", "href": f"/claims/{path_part(links_of[c['id']][0]['cluster'])}"}
            )
        out.append((note, [(c["start"], c["end"], "")]))
    for n, a in enumerate(record.get("attributions", []), start=1):
        source = a.get("source") or {}
        cue = a.get("cue") or {}
        content = a.get("content") or {}
        fields = [("source", str(source.get("text") or "(unnamed)"))]
        if source.get("canonical") and source.get("canonical") != source.get("text"):
            fields.append(("who", str(source["canonical"])))
        if cue.get("text"):
            fields.append(("cue", str(cue["text"])))
        fields.append(("kind", str(a.get("kind") or "")))
        title = f"{source.get('text') or 'unnamed source'} → {cue.get('text') or ''}".strip()
        note = Note(f"a{n}", "attributions", title, "Attribution", str(content.get("text", "")), fields)
        pieces = [
            (part["start"], part["end"], f"a-{name}")
            for name, part in (("source", source), ("cue", cue), ("content", content))
            if part and part.get("start") is not None
        ]
        out.append((note, pieces))
    for n, e in enumerate(record.get("entities", []), start=1):
        fields = [("type", str(e.get("label", "")))]
        if e.get("canonical"):
            fields.append(("name", str(e["canonical"])))
        if e.get("kind"):
            fields.append(("kind", str(e["kind"])))
        if e.get("lat") is not None:
            fields.append(("coordinates", f"{float(e['lat']):.4f}, {float(e['lon']):.4f}"))
        title = f"{e.get('label', '')}: {e.get('canonical') or e.get('text', '')}"
        note = Note(f"e{n}", "entities", title, "Entity", str(e.get("text", "")), fields)
        if e.get("lat") is not None and e.get("canonical"):
            note.links.append({"text": "articles naming it", "href": "/search?" + query(place=e["canonical"])})
        out.append((note, [(e["start"], e["end"], "")]))
    for n, q in enumerate(record.get("quantities", []), start=1):
        fields = [("reads as", _quantity_text(q))]
        note = Note(f"q{n}", "quantities", _quantity_text(q), "Quantity", str(q.get("text", "")), fields)
        out.append((note, [(q["start"], q["end"], "")]))
    for n, d in enumerate(record.get("dates", []), start=1):
        value = d.get("value") or "not resolved to a day"
        note = Note(f"d{n}", "dates", f"date: {value}", "Date", str(d.get("text", "")), [("resolves to", str(value))])
        out.append((note, [(d["start"], d["end"], "")]))
    return out


def annotate(record: dict[str, Any]) -> tuple[list[Segment], list[Note]]:
    """The clean text cut at every span edge; each segment carries its layers' classes, note ids and hover title."""
    text = record["text"]
    notes = _notes(record)
    edges = {0, len(text)}
    pieces: list[tuple[int, int, Note, str]] = []
    for note, spans in notes:
        for start, end, extra in spans:
            s, e = max(0, min(int(start), len(text))), max(0, min(int(end), len(text)))
            if e > s:
                pieces.append((s, e, note, extra))
                edges.update((s, e))
    cuts = sorted(edges)
    starting: dict[int, list[tuple[int, int, Note, str]]] = {}
    for piece in pieces:
        starting.setdefault(piece[0], []).append(piece)
    active: list[tuple[int, int, Note, str]] = []
    segments: list[Segment] = []
    for a, b in itertools.pairwise(cuts):
        active = [p for p in active if p[1] > a] + starting.get(a, [])
        if not active:
            segments.append(Segment(text[a:b]))
            continue
        classes = sorted({f"l-{p[2].layer}" for p in active} | {p[3] for p in active if p[3]})
        ids = list(dict.fromkeys(p[2].id for p in active))
        titles = list(dict.fromkeys(p[2].title for p in active))
        segments.append(Segment(text[a:b], " ".join(classes), " ".join(ids), "\n".join(titles)))
    return segments, [note for note, _ in notes]


def removed_segments(raw: str, removed: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """The raw page as (text, removed kind or None) pieces."""
    out: list[tuple[str, str | None]] = []
    last = 0
    for piece in sorted(removed, key=lambda r: int(r["start"])):
        start, end = max(last, int(piece["start"])), int(piece["end"])
        if start > last:
            out.append((raw[last:start], None))
        if end > start:
            out.append((raw[start:end], str(piece["kind"])))
        last = max(last, end)
    if last < len(raw):
        out.append((raw[last:], None))
    return out


def snippet_parts(snippet: str | None) -> list[tuple[str, bool]]:
    """A search snippet as (text, matched) pieces (the store marks matches with control characters)."""
    from ..store.web import SNIPPET_CLOSE, SNIPPET_OPEN

    out: list[tuple[str, bool]] = []
    for i, part in enumerate((snippet or "").split(SNIPPET_OPEN)):
        if i == 0:
            out.append((part, False))
            continue
        matched, _, rest = part.partition(SNIPPET_CLOSE)
        out.append((matched, True))
        if rest:
            out.append((rest, False))
    return [(t, m) for t, m in out if t]


# -- charts ----------------------------------------------------------------------------------------------------------


def bars(items: list[tuple[str, float, str | None]]) -> list[dict[str, Any]]:
    """Horizontal bars: label, value, link and width in percent of the largest value."""
    top = max((v for _, v, _ in items), default=0) or 1
    return [
        {"label": label, "value": value, "href": href, "width": round(100.0 * value / top, 1)}
        for label, value, href in items
    ]


def day_chart(per_day: list[tuple[str, int]], *, width: int = 800, height: int = 160) -> dict[str, Any]:
    """A bar chart of counts per day (every day in the range, empty ones included; by month past 400 days)."""
    if not per_day:
        return {"bars": [], "width": width, "height": height, "ticks": [], "total": 0}
    counts = {date.fromisoformat(d): n for d, n in per_day}
    first, last = min(counts), max(counts)
    if (last - first).days > 400:
        monthly: dict[date, int] = {}
        for d, n in counts.items():
            key = d.replace(day=1)
            monthly[key] = monthly.get(key, 0) + n
        keys, unit = [], "month"
        cursor = first.replace(day=1)
        while cursor <= last:
            keys.append(cursor)
            cursor = (cursor + timedelta(days=32)).replace(day=1)
        values = [monthly.get(k, 0) for k in keys]
    else:
        keys = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        values = [counts.get(k, 0) for k in keys]
        unit = "day"
    top = max(values) or 1
    plot = height - 20
    step = width / len(keys)
    out = []
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        h = plot * value / top
        label = key.strftime("%Y-%m") if unit == "month" else key.isoformat()
        out.append(
            {
                "x": round(i * step, 2),
                "y": round(plot - h, 2),
                "w": round(min(max(step - 1, 1), 24), 2),
                "h": round(h, 2),
                "label": f"{label}: {value} claim{'s' if value != 1 else ''}",
                "value": value,
            }
        )
    tick_every = max(1, len(keys) // 6)
    ticks = [
        {"x": round(i * step, 2), "label": (k.strftime("%Y-%m") if unit == "month" else k.isoformat())}
        for i, k in enumerate(keys)
        if i % tick_every == 0
    ]
    return {"bars": out, "width": width, "height": height, "plot": plot, "ticks": ticks, "total": sum(values)}


# -- the map ---------------------------------------------------------------------------------------------------------

#: Map views: (west, south, east, north) in degrees. Europe and Ukraine by default.
VIEWS = {"europe": (12.0, 41.0, 50.0, 57.5), "world": (-180.0, -58.0, 180.0, 84.0)}
MAP_WIDTH = 1000


@dataclass(frozen=True)
class Projection:
    """Equirectangular, scaled by the cosine of the view's middle latitude (so shapes near it are true)."""

    west: float
    south: float
    east: float
    north: float

    @property
    def k(self) -> float:
        return MAP_WIDTH / ((self.east - self.west) * self.cos)

    @property
    def cos(self) -> float:
        return math.cos(math.radians((self.south + self.north) / 2))

    @property
    def height(self) -> float:
        return round((self.north - self.south) * self.k, 1)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.west) * self.cos * self.k, (self.north - lat) * self.k

    def contains(self, lon: float, lat: float) -> bool:
        return self.west <= lon <= self.east and self.south <= lat <= self.north


@lru_cache(maxsize=1)
def _countries() -> list[dict[str, Any]]:
    raw = resources.files("crosscheck").joinpath("data/countries.geojson.gz").read_bytes()
    features: list[dict[str, Any]] = json.loads(gzip.decompress(raw))["features"]
    return features


@lru_cache(maxsize=8)
def base_map(view: tuple[float, float, float, float]) -> tuple[tuple[str, str], ...]:
    """(country name, SVG path data) of every country outline inside the view, simplified to about a pixel."""
    proj = Projection(*view)
    margin = 2.0
    out = []
    for feature in _countries():
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        parts: list[str] = []
        for polygon in polygons:
            for ring in polygon:
                lons = [p[0] for p in ring]
                lats = [p[1] for p in ring]
                if (
                    max(lons) < proj.west - margin
                    or min(lons) > proj.east + margin
                    or max(lats) < proj.south - margin
                    or min(lats) > proj.north + margin
                ):
                    continue
                points: list[tuple[float, float]] = []
                for lon, lat in ring:
                    x, y = proj.xy(lon, lat)
                    if not points or abs(x - points[-1][0]) + abs(y - points[-1][1]) >= 0.8:
                        points.append((x, y))
                if len(points) < 3:
                    continue
                parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
        if parts:
            out.append((str(feature["properties"].get("name", "")), "".join(parts)))
    return tuple(out)


def map_view(name: str) -> tuple[float, float, float, float]:
    return VIEWS.get(name, VIEWS["europe"])


def place_marks(
    places: list[dict[str, Any]], view: tuple[float, float, float, float]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(marks inside the view with x, y and radius by mentions, places outside it)."""
    proj = Projection(*view)
    top = max((int(p["mentions"]) for p in places), default=1)
    inside, outside = [], []
    for p in places:
        if p.get("lat") is None or p.get("lon") is None:
            continue
        lon, lat = float(p["lon"]), float(p["lat"])
        if not proj.contains(lon, lat):
            outside.append(p)
            continue
        x, y = proj.xy(lon, lat)
        radius = 3 + 14 * math.sqrt(int(p["mentions"]) / top)
        inside.append({**p, "x": round(x, 1), "y": round(y, 1), "r": round(radius, 1)})
    inside.sort(key=lambda m: -float(m["r"]))  # small circles drawn last stay clickable
    return inside, outside
