"""The ``attribution`` stage: who said what (source, cue, content) from the dependency parse.

For each sentence of the spaCy parse:

1. **"according to X"** phrases (``data/attribution_cues.json``): cue = the phrase, source = its object, content =
   the rest of the clause (or the quotation it introduces). Kind ``according_to``.
2. **Verb cues.** Every verb with something that can be its content is a candidate; the content is, in order of
   preference, a quotation right after it ("told the press: “...”"), a quotation right before it ("“...,” X said"),
   its clausal complement ("said that ..."), the passive subject when the agent is named ("was confirmed by X"),
   its open complement ("vowed to ..."), its direct object. The source is the subject's subtree, the passive agent,
   or, for a verb without a subject of its own (conjunct, open complement), its head's subject.
   A logistic-regression cue classifier (``models/attribution-cue/model.json``, trained on PolNeAR train by
   ``training/attribution/train.py``) scores each candidate from lexical and syntactic features; candidates at or
   above its threshold become attributions. Kind ``direct`` (quotation), ``passive`` (agent) or ``reported``.
   Two rule candidates, kind ``reported``, scored at the classifier's threshold (kept unless a candidate the
   classifier accepts needs their words): an "as" clause with a source of its own makes the clause it modifies its
   content ("as one online weapons tracker pointed out, the tank was ...", ``as_clause_verbs``), and a verb of
   speech with a preposition takes the preposition's object ("called for a ceasefire", ``prep_cues``).
3. **Noun cues** with a that-clause ("Trump's claim that ...", "reports that ..."), scored by the same classifier;
   the source is the possessor when there is one.
4. **Filters** (data, ``attribution_cues.json``): a verb cue's lemma must be a verb of speech, belief, stance or
   reporting (``reporting_verbs`` + ``cue_verbs_extra``; not "chanting"), a noun cue's one of ``reporting_nouns``,
   and a verb cue's source, when it has one, must be able to say or report something: a PERSON/ORG/NORP/GPE entity,
   a proper noun, a pronoun for one, or a noun of ``source_nouns`` (officials, ministries, media, trackers, polls).
   "The tank ... implying" and "Russia's propaganda matrix is already showing cracks" are dropped.
5. **Decoding**: candidates are kept best first so that no token takes two roles (PolNeAR is univocal).
6. **Resolution**: a pronoun source keeps its span as found and gets the name it stands for as ``canonical``
   ("he" -> the person last named before it, "who" -> the noun phrase its clause modifies, "it" -> the organisation
   or medium that is the nearest subject before it); a source headed by a person's name gets the full name
   ("Nadezhdin" -> "Boris Nadezhdin"). See :class:`Sources`.

Spans are character offsets into the article text; edge punctuation is trimmed (quotation marks kept with the
quotation, the comma closing a source's appositive kept), following PolNeAR's conventions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..article import Attribution, Span
from ..errors import ModelError
from .pipeline import Document, Layer, doc_text, register_stage, token_bounds

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token
    from spacy.tokens import Span as SpacySpan

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "attribution_cues.json"
MODEL_FILE = Path(__file__).resolve().parent.parent / "models" / "attribution-cue" / "model.json"


@dataclass(frozen=True)
class Lexicon:
    reporting_verbs: frozenset[str]
    reporting_nouns: frozenset[str]
    according_to: tuple[tuple[str, ...], ...]
    quote_pairs: tuple[tuple[str, str], ...]
    subject_deps: frozenset[str]
    content_deps: frozenset[str]
    cue_modifier_deps: frozenset[str]
    cue_verbs: frozenset[str]  # reporting_verbs plus cue_verbs_extra: the lemmas a verb cue may have
    lemma_fixes: Mapping[str, str]
    as_clause_verbs: frozenset[str]
    prep_cues: Mapping[str, frozenset[str]]
    source_nouns: frozenset[str]
    source_suffixes: tuple[str, ...]
    source_suffix_exceptions: frozenset[str]
    source_compounds: frozenset[tuple[str, str]]
    expletive_verbs: frozenset[str]
    source_entity_labels: frozenset[str]
    person_pronouns: frozenset[str]
    plural_pronouns: frozenset[str]
    organisation_pronouns: frozenset[str]
    relative_pronouns: frozenset[str]
    person_relatives: frozenset[str]
    animate_pronouns: frozenset[str]


@lru_cache(maxsize=1)
def load_lexicon(path: Path = DATA_FILE) -> Lexicon:
    """The cue lexicon (data file), loaded once per process."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    pronouns = raw["pronouns"]
    return Lexicon(
        reporting_verbs=frozenset(raw["reporting_verbs"]),
        reporting_nouns=frozenset(raw["reporting_nouns"]),
        according_to=tuple(tuple(p) for p in raw["according_to"]),
        quote_pairs=tuple((a, b) for a, b in raw["quote_pairs"]),
        subject_deps=frozenset(raw["subject_deps"]),
        content_deps=frozenset(raw["content_deps"]),
        cue_modifier_deps=frozenset(raw["cue_modifier_deps"]),
        cue_verbs=frozenset(raw["reporting_verbs"]) | frozenset(raw["cue_verbs_extra"]),
        lemma_fixes=dict(raw["lemma_fixes"]),
        as_clause_verbs=frozenset(raw["as_clause_verbs"]),
        prep_cues={verb: frozenset(preps) for verb, preps in raw["prep_cues"].items()},
        source_nouns=frozenset(w for words in raw["source_nouns"].values() for w in words),
        source_suffixes=tuple(raw["source_suffixes"]),
        source_suffix_exceptions=frozenset(raw["source_suffix_exceptions"]),
        source_compounds=frozenset((a, b) for a, b in raw["source_compounds"]),
        expletive_verbs=frozenset(raw["expletive_verbs"]),
        source_entity_labels=frozenset(raw["source_entity_labels"]),
        person_pronouns=frozenset(pronouns["person"]),
        plural_pronouns=frozenset(pronouns["plural"]),
        organisation_pronouns=frozenset(pronouns["organisation"]),
        relative_pronouns=frozenset(pronouns["relative"]) | frozenset(pronouns["relative_person"]),
        person_relatives=frozenset(pronouns["relative_person"]),
        animate_pronouns=frozenset(pronouns["animate"]),
    )


