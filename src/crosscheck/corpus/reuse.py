"""Text reuse between articles: shared passages aligned to character spans on both sides, and who published first.

How an article is matched against the articles indexed before it (:meth:`ReuseIndex.add`):

1. **Fingerprint** (:func:`fingerprint`): the clean text is cut into passages (lines; a long line into windows of
   whole sentences), and each passage gets a MinHash (``datasketch``, fixed seed) of its normalised word 5-shingles.
   A fingerprint serialises to bytes (:meth:`Fingerprint.to_bytes`), so an index can be rebuilt from the store
   without hashing any text again (:meth:`ReuseIndex.restore`).
2. **Candidates**: each passage is looked up in a banded LSH index over the passages of the indexed articles
   (:class:`BandIndex`: the bands datasketch's ``MinHashLSH`` chooses and exactly its candidates, kept in sorted
   numpy arrays instead of a Python set per bucket). A passage is looked up (and indexed) only when it carries enough
   content words and is not a furniture line. Two articles are aligned when they share a candidate passage common to
   neither side's corpus (see 5), or several common ones (syndicated text shares many; a disclaimer under hundreds
   of articles shares one).
3. **Alignment** (:func:`align`): the two texts are aligned word by word (seed and extend over shared 4-word
   sequences, tolerant of substituted, inserted and deleted words), the aligned runs are mapped back to character
   offsets into each clean text, and each run is scored by the share of matching words (``difflib`` on the word
   tokens). The alignment is a function of the two texts alone.
4. **Verification**: a run is reuse when it is long enough, has enough words that are not stop words, matches well
   enough, and does not lie mostly in furniture lines ("Subscribe to our Telegram channel", disclaimers:
   ``data/reuse.json``).
5. **Document frequency**: a passage whose near-duplicates are in many articles or many outlets is common; a short
   run lying mostly in common passages is furniture repeated across the corpus and is not reuse. Long runs are reuse
   however often they repeat (wire copy, a network of sites printing one text).
6. **First publisher** (:func:`first_publisher`): decided by ``published``, else by ``fetched``, else "unknown";
   ties and a missing date on either side give "unknown", never a guess.

Results do not depend on the order the articles were added (apart from what :meth:`ReuseIndex.add` can know at the
time) or on how they were batched: :meth:`ReuseIndex.passages` and :meth:`ReuseIndex.all_passages` answer for the
articles indexed so far as a whole. Thresholds and furniture patterns are data (``data/reuse.json``), each with a note
on how it was tuned (or that it was not).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import unicodedata
import zlib
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from difflib import SequenceMatcher
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any, Protocol

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from ..errors import CrosscheckError
from ..ingest.clean import stopwords

#: The value of :attr:`ReusePassage.first` when the first publisher cannot be decided from the dates.
UNKNOWN = "unknown"

_SCHEME = "affine32"
_MAGIC = b"CXRF"
_VERSION = 1
_HEADER = struct.Struct("<4sBHIBII")  # magic, version, num_perm, seed, shingle_words, text crc32, passage count
_PASSAGE = struct.Struct("<IIIIHHB")  # start, end, token start, token end, words, content words, flags
_FLAG_FURNITURE = 1

# A word: letters or digits, with inner apostrophes, hyphens, dots and commas ("Kherson’s", "pro-Ukrainian", "2,500").
_WORD = re.compile(r"\w+(?:['’.,\-]\w+)*")
_NOT_ALNUM = re.compile(r"[\W_]+")
_LINE = re.compile(r"[^\n]+")
_OPENING = "\"'“‘«([¿¡"
_CLOSING = ".,;:!?…\"'”’»)]"
# A sentence ends at . ! ? … (and closing quotes or brackets) followed by white space.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")


class FingerprintError(CrosscheckError):
    """A stored fingerprint that cannot be read, or was made from another text or with other options (E08x)."""


class ArticleLike(Protocol):
    """What the index reads from an article (:class:`crosscheck.article.Article` has all of it)."""

    @property
    def id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def outlet(self) -> str | None: ...
    @property
    def published(self) -> str | None: ...
    @property
    def fetched(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...


# --------------------------------------------------------------------------------------------------------------------
# Options


@dataclass(frozen=True, kw_only=True)
class ReuseOptions:
    """Every threshold of text reuse; the defaults come from ``data/reuse.json`` (:func:`load_options`)."""

    num_perm: int
    seed: int
    shingle_words: int
    passage_max_words: int
    window_words: int
    lsh_threshold: float
    candidate_min_jaccard: float
    seed_words: int
    max_gap: int
    max_shift: int
    max_seed_occurrences: int
    min_words: int
    min_content_words: int
    max_stop_share: float
    min_score: float
    trigger_min_content_words: int
    df_jaccard: float
    df_max_articles: int
    df_max_outlets: int
    long_segment_words: int
    trigger_max_articles: int
    common_pair_min_passages: int
    near_duplicate_coverage: float
    furniture_max_words: int
    furniture_share: float
    furniture_patterns: tuple[str, ...]

    def replace(self, **changes: Any) -> ReuseOptions:
        """A copy with some settings changed (for tuning and tests)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"unknown reuse option(s): {sorted(unknown)}")
        values.update(changes)
        return ReuseOptions(**values)

    def is_furniture_line(self, line: str) -> bool:
        """Whether a line (of at most ``furniture_max_words`` words) matches a furniture pattern."""
        anchored, floating = _compile_furniture(self.furniture_patterns)
        return bool(anchored.match(line) or floating.search(line))


