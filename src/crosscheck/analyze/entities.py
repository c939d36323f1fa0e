"""The ``entities`` stage: people, organisations, places (with coordinates), nationalities, units and equipment.

Three sources of candidate spans, merged without overlaps (longest span first; on equal length the lexicon beats
the gazetteer, which beats the tagger):

1. spaCy's NER (``data/entity_labels.json`` maps its labels; GPE and LOC become PLACE). Place spans are looked up in
   the gazetteer; a PERSON/ORG/PRODUCT span whose whole text is a known place becomes a PLACE (the small English
   pipeline tags "Kherson" as PERSON) when the name is one searched in text or tagged as a place elsewhere in the
   article, unless it is the surname of a person named in the article. An unknown one-word place that is such a
   surname becomes a PERSON; an unknown adjective ("Ukrainian") a NORP.
2. The gazetteer (``data/gazetteer.json.gz``, built by ``training/gazetteer/build.py`` from GeoNames, plus
   ``data/places_extra.json``): capitalised token sequences that are known place names, one-word names only where the
   tagger calls the token a proper noun. Context rules resolve names that change meaning ("the Dnipro" is the river).
3. The military lexicon (``data/military.json``): equipment and unit names, model codes of known families
   (T-72B3, Su-25), a model code next to an equipment noun, numbered formations ("93rd Mechanized Brigade").

Every linked place carries its ``kind`` (``country``, ``region`` for oblasts, provinces and regions such as Donbas,
``city`` for towns and villages, ``river``, ``other`` for seas, sites and the rest: ``entity_kinds`` in
``data/places_extra.json``) and the coordinates of that feature: a country's and a region's come from its Natural
Earth polygon (see ``docs/gazetteer.md``), never from its capital. A PLACE the gazetteer does not know is ``other``
without coordinates.

Provides ``document.entities`` (in text order) and ``document.layers["places"]`` (the PLACE entities with coordinates).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..article import Entity
from .pipeline import Document, Layer, doc_text, register_stage, token_bounds

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

DATA = Path(__file__).resolve().parent.parent / "data"

_PRIO_NER, _PRIO_GAZ, _PRIO_LEX = 1, 2, 3
_WORDISH = re.compile(r"\w+|[^\w\s]")
_DEMONYM = re.compile(r"(?:ian|ians|ese|ish|ic)$")
_LEADING_DROP = {"the", "The", "THE"}
_TRAILING_DROP = {"'s", "’s", "'", "’"}


@dataclass(frozen=True)
class Place:
    canonical: str
    kind: str
    lat: float | None
    lon: float | None
    country: str | None
    admin1: str | None


class NameIndex:
    """Exact, case-sensitive lookup of multi-token names over a spaCy Doc's token sequences."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names
        self.max_tokens = max((len(_WORDISH.findall(n)) for n in names), default=1)

    def scan(self, doc: Doc, *, first: str = "upper") -> Iterator[tuple[int, int]]:
        """Yield ``(start, end)`` token ranges of the longest name starting at each candidate token.

        ``first`` says which tokens may start a name: ``upper`` (capitalised) or ``upper_or_digit``.
        """
        text = doc_text(doc)
        starts, ends, spaces = token_bounds(doc)
        n = len(starts)
        names = self.names
        digits = first == "upper_or_digit"
        width = self.max_tokens
        for i in range(n):
            start = starts[i]
            c = text[start : start + 1]
            if not (c.isupper() or (digits and c.isdigit())):
                continue
            best = -1
            for j in range(i, min(n, i + width)):
                if spaces[j]:
                    break
                if text[start : ends[j]] in names:
                    best = j
            if best >= 0:
                yield i, best + 1


