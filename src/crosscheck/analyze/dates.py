"""The ``dates`` stage: time expressions, resolved against the article's publication date.

Recognition is one compiled pattern over the clean text (word lists in ``data/dates.json``), plus spaCy's DATE and
TIME entities that the pattern does not cover (kept unresolved: "the spring", "recent years"; a bare year gives the
year). Resolution, with ``article.published`` as the reference day when it is known:

1. an explicit date ("August 31, 2022", "2022-08-31") is itself; a month with a year ("September 2022") is ``YYYY-MM``;
2. a month and day without a year ("Wednesday, August 31", "on November 11") takes the latest year (of the
   publication year and the years either side) that puts it no more than 60 days after publication and, when a
   weekday is given, on that weekday; a month alone ("In September") likewise gives ``YYYY-MM`` (partial);
3. a weekday ("on Monday", "Tuesday") is the most recent such day on or before publication ("last Monday": before
   it, "next Monday": after it);
4. "yesterday", "today", "48 hours ago", "3 days ago" count back from publication; "two days later", "the next day"
   count from the previous resolved date in the text.

Without a publication date: month and day give ``--MM-DD`` (partial), a month alone ``--MM``. With a weekday the year
is inferred: the matching years in ``[earliest_year, reference_year]`` (defaults 2022, the full-scale invasion, and
``reference_year`` of ``data/dates.json``, a fixed year raised with a release: never the clock, so an article's
analysis does not change with the calendar) are listed; the most recent one is the value, and it is certain
(``partial=False``) only when it is the only one ("Wednesday, August 31" -> 2022-08-31, since Aug 31 is a Wednesday
in 2022 and not again until 2033).
Relative expressions stay unresolved (``value=None``, ``partial=True``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..article import TimeExpression
from .pipeline import Document, Layer, doc_text, register_stage
from .quantities import parse_number

if TYPE_CHECKING:
    from spacy.tokens import Doc

DATA = Path(__file__).resolve().parent.parent / "data"
#: A month or month-day without a year may lie this far after publication ("in December" in a November article);
#: beyond it the previous year is meant. Set by hand (two months of announced plans), not tuned on data.
FUTURE_HORIZON_DAYS = 60
_NUMBER = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
_NUMBER += r"forty-eight|seventy-two|several|a few|few|couple of|a couple of)"


@dataclass(frozen=True)
class DateTables:
    months: dict[str, int]
    ambiguous_months: frozenset[str]
    weekdays: dict[str, int]
    time_units: dict[str, float]
    relative_words: dict[str, tuple[int, str]]
    deictic: dict[str, int]
    anaphoric: dict[str, int]
    bare_month_cues: frozenset[str]
    ignore: frozenset[str]
    pattern: re.Pattern[str]
    #: Without a publication date, the latest year a weekday date is placed in (``data/dates.json``).
    reference_year: int


@lru_cache(maxsize=1)
def load_tables() -> DateTables:
    """Load ``data/dates.json`` and compile the recogniser once per process."""
    raw: dict[str, Any] = json.loads((DATA / "dates.json").read_text(encoding="utf-8"))
    mon = "|".join(sorted(raw["months"], key=len, reverse=True))
    wd = "|".join(raw["weekdays"])
    units = "|".join(raw["time_units"])
    rel = "|".join(raw["relative_words"])
    deictic = "|".join(sorted(raw["deictic"], key=len, reverse=True))
    ana = "|".join(sorted(raw["anaphoric"], key=len, reverse=True))
    day = r"(?P<{}>[0-3]?\d)(?:st|nd|rd|th)?"
    pattern = "|".join(
        [
            r"(?P<iso>\b(?P<iy>\d{4})-(?P<im>[01]\d)-(?P<id>[0-3]\d)\b)",
            rf"(?P<md>(?:(?P<mdw>{wd}),?\s+)?(?P<mdm>{mon})\.?\s+{day.format('mdd')}\b(?:,?\s+(?P<mdy>\d{{4}})\b)?)",
            rf"(?P<dm>(?:(?P<dmw>{wd}),?\s+)?(?:the\s+)?{day.format('dmd')}(?:\s+of)?\s+(?P<dmm>{mon})\b\.?"
            rf"(?:,?\s+(?P<dmy>\d{{4}})\b)?)",
            rf"(?P<my>\b(?P<mym>{mon})\.?,?\s+(?P<myy>\d{{4}})\b)",
            rf"(?P<rel>\b(?P<rn>{_NUMBER})\s+(?P<ru>{units})s?\s+(?P<rw>{rel})\b)",
            rf"(?P<dei>\b(?:{deictic})\b)",
            rf"(?P<ana>\b(?:{ana})\b)",
            rf"(?P<lw>\b(?:(?P<lwq>last|next|this|past|previous|coming)\s+)?(?P<lwd>{wd})\b)",
            r"(?P<per>\b(?P<perq>last|next|this|past|earlier this|later this)\s+(?P<peru>week|weekend|month|year)\b)",
            rf"(?P<bm>\b(?P<bmm>{mon})\b)",
        ]
    )
    return DateTables(
        months=raw["months"],
        ambiguous_months=frozenset(raw["ambiguous_months"]),
        weekdays=raw["weekdays"],
        time_units={k: float(v) for k, v in raw["time_units"].items()},
        relative_words={k: (int(v[0]), str(v[1])) for k, v in raw["relative_words"].items()},
        deictic=raw["deictic"],
        anaphoric=raw["anaphoric"],
        bare_month_cues=frozenset(raw["bare_month_cues"]),
        ignore=frozenset(raw["ignore"]),
        pattern=re.compile(pattern),
        reference_year=int(raw["reference_year"]),
    )


def parse_published(published: str | None) -> dt.date | None:
    """The publication day of an ISO 8601 date or datetime string, or None."""
    if not published:
        return None
    try:
        return dt.date.fromisoformat(published.strip()[:10])
    except ValueError:
        return None


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _closest_year(month: int, day: int, ref: dt.date, weekday: int | None) -> dt.date | None:
    cands = [c for y in (ref.year - 1, ref.year, ref.year + 1) if (c := _safe_date(y, month, day)) is not None]
    if weekday is not None and any(c.weekday() == weekday for c in cands):
        cands = [c for c in cands if c.weekday() == weekday]
    # news mostly reports what happened: the latest date no more than FUTURE_HORIZON days after publication
    ok = [c for c in cands if (c - ref).days <= FUTURE_HORIZON_DAYS]
    return max(ok) if ok else None


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        if (c := _safe_date(year, month, day)) is not None:
            return c
    return d


@dataclass
class _Resolver:
    tables: DateTables
    published: dt.date | None
    reference_year: int
    earliest_year: int
    previous: dt.date | None = None

    def resolve(self, m: re.Match[str]) -> tuple[str | None, bool]:
        g = m.groupdict()
        t = self.tables
        pub = self.published
        if g["iso"]:
            d = _safe_date(int(g["iy"]), int(g["im"]), int(g["id"]))
            return self._full(d)
        if g["md"] or g["dm"]:
            p = "md" if g["md"] else "dm"
            month = t.months[g[f"{p}m"]]
            day = int(g[f"{p}d"])
            year = g[f"{p}y"]
            weekday = t.weekdays.get(g[f"{p}w"] or "")
            if year:
                return self._full(_safe_date(int(year), month, day))
            if _safe_date(2000, month, day) is None:  # 2000 is a leap year: every valid month-day exists in it
                return None, True
            if pub is not None:
                return self._full(_closest_year(month, day, pub, weekday))
            if weekday is not None:
                years = [
                    y
                    for y in range(self.reference_year, self.earliest_year - 1, -1)
                    if (c := _safe_date(y, month, day)) is not None and c.weekday() == weekday
                ]
                if years:
                    d = dt.date(years[0], month, day)
                    self.previous = d
                    return d.isoformat(), len(years) > 1
            return f"--{month:02d}-{day:02d}", True
        if g["my"]:
            return f"{int(g['myy']):04d}-{t.months[g['mym']]:02d}", True
        if g["bm"]:
            month = t.months[g["bmm"]]
            if pub is None:
                return f"--{month:02d}", True
            first = _closest_year(month, 1, pub, None)
            return (first.isoformat()[:7] if first else None), True
        if g["rel"]:
            amount = parse_number(g["rn"].replace("couple of", "two").replace("a few", "three").replace("an", "a"))
            unit = t.time_units[g["ru"]]
            sign, anchor_kind = t.relative_words[g["rw"]]
            anchor = pub if anchor_kind == "publication" else (self.previous or None)
            if anchor is None or amount is None or g["rn"] in ("several", "few", "a few"):
                return None, True
            if g["ru"] in ("month", "year"):
                return self._full(_add_months(anchor, sign * int(amount) * (12 if g["ru"] == "year" else 1)), False)
            return self._full(anchor + dt.timedelta(days=sign * int(amount * unit + 1e-9)), False)
        if g["dei"]:
            if pub is None:
                return None, True
            return self._full(pub + dt.timedelta(days=t.deictic[m.group().lower()]), False)
        if g["ana"]:
            if self.previous is None:
                return None, True
            return self._full(self.previous + dt.timedelta(days=t.anaphoric[m.group().lower()]), False)
        if g["lw"]:
            if pub is None:
                return None, True
            wd = t.weekdays[g["lwd"]]
            q = (g["lwq"] or "").lower()
            back = (pub.weekday() - wd) % 7
            if q in ("last", "past", "previous"):
                back = back or 7
            elif q in ("next", "coming"):
                return self._full(pub + dt.timedelta(days=((wd - pub.weekday()) % 7) or 7), False)
            return self._full(pub - dt.timedelta(days=back), False)
        if g["per"]:
            if pub is None:
                return None, True
            q, u = g["perq"].lower(), g["peru"]
            shift = -1 if q in ("last", "past") else 1 if q == "next" else 0
            if u == "year":
                return f"{pub.year + shift:04d}", True
            if u == "month":
                return _add_months(pub.replace(day=1), shift).isoformat()[:7], True
            return None, True
        return None, True

    def _full(self, d: dt.date | None, remember: bool = True) -> tuple[str | None, bool]:
        if d is None:
            return None, True
        if remember:
            self.previous = d
        else:
            self.previous = self.previous or d
        return d.isoformat(), False


def find_dates(
    doc: Doc,
    *,
    published: str | None = None,
    reference_year: int | None = None,
    earliest_year: int = 2022,
) -> list[TimeExpression]:
    """Time expressions of one parsed text (see the module docstring for the resolution rules)."""
    t = load_tables()
    text = doc_text(doc)
    resolver = _Resolver(
        tables=t,
        published=parse_published(published),
        reference_year=reference_year or t.reference_year,
        earliest_year=earliest_year,
    )
    found: list[tuple[int, int, re.Match[str] | None]] = []
    taken = bytearray(len(text))
    for m in t.pattern.finditer(text):
        if m.group("bm"):
            before = text[max(0, m.start() - 12) : m.start()].split()
            cue = before[-1].lower() if before else ""
            if m.group() in t.ambiguous_months and cue not in t.bare_month_cues:
                continue
        found.append((m.start(), m.end(), m))
        taken[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    for ent in doc.ents:
        if ent.label_ not in ("DATE", "TIME") or any(taken[ent.start_char : ent.end_char]):
            continue
        if ent.text.lower() in t.ignore or (re.fullmatch(r"\d+[- ]?[a-z]+", ent.text) and not ent.text.isdigit()):
            continue  # frequencies ("weekly") and durations ("40-second") are not points in time
        found.append((ent.start_char, ent.end_char, None))
    found.sort(key=lambda f: f[0])
    out = []
    for start, end, match in found:
        if match is not None:
            value, partial = resolver.resolve(match)
        elif re.fullmatch(r"(1[89]\d\d|20\d\d)", text[start:end]):
            value, partial = text[start:end], True
        else:
            value, partial = None, True
        out.append(TimeExpression(start=start, end=end, text=text[start:end], value=value, partial=partial))
    return out


@register_stage("dates")
class DatesStage:
    name: ClassVar[str] = "dates"
    requires: ClassVar[tuple[str, ...]] = ("doc",)
    provides: ClassVar[tuple[str, ...]] = ("dates",)
    layers: ClassVar[tuple[Layer, ...]] = (
        Layer("dates", label="value", spans=True, style={"fg": "magenta"}, description="time expressions"),
    )

    def __init__(self, *, reference_year: int | None = None, earliest_year: int = 2022) -> None:
        load_tables()
        self.reference_year = reference_year
        self.earliest_year = earliest_year

    def __call__(self, docs: Sequence[Document]) -> None:
        for document in docs:
            if document.doc is not None:
                document.dates = find_dates(
                    document.doc,
                    published=document.article.published,
                    reference_year=self.reference_year,
                    earliest_year=self.earliest_year,
                )