@lru_cache(maxsize=8)
def _compile_furniture(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    # One match of every anchored pattern at the line start and one search of the others (as the cleaner does).
    anchored = [p[1:] for p in patterns if p.startswith("^")] or ["(?!)"]
    floating = [p for p in patterns if not p.startswith("^")] or ["(?!)"]
    return (
        re.compile("|".join(f"(?:{p})" for p in anchored), re.IGNORECASE),
        re.compile("|".join(f"(?:{p})" for p in floating), re.IGNORECASE),
    )


@lru_cache(maxsize=1)
def load_options() -> ReuseOptions:
    """The shipped settings (``data/reuse.json``)."""
    data = json.loads(resources.files("crosscheck.data").joinpath("reuse.json").read_text("utf-8"))
    values = {k: v for k, v in data.items() if not k.startswith("_")}
    values["furniture_patterns"] = tuple(values["furniture_patterns"])
    return ReuseOptions(**values)


# --------------------------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class ReusePassage:
    """A passage of an article's clean text shared with another article.

    ``start``/``end`` are character offsets into this article's clean text, ``other_start``/``other_end`` into
    ``other_article``'s. ``first`` is the id of the article published first (one of the two), or ``"unknown"``.
    ``score`` in [0, 1] is the share of matching words between the two spans (1.0 for a verbatim copy).
    """

    start: int
    end: int
    other_article: str
    other_start: int
    other_end: int
    first: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ArticleReuse:
    """What one article shares with another, as a whole.

    ``coverage`` is the share of this article's words inside its reuse passages with ``other_article``,
    ``other_coverage`` the same for the other article; ``near_duplicate`` when either reaches
    ``near_duplicate_coverage`` (most of one article is in the other).
    """

    article: str
    other_article: str
    passages: int
    coverage: float
    other_coverage: float
    near_duplicate: bool
    first: str

    @property
    def kind(self) -> str:
        """``near-duplicate`` or ``shared-passages`` (the ``related`` kinds of the export contract)."""
        return "near-duplicate" if self.near_duplicate else "shared-passages"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind}


@dataclass(frozen=True)
class Alignment:
    """One aligned run of two texts: ``a[start:end]`` matches ``b[other_start:other_end]``.

    ``token_start``/``token_end`` and ``other_token_start``/``other_token_end`` are word offsets; ``words`` the
    number of words of the shorter side; ``content_words`` the words that are not stop words (the smaller side).
    """

    start: int
    end: int
    other_start: int
    other_end: int
    token_start: int
    token_end: int
    other_token_start: int
    other_token_end: int
    words: int
    content_words: int
    score: float

    def mirrored(self) -> Alignment:
        return Alignment(
            start=self.other_start,
            end=self.other_end,
            other_start=self.start,
            other_end=self.end,
            token_start=self.other_token_start,
            token_end=self.other_token_end,
            other_token_start=self.token_start,
            other_token_end=self.token_end,
            words=self.words,
            content_words=self.content_words,
            score=self.score,
        )


@dataclass(frozen=True)
class Passage:
    """A fingerprinted piece of a clean text: characters ``[start, end)``, words ``[token_start, token_end)``."""

    start: int
    end: int
    token_start: int
    token_end: int
    words: int
    content_words: int
    furniture: bool


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """The passages of one clean text with a MinHash each (``hashvalues``: passages x num_perm, uint32).

    ``text_crc`` (CRC-32 of the UTF-8 text) ties it to the text it was made from.
    """

    passages: tuple[Passage, ...]
    hashvalues: np.ndarray
    num_perm: int
    seed: int
    shingle_words: int
    text_crc: int

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return (
            self.passages == other.passages
            and (self.num_perm, self.seed, self.shingle_words, self.text_crc)
            == (other.num_perm, other.seed, other.shingle_words, other.text_crc)
            and np.array_equal(self.hashvalues, other.hashvalues)
        )

    __hash__ = None  # type: ignore[assignment]

    def minhash(self, index: int) -> LeanMinHash:
        """The datasketch MinHash of passage ``index``."""
        return LeanMinHash(seed=self.seed, hashvalues=self.hashvalues[index], scheme=_SCHEME)

    def to_bytes(self) -> bytes:
        """A compact, portable (little-endian) encoding, for a BLOB column."""
        parts = [
            _HEADER.pack(
                _MAGIC, _VERSION, self.num_perm, self.seed, self.shingle_words, self.text_crc, len(self.passages)
            )
        ]
        for p in self.passages:
            parts.append(
                _PASSAGE.pack(
                    p.start,
                    p.end,
                    p.token_start,
                    p.token_end,
                    min(p.words, 0xFFFF),
                    min(p.content_words, 0xFFFF),
                    _FLAG_FURNITURE if p.furniture else 0,
                )
            )
        parts.append(np.ascontiguousarray(self.hashvalues, dtype="<u4").tobytes())
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        """Read :meth:`to_bytes` output; raises :class:`FingerprintError` (E080) on anything else."""
        view = memoryview(data)
        if len(view) < _HEADER.size:
            raise FingerprintError("E080", reason=f"{len(view)} bytes, shorter than the header")
        magic, version, num_perm, seed, shingle_words, crc, count = _HEADER.unpack_from(view, 0)
        if magic != _MAGIC:
            raise FingerprintError("E080", reason="not a Crosscheck reuse fingerprint")
        if version != _VERSION:
            raise FingerprintError("E080", reason=f"format version {version}, this Crosscheck reads {_VERSION}")
        expected = _HEADER.size + count * _PASSAGE.size + count * num_perm * 4
        if len(view) != expected or num_perm < 1:
            raise FingerprintError("E080", reason=f"{len(view)} bytes where {expected} were expected")
        passages = []
        offset = _HEADER.size
        for _ in range(count):
            start, end, ts, te, words, content, flags = _PASSAGE.unpack_from(view, offset)
            offset += _PASSAGE.size
            passages.append(Passage(start, end, ts, te, words, content, bool(flags & _FLAG_FURNITURE)))
        values = np.frombuffer(view[offset:], dtype="<u4").astype(np.uint32).reshape(count, num_perm)
        return cls(tuple(passages), values, num_perm, seed, shingle_words, crc)


# --------------------------------------------------------------------------------------------------------------------
# Words, passages, fingerprints


class _Tokens:
    """The words of a text (normalised) with their character offsets, and what each word is."""

    __slots__ = ("_grams", "content", "ends", "furniture", "lines", "starts", "text", "words")

    def __init__(
        self,
        text: str,
        words: tuple[str, ...],
        starts: tuple[int, ...],
        ends: tuple[int, ...],
        content: tuple[bool, ...],
        furniture: tuple[bool, ...],
        lines: tuple[int, ...],
    ) -> None:
        self.text = text
        self.words = words
        self.starts = starts
        self.ends = ends
        self.content = content  # not a stop word
        self.furniture = furniture  # inside a furniture line
        self.lines = lines  # the number of the (non-empty) line the word is on
        self._grams: tuple[int, dict[tuple[str, ...], list[int]]] | None = None

    def span(self, lo: int, hi: int) -> tuple[int, int]:
        """Character offsets of words ``[lo, hi)``, with the punctuation glued to them (quotes, a final stop)."""
        text = self.text
        start, end = self.starts[lo], self.ends[hi - 1]
        while start > 0 and text[start - 1] in _OPENING:
            start -= 1
        while end < len(text) and text[end] in _CLOSING:
            end += 1
        return start, end

    def grams(self, k: int) -> dict[tuple[str, ...], list[int]]:
        """Where each k-word sequence starts (computed once per text while the tokens are cached)."""
        if self._grams is None or self._grams[0] != k:
            index: dict[tuple[str, ...], list[int]] = defaultdict(list)
            words = self.words
            for i in range(len(words) - k + 1):
                index[words[i : i + k]].append(i)
            self._grams = (k, dict(index))
        return self._grams[1]


