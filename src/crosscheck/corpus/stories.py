"""Stories: articles that report the same news event, across outlets and days, clustered online.

Each article is reduced once to :class:`ArticleFeatures` (its words, the people and organisations it names, its
places, the dates it mentions, its publication day and, optionally, a sentence-encoder vector). Two articles are
compared by :func:`similarity`, a score in [0, 1]: a logistic model over per-feature similarities

1. ``text_tfidf``: cosine of the TF-IDF vectors of title and text (document frequencies from a fixed table of
   about 3,000 news articles shipped in ``models/stories/idf.json.gz``, so a score never depends on the corpus);
   ``lead_tfidf``: the same over the title and the first :data:`LEAD_WORDS` content words;
2. ``entity_overlap``: IDF-weighted Jaccard of the people (by surname), organisations, units, equipment and events;
3. ``place_overlap``: IDF-weighted Jaccard of the places (gazetteer canonical names, so Dnipro/Dnieper agree);
4. ``date_overlap``: Jaccard of the calendar days mentioned (a day without a year matches that day in any year);
5. ``embedding``: cosine of the two sentence-encoder vectors, when both articles have one.

The coefficients and the story threshold are fitted on the training split of the SemEval-2022 Task 8 sample
(``training/stories/fit.py``; figures in ``docs/evaluation.md``) and shipped in ``models/stories/config.json``: a
set without the embedding and, when the encoder is shipped, one with it, so articles without a vector are still
compared. On that sample the words (whole text and lead) carry the score; entity, place and date overlap gained no
weight beyond them (names are words too), but places and entities still choose the candidates.

:class:`StoryClusterer` assigns stories online: a new article is compared only with *candidates* that share a
blocking key with it (a place, a named entity or one of its top TF-IDF terms; the most recent postings of each key,
never all pairs) and joins the story of its most similar candidate when that score reaches the story threshold,
else it opens a story of its own, named by its own id. Stories are never merged or renamed, so a story id is stable
once given. Articles published far apart must be more similar to join (see :class:`TimeRule`).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import ModelError

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "stories"
FEATURES_VERSION = 1

#: Per-pair features, in the order of the shipped coefficients.
TEXT_FEATURES = ("text_tfidf", "lead_tfidf", "entity_overlap", "place_overlap", "date_overlap")
#: The lead: the title and the first this many content words of the text (where a news story is told in brief).
#: 60 was best of 30, 40, 60, 90 and 120 in cross-validation on the training split (training/stories/fit.py).
LEAD_WORDS = 60
EMBEDDING_FEATURE = "embedding"

#: Entity labels that identify an event's actors; NORP ("Russian") and LANGUAGE are too common to tell stories apart.
_ACTOR_LABELS = frozenset({"PERSON", "ORG", "UNIT", "EQUIPMENT", "EVENT", "FAC", "PRODUCT", "LAW", "WORK_OF_ART"})
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_NAME_WORD = re.compile(r"[^\W_]+(?:['’][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’]s?$")
_DAY = re.compile(r"^(\d{4}|-)-(\d{2})-(\d{2})$")


def _stopwords() -> frozenset[str]:
    from ..ingest.clean import stopwords

    return stopwords("en")


def normalise_word(word: str) -> str:
    """Fold a lower-cased word to the form TF-IDF counts: possessive off, plural ``-s``/``-ies`` to the singular.

    A deliberately small rule ("troops" = "troop", "cities" = "city"; "news", "gas", "bus" and "-ss" words kept), so
    the table stays language-light and predictable.
    """
    word = _POSSESSIVE.sub("", word)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ews", "as")):
        return word[:-1]
    return word


def tokenize(text: str, *, stop: frozenset[str] | None = None) -> list[str]:
    """The content words of ``text``: lower-cased letter runs, folded by :func:`normalise_word`, stop words and
    one-letter words left out."""
    stop = _stopwords() if stop is None else stop
    out: list[str] = []
    for match in _WORD.finditer(unicodedata.normalize("NFKC", text).lower()):
        raw = match.group()
        if raw in stop:
            continue
        word = normalise_word(raw)
        if len(word) > 1 and word not in stop:
            out.append(word)
    return out


def _name_key(text: str, label: str) -> str | None:
    """The matching key of an entity: its words and numbers lower-cased ("T-72" = "t 72"); a person's surname only
    ("Vladimir Putin" = "Putin")."""
    words = [normalise_word(w) for w in _NAME_WORD.findall(unicodedata.normalize("NFKC", text).lower())]
    words = [w for w in words if w and w != "the"]
    if not words:
        return None
    if label == "PERSON":
        return words[-1]
    return " ".join(words)


# ---------------------------------------------------------------------------------------------------------------
# The shipped model


@dataclass(frozen=True)
class TimeRule:
    """How the publication gap between two articles raises the bar for joining a story.

    Up to ``window_days`` apart the story threshold applies as is; from there the bar rises linearly to the
    variant's ``strict`` score at ``strict_days`` and stays there. The SemEval sample carries no publication dates,
    so the days are a stated rule (a news cycle of a week; four weeks apart is another story unless the articles are
    very close), while each variant's ``strict`` is fitted: the score that best picks out "very similar" training
    pairs (Overall <= 1.5, F0.5).
    """

    window_days: float
    strict_days: float

    def threshold(self, base: float, strict: float, gap_days: float | None) -> float:
        """The score needed to join for articles ``gap_days`` apart (None: unknown), between ``base`` and
        ``strict``."""
        if gap_days is None or gap_days <= self.window_days:
            return base
        strict = max(base, strict)
        if gap_days >= self.strict_days:
            return strict
        share = (gap_days - self.window_days) / (self.strict_days - self.window_days)
        return base + share * (strict - base)


@dataclass(frozen=True)
class Variant:
    """One fitted logistic model: its features, coefficients and intercept, and its thresholds (``threshold``: same
    story; ``strict``: same story for articles published weeks apart; ``related_threshold``: worth listing)."""

    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    strict: float
    related_threshold: float

    def score(self, values: Mapping[str, float]) -> float:
        z = self.intercept + sum(c * values[f] for f, c in zip(self.features, self.coef, strict=True))
        return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class StoryModel:
    """The shipped story model: document frequencies, the fitted variants and the time rule."""

    documents: int
    df: Mapping[str, int]
    variants: Mapping[str, Variant]
    time: TimeRule
    config: Mapping[str, Any] = field(default_factory=dict)

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency (terms missing from the table count as seen in no document)."""
        return math.log((1 + self.documents) / (1 + self.df.get(term, 0))) + 1.0

    def name_weight(self, key: str) -> float:
        """Weight of an entity or place key: the IDF of its rarest word (a common country weighs less)."""
        words = key.split()
        return max((self.idf(w) for w in words), default=self.idf(""))

    def variant_for(self, a: ArticleFeatures, b: ArticleFeatures, *, use_embedding: bool = True) -> Variant:
        """The embedding variant when asked for, shipped and both articles have a vector, else the text variant."""
        if use_embedding and a.vector is not None and b.vector is not None and "text+embedding" in self.variants:
            return self.variants["text+embedding"]
        return self.variants["text"]


