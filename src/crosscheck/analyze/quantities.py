"""The ``quantities`` stage: numbers with their unit, what they count and how they are hedged.

For every number in the text (digits with thousands separators or decimals, number words, ranges "10-15",
"between 10 and 15", scales "1.5 million") the stage records the value (``value_max`` for a range), the unit
normalised through ``data/quantities.json`` ("square kilometers" -> km², "$" -> USD, "40-second" -> s), what is
counted (the noun phrase the number modifies in the dependency parse: "Russian soldiers", "ammunition depots"; for a
measure, the noun after "of" or the noun the measure modifies, else the unit's dimension such as "area") and the
qualifier before it ("more than", "closer to", "about").

Not quantities: years ("the 1932 song", "in 2017"), days of a month ("September 11"), ordinals, clock times, points
in time ("48 hours ago", "two days later": the dates stage has them), and numbers inside equipment or unit names
when the entities stage ran first ("T-72", "Leopard 2").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..article import Entity, Quantity
from .pipeline import Document, Layer, doc_text, register_stage

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

DATA = Path(__file__).resolve().parent.parent / "data"

_DIGITS = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_RANGE_TOKEN = re.compile(r"^(\d[\d,]*(?:\.\d+)?)[-–—](\d[\d,]*(?:\.\d+)?)$")
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)$", re.I)
_YEAR = re.compile(r"^(1[89]\d\d|20\d\d)$")
_CLOCK = {"am", "pm", "a.m.", "p.m.", "GMT", "UTC", "CET", "EET", "EEST", "MSK", "hrs"}


@dataclass(frozen=True)
class QuantityTables:
    number_words: dict[str, float]
    scales: dict[str, float]
    qualifiers: tuple[tuple[str, ...], ...]  # token sequences, longest first
    units: dict[str, tuple[str, str]]
    unit_max_tokens: int
    currency: dict[str, str]
    count_units: dict[str, str]
    range_words: dict[str, str]
    range_joiners: frozenset[str]
    relative_time: frozenset[str]
    months: frozenset[str]


@lru_cache(maxsize=1)
def load_tables() -> QuantityTables:
    """Load ``data/quantities.json`` once per process."""
    raw: dict[str, Any] = json.loads((DATA / "quantities.json").read_text(encoding="utf-8"))
    quals = sorted((tuple(q.split()) for q in raw["qualifiers"]), key=len, reverse=True)
    units = {k: (v[0], v[1]) for k, v in raw["units"].items()}
    return QuantityTables(
        number_words={k: float(v) for k, v in raw["number_words"].items()},
        scales={k: float(v) for k, v in raw["scales"].items()},
        qualifiers=tuple(quals),
        units=units,
        unit_max_tokens=max(len(k.split()) for k in units),
        currency=raw["currency_symbols"],
        count_units=raw["count_units"],
        range_words=raw["range_words"],
        range_joiners=frozenset(raw["range_joiners"]),
        relative_time=frozenset(raw["relative_time"]),
        months=frozenset(raw["months"]),
    )


def parse_number(text: str) -> float | None:
    """The value of a number written in digits ("2,500", "10.5") or words ("twelve", "two hundred", "1.5 million").

    Returns None for anything else.
    """
    t = text.strip()
    if not t:
        return None
    if _DIGITS.match(t):
        return float(t.replace(",", ""))
    tables = load_tables()
    low = t.lower()
    if low in tables.number_words:
        return tables.number_words[low]
    words = [w for w in re.split(r"[\s-]+", low) if w and w != "and"]
    if not words:
        return None
    total = 0.0
    current: float | None = None
    for w in words:
        if _DIGITS.match(w):
            current = (current or 0.0) + float(w.replace(",", ""))
        elif w in tables.number_words:
            current = (current or 0.0) + tables.number_words[w]
        elif w == "a" and current is None:
            current = 1.0
        elif w in tables.scales:
            scale = tables.scales[w]
            base = 1.0 if current is None else current
            if scale == 100:
                current = base * 100
            else:
                total += base * scale
                current = None
        else:
            return None
    return total + (current or 0.0)


def parse_range(text: str) -> tuple[float, float] | None:
    """``(low, high)`` for a range written as one token ("10-15", "2,000–3,000")."""
    m = _RANGE_TOKEN.match(text.strip())
    if not m:
        return None
    lo, hi = float(m.group(1).replace(",", "")), float(m.group(2).replace(",", ""))
    return (lo, hi) if lo < hi else None


def _is_number_token(tok: Token, tables: QuantityTables) -> bool:
    t = tok.text
    if _DIGITS.match(t) or _RANGE_TOKEN.match(t):
        return True
    low = tok.lower_
    return low in tables.number_words or (low in tables.scales and len(low) > 3)


def _is_digit_token(tok: Token) -> bool:
    return bool(_DIGITS.match(tok.text) or _RANGE_TOKEN.match(tok.text))


def _match_unit(doc: Doc, i: int, tables: QuantityTables) -> tuple[int, str, str] | None:
    """A unit starting at token ``i``: (end token, unit, dimension); longest match."""
    best = None
    for j in range(i, min(len(doc), i + tables.unit_max_tokens)):
        phrase = doc[i : j + 1].text
        key = phrase if phrase in tables.units else phrase.lower()
        if key in tables.units and (key != "m" or phrase == "m"):
            best = (j + 1, *tables.units[key])
    return best


def _match_qualifier(doc: Doc, i: int, tables: QuantityTables) -> int | None:
    """Start token of a qualifier ending right before token ``i``."""
    for q in tables.qualifiers:
        s = i - len(q)
        if s >= 0 and tuple(t.lower_ for t in doc[s:i]) == q:
            return s
    return None


def _noun_phrase_after(doc: Doc, i: int, head: Token | None) -> tuple[int, int] | None:
    """Token range from ``i`` up to the counted noun (the number's syntactic head when it lies after it)."""
    if head is not None and head.i >= i and head.pos_ in ("NOUN", "PROPN") and head.i - i <= 6:
        return i, head.i + 1
    j = i
    last_noun = -1
    while j < len(doc) and j - i <= 6 and (doc[j].pos_ in ("ADJ", "NOUN", "PROPN") or doc[j].text == "-"):
        if doc[j].pos_ in ("NOUN", "PROPN"):
            last_noun = j
        j += 1
    return (i, last_noun + 1) if last_noun >= 0 else None


def find_quantities(doc: Doc, *, entities: Sequence[Entity] = ()) -> list[Quantity]:
    """Quantities of one parsed text; ``entities`` (if known) mask numbers inside equipment and unit names."""
    tables = load_tables()
    text = doc_text(doc)
    masked = bytearray(len(text))
    for e in entities:
        if e.label in ("EQUIPMENT", "UNIT"):
            masked[e.start : e.end] = b"\x01" * (e.end - e.start)
    out: list[Quantity] = []
    n = len(doc)
    i = 0
    while i < n:
        tok = doc[i]
        if not _is_number_token(tok, tables) or masked[tok.idx] or tok.ent_type_ == "ORDINAL":
            i += 1
            continue
        # the number run: "1.5 million", "two hundred and twenty"
        j = i + 1
        while j < n and (
            _is_number_token(doc[j], tables)
            or (doc[j].lower_ == "and" and j + 1 < n and doc[j + 1].lower_ in tables.number_words)
            or (
                doc[j].text == "-"
                and not doc[j - 1].whitespace_
                and not doc[j].whitespace_
                and doc[j - 1].lower_ in tables.number_words
                and j + 1 < n
                and doc[j + 1].lower_ in tables.number_words
            )
        ):
            j += 1
        run_text = doc[i:j].text
        rng = parse_range(run_text) if j == i + 1 else None
        value = rng[0] if rng else parse_number(run_text)
        if value is None:
            i = j
            continue
        value_max = rng[1] if rng else None
        start_tok, end_tok = i, j
        digits = any(_is_digit_token(t) for t in doc[i:j])

        # ranges over several tokens: "between 10 and 15", "10 to 15", "10 - 15"
        if j + 1 < n and doc[j].text in tables.range_joiners | {"and"} and _is_number_token(doc[j + 1], tables):
            opener = doc[i - 1].lower_ if i > 0 else ""
            joiner = doc[j].lower_
            if (opener in tables.range_words and tables.range_words[opener] == joiner) or (
                joiner in tables.range_joiners and joiner != "or"
            ):
                k = j + 1
                while k < n and _is_number_token(doc[k], tables):
                    k += 1
                hi = parse_number(doc[j + 1 : k].text)
                if hi is not None and hi > value:
                    value_max, end_tok = hi, k
                    if opener in tables.range_words:
                        start_tok = i - 1

        nxt = doc[end_tok] if end_tok < n else None
        prev = doc[i - 1] if i > 0 else None
        # not quantities: years, days of the month, ordinals, clock times
        if _ORDINAL.match(tok.text):
            i = end_tok
            continue
        if prev is not None and (prev.text in tables.months):
            i = end_tok
            continue
        if nxt is not None and (
            nxt.text in tables.months
            or (nxt.lower_ == "of" and end_tok + 1 < n and doc[end_tok + 1].text in tables.months)
            or nxt.text in _CLOCK
        ):
            i = end_tok
            continue
        if (
            end_tok == i + 1
            and _YEAR.match(tok.text)
            and not (nxt is not None and nxt.tag_ == "NNS")
            and not (prev is not None and prev.text in tables.currency)
        ):
            i = end_tok
            continue
        if (
            not digits
            and all(t.dep_ != "nummod" for t in doc[i:j])
            and (nxt is None or _match_unit(doc, end_tok, tables) is None)
            and _match_qualifier(doc, start_tok, tables) is None
        ):
            i = end_tok  # a number word that modifies nothing ("one of them") is not a count
            continue

        # unit, possibly hyphenated ("40-second") or a prefix currency symbol ("$2 million")
        unit = dimension = None
        k = end_tok
        hyphenated = False
        if k + 1 < n and doc[k].text == "-" and not doc[k].whitespace_:
            m = _match_unit(doc, k + 1, tables)
            if m:
                k, unit, dimension = m
                hyphenated = True
        if unit is None:
            m = _match_unit(doc, k, tables)
            if m:
                k, unit, dimension = m
        if unit is None and prev is not None and prev.text in tables.currency:
            unit, dimension = tables.currency[prev.text], "money"
            start_tok = min(start_tok, i - 1)
        # a point in time, not an amount: "48 hours ago", "two days later"
        if dimension == "duration" and k < n and doc[k].lower_ in tables.relative_time:
            i = k
            continue
        end_tok = max(end_tok, k)

        # qualifier
        q_start = _match_qualifier(doc, start_tok, tables)
        qualifier = doc[q_start:start_tok].text.lower() if q_start is not None else None
        span_start = q_start if q_start is not None else start_tok

        # what is counted
        counted: str | None = None
        count_unit: str | None = None
        last_num = doc[j - 1]
        if unit is None:
            head = last_num.head if last_num.dep_ in ("nummod", "quantmod", "compound") else None
            np = _noun_phrase_after(doc, end_tok, head)
            if np:
                counted = doc[np[0] : np[1]].text
                count_unit = tables.count_units.get(doc[np[1] - 1].lemma_.lower())
        else:
            if end_tok + 1 < n and doc[end_tok].lower_ == "of":
                np = _noun_phrase_after(doc, end_tok + 1, None)
                if np:
                    counted = doc[np[0] : np[1]].text
            elif hyphenated:
                np = _noun_phrase_after(doc, end_tok, None)
                if np:
                    counted = doc[np[0] : np[1]].text
            if counted is None and dimension != "money":
                counted = dimension
        out.append(
            Quantity(
                start=doc[span_start].idx,
                end=doc[end_tok - 1].idx + len(doc[end_tok - 1].text),
                text=doc[span_start:end_tok].text,
                value=value,
                unit=unit or count_unit,
                counted=counted,
                qualifier=qualifier,
                value_max=value_max,
            )
        )
        i = end_tok
    return out


@register_stage("quantities")
class QuantitiesStage:
    name: ClassVar[str] = "quantities"
    requires: ClassVar[tuple[str, ...]] = ("doc",)
    provides: ClassVar[tuple[str, ...]] = ("quantities",)
    layers: ClassVar[tuple[Layer, ...]] = (
        Layer("quantities", label="unit", spans=True, style={"fg": "yellow", "bold": True}, description="numbers"),
    )

    def __init__(self) -> None:
        load_tables()

    def __call__(self, docs: Sequence[Document]) -> None:
        for document in docs:
            if document.doc is not None:
                document.quantities = find_quantities(document.doc, entities=document.entities)