@lru_cache(maxsize=1 << 16)
def normalise_word(word: str) -> str:
    """Lowercase, compatibility-normalised, punctuation stripped ("Kherson’s" -> "khersons", "2,500" -> "2500")."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", word).casefold())


@lru_cache(maxsize=64)
def _stop_words(language: str | None) -> frozenset[str]:
    return frozenset(normalise_word(w) for w in stopwords(language))


@lru_cache(maxsize=128)
def _tokens(text: str, language: str | None, options: ReuseOptions) -> _Tokens:
    stop = _stop_words(language)
    matches = [(m.start(), m.end(), normalise_word(m.group())) for m in _WORD.finditer(text)]
    matches = [m for m in matches if m[2]]  # a bare underscore normalises to nothing
    starts = tuple(m[0] for m in matches)
    words = tuple(m[2] for m in matches)
    furniture: list[bool] = []
    lines: list[int] = []
    for number, line in enumerate(_LINE.finditer(text)):
        lo = bisect_left(starts, line.start())
        hi = bisect_left(starts, line.end(), lo)
        if hi == lo:
            continue
        is_furniture = hi - lo <= options.furniture_max_words and options.is_furniture_line(line.group().strip())
        furniture.extend([is_furniture] * (hi - lo))
        lines.extend([number] * (hi - lo))
    return _Tokens(
        text,
        words,
        starts,
        tuple(m[1] for m in matches),
        tuple(len(w) > 1 and w not in stop for w in words),
        tuple(furniture),
        tuple(lines),
    )


def _shingle_hashes(words: Sequence[str], k: int) -> list[int]:
    """A stable 32-bit hash of every k-word shingle (shingle i = words[i:i+k])."""
    return [
        int.from_bytes(hashlib.blake2b(" ".join(words[i : i + k]).encode("utf-8"), digest_size=4).digest(), "little")
        for i in range(len(words) - k + 1)
    ]


def _identity(value: int) -> int:
    return value


@lru_cache(maxsize=4)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=_SCHEME).permutations
    return a, b


def _passage_ranges(text: str, tokens: _Tokens, options: ReuseOptions) -> list[tuple[int, int]]:
    """Word ranges of the passages: lines, long lines cut into windows of whole sentences."""
    ranges: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        lo = bisect_left(tokens.starts, line.start())
        hi = bisect_left(tokens.starts, line.end())
        if hi - lo < options.shingle_words:
            continue
        if hi - lo <= options.passage_max_words:
            ranges.append((lo, hi))
            continue
        # Sentence boundaries as word offsets inside the line.
        cuts = [lo]
        for end in _SENTENCE_END.finditer(text, line.start(), line.end()):
            cut = bisect_left(tokens.starts, end.end(), lo, hi)
            if lo < cut < hi and cut != cuts[-1]:
                cuts.append(cut)
        cuts.append(hi)
        window_start = lo
        for previous, cut in pairwise(cuts):
            if cut - previous > options.window_words:  # one sentence longer than a window: cut it by words
                if previous > window_start:
                    ranges.append((window_start, previous))
                for s in range(previous, cut, options.window_words):
                    ranges.append((s, min(s + options.window_words, cut)))
                window_start = cut
            elif cut - window_start >= options.window_words:
                ranges.append((window_start, cut))
                window_start = cut
        if window_start < hi:
            if ranges and hi - window_start < options.shingle_words:
                last = ranges.pop()
                ranges.append((last[0], hi))
            else:
                ranges.append((window_start, hi))
    return [(lo, hi) for lo, hi in ranges if hi - lo >= options.shingle_words]


def fingerprint(text: str, *, language: str | None = None, options: ReuseOptions | None = None) -> Fingerprint:
    """Cut a clean text into passages and MinHash each passage's normalised word shingles."""
    options = options or load_options()
    tokens = _tokens(text, language, options)
    k = options.shingle_words
    hashes = _shingle_hashes(tokens.words, k)
    permutations = _permutations(options.num_perm, options.seed)
    passages: list[Passage] = []
    rows: list[np.ndarray] = []
    for lo, hi in _passage_ranges(text, tokens, options):
        minhash = MinHash(
            num_perm=options.num_perm,
            seed=options.seed,
            hashfunc=_identity,
            permutations=permutations,
            scheme=_SCHEME,
        )
        minhash.update_batch(hashes[lo : hi - k + 1])
        rows.append(minhash.hashvalues)
        furniture = sum(tokens.furniture[lo:hi]) >= options.furniture_share * (hi - lo)
        passages.append(
            Passage(
                start=tokens.starts[lo],
                end=tokens.ends[hi - 1],
                token_start=lo,
                token_end=hi,
                words=hi - lo,
                content_words=sum(tokens.content[lo:hi]),
                furniture=furniture,
            )
        )
    values = np.vstack(rows).astype(np.uint32) if rows else np.zeros((0, options.num_perm), dtype=np.uint32)
    return Fingerprint(
        passages=tuple(passages),
        hashvalues=values,
        num_perm=options.num_perm,
        seed=options.seed,
        shingle_words=options.shingle_words,
        text_crc=_crc(text),
    )


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8")) & 0xFFFFFFFF


# --------------------------------------------------------------------------------------------------------------------
# Alignment


@dataclass
class _Chain:
    seeds: list[tuple[int, int]] = field(default_factory=list)

    @property
    def last(self) -> tuple[int, int]:
        return self.seeds[-1]