def _lemma(tok: Token, lex: Lexicon) -> str:
    return lex.lemma_fixes.get(tok.lower_) or tok.lemma_.lower()


@dataclass(frozen=True)
class CueModel:
    """A logistic-regression cue scorer over sparse binary features."""

    weights: dict[str, float]
    bias: float
    threshold: float

    def score(self, features: Sequence[str]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) for f in features)
        return 1.0 / (1.0 + math.exp(-z))


@lru_cache(maxsize=2)
def load_cue_model(path: Path = MODEL_FILE) -> CueModel:
    """The shipped cue classifier, loaded once per process."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError("E031", path=path, hint="run training/attribution/train.py") from exc
    return CueModel(weights=raw["weights"], bias=float(raw["bias"]), threshold=float(raw["threshold"]))


@dataclass
class Candidate:
    """A possible attribution around one cue, with the features the cue classifier scores."""

    cue_head: int  # token index
    attribution: Attribution
    features: list[str] = field(default_factory=list)
    score: float = 1.0
    source_head: int | None = None  # token index of the source's head, when the source came from the parse


# ---------------------------------------------------------------------------------------------- quotations


def find_quotes(text: str, pairs: Sequence[tuple[str, str]]) -> list[tuple[int, int]]:
    """Character ranges of quotations, marks included. An unclosed quotation ends at its paragraph's end."""
    out: list[tuple[int, int]] = []
    for opener, closer in pairs:
        i = 0
        while True:
            start = text.find(opener, i)
            if start < 0:
                break
            para_end = text.find("\n", start)
            para_end = len(text) if para_end < 0 else para_end
            end = text.find(closer, start + len(opener))
            if opener != closer:
                again = text.find(opener, start + len(opener))
                if 0 <= again < (end if end >= 0 else len(text)) and again < para_end:
                    i = again  # a nested or stray opener: restart from it
                    continue
            if end < 0 or end > para_end:
                out.append((start, para_end))
                i = para_end
            else:
                out.append((start, end + len(closer)))
                i = end + len(closer)
    out.sort()
    merged: list[tuple[int, int]] = []
    for s, e in out:
        if merged and s < merged[-1][1]:
            continue
        merged.append((s, e))
    return merged


# ---------------------------------------------------------------------------------------------- spans


_EDGE_QUOTES = frozenset("“”\"«»„‘’'")


def _trim(doc: Doc, start: int, end: int) -> tuple[int, int] | None:
    """Token range [start, end) without edge punctuation; quotation marks stay when the range holds both ends."""
    text_in = doc[start:end].text if end > start else ""
    opens = sum(text_in.count(c) for c in "“«„")
    closes = sum(text_in.count(c) for c in "”»")
    straight = text_in.count('"')
    keep_quotes = (opens > 0 and opens == closes) or (straight > 0 and straight % 2 == 0)
    while start < end and (doc[start].is_punct or doc[start].is_space):
        if keep_quotes and doc[start].text in _EDGE_QUOTES:
            break
        start += 1
    while end > start and (doc[end - 1].is_punct or doc[end - 1].is_space):
        if keep_quotes and doc[end - 1].text in _EDGE_QUOTES:
            break
        end -= 1
    return (start, end) if end > start else None


def _char_span(doc: Doc, start: int, end: int) -> Span:
    s = doc[start].idx
    e = doc[end - 1].idx + len(doc[end - 1].text)
    return Span(s, e, doc[start:end].text)


def _subtree_range(token: Token, *, exclude: set[int] | None = None) -> tuple[int, int]:
    """The contiguous token range of ``token``'s subtree, cut at the first excluded token on either side."""
    lo, hi = token.left_edge.i, token.right_edge.i + 1
    if exclude:
        for i in range(token.i, hi):
            if i in exclude:
                hi = i
                break
        for i in range(token.i, lo - 1, -1):
            if i in exclude:
                lo = i + 1
                break
    return lo, hi


def _source_range(head: Token, *, exclude: set[int]) -> tuple[int, int]:
    """The source noun phrase: its subtree without relative or participial clauses, within one paragraph."""
    lo, hi = _subtree_range(head, exclude=exclude)
    for child in head.children:
        if child.dep_ in ("relcl", "acl") and child.i > head.i:
            hi = min(hi, child.left_edge.i)
    for i in range(head.i - 1, lo - 1, -1):
        if "\n" in head.doc[i].text:
            lo = i + 1
            break
    for i in range(head.i + 1, hi):
        if "\n" in head.doc[i].text:
            hi = i
            break
    return lo, max(hi, head.i + 1)


