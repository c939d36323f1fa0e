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
3. **Noun cues** with a that-clause ("Trump's claim that ...", "reports that ..."), scored by the same classifier;
   the source is the possessor when there is one.
4. **Decoding**: candidates are kept best first so that no token takes two roles (PolNeAR is univocal).

Spans are character offsets into the article text; edge punctuation is trimmed (quotation marks kept with the
quotation, the comma closing a source's appositive kept), following PolNeAR's conventions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..article import Attribution, Span
from ..errors import ModelError
from .pipeline import Document, Layer, register_stage

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


@lru_cache(maxsize=1)
def load_lexicon(path: Path = DATA_FILE) -> Lexicon:
    """The cue lexicon (data file), loaded once per process."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Lexicon(
        reporting_verbs=frozenset(raw["reporting_verbs"]),
        reporting_nouns=frozenset(raw["reporting_nouns"]),
        according_to=tuple(tuple(p) for p in raw["according_to"]),
        quote_pairs=tuple((a, b) for a, b in raw["quote_pairs"]),
        subject_deps=frozenset(raw["subject_deps"]),
        content_deps=frozenset(raw["content_deps"]),
        cue_modifier_deps=frozenset(raw["cue_modifier_deps"]),
    )


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


# ---------------------------------------------------------------------------------------------- extraction


def _quote_index(doc: Doc, quotes: Sequence[tuple[int, int]]) -> list[int]:
    """For each token, the index of the quotation it lies in (marks included), or -1."""
    out = [-1] * len(doc)
    qi = 0
    for tok in doc:
        while qi < len(quotes) and quotes[qi][1] <= tok.idx:
            qi += 1
        if qi < len(quotes) and quotes[qi][0] <= tok.idx < quotes[qi][1]:
            out[tok.i] = qi
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
) -> Candidate | None:
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
    if comp is None:
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
                )
            )
    return out


def candidates(doc: Doc, *, lexicon: Lexicon | None = None) -> list[Candidate]:
    """Every possible attribution in a parsed document, before the cue classifier decides."""
    lex = lexicon or load_lexicon()
    text = doc.text
    quotes = find_quotes(text, lex.quote_pairs)
    qidx = _quote_index(doc, quotes)
    out: list[Candidate] = []
    for sent in doc.sents:
        out.extend(_according_candidates(doc, text, sent, lex, quotes, qidx))
        for tok in sent:
            if tok.pos_ == "VERB":
                cand = _verb_candidate(doc, text, tok, sent, lex, quotes, qidx)
            elif tok.pos_ == "NOUN":
                cand = _noun_candidate(doc, tok, lex)
            else:
                continue
            if cand is not None:
                out.append(cand)
    return out


def decode(scored: Sequence[Candidate], *, threshold: float) -> list[Attribution]:
    """Keep candidates at or above ``threshold``, best first, so that no token takes two roles.

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
    return [c.attribution for c in kept]


def _overlaps(a: Span | None, b: Span | None) -> bool:
    return a is not None and b is not None and a.start < b.end and b.start < a.end


def _inside(a: Span | None, b: Span | None) -> bool:
    return a is not None and b is not None and b.start <= a.start and a.end <= b.end


def score_candidates(cands: Sequence[Candidate], model: CueModel) -> None:
    """Set each candidate's score: the cue classifier's probability ("according to" phrases score 1)."""
    for cand in cands:
        cand.score = 1.0 if cand.features == ["according_to"] else model.score(cand.features)


def extract_attributions(
    doc: Doc, *, model: CueModel | None = None, threshold: float | None = None
) -> list[Attribution]:
    """The attributions of one parsed document: "according to" phrases, plus verb cues the classifier accepts."""
    model = model or load_cue_model()
    cands = candidates(doc)
    score_candidates(cands, model)
    return decode(cands, threshold=model.threshold if threshold is None else threshold)


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
