"""Boilerplate removal for pages that arrive as plain text (the seed format) and for extracted HTML text.

A scraped page dump is a story with page furniture around it: category labels, bylines and author bios, "Recent
Posts" lists with their teasers and "3 days ago" stamps, app and newsletter promotions, correction notices, share
prompts, a title repeated inside the body. :func:`clean_text` keeps every line of the story and records every line it
takes out (offsets into the raw text and a kind), so nothing is lost and every decision can be checked.

The cascade, in order:

1. Split the raw text into lines with their offsets (a line is a paragraph in page dumps).
2. Mark furniture lines by pattern (``data/boilerplate.json``): corrections, promotions, share prompts, bylines,
   time stamps, legal and navigation lines, comment prompts. Only short lines (``max_words``) are matched, so a story
   sentence that mentions a newsletter stays.
3. Mark teaser lists: from a list header ("Recent Posts", "Related", "Other Topics of Interest" ...) every following
   teaser (a headline without a full stop, a lead cut off with an ellipsis, a time stamp, a promotion) until the
   story resumes with a full sentence; a headline just before the header that reappears inside the list goes too.
4. Mark an author bio: a name line followed by a paragraph with bio cues, after the story.
5. Mark leading category labels (up to three short lines before the title) and repeats of the title.
6. Score the remaining lines with a stop-word density classifier in the manner of jusText (Pomikálek 2011), for
   general web pages turned into text (menus, footers): long lines dense in stop words are story; short or
   stop-word-poor lines take the class of their neighbours, and the lines steps 2-5 removed are boilerplate
   neighbours (as jusText's rule-classified paragraphs are). This step never removes a line of 6 or more words
   that ends like a sentence.

A record (``record=True``: the text field of a JSONL or CSV record) is a story unless it is clearly furniture. One of
fewer than :data:`RECORD_CONTEXT_LINES` lines (a post, a statement, a headline) is cleaned by steps 2-4 alone: steps 5
and 6 judge a line by the lines around it, which a post does not have. A longer record (a page dump in a field) goes
through every step, but when steps 5 and 6 would leave nothing, the result of steps 2-4 stands: context alone never
deletes a whole record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

from ..article import Removed

# -- thresholds (jusText's defaults, checked on trafilatura's evaluation pages turned into text; see
#    docs/evaluation.md): a line shorter than LENGTH_LOW characters is "short"; one longer than LENGTH_HIGH with a
#    stop-word share of at least STOPWORDS_HIGH is "good"; one with at least STOPWORDS_LOW is "near-good".
LENGTH_LOW = 70
LENGTH_HIGH = 200
STOPWORDS_LOW = 0.30
STOPWORDS_HIGH = 0.32
#: A line this long (in words) that ends with sentence punctuation is never removed by the density step.
SENTENCE_SAFE_WORDS = 6
#: Teaser headlines and labels: lines at most this many words without a full stop.
HEADLINE_MAX_WORDS = 25
#: A record with fewer lines than this is a post, not a page dump: the context steps (5, 6) do not run on it. The
#: posts, statements and headlines of JSONL/CSV exports have one to a few paragraphs (Telegram posts, the sentences of
#: CheckThat!); the page dumps the context steps were tuned on (examples/, trafilatura's evaluation pages turned into
#: text) have dozens of lines.
RECORD_CONTEXT_LINES = 8

_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’»)\]]*$|[\"”’»]$")
_ELLIPSIS_END = re.compile(r"(…|\.\.\.)[\"'”’»)\]]*$")
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_DATE_LINE = re.compile(
    r"^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?"
    r"(?:\d{1,2}\s+[a-z]{3,9}\.?,?\s+\d{4}|[a-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}|\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4})"
    r"(?:,?\s+(?:at\s+)?\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s+[A-Z]{2,4})?)?$",
    re.IGNORECASE,
)


@dataclass
class _Line:
    start: int
    end: int
    text: str  # stripped
    blank_before: bool
    kind: str | None = None  # set when the line is boilerplate

    # Cached: the fixed-point passes of clean_text look at the same lines again.
    @cached_property
    def words(self) -> int:
        return len(self.text.split())

    @cached_property
    def ends_sentence(self) -> bool:
        return bool(_SENTENCE_END.search(self.text)) and not _ELLIPSIS_END.search(self.text)

    @cached_property
    def furniture(self) -> str | None:
        return _furniture_kind(self)

    @cached_property
    def norm(self) -> str:
        return _norm(self.text)

    @cached_property
    def lower_words(self) -> list[str]:
        return _WORD.findall(self.text.lower())


@dataclass
class Cleaned:
    text: str
    removed: list[Removed] = field(default_factory=list)
    title: str | None = None


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    data = json.loads(resources.files("crosscheck.data").joinpath("boilerplate.json").read_text("utf-8"))
    line = [(kind, re.compile(p, re.IGNORECASE)) for kind, pats in data["line"].items() for p in pats]
    return {
        "max_words": int(data["max_words"]),
        "line": line,
        # A quick screen: one match of every anchored pattern at the line start, one search of the others; only a
        # line that passes looks for its kind pattern by pattern.
        "anchored": re.compile(
            "|".join(f"(?:{p.pattern[1:]})" for _, p in line if p.pattern.startswith("^")), re.IGNORECASE
        ),
        "floating": re.compile(
            "|".join(f"(?:{p.pattern})" for _, p in line if not p.pattern.startswith("^")), re.IGNORECASE
        ),
        "list_header": [re.compile(p.rstrip("$") + r"\s*:?$", re.IGNORECASE) for p in data["list_header"]],
        "bio": [re.compile(p, re.IGNORECASE) for p in data["bio_cues"]],
    }


@lru_cache(maxsize=1)
def _stopword_table() -> dict[str, frozenset[str]]:
    # Built from spaCy's language data by training/stopwords/build.py, so cleaning never has to import spaCy.
    data = json.loads(resources.files("crosscheck.data").joinpath("stopwords.json").read_text("utf-8"))
    return {lang: frozenset(words) for lang, words in data.items()}


def stopwords(language: str | None) -> frozenset[str]:
    """Stop words for a language (English when unknown or not in the table)."""
    table = _stopword_table()
    return table.get(language or "en", table["en"])


def split_lines(raw: str) -> list[_Line]:
    lines: list[_Line] = []
    pos = 0
    blank = True
    for piece in raw.splitlines(keepends=True):
        body = piece.rstrip("\r\n")
        stripped = body.strip()
        if stripped:
            lead = len(body) - len(body.lstrip())
            lines.append(_Line(pos + lead, pos + lead + len(stripped), stripped, blank))
            blank = False
        else:
            blank = True
        pos += len(piece)
    return lines


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _is_list_header(text: str) -> bool:
    return any(p.match(text) for p in _rules()["list_header"])


def _furniture_kind(line: _Line) -> str | None:
    rules = _rules()
    if line.words > rules["max_words"]:
        return None
    if not (rules["anchored"].match(line.text) or rules["floating"].search(line.text)):
        return None
    for kind, pattern in rules["line"]:
        if pattern.search(line.text):
            return str(kind)
    return None


def _is_teaser(line: _Line) -> bool:
    """A line that belongs to a teaser list: headline, cut-off lead, stamp or promotion."""
    if line.kind is not None:
        return True
    if _ELLIPSIS_END.search(line.text):
        return True
    return not line.ends_sentence and line.words <= HEADLINE_MAX_WORDS


def _mark_lists(lines: list[_Line]) -> None:
    i = 0
    while i < len(lines):
        if not _is_list_header(lines[i].text):
            i += 1
            continue
        lines[i].kind = "related"
        j = i + 1
        members: set[str] = set()
        while j < len(lines) and _is_teaser(lines[j]):
            if lines[j].kind is None:
                lines[j].kind = "related"
            members.add(lines[j].norm)
            j += 1
        # A headline right before the header that reappears in the list belongs to it.
        k = i - 1
        while k >= 0 and lines[k].kind is None and not lines[k].ends_sentence and lines[k].norm in members:
            lines[k].kind = "related"
            k -= 1
        i = j


def _mark_bio(lines: list[_Line]) -> None:
    """A name line followed by a paragraph with at least two kinds of bio cue (a trade, a first-person aim)."""
    bio = _rules()["bio"]
    for i in range(min(2, len(lines)), len(lines) - 1):
        name, para = lines[i], lines[i + 1]
        if name.kind is not None or para.kind is not None:
            continue
        if not (1 <= name.words <= 4 and not name.ends_sentence and all(w[:1].isupper() for w in name.text.split())):
            continue
        hits = sum(1 for p in bio if p.search(para.text))
        if hits >= 2:
            name.kind = para.kind = "author-bio"


def _mark_head(lines: list[_Line]) -> _Line | None:
    """Leading category labels and date lines, the title, and repeats of the title. Returns the title line."""
    live = [ln for ln in lines if ln.kind is None]
    if not live:
        return None
    # Up to three short labels ("Ukraine", "News / Europe") before a longer first line are categories.
    head = 0
    while head < min(3, len(live) - 1) and live[head].words <= 3 and not live[head].ends_sentence:
        head += 1
    if head and live[head].words <= 3:
        head = 0
    for ln in live[:head]:
        ln.kind = "date" if _DATE_LINE.match(ln.text) else "category"
    live = live[head:]
    for ln in live[:3]:
        if _DATE_LINE.match(ln.text):
            ln.kind = "date"
    live = [ln for ln in live if ln.kind is None]
    if not live:
        return None
    first = live[0]
    repeats = [ln for ln in live[1:] if ln.norm == first.norm]
    looks_like_title = first.words <= HEADLINE_MAX_WORDS and (
        not first.ends_sentence or bool(repeats) or (first.words <= 12 and len(live) > 1 and live[1].words > 12)
    )
    if not looks_like_title:
        return None
    for ln in repeats:
        ln.kind = "title-repeat"
    return first


def _density_classes(lines: list[_Line], language: str | None, keep: _Line | None) -> None:
    """jusText-style context classification of the lines that survived the rules (``keep``: the title). The lines
    the rules removed stay in the sequence as "bad" neighbours: left out, a short line among them would take its class
    from the story beyond them (text-cleaner F1 0.792 -> 0.815 on trafilatura's pages with them in)."""
    stops = stopwords(language)
    classes: list[str] = []
    for ln in lines:
        if ln.kind is not None:
            classes.append("bad")
            continue
        words = ln.lower_words
        density = sum(1 for w in words if w in stops) / len(words) if words else 0.0
        length = len(ln.text)
        if length < LENGTH_LOW:
            cls = "short"
        elif density >= STOPWORDS_HIGH and length > LENGTH_HIGH:
            cls = "good"
        elif density >= STOPWORDS_LOW:
            cls = "near-good"
        else:
            cls = "bad"
        classes.append(cls)

    # The nearest non-short class on each side (edges count as bad), with and without near-good as a stop.
    n = len(classes)
    strict_prev, strict_next, near_prev, near_next = ["bad"] * n, ["bad"] * n, ["bad"] * n, ["bad"] * n
    last_strict = last_near = "bad"
    for i, cls in enumerate(classes):
        strict_prev[i], near_prev[i] = last_strict, last_near
        if cls in ("good", "bad"):
            last_strict = last_near = cls
        elif cls == "near-good":
            last_near = "good"
    last_strict = last_near = "bad"
    for i in range(n - 1, -1, -1):
        strict_next[i], near_next[i] = last_strict, last_near
        if classes[i] in ("good", "bad"):
            last_strict = last_near = classes[i]
        elif classes[i] == "near-good":
            last_near = "good"

    final = list(classes)
    for i, cls in enumerate(classes):
        if cls == "short":
            if strict_prev[i] == strict_next[i]:
                final[i] = strict_prev[i]
            else:
                final[i] = "good" if near_prev[i] == near_next[i] == "good" else "bad"
        elif cls == "near-good":
            final[i] = "bad" if strict_prev[i] == strict_next[i] == "bad" else "good"
    for ln, cls in zip(lines, final, strict=True):
        if (
            cls == "bad"
            and ln.kind is None
            and ln is not keep
            and not (ln.words >= SENTENCE_SAFE_WORDS and ln.ends_sentence)
        ):
            ln.kind = "low-content"


def _assemble(lines: list[_Line]) -> str:
    parts: list[str] = []
    for ln in lines:
        if ln.kind is not None:
            continue
        if parts:
            parts.append("\n\n" if ln.blank_before else "\n")
        parts.append(ln.text)
    return "".join(parts)


def _removed(lines: list[_Line]) -> list[Removed]:
    """Removed lines as raw-text ranges; consecutive lines of one kind make one range."""
    removed: list[Removed] = []
    previous_kind: str | None = None
    for ln in lines:
        if ln.kind is not None and ln.kind == previous_kind:
            removed[-1] = Removed(removed[-1].start, ln.end, ln.kind)
        elif ln.kind is not None:
            removed.append(Removed(ln.start, ln.end, ln.kind))
        previous_kind = ln.kind
    return removed


#: Passes of steps 2-6 at most; each pass sees only the lines the one before kept (see clean_text).
MAX_PASSES = 5


def _one_pass(lines: list[_Line], language: str | None, density: bool) -> _Line | None:
    for ln in lines:
        ln.kind = ln.furniture
    _mark_lists(lines)
    _mark_bio(lines)
    if not density:  # extracted text: an extractor already separated the title and the page head
        return None
    title = _mark_head(lines)
    _density_classes(lines, language, title)
    return title


def clean_text(raw: str, *, language: str | None = None, density: bool = True, record: bool = False) -> Cleaned:
    """Clean a page that arrived as text. Returns the story text, what was removed (offsets into ``raw``), the title.

    Steps 2-6 depend on context (neighbouring lines, what comes first), so they run again over the lines the previous
    pass kept until a pass removes nothing: cleaning is then idempotent, ``clean_text(clean_text(x).text)`` keeps
    every line. ``density=False`` is for text an HTML extractor already cleaned: it skips steps 5 and 6 (the page
    head and the stop-word density), which only cost recall there (docs/evaluation.md). ``record=True`` is for the
    text field of a record (see the module docstring): steps 5 and 6 never delete a whole record.
    """
    lines = split_lines(raw)
    context = density and not (record and len(lines) < RECORD_CONTEXT_LINES)
    title = _clean_lines(lines, language, context)
    if record and context and all(ln.kind is not None for ln in lines):
        lines = split_lines(raw)
        title = _clean_lines(lines, language, False)
    return Cleaned(text=_assemble(lines), removed=_removed(lines), title=title.text if title else None)


def _clean_lines(lines: list[_Line], language: str | None, density: bool) -> _Line | None:
    """Mark the boilerplate lines (steps 2-6, or 2-4 without ``density``), pass after pass; returns the title line."""
    live = lines
    title: _Line | None = None
    for _ in range(MAX_PASSES):
        title = _one_pass(live, language, density)
        survivors = [ln for ln in live if ln.kind is None]
        if len(survivors) == len(live):
            break
        live = survivors
    return title