def _source_span(doc: Doc, head: Token, *, exclude: set[int]) -> Span | None:
    """The source span; PolNeAR keeps the comma that closes an appositive ("Tad Devine, a top adviser to Sanders,")."""
    rng = _source_range(head, exclude=exclude)
    span = _token_span(doc, rng)
    if span is None:
        return None
    nxt = doc[rng[1]] if rng[1] < len(doc) else None
    if nxt is not None and nxt.text == "," and nxt.idx == span.end and any(c.dep_ == "appos" for c in head.children):
        return Span(span.start, nxt.idx + 1, span.text + ",")
    return span


def _paragraph_cut(doc: Doc, rng: tuple[int, int], anchor: int) -> tuple[int, int]:
    """The part of a token range that lies in the same paragraph as ``anchor``."""
    lo, hi = rng
    for i in range(min(anchor, hi) - 1, lo - 1, -1):
        if "\n" in doc[i].text:
            lo = i + 1
            break
    for i in range(max(anchor, lo), hi):
        if "\n" in doc[i].text:
            hi = i
            break
    return lo, hi


def _token_span(doc: Doc, rng: tuple[int, int] | None) -> Span | None:
    if rng is None or rng[1] <= rng[0]:
        return None
    trimmed = _trim(doc, *rng)
    return _char_span(doc, *trimmed) if trimmed else None


# ---------------------------------------------------------------------------------------------- sources


_SUBJECTS = ("nsubj", "nsubjpass")


class Sources:
    """Who can be a source in one parsed document, and whom a pronoun source stands for.

    Antecedents are searched backwards, nearest sentence first, among mentions outside quotations; within a sentence
    the subject closest to the root comes first (a lightweight version of Hobbs' preference for subjects):

    * "he"/"she": the nearest sentence naming a credible person (a PERSON entity of two or more words, or the surname
      of one named earlier: spaCy's small model also tags some cities as PERSON), its subject first, else its last.
    * "they": the nearest plural subject that is a group of people, an organisation or a nationality.
    * "it": the nearest singular subject; it counts only when that is an organisation or a medium.
    * "who"/"that"/"which" opening a relative clause: the noun the clause modifies.
    """

    def __init__(self, doc: Doc, lex: Lexicon, qidx: Sequence[int]) -> None:
        self.doc, self.lex, self.qidx = doc, lex, qidx
        self.sents = list(doc.sents)
        self.sent_of = [0] * len(doc)
        for k, sent in enumerate(self.sents):
            for i in range(sent.start, sent.end):
                self.sent_of[i] = k
        self.people = [e for e in doc.ents if e.label_ == "PERSON"]
        self.full_names: dict[str, str] = {}
        for ent in self.people:
            if len(ent) > 1:
                self.full_names.setdefault(ent[-1].text, _strip_possessive(ent.text))

    # -- who can say something

    def is_source_noun(self, tok: Token) -> bool:
        """A common noun for people, an organisation, a medium or a share of people ("officials", "tracker")."""
        lex = self.lex
        lemma = tok.lemma_.lower()
        if lemma in lex.source_nouns or tok.lower_ in lex.source_nouns:
            return True
        if lemma.endswith(lex.source_suffixes) and lemma not in lex.source_suffix_exceptions:
            return True  # "economist", "politician"
        return any(
            (c.lower_, lemma) in lex.source_compounds for c in tok.children if c.dep_ == "compound" and c.i < tok.i
        )

    def can_speak(self, tok: Token) -> bool:
        """Whether the source headed by ``tok`` can say, believe or report something (the check on verb cues)."""
        low = tok.lower_
        lex = self.lex
        if low in lex.person_pronouns or low in lex.plural_pronouns or low in lex.animate_pronouns:
            return True
        if low in lex.relative_pronouns:
            # "who" is a person; "that"/"which" are what the clause modifies ("a report that said", not "a tank that").
            antecedent = self.relative_antecedent(tok)
            if low in lex.person_relatives or antecedent is None or antecedent.pos_ == "PRON":
                return True
            return self.can_speak(antecedent)
        if low in lex.organisation_pronouns:
            # "it" is a source when it stands for an organisation or a medium, or when nothing it could stand for is
            # in sight; not when the nearest singular subject is a thing ("the tank ... it").
            antecedent = self._it_candidate(tok)
            return antecedent is None or self._names_speaker(antecedent)
        if tok.pos_ == "PRON":
            return False  # "this", "what", "something": not a speaker
        if tok.ent_type_ in lex.source_entity_labels or tok.pos_ == "PROPN":
            return True
        if tok.pos_ == "NOUN":
            if tok.is_title and tok.i > tok.sent.start:
                return True  # a name the tagger took for a common noun ("Sanders", "Hannity")
            return self.is_source_noun(tok)
        return True  # "many", "two", clausal subjects: left to the cue classifier

    def _names_speaker(self, tok: Token) -> bool:
        return tok.ent_type_ in self.lex.source_entity_labels or tok.pos_ == "PROPN" or self.is_source_noun(tok)

    # -- antecedents

    def _subjects(self, k: int, before: int) -> list[Token]:
        """Subjects of sentence ``k`` outside quotations and before token ``before``, nearest the root first."""
        out = []
        for tok in self.sents[k]:
            if tok.i >= before:
                break
            if tok.dep_ in _SUBJECTS and self.qidx[tok.i] < 0:
                depth, head = 0, tok
                while head.head.i != head.i and depth < 20:
                    head, depth = head.head, depth + 1
                out.append((depth, tok.i, tok))
        return [t for _, _, t in sorted(out, key=lambda x: (x[0], x[1]))]

    def relative_antecedent(self, tok: Token) -> Token | None:
        if tok.dep_ in _SUBJECTS and tok.head.dep_ == "relcl" and tok.head.head.i != tok.head.i:
            return tok.head.head
        return None

    def _it_candidate(self, tok: Token) -> Token | None:
        """The nearest singular subject that is not a person: what "it" most likely stands for."""
        s = self.sent_of[tok.i]
        for k in range(s, max(-1, s - 3), -1):
            for cand in self._subjects(k, tok.i):
                if cand.pos_ not in ("NOUN", "PROPN") or cand.tag_ in ("NNS", "NNPS") or cand.ent_type_ == "PERSON":
                    continue
                return cand
        return None

    def it_antecedent(self, tok: Token) -> Token | None:
        """The organisation or medium "it" stands for ("The Defence Ministry said ... It said"), if any."""
        cand = self._it_candidate(tok)
        return cand if cand is not None and self._names_speaker(cand) else None

    def plural_antecedent(self, tok: Token) -> Token | None:
        s = self.sent_of[tok.i]
        for k in range(s, max(-1, s - 3), -1):
            for cand in self._subjects(k, tok.i):
                if cand.tag_ in ("NNS", "NNPS") and (cand.ent_type_ in ("NORP", "ORG") or self.is_source_noun(cand)):
                    return cand
        return None

    def person_antecedent(self, tok: Token) -> SpacySpan | None:
        s = self.sent_of[tok.i]
        for k in range(s, max(-1, s - 8), -1):
            named = [
                e
                for e in self.people
                if self.sent_of[e.start] == k
                and e.end <= tok.i
                and self.qidx[e.start] < 0
                and (len(e) > 1 or e.text in self.full_names)
            ]
            if named:
                subjects = [e for e in named if _in_subject(e.root)]
                return subjects[0] if subjects else named[-1]
        return None

    # -- names

    def person_name(self, ent: SpacySpan) -> str:
        name = _strip_possessive(ent.text)
        return self.full_names.get(name, name) if len(ent) == 1 else name

    def _person_at(self, tok: Token) -> SpacySpan | None:
        return next((e for e in self.people if e.start <= tok.i < e.end), None)

    def name_of(self, tok: Token) -> str | None:
        """The name an antecedent stands for: a person's full name, else its noun phrase as written."""
        if tok.pos_ == "PRON":
            return self.canonical(tok)
        ent = self._person_at(tok)
        if ent is not None:
            return self.person_name(ent)
        span = _token_span(self.doc, _source_range(tok, exclude=set()))
        return span.text if span is not None else None

    def canonical(self, tok: Token) -> str | None:
        """The person or organisation the source headed by ``tok`` refers to, when a name can be found."""
        low = tok.lower_
        lex = self.lex
        antecedent: Token | None = None
        if low in lex.person_pronouns:
            ent = self.person_antecedent(tok)
            return self.person_name(ent) if ent is not None else None
        if low in lex.plural_pronouns:
            antecedent = self.plural_antecedent(tok)
        elif low in lex.organisation_pronouns:
            antecedent = self.it_antecedent(tok)
        elif low in lex.relative_pronouns:
            antecedent = self.relative_antecedent(tok)
        else:
            ent = self._person_at(tok)
            if ent is not None:
                return self.person_name(ent)
            # A surname the model did not tag this time ("Nadezhdin responded"), after the full name.
            return self.full_names.get(tok.text) if tok.pos_ == "PROPN" else None
        if antecedent is None or antecedent.i == tok.i:
            return None
        return self.name_of(antecedent)