def _variant(data: Mapping[str, Any]) -> Variant:
    return Variant(
        features=tuple(data["features"]),
        coef=tuple(float(c) for c in data["coef"]),
        intercept=float(data["intercept"]),
        threshold=float(data["threshold"]),
        strict=float(data["strict"]),
        related_threshold=float(data["related_threshold"]),
    )


def load_document_frequencies(folder: Path = MODEL_DIR) -> tuple[int, dict[str, int]]:
    """The document count and per-term document frequencies of ``folder/idf.json.gz``."""
    idf_file = folder / "idf.json.gz"
    if not idf_file.exists():
        raise ModelError("E031", path=idf_file, hint="python -m training.stories.build_idf")
    with gzip.open(idf_file, "rt", encoding="utf-8") as handle:
        table = json.load(handle)
    return int(table["documents"]), {str(k): int(v) for k, v in table["df"].items()}


@lru_cache(maxsize=4)
def load_story_model(path: str | None = None) -> StoryModel:
    """Load ``models/stories`` (or a folder with the same ``config.json`` and ``idf.json.gz``) once per process."""
    folder = Path(path) if path else MODEL_DIR
    config_file = folder / "config.json"
    if not config_file.exists():
        raise ModelError("E031", path=config_file, hint="python -m training.stories.fit")
    config = json.loads(config_file.read_text("utf-8"))
    documents, df = load_document_frequencies(folder)
    time = config["time"]
    return StoryModel(
        documents=documents,
        df=df,
        variants={name: _variant(v) for name, v in config["variants"].items()},
        time=TimeRule(float(time["window_days"]), float(time["strict_days"])),
        config=config,
    )