class Gazetteer:
    """Places by name (built data plus curated context rules)."""

    def __init__(self, data: dict[str, Any], extra: dict[str, Any]) -> None:
        # A place's record is made when a name first resolves to it (an article names a few dozen of the 40,000).
        self._rows: list[list[Any]] = data["places"]
        self._places: dict[int, Place] = {}
        self.names: dict[str, int] = data["names"]
        self.match = NameIndex(frozenset(data["match"]))
        self.context: list[dict[str, Any]] = extra["context"]
        self.entity_kinds: dict[str, str] = extra["entity_kinds"]

    def place(self, idx: int) -> Place:
        place = self._places.get(idx)
        if place is None:
            place = self._places[idx] = Place(*self._rows[idx][:6])
        return place

    @property
    def places(self) -> list[Place]:
        """Every place of the gazetteer, in its order."""
        return [self.place(i) for i in range(len(self._rows))]

    def entity_kind(self, place: Place) -> str:
        """The kind an entity linked to ``place`` carries: country, region, city, river or other."""
        return self.entity_kinds.get(place.kind, "other")

    def lookup(self, name: str) -> Place | None:
        idx = self.names.get(name)
        return None if idx is None else self.place(idx)

    def resolve(self, doc: Doc, start: int, end: int, name: str) -> Place | None:
        """The place a name in context refers to (context rules first, then the plain lookup)."""
        for rule in self.context:
            if name in rule["names"]:
                prev = doc[start - 1].text if start > 0 else ""
                nxt = doc[end].text if end < len(doc) else ""
                if prev in rule["preceded_by"] and nxt not in rule["not_followed_by"]:
                    return self.lookup(rule["canonical"])
        return self.lookup(name)