def _chains(a: _Tokens, b: _Tokens, options: ReuseOptions) -> list[_Chain]:
    k = options.seed_words
    in_a, in_b = a.grams(k), b.grams(k)
    words = a.words
    lines_a, lines_b = a.lines, b.lines
    limit = options.max_seed_occurrences
    chains: list[_Chain] = []
    active: list[_Chain] = []
    for i in range(len(words) - k + 1):
        gram = words[i : i + k]
        positions = in_b.get(gram)
        if not positions or len(positions) > limit or len(in_a[gram]) > limit:
            continue
        active = [c for c in active if i - c.last[0] <= options.max_gap]
        for j in positions:
            best: _Chain | None = None
            best_cost = 0
            for chain in active:
                li, lj = chain.last
                di, dj = i - li, j - lj
                if not (
                    1 <= di <= options.max_gap and 1 <= dj <= options.max_gap and abs(di - dj) <= options.max_shift
                ):
                    continue
                # A run crosses as many line breaks in one text as in the other: paragraphs that follow each other
                # in one text but not in the other (reordered, or two copied places) make two runs.
                if lines_a[i] - lines_a[li] == lines_b[j] - lines_b[lj]:
                    cost = di + dj
                    if best is None or cost < best_cost:
                        best, best_cost = chain, cost
            if best is None:
                best = _Chain()
                chains.append(best)
                active.append(best)
            best.seeds.append((i, j))
    return chains


def _covered(ranges: Iterable[tuple[int, int]]) -> int:
    total = 0
    reach = -1
    for lo, hi in sorted(ranges):
        if hi <= reach:
            continue
        total += hi - max(lo, reach)
        reach = hi
    return total


def _align_tokens(ta: _Tokens, tb: _Tokens, options: ReuseOptions) -> list[Alignment]:
    k = options.seed_words
    found: list[Alignment] = []
    for chain in _chains(ta, tb, options):
        i0, j0 = chain.seeds[0]
        a_lo, a_hi = i0, chain.seeds[-1][0] + k
        b_lo, b_hi = j0, max(j for _, j in chain.seeds) + k
        matched = _covered((i, i + k) for i, _ in chain.seeds)
        if matched < options.min_words:
            continue
        matcher = SequenceMatcher(None, ta.words[a_lo:a_hi], tb.words[b_lo:b_hi], autojunk=False)
        score = matcher.ratio()
        words = min(a_hi - a_lo, b_hi - b_lo)
        content = min(sum(ta.content[a_lo:a_hi]), sum(tb.content[b_lo:b_hi]))
        start, end = ta.span(a_lo, a_hi)
        other_start, other_end = tb.span(b_lo, b_hi)
        found.append(
            Alignment(
                start=start,
                end=end,
                other_start=other_start,
                other_end=other_end,
                token_start=a_lo,
                token_end=a_hi,
                other_token_start=b_lo,
                other_token_end=b_hi,
                words=words,
                content_words=content,
                score=round(score, 4),
            )
        )
    return found


def _drop_contained(found: list[Alignment]) -> list[Alignment]:
    """Keep the text mapped one to one: longest runs first, a run lying half inside a kept run on either side goes.

    A sentence that occurs twice in one text seeds a second, shorter chain to the other occurrence.
    """
    found.sort(key=lambda x: (-x.words, -x.score, x.token_start, x.other_token_start))
    kept: list[Alignment] = []
    for x in found:
        length_a = x.token_end - x.token_start
        length_b = x.other_token_end - x.other_token_start
        if any(
            2 * (min(x.token_end, y.token_end) - max(x.token_start, y.token_start)) >= length_a
            or 2 * (min(x.other_token_end, y.other_token_end) - max(x.other_token_start, y.other_token_start))
            >= length_b
            for y in kept
        ):
            continue
        kept.append(x)
    kept.sort(key=lambda x: (x.token_start, x.other_token_start))
    return kept


def _aligned_runs(ta: _Tokens, tb: _Tokens, options: ReuseOptions) -> list[Alignment]:
    """The verified runs of two texts, mapped one to one."""
    return _drop_contained([r for r in _align_tokens(ta, tb, options) if _verified(ta, tb, r, options)])


def _verified(ta: _Tokens, tb: _Tokens, run: Alignment, options: ReuseOptions) -> bool:
    if run.words < options.min_words or run.content_words < options.min_content_words:
        return False
    if run.score < options.min_score:
        return False
    if 1 - run.content_words / run.words > options.max_stop_share:
        return False
    for tokens, lo, hi in ((ta, run.token_start, run.token_end), (tb, run.other_token_start, run.other_token_end)):
        if sum(tokens.furniture[lo:hi]) >= options.furniture_share * (hi - lo):
            return False
    return True


def align(
    text: str,
    other_text: str,
    *,
    language: str | None = None,
    other_language: str | None = None,
    options: ReuseOptions | None = None,
) -> list[Alignment]:
    """The verified shared runs of two clean texts, in the order of ``text`` (no corpus statistics applied).

    ``align(a, b)`` gives the mirror image of ``align(b, a)`` (:meth:`Alignment.mirrored`).
    """
    options = options or load_options()
    ta = _tokens(text, language, options)
    tb = _tokens(other_text, other_language, options)
    if (text, language) <= (other_text, other_language):
        runs = _aligned_runs(ta, tb, options)
    else:
        runs = [r.mirrored() for r in _aligned_runs(tb, ta, options)]
    return sorted(runs, key=lambda r: (r.token_start, r.other_token_start))


# --------------------------------------------------------------------------------------------------------------------
# First publisher


def _parse_when(value: str | None) -> date | datetime | None:
    if not value:
        return None
    text = value.strip()
    try:
        if len(text) <= 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _earlier(a: date | datetime, b: date | datetime) -> int:
    """-1 when ``a`` is certainly earlier, 1 when ``b`` is, 0 when it cannot be told (a tie)."""
    if isinstance(a, datetime) and isinstance(b, datetime):
        if (a.tzinfo is None) == (b.tzinfo is None):
            return (a > b) - (a < b)
        # One with a zone, one without: only a gap of more than a day is certain.
        gap = (a.date() - b.date()).days
        return 0 if abs(gap) <= 1 else (1 if gap > 0 else -1)
    day_a = a.date() if isinstance(a, datetime) else a
    day_b = b.date() if isinstance(b, datetime) else b
    return (day_a > day_b) - (day_a < day_b)


def first_publisher(
    article: str,
    other: str,
    *,
    published: str | None,
    other_published: str | None,
    fetched: str | None = None,
    other_fetched: str | None = None,
) -> str:
    """The id of the article published first, or :data:`UNKNOWN`.

    Decided by ``published`` when both articles have one, else by ``fetched`` when both have one, else unknown. A
    tie at the deciding level (the same day for a date without a time) is unknown: the other level is not consulted,
    and nothing is guessed. Unparseable dates count as missing.
    """
    for mine, theirs in ((published, other_published), (fetched, other_fetched)):
        a, b = _parse_when(mine), _parse_when(theirs)
        if a is None or b is None:
            continue
        order = _earlier(a, b)
        return article if order < 0 else other if order > 0 else UNKNOWN
    return UNKNOWN