def _strip_possessive(name: str) -> str:
    for suffix in ("’s", "'s", "’", "'"):
        if name.endswith(suffix):
            return name[: -len(suffix)].rstrip()
    return name


def _in_subject(tok: Token) -> bool:
    """Whether ``tok`` is a subject or part of one ("Wesleyan University's Peter Rutland, a professor, told")."""
    hops = 0
    while hops < 4:
        if tok.dep_ in _SUBJECTS:
            return True
        if tok.dep_ not in ("compound", "appos", "poss", "flat") or tok.head.i == tok.i:
            return False
        tok, hops = tok.head, hops + 1
    return False


# ---------------------------------------------------------------------------------------------- extraction


def _quote_index(doc: Doc, quotes: Sequence[tuple[int, int]]) -> list[int]:
    """For each token, the index of the quotation it lies in (marks included), or -1."""
    starts, _, _ = token_bounds(doc)
    out = [-1] * len(starts)
    qi = 0
    for i, idx in enumerate(starts):
        while qi < len(quotes) and quotes[qi][1] <= idx:
            qi += 1
        if qi < len(quotes) and quotes[qi][0] <= idx < quotes[qi][1]:
            out[i] = qi
    return out


def _subject(verb: Token, lex: Lexicon) -> tuple[Token | None, str]:
    """The verb's subject (or its head's, for conjuncts and open complements) and how it was found."""
    for child in verb.children:
        if child.dep_ in lex.subject_deps and child.dep_ != "nsubjpass":
            return child, "own"
    head, hops = verb, 0
    while (head.dep_ in ("conj", "xcomp") or (head.dep_ == "advcl" and head.tag_ == "VBG")) and hops < 3:
        if head.head.i == head.i:
            break
        head, hops = head.head, hops + 1
        for child in head.children:
            if child.dep_ in lex.subject_deps and child.dep_ != "nsubjpass":
                return child, "inherited"
    return None, "none"


