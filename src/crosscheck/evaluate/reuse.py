"""Text-reuse evaluation: copies of real articles with known edits, scored at passage level and for the first publisher.

``crosscheck eval reuse`` builds a corpus from real article texts available offline (PTC's and PolNeAR's articles
under the shared datasets folder, and the three bundled examples), makes copies of some of them with known edits,
indexes everything in a seeded random order with :class:`~crosscheck.corpus.reuse.ReuseIndex`, and scores what it
reports. Edit kinds (one source article each, never reused by another case):

- ``verbatim``: the whole article printed again;
- ``partial``: one or two runs of 1-3 consecutive paragraphs of the source inserted into another real article;
- ``reordered``: the source's paragraphs in another order;
- ``paraphrase``: every paragraph lightly edited (a share of the words substituted by other words of the corpus or
  deleted, and one sentence dropped from a share of the paragraphs);
- ``boilerplate``: two unrelated articles that share only page furniture (subscribe and follow-us lines, correction
  prompts, an author bio, an agency disclaimer): nothing may be reported.

Every article gets an outlet and dates: the source is published before its copy, except in cases where a date is
missing on one side (expected first publisher "unknown"), both articles carry the same date (a tie: "unknown"), or
only the crawl times (``fetched``) are known (decided by them). Pool texts that share a rare run of eight words
with another pool text (real syndication and quotes in the corpora) are left out before any case is made; runs found
in ten texts or more are site furniture and stay. Every unused pool text is indexed with the cases as a distractor,
and corpus-wide furniture (an author bio, a disclaimer) is spread over many articles of many outlets, as in a crawl.

Scoring (characters). Gold passages are the copied paragraphs, each with its span in the copy and in the source.

- A predicted passage is **correct** when it links the two articles of a case and overlaps one gold passage by at
  least half the length of the shorter of the two spans, ``|p ∩ g| >= 0.5 * min(|p|, |g|)``, in the copy and in the
  source (in the source, a span holding the gold text, or held in it, also counts: some sources print a paragraph
  twice). **Precision** is correct predictions over all predictions; a prediction linking the articles of no case,
  or of a boilerplate case, is a false positive.
- A gold passage of at least ``MIN_GOLD_WORDS`` words is **found** when the predictions that link it (overlapping it
  in the copy and in the source) together cover at least half of it on both sides, so an alignment broken in two by
  a dropped sentence still finds its paragraph. **Recall** is found over gold; shorter copied lines (titles) are not
  required, and a prediction on them is not a false positive.
- **Character precision / recall**, copy side: the share of predicted characters inside gold passages, and of gold
  characters (of the required passages) inside predictions.
- **First-publisher accuracy** is over the cases whose copy was found; ``neardup`` counts the found cases marked
  near duplicates (expected for verbatim, reordered and paraphrase copies, not for partial ones).

Without the datasets, the three examples are the whole pool: each case is then indexed in a corpus of its own
(the examples would otherwise share text across cases), and the corpus-wide furniture is left out.
"""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from ..article import Article
from ..corpus.reuse import UNKNOWN, ReuseIndex, ReuseOptions, load_options, normalise_word
from . import datasets_dir, eval_group

KINDS = ("verbatim", "partial", "reordered", "paraphrase", "boilerplate")
#: Gold passages shorter than this (titles, headings) are not required to be found.
MIN_GOLD_WORDS = 12
#: A source must have at least this many paragraphs and words to be copied.
MIN_PARAGRAPHS = 5
MIN_WORDS = 150

PTC_DIR = Path("ptc-semeval2020-task11") / "datasets"
POLNEAR_DIR = Path("polnear") / "data"
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"

#: Page furniture shared by the two articles of a boilerplate case (each gets two to four of these).
FURNITURE = (
    "Subscribe to our Telegram channel to get the latest news from the front line first.",
    "Follow us on Facebook, Twitter and Instagram for more updates from Ukraine.",
    "To suggest a correction or clarification, write to us here",
    "You can also highlight the text and press Ctrl + Enter",
    "More from the author’s weekly update in his Newsletter on several key developments.",
    "Download our free app for iPhone and Android to read the news offline and get breaking alerts.",
    "When using materials of this site, an active hyperlink to the source is required; reproduction of texts in full "
    "without the written consent of the editors is prohibited.",
    "Share this article with your friends and family.",
)
#: Furniture that a crawl sees in many articles of many outlets (no pattern names it: only its frequency does).
CORPUS_FURNITURE = (
    "Media analyst and journalist. Fully committed to insightful, analytical, investigative journalism and debunking "
    "disinformation. My goal is to produce analytical articles on Ukraine, and Europe, based on trustworthy sources.",
    "The opinions of the authors of this material may not coincide with the position of the editorial board; the "
    "editors are not responsible for the accuracy of information provided by partner agencies and official sources.",
)
OUTLETS = tuple(f"outlet-{i:02d}" for i in range(24))