# --------------------------------------------------------------------------------------------------------------------
# Candidate passages: banded LSH over numpy arrays


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def _mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, element by element on uint64 (arithmetic wraps)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX_1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX_2
    return x ^ (x >> np.uint64(31))


@lru_cache(maxsize=8)
def banding(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) as datasketch's ``MinHashLSH`` chooses them for ``threshold`` (its default weights).

    64 permutations at threshold 0.3 give 21 bands of 3 rows (the last permutation is in no band).
    """
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return int(lsh.b), int(lsh.r)


@dataclass(slots=True)
class _Run:
    """Sorted keys with the passage number of each, and a directory by the keys' top bits: the keys with top bits
    ``b`` are ``keys[starts[b]:starts[b + 1]]`` (about 8 of them: mixed keys are uniform), so a look-up reads a cache
    line or two instead of searching the whole run."""

    keys: np.ndarray  # uint64, sorted
    ids: np.ndarray  # uint32
    starts: np.ndarray  # uint32, 2^bits + 1
    bits: int

    @classmethod
    def of(cls, keys: np.ndarray, ids: np.ndarray) -> _Run:
        bits = max(0, (len(keys) // 8).bit_length() - 1)
        starts = np.zeros((1 << bits) + 1, dtype=np.uint32)
        np.cumsum(np.bincount(_Run._top(keys, bits), minlength=1 << bits), out=starts[1:])
        return cls(keys, ids, starts, bits)

    @staticmethod
    def _top(keys: np.ndarray, bits: int) -> np.ndarray:
        if not bits:
            return np.zeros(len(keys), dtype=np.intp)
        return (keys >> np.uint64(64 - bits)).astype(np.intp)

    def find(self, needles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every key equal to a needle: (needle positions, passage numbers)."""
        top = self._top(needles, self.bits)
        lo = self.starts[top].astype(np.intp)
        counts = self.starts[top + 1].astype(np.intp) - lo
        total = int(counts.sum())
        owner = np.repeat(np.arange(len(needles)), counts)
        at = np.repeat(lo - (np.cumsum(counts) - counts), counts) + np.arange(total)
        same = self.keys[at] == needles[owner]
        return owner[same], self.ids[at[same]]


class BandIndex:
    """The candidates of datasketch's ``MinHashLSH`` (same bands, same collisions) in a few numpy arrays.

    A passage collides with an indexed one when their MinHash values agree on every row of at least one band. Each
    indexed passage has one 64-bit key per band (the band number and the band's values, mixed); keys and passage
    numbers are kept in sorted runs, each with a directory by the keys' top bits. Every :meth:`add` makes a small
    sorted run and merges it with the run before while that one is no longer (a binary counter: about log2(n) runs,
    each key merged about log2(n) times) up to ``max_run`` keys, so that a merge never copies more than two such
    runs. Two different band values that mix to one key (one chance in 2^64 per pair) are told apart by comparing
    the values themselves, so the candidates are exactly the passages that agree on a whole band. About 12.5 bytes
    per band and passage, plus 8 per passage; the hash values themselves are the caller's arrays, kept by reference.
    """

    def __init__(self, bands: int, rows: int, *, max_run: int = 1 << 22) -> None:
        if bands < 1 or rows < 1:
            raise ValueError(f"bands and rows must be positive, got {bands} and {rows}")
        self.bands = bands
        self.rows = rows
        self.max_run = max_run
        self._salt = _mix64(np.arange(1, bands + 1, dtype=np.uint64) * _GOLDEN)
        self._runs: list[_Run] = []
        self._values: list[np.ndarray] = []  # the hash values of each group, as given to add
        self._group = array("I")  # passage number -> group
        self._row = array("I")  # passage number -> its row in the group's values

    def __len__(self) -> int:
        """The number of passages indexed."""
        return len(self._group)

    @property
    def runs(self) -> list[int]:
        """The length of each sorted run, oldest first."""
        return [len(run.keys) for run in self._runs]

    def keys(self, values: np.ndarray) -> np.ndarray:
        """The band keys of MinHash values (passages x permutations, uint32): passages x bands, uint64."""
        span = self.bands * self.rows
        if values.ndim != 2 or values.shape[1] < span:
            raise ValueError(f"hash values of shape {values.shape}: {span} permutations needed per passage")
        parts = values[:, :span].astype(np.uint64).reshape(len(values), self.bands, self.rows)
        key = np.broadcast_to(self._salt, (len(values), self.bands))
        for row in range(self.rows):
            key = _mix64(key ^ parts[:, :, row])
        return key

    def add(self, values: np.ndarray, rows: Sequence[int]) -> int:
        """Index rows ``rows`` of ``values`` as the next group (kept by reference); returns the group's number."""
        group = len(self._values)
        self._values.append(values)
        if not rows:
            return group
        first = len(self._group)
        if first + len(rows) > 0xFFFFFFFF:
            raise OverflowError("more than 2^32 passages in one index")
        self._group.extend([group] * len(rows))
        self._row.extend(rows)
        keys = self.keys(values[np.asarray(rows, dtype=np.intp)]).ravel()
        ids = np.repeat(np.arange(first, first + len(rows), dtype=np.uint32), self.bands)
        order = np.argsort(keys, kind="stable")
        self._runs.append(_Run.of(keys[order], ids[order]))
        runs = self._runs
        while len(runs) > 1 and len(runs[-2].keys) <= len(runs[-1].keys) <= self.max_run - len(runs[-2].keys):
            self._merge_last()
        return group

    def _merge_last(self) -> None:
        """Merge the last two runs: the keys of the newer one go after equal keys of the older."""
        old, new = self._runs[-2:]
        at = np.searchsorted(old.keys, new.keys, side="right") + np.arange(len(new.keys))
        newer = np.zeros(len(old.keys) + len(new.keys), dtype=bool)
        newer[at] = True
        keys = np.empty(len(newer), dtype=np.uint64)
        ids = np.empty(len(newer), dtype=np.uint32)
        keys[at], ids[at] = new.keys, new.ids
        keys[~newer], ids[~newer] = old.keys, old.ids
        self._runs[-2:] = [_Run.of(keys, ids)]

    def query(self, values: np.ndarray, rows: Sequence[int]) -> list[list[tuple[int, int]]]:
        """For each row in ``rows`` of ``values``: the (group, row) of every indexed passage that agrees with it on a
        whole band, sorted."""
        found: list[list[tuple[int, int]]] = [[] for _ in rows]
        if not rows or not self._runs:
            return found
        wanted = values[np.asarray(rows, dtype=np.intp)]
        needles = self.keys(wanted).ravel()
        hit_needles: list[np.ndarray] = []
        hit_ids: list[np.ndarray] = []
        for run in self._runs:
            which, ids = run.find(needles)
            hit_needles.append(which)
            hit_ids.append(ids)
        passages = np.concatenate(hit_needles) // self.bands
        if not len(passages):
            return found
        pairs = np.unique((passages.astype(np.uint64) << np.uint64(32)) | np.concatenate(hit_ids).astype(np.uint64))
        span = self.bands * self.rows
        for pair in pairs.tolist():
            at, passage = pair >> 32, pair & 0xFFFFFFFF
            group, row = self._group[passage], self._row[passage]
            same = wanted[at, :span] == self._values[group][row, :span]
            if same.reshape(self.bands, self.rows).all(axis=1).any():
                found[at].append((group, row))
        for candidates in found:
            candidates.sort()
        return found