def _implied_subject(verb: Token) -> Token | None:
    """The subject, active or passive, of the clause a participle hangs from ("The tank was abandoned, implying")."""
    if verb.tag_ not in ("VBG", "VBN") or verb.dep_ not in ("advcl", "conj", "xcomp") or verb.head.i == verb.i:
        return None
    return next((c for c in verb.head.children if c.dep_ in _SUBJECTS), None)


def _agent(verb: Token) -> Token | None:
    for child in verb.children:
        if child.dep_ == "agent":
            for grand in child.children:
                if grand.dep_ == "pobj":
                    return grand
    return None


def _cue_range(verb: Token, lex: Lexicon) -> tuple[int, int]:
    """The verb with its adjacent auxiliaries, negation and particles."""
    lo = hi = verb.i
    left = sorted(
        (c for c in verb.children if (c.dep_ in lex.cue_modifier_deps or c.dep_ == "advmod") and c.i < verb.i),
        key=lambda t: -t.i,
    )
    for child in left:
        if child.i == lo - 1:
            lo = child.i
    for child in sorted(c for c in verb.children if c.dep_ == "prt" and c.i > verb.i):
        if child.i == hi + 1:
            hi = child.i
    return lo, hi + 1


def _adjacent_quote(
    doc: Doc,
    text: str,
    verb: Token,
    cue: tuple[int, int],
    quotes: Sequence[tuple[int, int]],
    qidx: list[int],
    allowed_between: set[int],
) -> tuple[tuple[int, int], str] | None:
    """The quotation the cue introduces: right after it, right before it, or both parts of a split quotation.

    After: "told the press: “...”", "said, “...”" (past punctuation and the verb's own short dependents).
    Before: "“...,” X said", "“...,” said X". Both: "“...,” he said. “...”" gives the covering span.
    """
    after = before = None
    i = cue[1]
    while i < min(len(doc), cue[1] + 14):
        tok = doc[i]
        if qidx[i] >= 0:
            if tok.idx == quotes[qidx[i]][0]:
                after = quotes[qidx[i]]
            break
        if not (tok.is_punct or tok.is_space or (tok.pos_ not in ("VERB", "AUX") and _is_in_subtree(tok, verb))):
            break
        if "\n" in tok.text:
            break
        i += 1
    i = cue[0] - 1
    while i >= 0 and i >= cue[0] - 15:
        if qidx[i] >= 0:
            q = quotes[qidx[i]]
            if doc[i].idx + len(doc[i].text) == q[1] and qidx[i] != qidx[verb.i]:
                before = q
            break
        tok = doc[i]
        if not (tok.is_punct or i in allowed_between) or "\n" in tok.text:
            break
        i -= 1
    if before and after:
        return (before[0], after[1]), "quote_split"
    if before:
        return before, "quote_before"
    if after:
        return after, "quote_after"
    return None


def _is_in_subtree(tok: Token, root: Token) -> bool:
    while tok.head.i != tok.i:
        if tok.head.i == root.i:
            return True
        tok = tok.head
    return False


def _source_features(src: Token | None, how: str) -> list[str]:
    if src is None:
        return ["src=none"]
    kind = src.pos_ if src.pos_ in ("PRON", "PROPN", "NOUN") else "other"
    feats = [f"src={how}", f"src_pos={kind}"]
    if src.ent_type_:
        feats.append(f"src_ent={src.ent_type_}")
    if src.lower_ in ("who", "that", "which"):
        feats.append("src=relative")
    return feats


def _bucket(n: int) -> str:
    return "1" if n <= 1 else "2-3" if n <= 3 else "4-8" if n <= 8 else "9-20" if n <= 20 else "21+"