_SENTENCE = re.compile(r"(?<=[.!?…])[\"'”’»)]*\s+")
_VOCAB_WORD = re.compile(r"[A-Za-z]{4,}")
_WORDS = re.compile(r"\w+(?:['’.,\-]\w+)*")


# --------------------------------------------------------------------------------------------------------------------
# The pool of real texts


@dataclass(frozen=True)
class SourceText:
    """A real article text, as paragraphs (its lines)."""

    name: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def example_texts() -> list[SourceText]:
    """The three bundled example pages, cleaned as ``crosscheck ingest`` cleans them."""
    from ..ingest.clean import clean_text

    return [
        SourceText(f"examples/{path.name}", _paragraphs(clean_text(path.read_text("utf-8")).text))
        for path in sorted(EXAMPLES_DIR.glob("*.txt"))
    ]


def dataset_texts(root: Path | None = None) -> list[SourceText]:
    """Article texts of PTC (train, dev, test) and PolNeAR (train, dev), where present, in a fixed order."""
    root = root or datasets_dir()
    paths = sorted((root / PTC_DIR).glob("*-articles/article*.txt")) + sorted((root / POLNEAR_DIR).glob("*/text/*.txt"))
    return [SourceText(str(p.relative_to(root)), _paragraphs(p.read_text("utf-8"))) for p in paths]


def _usable(texts: Iterable[SourceText]) -> list[SourceText]:
    seen: set[str] = set()
    out = []
    for t in texts:
        if len(t.paragraphs) < MIN_PARAGRAPHS or t.words < MIN_WORDS or t.text in seen:
            continue
        seen.add(t.text)
        out.append(t)
    return out


#: Pool texts sharing a run of this many words (normalised) with another pool text are left out...
SHARED_RUN_WORDS = 8
#: ... unless the run is in at least this many texts: then it is site furniture (a newsletter sign-up, a bio), which
#: stays in the pool as a test of the detector.
FURNITURE_TEXTS = 10


def drop_shared(texts: Sequence[SourceText]) -> tuple[list[SourceText], int]:
    """Leave out every text that shares a rare run of ``SHARED_RUN_WORDS`` words with another text of the pool.

    The corpora hold real reuse (wire copy, the same quotes); a case built on such a text would have gold that is not
    the whole truth. A run found in fewer than ``FURNITURE_TEXTS`` texts is reuse and removes every text holding it;
    a run in more is site furniture and is kept, so real furniture stays in the corpus. The test is independent of the
    detector under evaluation (which would otherwise hide its own false positives by removing them).
    """
    k = SHARED_RUN_WORDS
    owners: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for i, t in enumerate(texts):
        words = [w for w in (normalise_word(x) for x in _WORDS.findall(t.text)) if w]
        for j in range(len(words) - k + 1):
            owners[tuple(words[j : j + k])].add(i)
    shared: set[int] = set()
    for holders in owners.values():
        if 1 < len(holders) < FURNITURE_TEXTS:
            shared |= holders
    kept = [t for i, t in enumerate(texts) if i not in shared]
    return kept, len(texts) - len(kept)


def _article(
    article_id: str,
    text: str,
    *,
    outlet: str | None = None,
    published: str | None = None,
    fetched: str | None = None,
) -> Article:
    return Article(
        raw="",
        origin=f"eval:{article_id}",
        text=text,
        id=article_id,
        outlet=outlet,
        published=published,
        fetched=fetched,
        language="en",
    )


# --------------------------------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class GoldPassage:
    """A copied paragraph: ``copy_start:copy_end`` in the copy came from ``source_start:source_end``."""

    copy_start: int
    copy_end: int
    source_start: int
    source_end: int
    words: int