# --------------------------------------------------------------------------------------------------------------------
# The index


@dataclass(slots=True)
class _Doc:
    """What the index keeps of an article: its fingerprint's hash values and, per passage, only what the verification
    reads (word span, furniture line or not), in numpy arrays rather than :class:`Passage` objects."""

    id: str
    slot: int
    outlet: str | None
    published: str | None
    fetched: str | None
    language: str | None
    hashvalues: np.ndarray  # passages x num_perm, uint32 (the fingerprint's own array)
    spans: np.ndarray  # passages x 2: token_start, token_end
    furniture: np.ndarray  # passages, bool
    words: int  # the words of all passages


@dataclass
class _Pair:
    """Two articles (ids in sorted order) that share candidate passages, with their alignment (first id's side)."""

    triggers: set[tuple[int, int]] = field(default_factory=set)
    runs: list[Alignment] | None = None


@dataclass(frozen=True)
class _Frequency:
    articles: int
    outlets: int


class ReuseIndex:
    """An incremental index of passage fingerprints; :meth:`add` matches each new article against those before it.

    ``texts`` looks up the clean text of an indexed article by id (from the store, say): with it the index keeps no
    texts in memory; without it the texts given to :meth:`add` are kept. :meth:`restore` puts a stored article back
    without aligning it to anything (its fingerprint read from bytes, no text hashed).
    """

    def __init__(
        self,
        *,
        options: ReuseOptions | None = None,
        texts: Callable[[str], str] | None = None,
    ) -> None:
        self.options = options or load_options()
        self._lookup = texts
        self._texts: dict[str, str] = {}
        self._docs: dict[str, _Doc] = {}
        self._slots: list[str] = []
        self._bands = BandIndex(*banding(self.options.lsh_threshold, self.options.num_perm))
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._partners: dict[str, set[str]] = defaultdict(set)
        # Passage (slot, index) -> slots of the other articles with a near-identical passage: the passage's
        # document frequency, kept up to date as articles come (capped once past every threshold that reads it).
        self._near: dict[tuple[int, int], set[int]] = {}
        self._restored: dict[str, list[ReusePassage]] = {}
        self._adding: tuple[str, str] | None = None  # the article being added, whose text the lookup may not know

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._docs

    # ---- adding -------------------------------------------------------------------------------------------------

    def add(self, article: ArticleLike, *, fingerprint: Fingerprint | None = None) -> list[ReusePassage]:
        """Index ``article`` and return the passages it shares with the articles indexed before it.

        ``fingerprint`` (e.g. read back from the store) saves hashing the text again; it must have been made from
        this text with these options. Adding an id again changes nothing and returns its passages.
        """
        if article.id in self._docs:
            return self.passages(article.id)
        doc, eligible = self._register(article, fingerprint, text=article.text)
        self._link(doc, eligible, pairs=True)
        self._adding = (doc.id, article.text)
        try:
            for other in sorted(self._partners[doc.id]):
                key = (doc.id, other) if doc.id < other else (other, doc.id)
                if self._live(key, self._pairs[key]):
                    self._align_pair(doc.id, other)
        finally:
            self._adding = None
        return self.passages(doc.id)

    def add_many(self, articles: Iterable[ArticleLike]) -> dict[str, list[ReusePassage]]:
        """Add articles one by one; then every article's passages as :meth:`passages` gives them."""
        added = []
        for article in articles:
            self.add(article)
            added.append(article.id)
        return {article_id: self.passages(article_id) for article_id in added}

    def restore(
        self,
        article: ArticleLike,
        fingerprint: Fingerprint | bytes,
        *,
        passages: Iterable[ReusePassage] = (),
    ) -> None:
        """Put a stored article back into the index without aligning it (the store already holds its passages).

        ``article.text`` may be empty when the index was made with ``texts=``. ``passages`` (its stored reuse
        passages) can be given so that :meth:`passages` answers for it; they are returned as stored. Restored
        articles count in the document frequencies at once, and every article added later is matched against them.
        """
        if isinstance(fingerprint, bytes | bytearray | memoryview):
            fingerprint = Fingerprint.from_bytes(bytes(fingerprint))
        if article.id in self._docs:
            return
        doc, eligible = self._register(article, fingerprint, text=article.text or None)
        self._link(doc, eligible, pairs=False)
        self._restored.setdefault(article.id, []).extend(passages)

    def _register(self, article: ArticleLike, given: Fingerprint | None, *, text: str | None) -> tuple[_Doc, list[int]]:
        """Keep ``article`` (fingerprinted now unless ``given``); returns it and its passages to look up and index."""
        options = self.options
        if given is None:
            if text is None:
                raise ValueError(f"article {article.id!r} has no text and no fingerprint")
            given = fingerprint(text, language=article.language, options=options)
        self._check(article.id, given, text)
        doc = _Doc(
            id=article.id,
            slot=len(self._slots),
            outlet=article.outlet,
            published=article.published,
            fetched=article.fetched,
            language=article.language,
            hashvalues=given.hashvalues,
            spans=np.array([(p.token_start, p.token_end) for p in given.passages], dtype=np.int32).reshape(-1, 2),
            furniture=np.array([p.furniture for p in given.passages], dtype=bool),
            words=sum(p.words for p in given.passages),
        )
        self._slots.append(article.id)
        self._docs[article.id] = doc
        if text is not None and self._lookup is None:
            self._texts[article.id] = text
        return doc, [index for index, passage in enumerate(given.passages) if self._eligible(passage)]

    def _check(self, article_id: str, given: Fingerprint, text: str | None) -> None:
        options = self.options
        made = (given.num_perm, given.seed, given.shingle_words)
        wanted = (options.num_perm, options.seed, options.shingle_words)
        if made != wanted:
            raise FingerprintError("E082", article_id=article_id, made=_describe(made), wanted=_describe(wanted))
        if text is not None and given.text_crc != _crc(text):
            raise FingerprintError("E081", article_id=article_id)

    def _text(self, article_id: str) -> str:
        if self._adding is not None and self._adding[0] == article_id:
            return self._adding[1]
        if self._lookup is not None:
            return self._lookup(article_id)
        return self._texts[article_id]

    # ---- candidates ---------------------------------------------------------------------------------------------

    def _eligible(self, passage: Passage) -> bool:
        options = self.options
        return (
            not passage.furniture
            and passage.content_words >= options.trigger_min_content_words
            and 1 - passage.content_words / passage.words <= options.max_stop_share
        )

    def _neighbours(self, doc: _Doc, index: int, candidates: list[tuple[int, int]]) -> list[tuple[int, int, float]]:
        """The candidate passages (slot, index) of passage ``index`` of ``doc``, with their estimated Jaccard."""
        values = doc.hashvalues[index]
        found = []
        for slot, other_index in candidates:
            other = self._docs[self._slots[slot]]
            jaccard = float(np.count_nonzero(values == other.hashvalues[other_index])) / len(values)
            found.append((slot, other_index, jaccard))
        return found

    def _note_near(self, key: tuple[int, int], slot: int) -> None:
        near = self._near.setdefault(key, set())
        if len(near) <= self.options.trigger_max_articles:  # past that, the count decides nothing more
            near.add(slot)

    def _link(self, doc: _Doc, eligible: list[int], *, pairs: bool) -> None:
        """Query the passages of ``doc``: update document frequencies, record candidate pairs, then index them.

        Only eligible passages (enough content words, not furniture lines) are looked up and indexed: the others
        start no alignment and their frequency is never needed (a furniture line is furniture at any frequency).
        """
        options = self.options
        for index, candidates in zip(eligible, self._bands.query(doc.hashvalues, eligible), strict=True):
            neighbours = self._neighbours(doc, index, candidates)
            for slot, other_index, jaccard in neighbours:
                if jaccard >= options.df_jaccard:
                    self._note_near((doc.slot, index), slot)
                    self._note_near((slot, other_index), doc.slot)
            if not pairs or self._frequency_of(doc, index).articles > options.trigger_max_articles:
                continue
            for slot, other_index, jaccard in neighbours:
                if jaccard < options.candidate_min_jaccard:
                    continue
                other = self._docs[self._slots[slot]]
                key, trigger = _pair_key(doc.id, index, other.id, other_index)
                self._pairs.setdefault(key, _Pair()).triggers.add(trigger)
                self._partners[doc.id].add(other.id)
                self._partners[other.id].add(doc.id)
        if self._bands.add(doc.hashvalues, eligible) != doc.slot:
            raise RuntimeError("the band index and the article slots are out of step")

    def _align_pair(self, a: str, b: str) -> None:
        key = (a, b) if a < b else (b, a)
        pair = self._pairs[key]
        if pair.runs is not None:
            return
        first, second = self._docs[key[0]], self._docs[key[1]]
        options = self.options
        ta = _tokens(self._text(first.id), first.language, options)
        tb = _tokens(self._text(second.id), second.language, options)
        pair.runs = _aligned_runs(ta, tb, options)

    # ---- corpus statistics --------------------------------------------------------------------------------------

    def _frequency_of(self, doc: _Doc, index: int) -> _Frequency:
        near = self._near.get((doc.slot, index))
        if not near:
            return _Frequency(articles=1, outlets=1)
        slots = near | {doc.slot}
        outlets: set[Hashable] = set()
        for slot in slots:
            outlet = self._docs[self._slots[slot]].outlet
            outlets.add(outlet if outlet else ("article", slot))
        return _Frequency(articles=len(slots), outlets=len(outlets))

    def _common(self, doc: _Doc, index: int) -> bool:
        freq = self._frequency_of(doc, index)
        return freq.articles > self.options.df_max_articles or freq.outlets > self.options.df_max_outlets

    def _live(self, key: tuple[str, str], pair: _Pair) -> bool:
        """Whether the candidate passages of a pair warrant aligning it (and reporting it).

        One candidate pair of passages that are common to neither article's corpus suffices; passages common to the
        corpus (a disclaimer in hundreds of articles) count only when the two articles share at least
        ``common_pair_min_passages`` of them (a syndicated text shares many), so a repeated line does not start one
        alignment per pair of the articles that carry it. Passages in more than ``trigger_max_articles`` articles
        never count. Frequencies only grow, so a pair that is not live when its second article comes never is.
        """
        a, b = self._docs[key[0]], self._docs[key[1]]
        options = self.options
        common: list[tuple[int, int]] = []
        for ia, ib in sorted(pair.triggers):
            if (
                self._frequency_of(a, ia).articles > options.trigger_max_articles
                or self._frequency_of(b, ib).articles > options.trigger_max_articles
            ):
                continue
            if not self._common(a, ia) and not self._common(b, ib):
                return True
            common.append((ia, ib))
        needed = options.common_pair_min_passages
        return len({ia for ia, _ in common}) >= needed and len({ib for _, ib in common}) >= needed

    def _furniture_share(self, doc: _Doc, lo: int, hi: int) -> float:
        """Share of the words ``[lo, hi)`` of ``doc`` in passages that are furniture lines or common to the corpus."""
        furniture = 0
        passages = zip(doc.spans.tolist(), doc.furniture.tolist(), strict=True)
        for index, ((start, end), is_furniture) in enumerate(passages):
            overlap = min(hi, end) - max(lo, start)
            if overlap > 0 and (is_furniture or self._common(doc, index)):
                furniture += overlap
        return furniture / max(1, hi - lo)

    def _is_reuse(self, a: _Doc, b: _Doc, run: Alignment) -> bool:
        options = self.options
        if run.words >= options.long_segment_words:
            return True
        share = max(
            self._furniture_share(a, run.token_start, run.token_end),
            self._furniture_share(b, run.other_token_start, run.other_token_end),
        )
        return share < options.furniture_share

    def _pair_runs(self, key: tuple[str, str]) -> list[Alignment]:
        pair = self._pairs.get(key)
        if pair is None or not pair.runs or not self._live(key, pair):
            return []  # runs is None: never worth aligning
        a, b = self._docs[key[0]], self._docs[key[1]]
        return [run for run in pair.runs if self._is_reuse(a, b, run)]

    # ---- answers ------------------------------------------------------------------------------------------------

    def first(self, article_id: str, other_id: str) -> str:
        """The first publisher of two indexed articles (:func:`first_publisher`)."""
        a, b = self._docs[article_id], self._docs[other_id]
        return first_publisher(
            a.id, b.id, published=a.published, other_published=b.published, fetched=a.fetched, other_fetched=b.fetched
        )

    def passages(self, article_id: str) -> list[ReusePassage]:
        """Every passage ``article_id`` shares with another indexed article, for the index as it is now.

        Sorted by position, then by the other article. The same for any order of adding the same articles.
        """
        if article_id not in self._docs:
            raise KeyError(article_id)
        out: list[ReusePassage] = list(self._restored.get(article_id, ()))
        for other in sorted(self._partners.get(article_id, ())):
            key = (article_id, other) if article_id < other else (other, article_id)
            runs = self._pair_runs(key)
            if not runs:
                continue
            first = self.first(article_id, other)
            for run in runs:
                mine = run if key[0] == article_id else run.mirrored()
                out.append(
                    ReusePassage(
                        start=mine.start,
                        end=mine.end,
                        other_article=other,
                        other_start=mine.other_start,
                        other_end=mine.other_end,
                        first=first,
                        score=mine.score,
                    )
                )
        out.sort(key=lambda p: (p.start, p.end, p.other_article, p.other_start))
        return out

    def all_passages(self) -> list[tuple[str, ReusePassage]]:
        """Every shared passage once, as ``(article id, passage)`` from the side of the smaller id."""
        out: list[tuple[str, ReusePassage]] = []
        for article_id in sorted(self._docs):
            out.extend((article_id, p) for p in self.passages(article_id) if article_id < p.other_article)
        return out

    def related(self, article_id: str) -> list[ArticleReuse]:
        """Article-level reuse of ``article_id``: one record per article it shares passages with."""
        if article_id not in self._docs:
            raise KeyError(article_id)
        out = []
        for other in sorted(self._partners.get(article_id, ())):
            key = (article_id, other) if article_id < other else (other, article_id)
            runs = [r if key[0] == article_id else r.mirrored() for r in self._pair_runs(key)]
            if not runs:
                continue
            mine, theirs = self._docs[article_id], self._docs[other]
            coverage = _coverage(runs, mine.words, mine.spans, side=0)
            other_coverage = _coverage(runs, theirs.words, theirs.spans, side=1)
            out.append(
                ArticleReuse(
                    article=article_id,
                    other_article=other,
                    passages=len(runs),
                    coverage=round(coverage, 4),
                    other_coverage=round(other_coverage, 4),
                    near_duplicate=max(coverage, other_coverage) >= self.options.near_duplicate_coverage,
                    first=self.first(article_id, other),
                )
            )
        return out