def _verb_candidate(
    doc: Doc,
    text: str,
    verb: Token,
    sent: SpacySpan,
    lex: Lexicon,
    quotes: Sequence[tuple[int, int]],
    qidx: list[int],
    sources: Sources,
) -> Candidate | None:
    if _lemma(verb, lex) not in lex.cue_verbs:
        return None  # not a verb of speech, belief or reporting ("chanting")
    cue = _cue_range(verb, lex)
    subj, how = _subject(verb, lex)
    agent = _agent(verb)
    passive = any(c.dep_ in ("nsubjpass", "auxpass") for c in verb.children)
    allowed: set[int] = set()
    if subj is not None and how == "own":
        allowed.update(t.i for t in subj.subtree)
    allowed.update(c.i for c in verb.children if c.dep_ in ("advmod", "npadvmod", "aux", "neg"))
    ctype = None
    content: tuple[int, int] | None = None
    content_chars: tuple[int, int] | None = None
    children = {c.dep_: c for c in verb.children}
    if qidx[verb.i] < 0 or verb.pos_ == "VERB":
        found = _adjacent_quote(doc, text, verb, cue, quotes, qidx, allowed)
        if found is not None:
            content_chars, ctype = found
            comp = children.get("ccomp")
            if ctype == "quote_after" and comp is not None and qidx[comp.i] >= 0:
                marks = [t for t in comp.children if t.dep_ == "mark" and t.i < comp.i and t.idx < content_chars[0]]
                if marks:
                    content_chars = (marks[0].idx, content_chars[1])
    if ctype is None and "ccomp" in children:
        c = children["ccomp"]
        exclude = set(range(*cue))
        if subj is not None:
            exclude.update(t.i for t in subj.subtree)
        content = _subtree_range(c, exclude=exclude)
        qi = qidx[c.i]
        if qi >= 0 and qidx[verb.i] != qi:
            # A quotation inside (or around) the complement: "said that “...”", "said his plan would “...”".
            sub = _token_span(doc, content)
            lo = min(quotes[qi][0], sub.start) if sub else quotes[qi][0]
            content_chars, content, ctype = (lo, max(quotes[qi][1], sub.end if sub else 0)), None, "ccomp_quote"
        else:
            ctype = "ccomp"
    if ctype is None and passive and agent is not None:
        for c in verb.children:
            if c.dep_ == "nsubjpass":
                content, ctype = _subtree_range(c), "passive"
    for dep in ("xcomp", "dobj", "parataxis"):
        if ctype is None and dep in children:
            exclude = set(range(*cue))
            content, ctype = _subtree_range(children[dep], exclude=exclude), dep
            if dep == "dobj":
                # "cited X as Y", "accused X of Y": the object's complement belongs to the content.
                for child in sorted(verb.children, key=lambda t: t.i):
                    if child.i == content[1] and (child.dep_ == "oprd" or child.lower_ in ("as", "of")):
                        content = (content[0], child.right_edge.i + 1)
    if ctype is None:
        return None
    if content_chars is not None:
        s, e = content_chars
        content_span: Span | None = Span(s, e, text[s:e])
    else:
        content_span = _token_span(doc, _paragraph_cut(doc, content, verb.i) if content else None)
    if content_span is None:
        return None
    if ctype == "passive" and agent is not None:
        source_span = _source_span(doc, agent, exclude=set(range(*cue)))
        kind, how = "passive", "agent"
        src_tok: Token | None = agent
    else:
        src_tok = subj
        exclude = set(range(*cue))
        source_span = _source_span(doc, subj, exclude=exclude) if subj is not None else None
        kind = "direct" if content_chars is not None else "reported"
    # Who says it: the source, or for a participle without one, its head's subject ("The tank was abandoned,
    # implying ..."): it must be able to speak ("the tank ... implying", "the propaganda matrix is showing").
    speaker = src_tok if src_tok is not None else _implied_subject(verb)
    expletive = speaker is not None and speaker.lower_ == "it" and _lemma(verb, lex) in lex.expletive_verbs
    if speaker is not None and not expletive and not sources.can_speak(speaker):
        return None
    if source_span is not None and ctype != "quote_split" and _overlaps(source_span, content_span):
        source_span = None
    lemma = verb.lemma_.lower()
    in_lex = lemma in lex.reporting_verbs
    n_content = len(content_span.text.split())
    feats = [
        "bias_cand",
        f"lemma={lemma}",
        f"lex={in_lex}",
        f"tag={verb.tag_}",
        f"dep={verb.dep_}",
        f"ctype={ctype}",
        f"lemma|ctype={lemma}|{ctype}",
        f"lex|ctype={in_lex}|{ctype}",
        f"dep|ctype={verb.dep_}|{ctype}",
        f"clen={_bucket(n_content)}",
        f"in_quote={qidx[verb.i] >= 0}",
        f"passive={passive}",
        *_source_features(src_tok, how),
        f"lex|src={in_lex}|{how}",
    ]
    if verb.dep_ in ("conj", "xcomp", "advcl", "ccomp", "relcl"):
        feats.append(f"head_lemma={verb.head.lemma_.lower()}")
    if any(c.dep_ == "neg" for c in verb.children):
        feats.append("neg")
    if cue[1] - cue[0] > 1:
        feats.append("cue_multi")
    return Candidate(
        cue_head=verb.i,
        attribution=Attribution(source=source_span, cue=_char_span(doc, *cue), content=content_span, kind=kind),
        features=feats,
        source_head=src_tok.i if src_tok is not None and source_span is not None else None,
    )


def _as_candidate(doc: Doc, verb: Token, lex: Lexicon, sources: Sources) -> Candidate | None:
    """An "as" clause: "as one online weapons tracker pointed out, the tank was ...", "..., as Reuters reported".

    A reporting verb (``as_clause_verbs``) in an "as" clause of its own, with its own subject that can speak and no
    complement: the clause it modifies is the content (the part before or after the "as" clause).
    """
    head = verb.head
    if (
        verb.dep_ != "advcl"
        or head.i == verb.i
        or head.pos_ not in ("VERB", "AUX")
        or _lemma(verb, lex) not in lex.as_clause_verbs
        or not any(c.dep_ == "mark" and c.lower_ == "as" for c in verb.children)
        or any(c.dep_ in ("ccomp", "dobj", "xcomp") for c in verb.children)
    ):
        return None
    subj, how = _subject(verb, lex)
    if subj is None or how != "own" or not sources.can_speak(subj):
        return None
    lo, hi = _subtree_range(head)
    clause = (verb.left_edge.i, verb.right_edge.i + 1)
    rng = (lo, clause[0]) if clause[0] > head.i else (clause[1], hi)
    content = _token_span(doc, _paragraph_cut(doc, rng, head.i))
    cue = _cue_range(verb, lex)
    source = _source_span(doc, subj, exclude=set(range(*cue)))
    if content is None or source is None:
        return None
    return Candidate(
        cue_head=verb.i,
        attribution=Attribution(source=source, cue=_char_span(doc, *cue), content=content, kind="reported"),
        features=["as_clause"],
        source_head=subj.i,
    )