# ---------------------------------------------------------------------------------------------------------------
# Article features


def article_text(text: str, title: str | None = None) -> str:
    """Title and text as one string (the title left out when the text already starts with it)."""
    if title and not text.lstrip().startswith(title.strip()):
        return f"{title}\n{text}"
    return text


def article_vector(text: str, title: str | None = None) -> np.ndarray:
    """The sentence-encoder embedding of an article (``crosscheck.corpus.embed``; the encoder reads the title and
    about the first 200 words, its 256 word pieces)."""
    from .embed import embed

    vectors: np.ndarray = embed([article_text(text, title)])
    return vectors[0]


def _day(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


class _Weighted(NamedTuple):
    model: StoryModel
    text: dict[str, float]
    lead: dict[str, float]
    top_terms: tuple[str, ...]


@dataclass(eq=False)
class ArticleFeatures:
    """What story clustering needs from one article; raw observations only, so the model can change under them.

    ``terms``: content-word counts of title and text (:func:`tokenize`); ``lead``: those of the title and the first
    :data:`LEAD_WORDS` content words; ``entities``/``places``: sorted keys of the
    actors and places named; ``dates``: sorted days mentioned (``YYYY-MM-DD`` or ``--MM-DD``); ``published``: the
    publication day (``YYYY-MM-DD``) or None; ``vector``: an L2-normalised sentence-encoder embedding or None.
    Build with :meth:`from_article`; store with :meth:`to_dict` / :meth:`to_bytes`.
    """

    terms: dict[str, int]
    lead: dict[str, int] = field(default_factory=dict)
    entities: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    published: str | None = None
    vector: np.ndarray | None = None
    _weighted: _Weighted | None = field(default=None, repr=False)

    @classmethod
    def from_article(
        cls,
        text: str,
        analysis: Mapping[str, Any] | None = None,
        *,
        title: str | None = None,
        published: str | None = None,
        vector: np.ndarray | Sequence[float] | None = None,
        lead_words: int = LEAD_WORDS,
    ) -> ArticleFeatures:
        """Features of an article from its clean ``text``, ``title``, ``published`` date (ISO) and its analysis.

        ``analysis`` is the article's analysis dict in the export contract's shape (``entities`` with ``label``,
        ``text``, ``canonical``; ``dates`` with ``value``); missing layers count as empty. ``vector`` is the
        article's sentence-encoder embedding (:func:`article_vector`), or None to compare by words alone. When the
        title is also the first line of the text it is counted once. ``lead_words`` is for training experiments.
        """
        analysis = analysis or {}
        body = article_text(text, title)
        entities: set[str] = set()
        places: set[str] = set()
        for entity in analysis.get("entities") or []:
            label = str(entity.get("label") or "")
            name = entity.get("canonical") or entity.get("text") or ""
            if label == "PLACE":
                key = _name_key(str(name), label)
                if key:
                    places.add(key)
            elif label in _ACTOR_LABELS:
                key = _name_key(str(name), label)
                if key:
                    entities.add(key)
        days: set[str] = set()
        for date in analysis.get("dates") or []:
            value = date.get("value") if isinstance(date, Mapping) else None
            if isinstance(value, str) and _DAY.match(value):
                days.add(value)
        day = _day(published)
        array = None
        if vector is not None:
            array = np.asarray(vector, dtype=np.float32).reshape(-1)
        words = tokenize(body)
        return cls(
            terms=dict(sorted(Counter(words).items())),
            lead=dict(sorted(Counter(words[:lead_words]).items())),
            entities=tuple(sorted(entities)),
            places=tuple(sorted(places)),
            dates=tuple(sorted(days)),
            published=day.isoformat() if day else None,
            vector=array,
        )

    def weighted(self, model: StoryModel) -> _Weighted:
        """The TF-IDF vectors of text and lead under ``model`` and the terms by falling weight (cached)."""
        if self._weighted is None or self._weighted.model is not model:
            text = tfidf_vector(self.terms, model)
            order = tuple(sorted(text, key=lambda t: (-text[t], t)))
            self._weighted = _Weighted(model, text, tfidf_vector(self.lead, model), order)
        return self._weighted

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (the vector as base64 of little-endian float32, so it round-trips exactly)."""
        return {
            "version": FEATURES_VERSION,
            "terms": dict(self.terms),
            "lead": dict(self.lead),
            "entities": list(self.entities),
            "places": list(self.places),
            "dates": list(self.dates),
            "published": self.published,
            "vector": (
                base64.b64encode(self.vector.astype("<f4").tobytes()).decode("ascii")
                if self.vector is not None
                else None
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArticleFeatures:
        """The inverse of :meth:`to_dict`."""
        vector = data.get("vector")
        return cls(
            terms={str(k): int(v) for k, v in data["terms"].items()},
            lead={str(k): int(v) for k, v in data.get("lead", {}).items()},
            entities=tuple(data.get("entities") or ()),
            places=tuple(data.get("places") or ()),
            dates=tuple(data.get("dates") or ()),
            published=data.get("published"),
            vector=np.frombuffer(base64.b64decode(vector), dtype="<f4").astype(np.float32) if vector else None,
        )

    def to_bytes(self) -> bytes:
        """Compact bytes for a store column (gzip of the :meth:`to_dict` JSON)."""
        payload = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return gzip.compress(payload.encode("utf-8"), mtime=0)

    @classmethod
    def from_bytes(cls, data: bytes) -> ArticleFeatures:
        """The inverse of :meth:`to_bytes`."""
        return cls.from_dict(json.loads(gzip.decompress(data).decode("utf-8")))


# ---------------------------------------------------------------------------------------------------------------
# Pair similarity


def tfidf_vector(counts: Mapping[str, int], model: StoryModel) -> dict[str, float]:
    """L2-normalised TF-IDF weights of term counts (sublinear term frequency ``1 + ln(count)``)."""
    raw = {t: (1.0 + math.log(c)) * model.idf(t) for t, c in counts.items() if c > 0}
    norm = math.sqrt(sum(v * v for v in raw.values())) or 1.0
    return {t: v / norm for t, v in raw.items()}


def _weighted_jaccard(a: Sequence[str], b: Sequence[str], model: StoryModel) -> float:
    if not a or not b:
        return 0.0
    sa, sb = set(a), set(b)
    union = sum(model.name_weight(k) for k in sa | sb)
    return sum(model.name_weight(k) for k in sa & sb) / union if union else 0.0


def _days_match(x: str, y: str) -> bool:
    if x == y:
        return True
    if x[-5:] != y[-5:]:
        return False
    return x.startswith("--") or y.startswith("--")


def _date_overlap(a: Sequence[str], b: Sequence[str]) -> float:
    if not a or not b:
        return 0.0
    matched = sum(1 for x in a if any(_days_match(x, y) for y in b))
    return matched / (len(a) + len(b) - matched)


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return min(1.0, max(0.0, sum(v * b.get(t, 0.0) for t, v in a.items())))


def pair_features(a: ArticleFeatures, b: ArticleFeatures, *, model: StoryModel | None = None) -> dict[str, float]:
    """Every per-pair feature in [0, 1] (``embedding`` only when both articles have a vector)."""
    model = model or load_story_model()
    wa, wb = a.weighted(model), b.weighted(model)
    values = {
        "text_tfidf": _cosine(wa.text, wb.text),
        "lead_tfidf": _cosine(wa.lead, wb.lead),
        "entity_overlap": _weighted_jaccard(a.entities, b.entities, model),
        "place_overlap": _weighted_jaccard(a.places, b.places, model),
        "date_overlap": _date_overlap(a.dates, b.dates),
    }
    if a.vector is not None and b.vector is not None:
        values[EMBEDDING_FEATURE] = float(min(1.0, max(0.0, float(np.dot(a.vector, b.vector)))))
    return values


def similarity(
    a: ArticleFeatures, b: ArticleFeatures, *, model: StoryModel | None = None, use_embedding: bool = True
) -> float:
    """How likely two articles report the same news story, in [0, 1] (symmetric; 1 = the same story).

    Fitted to the SemEval-2022 Task 8 "Overall" judgement (1 very similar ... 4 very dissimilar) as
    ``(4 - Overall) / 3``, so 0.67 is about "somewhat similar". Publication dates do not enter the score; the
    clusterer uses them to decide (:class:`TimeRule`). With ``use_embedding`` (and vectors on both sides) the
    sentence-encoder variant scores the pair, else the words alone.
    """
    model = model or load_story_model()
    return model.variant_for(a, b, use_embedding=use_embedding).score(pair_features(a, b, model=model))


def publication_gap(a: ArticleFeatures, b: ArticleFeatures) -> float | None:
    """Days between the two publication dates, or None when either is unknown."""
    da, db = _day(a.published), _day(b.published)
    if da is None or db is None:
        return None
    return float(abs((da - db).days))


# ---------------------------------------------------------------------------------------------------------------
# Online clustering


class Related(NamedTuple):
    """Another article close to this one: ``kind`` is ``same-story`` (it decided or shares the story) or
    ``related`` (similar, below the story threshold)."""

    article_id: str
    score: float
    kind: str


SAME_STORY = "same-story"
RELATED = "related"


@dataclass
class _Member:
    article_id: str
    features: ArticleFeatures
    story: str
    order: int


class StoryClusterer:
    """Online story clustering: :meth:`add` one article at a time; each joins a story or opens one.

    Candidates come from an inverted index over blocking keys (places, actors and the ``top_terms`` heaviest
    TF-IDF terms of each article); each key contributes at most its ``postings_per_key`` most recent articles, and
    at most ``max_candidates`` candidates (most shared keys first, then the most recent) are scored with
    :func:`similarity`. The article joins the story of its best candidate among those whose score reaches the story
    threshold (fitted for F0.5, since a false join puts two stories together for good; raised for distant
    publication dates by the model's :class:`TimeRule`); ties go to the earlier article. Every scored candidate at
    or above the related threshold, and every one in the chosen story, is returned as related. The result is
    deterministic for a given order of adds.

    By default the clusterer decides by words alone even when articles carry vectors (``use_embedding=False``):
    the sentence encoder raises Pearson on the SemEval pairs (general news, where a different story is mostly a
    different topic), but on war reporting it finds every front-line report alike. On the bundled examples it puts
    Kharkiv's "stunning defeat" nearer the Kherson video (cosine 0.69) than the two Kherson articles are to each
    other (0.59), and the fitted text+embedding model would join all three, where the words keep Kharkiv apart.
    """

    def __init__(
        self,
        *,
        model: StoryModel | None = None,
        threshold: float | None = None,
        use_embedding: bool = False,
        top_terms: int = 12,
        postings_per_key: int = 200,
        max_candidates: int = 100,
        max_related: int = 20,
    ) -> None:
        """``threshold`` overrides the shipped story threshold of every variant (None: the fitted one)."""
        self.model = model or load_story_model()
        self.threshold = threshold
        self.use_embedding = use_embedding
        self.top_terms = top_terms
        self.postings_per_key = postings_per_key
        self.max_candidates = max_candidates
        self.max_related = max_related
        self._members: dict[str, _Member] = {}
        self._stories: dict[str, list[str]] = {}
        self._index: dict[str, list[str]] = {}
        self._related: dict[str, dict[str, Related]] = {}

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._members

    def blocking_keys(self, features: ArticleFeatures) -> list[str]:
        """The index keys of an article: ``p:`` places, ``e:`` actors, ``t:`` its heaviest terms."""
        keys = [f"p:{p}" for p in features.places] + [f"e:{e}" for e in features.entities]
        keys += [f"t:{t}" for t in features.weighted(self.model).top_terms[: self.top_terms]]
        return keys

    def candidates(self, features: ArticleFeatures) -> list[str]:
        """Stored articles that share a blocking key with ``features``, best first (never all articles)."""
        shared: Counter[str] = Counter()
        for key in self.blocking_keys(features):
            for article_id in self._index.get(key, [])[-self.postings_per_key :]:
                shared[article_id] += 1
        ranked = sorted(shared, key=lambda i: (-shared[i], -self._members[i].order))
        return ranked[: self.max_candidates]

    def score(self, a: ArticleFeatures, b: ArticleFeatures) -> tuple[float, float, float]:
        """The similarity of two articles as this clusterer sees it, with its bars to join a story and to be listed
        as related (the join bar raised by the publication gap)."""
        variant = self.model.variant_for(a, b, use_embedding=self.use_embedding)
        score = variant.score(pair_features(a, b, model=self.model))
        base = variant.threshold if self.threshold is None else self.threshold
        story_bar = self.model.time.threshold(base, variant.strict, publication_gap(a, b))
        return score, story_bar, variant.related_threshold

    def add(self, article_id: str, features: ArticleFeatures) -> tuple[str, list[Related]]:
        """Place a new article: returns its story id and its related articles (best first).

        An article id seen before is a :class:`ValueError` (use :meth:`restore` to reload stored assignments).
        """
        if article_id in self._members:
            raise ValueError(f"article {article_id!r} was already added")
        scored: list[tuple[str, float, bool, bool]] = []  # (id, score, reaches story bar, reaches related bar)
        for other_id in self.candidates(features):
            score, story_bar, related_bar = self.score(features, self._members[other_id].features)
            scored.append((other_id, score, score >= story_bar, score >= related_bar))
        joinable = [s for s in scored if s[2]]
        if joinable:
            best = max(joinable, key=lambda s: (s[1], -self._members[s[0]].order))
            story = self._members[best[0]].story
        else:
            story = article_id
        related: list[Related] = []
        for other_id, score, _, near in scored:
            other_story = self._members[other_id].story
            if other_story == story:
                related.append(Related(other_id, score, SAME_STORY))
            elif near:
                related.append(Related(other_id, score, RELATED))
        related.sort(key=lambda r: (-r.score, self._members[r.article_id].order))
        related = related[: self.max_related]
        self._store(article_id, features, story)
        for item in related:
            self._related[article_id][item.article_id] = item
            self._related[item.article_id][article_id] = Related(article_id, item.score, item.kind)
        return story, related

    def restore(self, article_id: str, features: ArticleFeatures, story: str) -> None:
        """Put back an article whose story was decided earlier (from a store), without deciding again."""
        if article_id in self._members:
            raise ValueError(f"article {article_id!r} was already added")
        self._store(article_id, features, story)

    def _store(self, article_id: str, features: ArticleFeatures, story: str) -> None:
        self._members[article_id] = _Member(article_id, features, story, len(self._members))
        self._stories.setdefault(story, []).append(article_id)
        self._related.setdefault(article_id, {})
        for key in self.blocking_keys(features):
            self._index.setdefault(key, []).append(article_id)

    def story_of(self, article_id: str) -> str:
        """The story id of an added article (KeyError if it was never added)."""
        return self._members[article_id].story

    def stories(self) -> dict[str, list[str]]:
        """Every story id with its article ids, in order of adds."""
        return {story: list(members) for story, members in self._stories.items()}

    def related(self, article_id: str) -> list[Related]:
        """Related articles of an added article, in both directions (also those added after it), best first."""
        items = self._related[article_id].values()
        return sorted(items, key=lambda r: (-r.score, self._members[r.article_id].order))


def cluster(items: Iterable[tuple[str, ArticleFeatures]], *, model: StoryModel | None = None) -> dict[str, list[str]]:
    """Stories of a sequence of ``(article_id, features)`` added in that order (a convenience over the clusterer)."""
    clusterer = StoryClusterer(model=model)
    for article_id, features in items:
        clusterer.add(article_id, features)
    return clusterer.stories()