def _coverage(runs: Sequence[Alignment], total: int, passages: np.ndarray, *, side: int) -> float:
    """Share of the article's passage words inside the runs (``side`` 0: this article's offsets, 1: the other's)."""
    if total <= 0:
        return 0.0
    spans = [(r.token_start, r.token_end) if side == 0 else (r.other_token_start, r.other_token_end) for r in runs]
    inside = 0
    for start, end in passages.tolist():  # word spans of the passages
        inside += _covered((max(lo, start), min(hi, end)) for lo, hi in spans if lo < end and start < hi)
    return min(1.0, inside / total)


def _pair_key(a: str, ia: int, b: str, ib: int) -> tuple[tuple[str, str], tuple[int, int]]:
    return ((a, b), (ia, ib)) if a < b else ((b, a), (ib, ia))


def _describe(made: tuple[int, int, int]) -> str:
    return f"num_perm={made[0]}, seed={made[1]}, shingle_words={made[2]}"


def find_reuse(
    articles: Iterable[ArticleLike], *, options: ReuseOptions | None = None
) -> dict[str, list[ReusePassage]]:
    """Index ``articles`` together and return every article's shared passages (an empty list for none)."""
    index = ReuseIndex(options=options)
    ids = []
    for article in articles:
        index.add(article)
        ids.append(article.id)
    return {article_id: index.passages(article_id) for article_id in ids}