def _prep_candidate(doc: Doc, verb: Token, lex: Lexicon, sources: Sources) -> Candidate | None:
    """A verb-preposition cue: "called for a ceasefire", "warned of a new offensive" (the object is the content).

    Only the pairs of ``prep_cues``, for a verb without a clausal complement or object of its own, and a source that
    can speak; a date or time is no content ("reported on Monday").
    """
    preps = lex.prep_cues.get(_lemma(verb, lex))
    if not preps or any(c.dep_ in ("ccomp", "dobj") for c in verb.children):
        return None
    if verb.tag_ in ("VBG", "VBN") and verb.dep_ in ("ccomp", "acl", "amod", "pcomp", "relcl"):
        return None  # a participle whose parsed subject is often its head's object ("radioing officers pleading")
    obj = None
    for child in sorted(verb.children, key=lambda t: t.i):
        if child.dep_ == "prep" and child.i > verb.i and child.lower_ in preps:
            obj = next((g for g in child.children if g.dep_ in ("pobj", "pcomp")), None)
            if obj is not None and obj.ent_type_ not in ("DATE", "TIME"):
                prep = child
                break
            obj = None
    if obj is None:
        return None
    subj, _ = _subject(verb, lex)
    if subj is None or not sources.can_speak(subj):
        return None
    cue = _cue_range(verb, lex)
    if prep.i <= cue[1] + 1:  # "called for", "spoke out against"
        cue = (cue[0], prep.i + 1)
    lo, hi = _subtree_range(obj)
    for child in verb.children:  # "called on Moscow to withdraw"
        if child.dep_ == "xcomp" and child.left_edge.i == hi:
            hi = child.right_edge.i + 1
    content = _token_span(doc, _paragraph_cut(doc, (lo, hi), obj.i))
    source = _source_span(doc, subj, exclude=set(range(*cue)))
    if content is None or source is None or _overlaps(source, content):
        return None
    return Candidate(
        cue_head=verb.i,
        attribution=Attribution(source=source, cue=_char_span(doc, *cue), content=content, kind="reported"),
        features=["prep_cue"],
        source_head=subj.i,
    )


def _noun_candidate(doc: Doc, noun: Token, lex: Lexicon) -> Candidate | None:
    """A reporting noun with a that-clause: "Trump's claim that ...", "reports that ...", "the statement that ..."."""
    comp = next(
        (
            c
            for c in noun.children
            if c.dep_ in ("acl", "ccomp", "relcl")
            and c.i > noun.i
            and any(m.dep_ == "mark" and m.lower_ == "that" for m in c.children)
        ),
        None,
    )
    if comp is None or _lemma(noun, lex) not in lex.reporting_nouns:
        return None
    rng = _subtree_range(comp)
    content = _token_span(doc, _paragraph_cut(doc, rng, comp.i))
    if content is None:
        return None
    poss = next((c for c in noun.children if c.dep_ == "poss"), None)
    source = _source_span(doc, poss, exclude={noun.i}) if poss is not None else None
    lemma = noun.lemma_.lower()
    feats = [
        "bias_cand",
        "noun_cue",
        f"noun_lemma={lemma}",
        f"noun_lex={lemma in lex.reporting_nouns}",
        f"noun_dep={noun.dep_}",
        f"noun_src={poss is not None}",
    ]
    return Candidate(
        cue_head=noun.i,
        attribution=Attribution(source=source, cue=_char_span(doc, noun.i, noun.i + 1), content=content),
        features=feats,
        source_head=poss.i if poss is not None and source is not None else None,
    )


def _according_candidates(
    doc: Doc, text: str, sent: SpacySpan, lex: Lexicon, quotes: Sequence[tuple[int, int]], qidx: list[int]
) -> list[Candidate]:
    out = []
    words = [t.lower_ for t in sent]
    for phrase in lex.according_to:
        n = len(phrase)
        for k in range(len(words) - n + 1):
            if tuple(words[k : k + n]) != phrase or qidx[sent.start + k] >= 0:
                continue
            cue = (sent.start + k, sent.start + k + n)
            last = doc[cue[1] - 1]
            objs = [c for c in last.children if c.dep_ == "pobj"]
            if objs:
                src_rng = _subtree_range(objs[0])
            else:  # parser missed the object: take the words up to the next punctuation
                j = cue[1]
                while j < sent.end and not doc[j].is_punct:
                    j += 1
                src_rng = (cue[1], j)
            src = _token_span(doc, src_rng)
            if src is None:
                continue
            phrase_lo, phrase_hi = cue[0], max(src_rng[1], cue[1])
            before = _trim(doc, sent.start, phrase_lo)
            after = _trim(doc, phrase_hi, sent.end)
            # The content is the longer side of the clause; a quotation right after the phrase is the content.
            j = phrase_hi
            while j < sent.end and (doc[j].is_punct and qidx[j] < 0):
                j += 1
            if j < sent.end and qidx[j] >= 0 and doc[j].idx == quotes[qidx[j]][0]:
                s, e = quotes[qidx[j]]
                content: Span | None = Span(s, e, text[s:e])
            else:
                size_before = before[1] - before[0] if before else 0
                size_after = after[1] - after[0] if after else 0
                side = before if size_before >= size_after else after
                content = _token_span(doc, _paragraph_cut(doc, side, cue[0])) if side else None
            if content is None:
                continue
            out.append(
                Candidate(
                    cue_head=cue[0],
                    attribution=Attribution(
                        source=src, cue=_char_span(doc, *cue), content=content, kind="according_to"
                    ),
                    features=["according_to"],
                    source_head=objs[0].i if objs else None,
                )
            )
    return out


