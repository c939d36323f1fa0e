"""Comparing two claims: do their numbers agree, does one deny the other, are their dates compatible?

Numbers decide where both sides state the same measure (the same unit and what is counted): each value becomes an
interval through its qualifier ("more than 200" is (200, ∞), "about 6,000" is [5,400, 6,600], a plain 201 allows
3 % for rounding), and overlapping intervals corroborate while disjoint ones contradict — unless the two claims are
dated far enough apart for the figure to have changed, which is said in the reason. Tables are in
``data/compare.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib.resources import files
from typing import Any

CORROBORATES = "corroborates"
CONTRADICTS = "contradicts"
RELATED = "related"
DISCUSSES = "discusses"

_WORD = re.compile(r"[\w'’-]+")


@dataclass(frozen=True)
class CompareTables:
    bounds: dict[str, tuple[float, float | None]]
    absolute: frozenset[str]
    denial_cues: tuple[str, ...]
    negations: frozenset[str]
    dates_explain_days: int
    same_time_days: int
    counted_stop_words: frozenset[str]


@lru_cache(maxsize=1)
def tables() -> CompareTables:
    raw = json.loads(files("crosscheck.data").joinpath("compare.json").read_text(encoding="utf-8"))
    return CompareTables(
        bounds={k: (float(v[0]), None if v[1] is None else float(v[1])) for k, v in raw["qualifier_bounds"].items()},
        absolute=frozenset(raw["absolute_qualifiers"]),
        denial_cues=tuple(raw["denial_cues"]),
        negations=frozenset(raw["negations"]),
        dates_explain_days=int(raw["dates_explain_days"]),
        same_time_days=int(raw["same_time_days"]),
        counted_stop_words=frozenset(raw["counted_stop_words"]),
    )


@dataclass(frozen=True)
class Verdict:
    """A relation between two claims (or a claim and an article) with its reason in words and a score in [0, 1]."""

    relation: str
    reason: str
    score: float


def interval(quantity: dict[str, Any]) -> tuple[float, float] | None:
    """The values a quantity allows, from its value (or range) and qualifier; None without a value."""
    value = quantity.get("value")
    if value is None:
        return None
    high_value = quantity.get("value_max") or value
    qualifier = (quantity.get("qualifier") or "none").lower()
    t = tables()
    low_factor, high_factor = t.bounds.get(qualifier, t.bounds["none"])
    if qualifier in t.absolute:
        return low_factor, high_factor if high_factor is not None else float("inf")
    low = float(value) * low_factor
    high = float("inf") if high_factor is None else float(high_value) * high_factor
    if qualifier in ("more than", "over", "well over", "upwards of", "in excess of"):
        low = float(value) * low_factor + 1e-9  # strictly more
    if qualifier in ("fewer than", "less than", "under", "below"):
        high = float(high_value) - 1e-9
    return low, high


def counted_key(quantity: dict[str, Any]) -> str:
    """What a quantity counts, reduced to its last content word ("Russian soldiers" -> "soldier"; area -> "area")."""
    return _counted_head(quantity.get("counted") or "")


@lru_cache(maxsize=65536)
def _counted_head(counted: str) -> str:
    counted = counted.lower()
    words = [w for w in _WORD.findall(counted) if w not in tables().counted_stop_words]
    if not words:
        return ""
    head = words[-1]
    return head[:-1] if head.endswith("s") and len(head) > 3 and not head.endswith("ss") else head


def same_measure(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Both quantities measure the same thing: the same unit and the same counted head word (or neither says)."""
    if a.get("value") is None or b.get("value") is None:
        return False
    if (a.get("unit") or None) != (b.get("unit") or None):
        return False
    ka, kb = counted_key(a), counted_key(b)
    return ka == kb and (ka != "" or a.get("unit") is not None)


def format_quantity(q: dict[str, Any]) -> str:
    """ "6,000 km²", "more than 200 soldiers": the value as written with its qualifier and unit."""
    value = float(q["value"])
    number = f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")
    if q.get("value_max"):
        top = float(q["value_max"])
        number += f"–{top:,.0f}" if top.is_integer() else f"–{top:,.2f}"
    unit = q.get("unit")
    counted = counted_key(q)
    tail = unit if unit and unit not in ("people", "tanks", "vehicles") else (q.get("counted") or unit or "")
    qualifier = q.get("qualifier")
    text = f"{qualifier} {number}" if qualifier else number
    return f"{text} {tail}".strip() if tail else (f"{text} {counted}".strip() if counted else text)


def parse_date(value: str | None) -> date | None:
    """A full ISO date (YYYY-MM-DD, or the date part of a datetime); partial dates give None."""
    if not value or len(value) < 10 or value.startswith("--"):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def compare_numbers(
    a: list[dict[str, Any]], b: list[dict[str, Any]], date_a: str | None = None, date_b: str | None = None
) -> Verdict | None:
    """Numbers decide when both sides state the same measure; None when they share none."""
    pairs = [(qa, qb) for qa in a for qb in b if same_measure(qa, qb)]
    if not pairs:
        return None
    verdicts = []
    for qa, qb in pairs:
        ia, ib = interval(qa), interval(qb)
        if ia is None or ib is None:
            continue
        overlap = ia[0] <= ib[1] and ib[0] <= ia[1]
        what = f"{format_quantity(qa)} vs {format_quantity(qb)}"
        if overlap:
            verdicts.append(Verdict(CORROBORATES, f"{what}: the figures agree", 0.9))
            continue
        da, db = parse_date(date_a), parse_date(date_b)
        t = tables()
        if da and db and abs((da - db).days) >= t.dates_explain_days:
            verdicts.append(
                Verdict(
                    RELATED,
                    f"{what}: different figures, but dated {da.isoformat()} and {db.isoformat()}, "
                    f"{abs((da - db).days)} days apart, so the later may update the earlier",
                    0.6,
                )
            )
            continue
        when = (
            "same week"
            if da and db and abs((da - db).days) <= t.same_time_days
            else "no dates that would explain the difference"
        )
        measure = qa.get("counted") or qa.get("unit") or "measure"
        verdicts.append(Verdict(CONTRADICTS, f"{what}: same {measure}, {when}", 0.9))
    if not verdicts:
        return None
    # A contradiction on any shared measure outweighs agreement on another; then agreement; then an explained change.
    for relation in (CONTRADICTS, CORROBORATES, RELATED):
        for verdict in verdicts:
            if verdict.relation == relation:
                return verdict
    return None  # pragma: no cover


@lru_cache(maxsize=65536)
def denial(text: str) -> str | None:
    """The denial cue in ``text`` ("denied", "fake", "not true"), or None."""
    lowered = text.lower()
    words = set(_WORD.findall(lowered))
    for cue in tables().denial_cues:
        if (" " in cue and cue in lowered) or cue in words:
            return cue
    return None


@lru_cache(maxsize=65536)
def negated(text: str) -> bool:
    words = _WORD.findall(text.lower())
    return any(w in tables().negations or w.endswith("n't") for w in words)


def compare_polarity(a: str, b: str) -> Verdict | None:
    """A claim and its denial contradict: one side denies (or negates) what the other asserts."""
    da, db = denial(a), denial(b)
    if bool(da) != bool(db):
        cue = da or db
        return Verdict(CONTRADICTS, f"one side denies it ('{cue}')", 0.8)
    na, nb = negated(a), negated(b)
    if na != nb:
        return Verdict(CONTRADICTS, "one side negates what the other asserts", 0.6)
    return None