# --------------------------------------------------------------------------------------------------------------------
# Outlet pairs


@dataclass(frozen=True)
class OutletPair:
    """Copying from one outlet to another: ``copier`` printed text that ``source`` published first.

    ``articles``: articles of ``copier`` with such passages; ``source_articles``: articles of ``source`` they copy;
    ``passages``: shared passages (counted once each).
    """

    copier: str
    source: str
    articles: int
    source_articles: int
    passages: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def outlet_pairs(passages: Mapping[str, Sequence[ReusePassage]], outlets: Mapping[str, str | None]) -> list[OutletPair]:
    """Count, for each ordered (copier outlet, first-publisher outlet) pair, the articles and passages copied.

    ``passages`` maps an article id to its reuse passages (one side of each pair or both: each passage counts once);
    ``outlets`` maps article ids to outlets (missing or None: "unknown"). Passages whose first publisher is unknown
    are not counted. Sorted by passages, then articles (both descending), then outlet names.
    """
    seen: set[tuple[str, str, int, int]] = set()
    copiers: dict[tuple[str, str], set[str]] = defaultdict(set)
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    counts: Counter[tuple[str, str]] = Counter()
    for article_id, items in passages.items():
        for p in items:
            if p.first == UNKNOWN:
                continue
            if p.first == p.other_article:  # this article copied
                copier, source, span = article_id, p.other_article, (p.start, p.end)
            elif p.first == article_id:  # the other article copied
                copier, source, span = p.other_article, article_id, (p.other_start, p.other_end)
            else:
                continue
            key = (copier, source, *span)
            if key in seen:
                continue
            seen.add(key)
            outlet_pair = (outlets.get(copier) or UNKNOWN, outlets.get(source) or UNKNOWN)
            counts[outlet_pair] += 1
            copiers[outlet_pair].add(copier)
            sources[outlet_pair].add(source)
    rows = [
        OutletPair(copier=c, source=s, articles=len(copiers[(c, s)]), source_articles=len(sources[(c, s)]), passages=n)
        for (c, s), n in counts.items()
    ]
    rows.sort(key=lambda r: (-r.passages, -r.articles, r.copier, r.source))
    return rows