def candidates(doc: Doc, *, lexicon: Lexicon | None = None) -> list[Candidate]:
    """Every possible attribution in a parsed document, before the cue classifier decides."""
    lex = lexicon or load_lexicon()
    text = doc_text(doc)
    quotes = find_quotes(text, lex.quote_pairs)
    qidx = _quote_index(doc, quotes)
    sources = Sources(doc, lex, qidx)
    out: list[Candidate] = []
    for sent in doc.sents:
        out.extend(_according_candidates(doc, text, sent, lex, quotes, qidx))
        for tok in sent:
            if tok.pos_ == "VERB":
                cand = (
                    _as_candidate(doc, tok, lex, sources)
                    or _verb_candidate(doc, text, tok, sent, lex, quotes, qidx, sources)
                    or _prep_candidate(doc, tok, lex, sources)
                )
            elif tok.pos_ == "NOUN":
                cand = _noun_candidate(doc, tok, lex)
            else:
                continue
            if cand is not None:
                out.append(cand)
    return out


def decode(scored: Sequence[Candidate], *, threshold: float) -> list[Attribution]:
    """Keep candidates at or above ``threshold``, best first, so that no token takes two roles (see
    :func:`decode_candidates`)."""
    return [c.attribution for c in decode_candidates(scored, threshold=threshold)]


def decode_candidates(scored: Sequence[Candidate], *, threshold: float) -> list[Candidate]:
    """The candidates kept at or above ``threshold``, best first, so that no token takes two roles, in text order.

    PolNeAR's annotations are univocal: a candidate whose cue falls inside a kept candidate's source or content (or
    whose source or content holds a kept cue) is dropped.
    """
    kept: list[Candidate] = []
    for cand in sorted(scored, key=lambda c: -c.score):
        if cand.score < threshold:
            continue
        a = cand.attribution
        clash = any(
            _overlaps(a.cue, o.attribution.cue)
            or _inside(a.cue, o.attribution.content)
            or _inside(a.cue, o.attribution.source)
            or _inside(o.attribution.cue, a.content)
            or _inside(o.attribution.cue, a.source)
            for o in kept
        )
        if not clash:
            kept.append(cand)
    kept.sort(key=lambda c: c.attribution.cue.start if c.attribution.cue else c.attribution.content.start)
    return kept


def _overlaps(a: Span | None, b: Span | None) -> bool:
    return a is not None and b is not None and a.start < b.end and b.start < a.end


def _inside(a: Span | None, b: Span | None) -> bool:
    return a is not None and b is not None and b.start <= a.start and a.end <= b.end


_RULE_FEATURES = (["as_clause"], ["prep_cue"])


def score_candidates(cands: Sequence[Candidate], model: CueModel) -> None:
    """Set each candidate's score: the cue classifier's probability.

    "according to" phrases score 1; "as" clauses and verb-preposition cues score the threshold, so they are kept
    unless a candidate the classifier accepts needs the same words ("shows that Clinton talked about ...": the
    outer "shows" keeps its content).
    """
    for cand in cands:
        if cand.features == ["according_to"]:
            cand.score = 1.0
        elif cand.features in _RULE_FEATURES:
            cand.score = model.threshold
        else:
            cand.score = model.score(cand.features)


def resolve_sources(doc: Doc, kept: Sequence[Candidate], *, lexicon: Lexicon | None = None) -> list[Attribution]:
    """The kept candidates' attributions, each source with the name it stands for as ``canonical`` when found."""
    lex = lexicon or load_lexicon()
    sources = Sources(doc, lex, _quote_index(doc, find_quotes(doc_text(doc), lex.quote_pairs)))
    out = []
    for cand in kept:
        a = cand.attribution
        name = sources.canonical(doc[cand.source_head]) if cand.source_head is not None else None
        out.append(replace(a, source=replace(a.source, canonical=name)) if name and a.source is not None else a)
    return out


def extract_attributions(
    doc: Doc, *, model: CueModel | None = None, threshold: float | None = None
) -> list[Attribution]:
    """The attributions of one parsed document: "according to" phrases, plus verb cues the classifier accepts."""
    model = model or load_cue_model()
    cands = candidates(doc)
    score_candidates(cands, model)
    kept = decode_candidates(cands, threshold=model.threshold if threshold is None else threshold)
    return resolve_sources(doc, kept)


@register_stage("attribution")
class AttributionStage:
    name: ClassVar[str] = "attribution"
    requires: ClassVar[tuple[str, ...]] = ("doc",)
    provides: ClassVar[tuple[str, ...]] = ("attributions",)
    layers: ClassVar[tuple[Layer, ...]] = (
        Layer(
            "attributions", label="kind", span="content", spans=True, style={"fg": "green"}, description="who said what"
        ),
    )

    def __init__(self, *, threshold: float | None = None, model_path: Path | None = None) -> None:
        self.model = load_cue_model(model_path or MODEL_FILE)
        self.threshold = threshold
        load_lexicon()

    def __call__(self, docs: Sequence[Document]) -> None:
        for document in docs:
            if document.doc is None:
                continue
            document.attributions = extract_attributions(document.doc, model=self.model, threshold=self.threshold)


def to_jsonable(model: CueModel) -> dict[str, Any]:
    return {"weights": model.weights, "bias": model.bias, "threshold": model.threshold}
