"""Article metadata: outlet from the site name or the URL, published date (given, from HTML, or from the text),
language."""

from __future__ import annotations

import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_TEXT_DATES = [
    (re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b", re.IGNORECASE), ("m", "d", "y")),
    (re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+((?:19|20)\d\d)\b", re.IGNORECASE), ("d", "m", "y")),
    (re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b"), ("y", "mn", "d")),
]
#: Only the top of a page carries its own date; later dates are events in the story.
TEXT_DATE_WINDOW = 400


def outlet_from_url(url: str | None) -> str | None:
    """``https://www.kyivindependent.com/x`` -> ``kyivindependent.com``."""
    if not url:
        return None
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname
    except ValueError:  # a malformed URL ("http://[x")
        return None
    if not host:
        return None
    return host.removeprefix("www.")


def outlet_name(value: str | None) -> str | None:
    """An outlet as given (a site name, an outlet field) in the form outlets are stored: a name as is, and a URL or a
    ``www.`` host as its host (``https://www.newsnationnow.com/`` -> ``newsnationnow.com``), as for a page's URL."""
    if not value or not value.strip():
        return None
    value = " ".join(value.split())
    if "://" in value or value.lower().startswith("www."):
        return outlet_from_url(value)
    return value


def normalise_date(value: str | None) -> str | None:
    """A date or datetime given in any common form, as ISO 8601 (``YYYY-MM-DD`` or with time), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.date().isoformat() if len(value) <= 10 else parsed.isoformat()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    return date_from_text(value, window=len(value))


def date_from_text(text: str, *, window: int = TEXT_DATE_WINDOW) -> str | None:
    """The first full date (day, month and year) in the top of a text, as ``YYYY-MM-DD``."""
    head = text[:window]
    best: tuple[int, str] | None = None
    for pattern, order in _TEXT_DATES:
        match = pattern.search(head)
        if not match:
            continue
        parts = dict(zip(order, match.groups(), strict=True))
        month = int(parts["mn"]) if "mn" in parts else _MONTHS.get(parts["m"].lower().rstrip("."), 0)
        try:
            found = date(int(parts["y"]), month, int(parts["d"])).isoformat()
        except ValueError:
            continue
        if best is None or match.start() < best[0]:
            best = (match.start(), found)
    return best[1] if best else None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (py3langid), or None for too little text."""
    sample = text[:300]  # enough for a stable guess on news prose; langid costs about 3 µs a byte
    if len(sample.split()) < 3:
        return None
    import py3langid

    lang, _ = py3langid.classify(sample)
    return str(lang)
