"""The core records. Every span is a pair of character offsets into an article's clean text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Any

_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _plain(value: Any) -> Any:
    """``value`` with its lists and dicts copied, down to the leaves (what ``dataclasses.asdict`` does for them,
    without its deep copy of every leaf: the records hold numbers, strings and None)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def record_dict(record: Any) -> dict[str, Any]:
    """A flat record's fields as a new dict, in their declared order (``dataclasses.asdict`` for records whose fields
    are numbers, strings, None, and lists or dicts of them: about a fifth of its cost)."""
    return {name: _plain(getattr(record, name)) for name in _field_names(type(record))}


@dataclass(frozen=True)
class Span:
    """A piece of the clean text: ``text[start:end]``.

    ``canonical`` is set on attribution sources only: the person or organisation the source stands for ("he" ->
    "Peter Rutland"), when it could be resolved; ``to_dict`` includes it only then.
    """

    start: int
    end: int
    text: str
    canonical: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "text": self.text}
        if self.canonical is not None:
            out["canonical"] = self.canonical
        return out


@dataclass(frozen=True)
class Removed:
    """A piece of the raw text taken out by cleaning (offsets into the raw text)."""

    start: int
    end: int
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "kind": self.kind}


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    text: str
    label: str  # PERSON, ORG, GPE/PLACE, NORP, UNIT, EQUIPMENT ...
    canonical: str | None = None
    lat: float | None = None
    lon: float | None = None
    country: str | None = None
    admin1: str | None = None
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


@dataclass(frozen=True)
class Quantity:
    start: int
    end: int
    text: str
    value: float | None
    unit: str | None
    counted: str | None = None
    qualifier: str | None = None
    value_max: float | None = None  # upper bound of a range ("10-15")

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


@dataclass(frozen=True)
class TimeExpression:
    start: int
    end: int
    text: str
    value: str | None  # ISO date (YYYY-MM-DD), or "--MM-DD" when the year is unknown
    partial: bool = False

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


@dataclass(frozen=True)
class Attribution:
    source: Span | None
    cue: Span | None
    content: Span
    kind: str = "reported"  # direct | reported | according_to | passive | ...

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict() if self.source else None,
            "cue": self.cue.to_dict() if self.cue else None,
            "content": self.content.to_dict(),
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Claim:
    id: str
    start: int
    end: int
    text: str
    score: float
    source: str | None = None
    quantities: list[dict[str, Any]] = field(default_factory=list)
    places: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


@dataclass(frozen=True)
class Technique:
    start: int
    end: int
    technique: str
    score: float
    text: str = ""
    explanation: str = ""
    triggers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


@dataclass(frozen=True)
class Link:
    claim: str
    cluster: str
    relation: str  # corroborates | contradicts | copies
    other_article: str
    other_claim: str | None

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


def content_hash(text: str) -> str:
    """Stable hash of clean text, whitespace-normalised, used to spot exact duplicates."""
    normalised = " ".join(text.split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


@dataclass
class Article:
    """One article, from whatever reader produced it.

    ``raw`` is what the reader found (text, or HTML for ``raw_format == "html"``); ``text`` is filled by cleaning.
    ``origin`` says where the raw came from (a path, ``path#line``, a WARC record, a URL) so a re-ingest of the same
    input can be recognised.
    """

    raw: str
    origin: str
    raw_format: str = "text"  # text | html
    url: str | None = None
    title: str | None = None
    outlet: str | None = None
    published: str | None = None  # ISO 8601 date or datetime
    language: str | None = None
    text: str = ""
    removed: list[Removed] = field(default_factory=list)
    id: str = ""
    hash: str = ""
    fetched: str | None = None  # when a crawler fetched the page (WARC-Date, HTTP fetch time), ISO 8601
    #: Read from a record's text or html field (JSONL, CSV): a post or a single sentence is a story there, not a stub.
    record: bool = False

    def finalise_ids(self) -> None:
        """Set the content hash and the article id (the first 16 hex digits of the hash)."""
        self.hash = content_hash(self.text)
        self.id = self.hash[:16]


@dataclass(frozen=True)
class Skipped:
    """An input that could not become an article, and why. Nothing is dropped silently."""

    origin: str
    reason: str
    code: str  # short machine-readable reason, see errors.py
    #: The input as given cannot be used at all (a path that does not exist, a JSONL/CSV file without a text or html
    #: field): the rest of the batch goes on, and ``crosscheck ingest`` then exits non-zero.
    input_error: bool = False