@dataclass
class Case:
    """One generated copy (or, for ``boilerplate``, one pair of unrelated articles) with what should be found."""

    kind: str
    name: str
    copy: Article
    source: Article
    expected_first: str | None  # None for boilerplate
    dates: str  # dated | fetched | missing | tie
    gold: list[GoldPassage] = field(default_factory=list)


def _spans(paragraphs: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join paragraphs with blank lines; the text and each paragraph's span."""
    spans = []
    offset = 0
    for p in paragraphs:
        spans.append((offset, offset + len(p)))
        offset += len(p) + 2
    return "\n\n".join(paragraphs), spans


def _paraphrase(paragraph: str, rng: random.Random, vocabulary: Sequence[str], share: float, drop: float) -> str:
    sentences = [s for s in _SENTENCE.split(paragraph) if s.strip()]
    if len(sentences) >= 3 and rng.random() < drop:
        del sentences[rng.randrange(len(sentences))]
    words = []
    for word in " ".join(sentences).split():
        roll = rng.random()
        if roll < share / 2:
            continue  # deleted
        words.append(rng.choice(vocabulary) if roll < share else word)
    return " ".join(words) or paragraph


class _Dates:
    """Publication dates for a case in one of the styles; the source always comes first where dates decide."""

    STYLES = ("dated", "dated", "dated", "dated", "dated", "dated", "fetched", "fetched", "missing", "missing", "tie")

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.base = datetime(2022, 2, 24, 6, 0, tzinfo=UTC)

    def one(self) -> str:
        return (self.base + timedelta(days=self.rng.randrange(600))).date().isoformat()

    def pair(self, style: str) -> tuple[dict[str, str | None], dict[str, str | None], bool]:
        """Date fields of the source and the copy, and whether the dates decide the first publisher."""
        rng = self.rng
        when = self.base + timedelta(days=rng.randrange(600), minutes=rng.randrange(18 * 60))
        later = when + timedelta(hours=rng.randrange(1, 96))
        if style == "dated":
            if rng.random() < 0.5:
                return {"published": when.isoformat()}, {"published": later.isoformat()}, True
            later_day = when.date() + timedelta(days=rng.randrange(1, 6))
            return {"published": when.date().isoformat()}, {"published": later_day.isoformat()}, True
        if style == "fetched":
            return {"fetched": when.isoformat()}, {"fetched": later.isoformat()}, True
        if style == "missing":
            if rng.random() < 0.5:
                return {"published": when.isoformat()}, {}, False
            return {}, {"published": later.isoformat()}, False
        day = when.date().isoformat()  # tie: both carry the same date without a time
        return {"published": day}, {"published": day}, False


def _make_case(
    kind: str,
    name: str,
    texts: Sequence[SourceText],
    rng: random.Random,
    dates: _Dates,
    vocabulary: Sequence[str],
    *,
    paraphrase_share: float,
) -> Case:
    source_text = texts[0]
    outlet_source, outlet_copy = rng.sample(OUTLETS, 2)
    style = rng.choice(_Dates.STYLES) if kind != "boilerplate" else "dated"
    source_dates, copy_dates, decided = dates.pair(style)
    source_id, copy_id = f"{name}-source", f"{name}-copy"
    src_paras = list(source_text.paragraphs)
    src_text, src_spans = _spans(src_paras)
    gold: list[tuple[int, int]] = []  # (copy paragraph index, source paragraph index)
    if kind == "verbatim":
        copy_paras = list(src_paras)
        gold = [(i, i) for i in range(len(src_paras))]
    elif kind == "reordered":
        order = list(range(len(src_paras)))
        while order == sorted(order):
            rng.shuffle(order)
        copy_paras = [src_paras[i] for i in order]
        gold = [(c, s) for c, s in enumerate(order)]
    elif kind == "paraphrase":
        copy_paras = [_paraphrase(p, rng, vocabulary, paraphrase_share, 0.3) for p in src_paras]
        gold = [(i, i) for i in range(len(src_paras))]
    elif kind == "partial":
        host = list(texts[1].paragraphs)
        runs = _copied_runs(src_paras, rng)
        copy_paras = list(host)
        # Insert the runs at distinct places after the host's title, last run first so earlier places hold.
        places = sorted(rng.sample(range(1, len(host) + 1), len(runs)), reverse=True)
        inserted: list[tuple[int, list[int]]] = []
        for place, run in zip(places, reversed(runs), strict=True):
            copy_paras[place:place] = [src_paras[i] for i in run]
            inserted.append((place, run))
        # Paragraph indices in the final copy: walk it again and map each inserted paragraph back.
        gold = []
        shift = 0
        for place, run in sorted(inserted):
            for offset, s in enumerate(run):
                gold.append((place + shift + offset, s))
            shift += len(run)
    elif kind == "boilerplate":
        other = list(texts[1].paragraphs)
        shared = rng.sample(FURNITURE, rng.randrange(2, 5))
        copy_paras = other + _shuffled(shared, rng)
        src_paras = src_paras + _shuffled(shared, rng)
        src_text, src_spans = _spans(src_paras)
    else:
        raise ValueError(f"unknown edit kind {kind!r}")
    copy_text, copy_spans = _spans(copy_paras)
    passages = [
        GoldPassage(*copy_spans[c], *src_spans[s], words=min(len(copy_paras[c].split()), len(src_paras[s].split())))
        for c, s in gold
    ]
    source = _article(source_id, src_text, outlet=outlet_source, **source_dates)
    copy = _article(copy_id, copy_text, outlet=outlet_copy, **copy_dates)
    expected = None if kind == "boilerplate" else (source_id if decided else UNKNOWN)
    return Case(kind, name, copy, source, expected, style, passages)


def _shuffled(items: Sequence[str], rng: random.Random) -> list[str]:
    out = list(items)
    rng.shuffle(out)
    return out


def _copied_runs(paragraphs: Sequence[str], rng: random.Random) -> list[list[int]]:
    """One or two runs of 1-3 consecutive paragraphs (after the title) with at least 25 words each."""
    runs: list[list[int]] = []
    used: set[int] = set()
    for _ in range(rng.choice((1, 2))):
        for _attempt in range(20):
            length = rng.randrange(1, 4)
            start = rng.randrange(1, max(2, len(paragraphs) - length + 1))
            run = list(range(start, min(start + length, len(paragraphs))))
            if used & set(range(run[0] - 1, run[-1] + 2)):
                continue
            if sum(len(paragraphs[i].split()) for i in run) < 25:
                continue
            runs.append(run)
            used.update(run)
            break
    if not runs:  # a source whose paragraphs are all short: copy its three longest neighbours
        runs = [list(range(1, min(4, len(paragraphs))))]
    return sorted(runs)


def _vocabulary(texts: Iterable[SourceText]) -> list[str]:
    words = {w.lower() for t in texts for w in _VOCAB_WORD.findall(t.text)}
    return sorted(words)


@dataclass
class World:
    """Articles indexed together: the cases' articles and the distractors."""

    cases: list[Case]
    distractors: list[Article]

    def articles(self) -> list[Article]:
        out = [a for c in self.cases for a in (c.source, c.copy)]
        return out + self.distractors


def generate(
    texts: Sequence[SourceText],
    *,
    cases_per_kind: int = 50,
    distractors: int | None = None,
    seed: int = 13,
    paraphrase_share: float = 0.1,
    separate_worlds: bool = False,
    corpus_furniture: bool = True,
) -> list[World]:
    """Make the cases from ``texts`` (each text used once; fewer cases when the pool is small).

    ``distractors``: how many unused texts are indexed too (None: all of them, at least 150 kept for it).
    ``separate_worlds``: every case in a corpus of its own, texts reused across cases (the examples-only mode).
    """
    rng = random.Random(seed)
    dates = _Dates(rng)
    vocabulary = _vocabulary(texts)
    needs = {"verbatim": 1, "partial": 2, "reordered": 1, "paraphrase": 1, "boilerplate": 2}
    if separate_worlds:
        worlds = []
        for kind in KINDS:
            for n in range(cases_per_kind):
                chosen = [texts[(n + i) % len(texts)] for i in range(needs[kind])]
                case = _make_case(
                    kind, f"{kind}-{n:03d}", chosen, rng, dates, vocabulary, paraphrase_share=paraphrase_share
                )
                worlds.append(World([case], []))
        return worlds
    pool = list(texts)
    rng.shuffle(pool)
    per_case = sum(needs.values())
    reserve = 150 if distractors is None else distractors
    n_cases = min(cases_per_kind, max(0, (len(pool) - reserve) // per_case))
    cases = []
    cursor = 0
    for kind in KINDS:
        for n in range(n_cases):
            chosen = pool[cursor : cursor + needs[kind]]
            cursor += needs[kind]
            cases.append(
                _make_case(kind, f"{kind}-{n:03d}", chosen, rng, dates, vocabulary, paraphrase_share=paraphrase_share)
            )
    extra = [
        _article(f"distractor-{i:04d}", t.text, outlet=rng.choice(OUTLETS), published=dates.one())
        for i, t in enumerate(pool[cursor : None if distractors is None else cursor + distractors])
    ]
    world = World(cases, extra)
    if corpus_furniture:
        _spread_furniture(world, rng)
    return [world]


def _spread_furniture(world: World, rng: random.Random) -> None:
    """Append the corpus-wide furniture: the bio to every boilerplate article, the disclaimer to a third of all."""
    bio, disclaimer = CORPUS_FURNITURE
    for case in world.cases:
        for role in ("source", "copy"):
            article: Article = getattr(case, role)
            lines = []
            if case.kind == "boilerplate":
                lines.append(bio)
            if rng.random() < 1 / 3:
                lines.append(disclaimer)
            if lines:
                article.text = article.text + "\n\n" + "\n\n".join(lines)  # appended: gold offsets stay valid
    for article in world.distractors:
        if rng.random() < 1 / 3:
            article.text = article.text + "\n\n" + disclaimer


# --------------------------------------------------------------------------------------------------------------------
# Scoring


@dataclass
class KindScore:
    """Passage-level counts of one edit kind (``unrelated``: predictions linking articles of no case)."""

    kind: str
    cases: int = 0
    gold: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0
    gold_chars: int = 0
    predicted_chars: int = 0
    overlap_chars: int = 0
    found_chars: int = 0
    first_total: int = 0
    first_correct: int = 0
    near_duplicates: int = 0
    cases_found: int = 0
    first_by_dates: dict[str, list[int]] = field(default_factory=dict)  # date style -> [correct, total]

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def char_precision(self) -> float:
        return self.overlap_chars / self.predicted_chars if self.predicted_chars else 1.0

    @property
    def char_recall(self) -> float:
        return self.found_chars / self.gold_chars if self.gold_chars else 1.0

    @property
    def first_accuracy(self) -> float:
        return self.first_correct / self.first_total if self.first_total else 1.0

    def merge(self, other: KindScore) -> None:
        for name in (
            "cases",
            "gold",
            "found",
            "predicted",
            "correct",
            "gold_chars",
            "predicted_chars",
            "overlap_chars",
            "found_chars",
            "first_total",
            "first_correct",
            "near_duplicates",
            "cases_found",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for style, (correct, total) in other.first_by_dates.items():
            mine = self.first_by_dates.setdefault(style, [0, 0])
            mine[0] += correct
            mine[1] += total


@dataclass
class ReuseEvaluation:
    """Scores per edit kind, overall, and how the run went."""

    kinds: dict[str, KindScore]
    articles: int
    seconds: float  # CPU seconds spent indexing
    pool: int
    left_out: int
    mode: str

    @property
    def overall(self) -> KindScore:
        total = KindScore("all")
        for score in self.kinds.values():
            total.merge(score)
        return total

    @property
    def boilerplate_false_positives(self) -> int:
        return self.kinds["boilerplate"].predicted


Span2 = tuple[tuple[int, int], tuple[int, int]]  # (copy span, source span) of one prediction


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """At least half of the shorter span lies in the other (the passage-matching rule)."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    return inter > 0 and inter >= 0.5 * min(a[1] - a[0], b[1] - b[0])


def covered(gold_copy: tuple[int, int], gold_source: tuple[int, int], found: Sequence[Span2]) -> bool:
    """A gold passage is found when the predictions that link it (overlapping it in the copy and in the source)
    together cover at least half of it on both sides."""
    linked = [
        (cs, ss)
        for cs, ss in found
        if min(cs[1], gold_copy[1]) > max(cs[0], gold_copy[0])
        and min(ss[1], gold_source[1]) > max(ss[0], gold_source[0])
    ]
    if not linked:
        return False
    inside_copy = _intersection_length([cs for cs, _ in linked], [gold_copy])
    inside_source = _intersection_length([ss for _, ss in linked], [gold_source])
    return 2 * inside_copy >= gold_copy[1] - gold_copy[0] and 2 * inside_source >= gold_source[1] - gold_source[0]


def _same_text(text: str, predicted: tuple[int, int], gold: tuple[int, int]) -> bool:
    """The predicted source span holds the gold source text elsewhere (a paragraph the source prints twice)."""
    a, b = text[predicted[0] : predicted[1]], text[gold[0] : gold[1]]
    return bool(a) and bool(b) and (a in b or b in a)


def _union_length(spans: Iterable[tuple[int, int]]) -> int:
    total, reach = 0, -1
    for lo, hi in sorted(spans):
        if hi > reach:
            total += hi - max(lo, reach)
            reach = hi
    return total


def _intersection_length(a: Iterable[tuple[int, int]], b: Iterable[tuple[int, int]]) -> int:
    ua, ub = _merge(a), _merge(b)
    total = 0
    for lo, hi in ua:
        for glo, ghi in ub:
            total += max(0, min(hi, ghi) - max(lo, glo))
    return total


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def score_world(world: World, index: ReuseIndex) -> dict[str, KindScore]:
    """Score what ``index`` (with every article of ``world`` added) reports against the world's cases."""
    by_pair = {frozenset((c.copy.id, c.source.id)): c for c in world.cases}
    predictions: dict[str, list[tuple[tuple[int, int], tuple[int, int]]]] = defaultdict(list)  # case -> (copy, src)
    scores = {kind: KindScore(kind) for kind in (*KINDS, "unrelated")}
    for article_id, p in index.all_passages():
        case = by_pair.get(frozenset((article_id, p.other_article)))
        if case is None:
            scores["unrelated"].predicted += 1
            continue
        mine, theirs = (p.start, p.end), (p.other_start, p.other_end)
        copy_span, source_span = (mine, theirs) if article_id == case.copy.id else (theirs, mine)
        predictions[case.name].append((copy_span, source_span))
    for case in world.cases:
        s = scores[case.kind]
        s.cases += 1
        found = predictions.get(case.name, [])
        s.predicted += len(found)
        golds = [((g.copy_start, g.copy_end), (g.source_start, g.source_end)) for g in case.gold]
        text = case.source.text
        for copy_span, source_span in found:
            if any(
                overlaps(copy_span, gc) and (overlaps(source_span, gs) or _same_text(text, source_span, gs))
                for gc, gs in golds
            ):
                s.correct += 1
        for g, (gc, gs) in zip(case.gold, golds, strict=True):
            if g.words < MIN_GOLD_WORDS:
                continue
            s.gold += 1
            if covered(gc, gs, found):
                s.found += 1
        required = [gc for g, (gc, _) in zip(case.gold, golds, strict=True) if g.words >= MIN_GOLD_WORDS]
        predicted_copy = [cs for cs, _ in found]
        s.gold_chars += _union_length(required)
        s.predicted_chars += _union_length(predicted_copy)
        s.overlap_chars += _intersection_length(predicted_copy, [gc for gc, _ in golds])
        s.found_chars += _intersection_length(predicted_copy, required)
        if found and case.expected_first is not None:
            s.cases_found += 1
            s.first_total += 1
            right = index.first(case.copy.id, case.source.id) == case.expected_first
            s.first_correct += right
            tally = s.first_by_dates.setdefault(case.dates, [0, 0])
            tally[0] += right
            tally[1] += 1
            related = [r for r in index.related(case.copy.id) if r.other_article == case.source.id]
            s.near_duplicates += bool(related and related[0].near_duplicate)
    return scores


def evaluate(
    worlds: Sequence[World], *, options: ReuseOptions | None = None, seed: int = 13
) -> tuple[dict[str, KindScore], int, float]:
    """Index each world's articles in a seeded random order and score them.

    Returns the scores, the number of articles and the CPU seconds spent adding them to the indexes.
    """
    rng = random.Random(seed)
    totals = {kind: KindScore(kind) for kind in (*KINDS, "unrelated")}
    articles = 0
    seconds = 0.0
    for world in worlds:
        order = world.articles()
        rng.shuffle(order)
        index = ReuseIndex(options=options or load_options())
        started = time.process_time()
        for article in order:
            index.add(article)
        seconds += time.process_time() - started
        articles += len(order)
        for kind, s in score_world(world, index).items():
            totals[kind].merge(s)
    return totals, articles, seconds


def run_evaluation(
    *,
    root: Path | None = None,
    examples_only: bool = False,
    cases_per_kind: int = 50,
    distractors: int | None = None,
    seed: int = 13,
    paraphrase_share: float = 0.1,
    options: ReuseOptions | None = None,
) -> ReuseEvaluation:
    """The whole evaluation: datasets when present (else, or with ``examples_only``, the examples alone)."""
    texts = [] if examples_only else dataset_texts(root)
    if texts:
        pool = _usable(texts + example_texts())
        kept, left_out = drop_shared(pool)
        worlds = generate(
            kept, cases_per_kind=cases_per_kind, distractors=distractors, seed=seed, paraphrase_share=paraphrase_share
        )
        mode = "datasets"
    else:
        pool = example_texts()
        kept, left_out = pool, 0
        worlds = generate(
            kept,
            cases_per_kind=len(kept),
            seed=seed,
            paraphrase_share=paraphrase_share,
            separate_worlds=True,
            corpus_furniture=False,
        )
        mode = "examples"
    kinds, articles, seconds = evaluate(worlds, options=options, seed=seed)
    return ReuseEvaluation(kinds, articles, seconds, len(pool), left_out, mode)


def format_table(result: ReuseEvaluation) -> list[str]:
    """The evaluation as text lines (a table per edit kind, then the totals)."""
    lines = [
        f"{'kind':<12} {'cases':>5} {'gold':>5} {'pred':>5} {'P':>6} {'R':>6} {'F1':>6} "
        f"{'charP':>6} {'charR':>6} {'first':>6} {'neardup':>7}"
    ]
    rows = [*result.kinds.values(), result.overall]
    for s in rows:
        if s.kind == "unrelated":
            lines.append(
                f"{'unrelated':<12} {'':>5} {'':>5} {s.predicted:>5}   (predictions linking no case: all wrong)"
            )
            continue
        near = f"{s.near_duplicates}/{s.cases_found}" if s.cases_found else "-"
        lines.append(
            f"{s.kind:<12} {s.cases:>5} {s.gold:>5} {s.predicted:>5} {s.precision:>6.3f} {s.recall:>6.3f} "
            f"{s.f1:>6.3f} {s.char_precision:>6.3f} {s.char_recall:>6.3f} {s.first_accuracy:>6.3f} {near:>7}"
        )
    return lines


@eval_group.command("reuse")
@click.option("--examples-only", is_flag=True, help="Use only the three bundled examples (no datasets).")
@click.option("--cases", "cases_per_kind", type=int, default=50, show_default=True, help="Cases per edit kind.")
@click.option(
    "--distractors", type=int, default=None, help="Unrelated articles indexed too (default: every unused one)."
)
@click.option("--seed", type=int, default=13, show_default=True, help="Seed of the generator and the adding order.")
@click.option(
    "--paraphrase-share",
    type=float,
    default=0.1,
    show_default=True,
    help="Share of words substituted or deleted in the paraphrase kind.",
)
def reuse_command(
    examples_only: bool, cases_per_kind: int, distractors: int | None, seed: int, paraphrase_share: float
) -> None:
    """Passage precision/recall/F1 and first-publisher accuracy on generated copies of real articles."""
    result = run_evaluation(
        examples_only=examples_only,
        cases_per_kind=cases_per_kind,
        distractors=distractors,
        seed=seed,
        paraphrase_share=paraphrase_share,
    )
    rate = result.articles / max(result.seconds, 1e-9)
    click.echo(
        f"pool: {result.pool} real texts ({result.mode}), {result.left_out} left out as already sharing text; "
        f"{result.articles} articles indexed in {result.seconds:.1f} CPU s ({rate:.0f} articles per CPU second)"
    )
    for line in format_table(result):
        click.echo(line)
    styles = result.overall.first_by_dates
    click.echo(
        "first publisher, correct/found by dates: "
        + ", ".join(f"{style} {styles[style][0]}/{styles[style][1]}" for style in sorted(styles))
        + " (dated, fetched: the source; missing, tie: unknown)"
    )
    click.echo(f"boilerplate-only false positives: {result.boilerplate_false_positives}")