@dataclass(frozen=True)
class MilitaryLexicon:
    canonical: dict[str, tuple[str, str]]  # surface name -> (canonical, label)
    index: NameIndex
    code: re.Pattern[str]
    code_near_noun: re.Pattern[str]
    unit: re.Pattern[str]
    not_units: frozenset[str]


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Load the gazetteer once per process."""
    with gzip.open(DATA / "gazetteer.json.gz", "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    extra = json.loads((DATA / "places_extra.json").read_text(encoding="utf-8"))
    return Gazetteer(data, extra)


@lru_cache(maxsize=1)
def load_military() -> MilitaryLexicon:
    """Load the military lexicon and compile its patterns once per process."""
    lex = json.loads((DATA / "military.json").read_text(encoding="utf-8"))
    canonical: dict[str, tuple[str, str]] = {}
    for key, label in (("equipment", "EQUIPMENT"), ("units", "UNIT")):
        for item in lex[key]:
            for name in [item["canonical"], *item["names"]]:
                canonical[name] = (item["canonical"], label)
    prefixes = "|".join(sorted(map(re.escape, lex["code_prefixes"]), key=len, reverse=True))
    nouns = "|".join(map(re.escape, lex["equipment_nouns"]))
    words = "|".join(sorted(map(re.escape, lex["unit_ordinal_words"]), key=len, reverse=True))
    heads = "|".join(map(re.escape, lex["unit_heads"]))
    return MilitaryLexicon(
        canonical=canonical,
        index=NameIndex(frozenset(canonical)),
        code=re.compile(rf"(?<![\w-])(?:{prefixes})-\d{{1,4}}[A-Za-z0-9]*(?![\w-])"),
        code_near_noun=re.compile(rf"(?<![\w-])([A-Z][A-Za-z]{{0,5}}-?\d{{1,4}}[A-Za-z0-9]*?)s?\s+(?:{nouns})\b"),
        unit=re.compile(rf"\b\d{{1,3}}(?:st|nd|rd|th)(?:\s+(?:{words}))*\s+(?:{heads})\b"),
        not_units=frozenset(lex["not_units"]),
    )


@lru_cache(maxsize=1)
def load_label_map() -> dict[str, str]:
    data: dict[str, str] = json.loads((DATA / "entity_labels.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


@dataclass
class _Cand:
    start: int
    end: int
    label: str
    prio: int
    canonical: str | None = None
    place: Place | None = None


def _trim(span: Span) -> Span | None:
    while len(span) and span[0].text in _LEADING_DROP:
        span = span[1:]
    while len(span) and span[-1].text in _TRAILING_DROP:
        span = span[:-1]
    return span if len(span) else None


def _model_canonical(code: str, lex: MilitaryLexicon) -> str:
    if code in lex.canonical:
        return lex.canonical[code][0]
    if code.endswith("s") and code[:-1] in lex.canonical:
        return lex.canonical[code[:-1]][0]
    return code[:-1] if re.search(r"\ds$", code) else code


def find_entities(doc: Doc, *, gazetteer: Gazetteer, military: MilitaryLexicon) -> list[Entity]:
    """Entities of one parsed text (see the module docstring for the rules)."""
    text = doc_text(doc)
    labels = load_label_map()
    cands: list[_Cand] = []

    ents = list(doc.ents)
    surname_of: dict[str, str] = {}
    for ent in ents:
        if ent.label_ == "PERSON" and len(ent) > 1 and ent[-1].text[:1].isupper():
            surname_of.setdefault(ent[-1].text, ent.text)
    tagged_places = {ent.text for ent in ents if ent.label_ in ("GPE", "LOC")}

    # 1. the tagger
    for ent in ents:
        label = labels.get(ent.label_)
        if label is None:
            continue
        span = _trim(ent)
        if span is None or not any(ch.isupper() for ch in span.text):
            continue
        name = span.text
        place = gazetteer.resolve(doc, span.start, span.end, name)
        canonical: str | None = None
        if label == "PLACE" and place is None and len(span) == 1:
            if name in surname_of:
                label, canonical = "PERSON", surname_of[name]
            elif span[0].tag_ in ("JJ", "NNPS") or _DEMONYM.search(name):
                label = "NORP"
        elif label in ("PERSON", "ORG", "PRODUCT", "WORK_OF_ART", "EVENT"):
            strong = name in gazetteer.match.names or name in tagged_places
            after_first_name = label == "PERSON" and span.start > 0 and doc[span.start - 1].pos_ == "PROPN"
            if place is not None and strong and name not in surname_of and not after_first_name:
                label = "PLACE"
            else:
                place = None
            if label == "PERSON" and len(span) == 1 and name in surname_of:
                canonical = surname_of[name]
        elif label not in ("PLACE", "FAC"):
            place = None
        cands.append(_Cand(span.start_char, span.end_char, label, _PRIO_NER, canonical, place))

    # 2. the gazetteer
    for i, j in gazetteer.match.scan(doc):
        if j - i == 1 and doc[i].pos_ != "PROPN":
            continue
        span = doc[i:j]
        place = gazetteer.resolve(doc, i, j, span.text)
        if place is not None:
            cands.append(_Cand(span.start_char, span.end_char, "PLACE", _PRIO_GAZ, None, place))

    # 3. the military lexicon and patterns
    for i, j in military.index.scan(doc, first="upper_or_digit"):
        span = doc[i:j]
        canon, label = military.canonical[span.text]
        cands.append(_Cand(span.start_char, span.end_char, label, _PRIO_LEX, canon))
    for m in military.code.finditer(text):
        cands.append(_Cand(m.start(), m.end(), "EQUIPMENT", _PRIO_LEX, _model_canonical(m.group(), military)))
    for m in military.code_near_noun.finditer(text):
        code = m.group(1)
        if re.search(r"[A-Za-z]", code) and re.search(r"\d", code):
            cands.append(_Cand(m.start(1), m.end(1), "EQUIPMENT", _PRIO_LEX, _model_canonical(code, military)))
    for m in military.unit.finditer(text):
        cands.append(_Cand(m.start(), m.end(), "UNIT", _PRIO_LEX, m.group()))

    # merge: longest first, then by source priority; no overlaps
    cands.sort(key=lambda c: (-(c.end - c.start), -c.prio, c.start))
    taken = bytearray(len(text))
    kept: list[_Cand] = []
    for c in cands:
        if c.label == "UNIT" and text[c.start : c.end] in military.not_units:
            continue
        if any(taken[c.start : c.end]):
            continue
        taken[c.start : c.end] = b"\x01" * (c.end - c.start)
        kept.append(c)
    kept.sort(key=lambda c: c.start)

    out = []
    for c in kept:
        p = c.place
        kind = gazetteer.entity_kind(p) if p is not None else "other" if c.label == "PLACE" else None
        out.append(
            Entity(
                start=c.start,
                end=c.end,
                text=text[c.start : c.end],
                label=c.label,
                canonical=p.canonical if p is not None else c.canonical,
                lat=p.lat if p is not None else None,
                lon=p.lon if p is not None else None,
                country=p.country if p is not None else None,
                admin1=p.admin1 if p is not None else None,
                kind=kind,
            )
        )
    return out


@register_stage("entities")
class EntitiesStage:
    name: ClassVar[str] = "entities"
    requires: ClassVar[tuple[str, ...]] = ("doc",)
    provides: ClassVar[tuple[str, ...]] = ("entities", "places")
    layers: ClassVar[tuple[Layer, ...]] = (
        Layer("entities", label="label", spans=True, style={"fg": "cyan", "bold": True}, description="entities"),
        Layer("places", internal=True, description="the place entities with coordinates"),
    )

    def __init__(self) -> None:
        self.gazetteer = load_gazetteer()
        self.military = load_military()

    def __call__(self, docs: Sequence[Document]) -> None:
        for document in docs:
            if document.doc is None:
                continue
            document.entities = find_entities(document.doc, gazetteer=self.gazetteer, military=self.military)
            document.layers["places"] = [e for e in document.entities if e.label == "PLACE" and e.lat is not None]
