"""spaCy's attribute ruler and rule lemmatizer, computed over whole arrays of a Doc instead of token by token.

In ``en_core_web_sm`` the attribute ruler (universal part of speech and morphology from the fine-grained tag, plus
about 120 word exceptions) and the rule lemmatizer cost about a fifth of the pipeline's CPU: the ruler's matcher
yields a match for every token, and each match builds a ``Span`` and sets the token's attributes in Python; the
lemmatizer visits every token as a ``Token`` object. :class:`ArrayAttributes` gives each token the same part of
speech, morphology, lemma (and, for the few patterns that set them, tag and dependency label) from the two
components' own data:

- every pattern of the ruler is evaluated at once over the Doc's arrays (tag, lower-case form, dependency label,
  whitespace flag), in the ruler's order, so that a later pattern overrides an earlier one as in the ruler;
- a lemma is a function of the word, its part of speech and its morphology (the lemmatizer caches it under that
  key), so each distinct key is lemmatised once by the lemmatizer itself and remembered (up to
  :data:`CACHE_ENTRIES` keys).

Only patterns of the shapes the ruler of the shipped pipeline uses are supported (fixed-length token sequences whose
tokens test TAG, LOWER, DEP and IS_SPACE for equality, ``IN``, ``NOT_IN`` or ``REGEX``); :func:`from_pipeline` returns
``None`` for any other ruler, and the pipeline then keeps spaCy's components. ``tests/test_attributes.py`` checks
that every token of the examples and of real news text gets exactly the attributes spaCy's components give it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .components import install_component

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

#: The token attributes a ruler pattern may test, and the ones its rules may set.
TESTED = ("TAG", "LOWER", "DEP", "IS_SPACE")
SET = ("POS", "MORPH", "LEMMA", "TAG", "DEP")
#: The Doc arrays a call reads: the tested attributes first, then those it may set, then the word.
COLUMNS = (*TESTED, "POS", "MORPH", "LEMMA", "ORTH")
#: The pipeline's component this replaces, and the name it takes in the pipeline.
RULER, LEMMATIZER, NAME = "attribute_ruler", "lemmatizer", "array_attributes"
#: Entries each of the component's two caches holds at most before it is emptied (each key is a word in some form,
#: so without a bound they grow with the vocabulary of everything analysed: about 125 keys an article): about
#: 15 MB each. Emptying one costs nothing but computing its entries again.
CACHE_ENTRIES = 50_000

Test = Callable[[dict[str, np.ndarray]], np.ndarray]


@dataclass
class Rule:
    """One ruler pattern: the tests of each of its tokens, the token it sets (``index``), what it sets."""

    tokens: list[Test]
    index: int
    attrs: dict[str, int]
    #: The tag a one-token rule requires (its hash), if it tests the tag for equality: rows of other tags are
    #: skipped without evaluating the rule.
    tag: int | None = None

    def targets(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """A boolean mask of the tokens this rule sets."""
        n = len(columns["TAG"])
        width = len(self.tokens)
        out = np.zeros(n, dtype=bool)
        if n < width:
            return out
        starts = np.ones(n - width + 1, dtype=bool)
        for j, test in enumerate(self.tokens):
            starts &= test(columns)[j : n - width + 1 + j]
        index = self.index if self.index >= 0 else width + self.index
        out[index : index + len(starts)] = starts
        return out


@dataclass
class ArrayAttributes:
    """What spaCy's attribute ruler and lemmatizer set, computed over a Doc's arrays (module docstring).

    A one-token rule tests nothing but the token's own tag, lower-case form, label and whitespace flag, so what the
    one-token rules set on a token is remembered under those four values (``settled``, up to :data:`CACHE_ENTRIES`
    of them); the few rules of several tokens are evaluated over each Doc's arrays and override a one-token rule
    that comes before them in the ruler."""

    rules: list[Rule]
    lemmatizer: RuleLemmas
    lemmas: dict[tuple[int, int, int], int] = field(default_factory=dict)
    settled: dict[tuple[int, ...], tuple[tuple[int, int], ...]] = field(default_factory=dict)
    #: The distinct results of ``settled`` (a few hundred), each kept once and shared by its rows.
    results: dict[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]] = field(default_factory=dict)

    def _settle(self, rows: np.ndarray) -> None:
        """What the one-token rules set on tokens of each of ``rows`` (their tested values), in ``settled``."""
        columns = {name: rows[:, i] for i, name in enumerate(TESTED)}
        tags = set(rows[:, 0].tolist())
        order = np.zeros((len(rows), len(SET)), dtype=np.uint64)  # the last rule setting each attribute, plus one
        value = np.zeros((len(rows), len(SET)), dtype=np.uint64)
        for k, rule in enumerate(self.rules):
            if len(rule.tokens) != 1 or (rule.tag is not None and rule.tag not in tags):
                continue
            mask = rule.tokens[0](columns)
            for name, setting in rule.attrs.items():
                j = SET.index(name)
                order[mask, j] = k + 1
                value[mask, j] = setting
        for row, orders, values in zip(rows.tolist(), order.tolist(), value.tolist(), strict=True):
            result = tuple(zip(orders, values, strict=True))
            self.settled[tuple(row)] = self.results.setdefault(result, result)

    def __call__(self, doc: Doc) -> Doc:
        from spacy.attrs import IDS, LEMMA, MORPH, POS

        n = len(doc)
        if not n:
            return doc
        table = doc.to_array([IDS[name] for name in COLUMNS]).astype(np.uint64)
        tested = table[:, : len(TESTED)]
        rows, inverse = np.unique(tested, axis=0, return_inverse=True)
        keys = [tuple(row) for row in rows.tolist()]
        if len(self.settled) + len(keys) > CACHE_ENTRIES:
            self.settled.clear()
        missing = [i for i, key in enumerate(keys) if key not in self.settled]
        if missing:
            self._settle(rows[missing])
        settled = np.array([self.settled[key] for key in keys], dtype=np.uint64).reshape(len(keys), len(SET), 2)
        per_token = settled[inverse.reshape(-1)]
        order = per_token[:, :, 0].astype(np.int64) - 1
        value = np.where(order >= 0, per_token[:, :, 1], table[:, [COLUMNS.index(name) for name in SET]])
        columns = {name: tested[:, i] for i, name in enumerate(TESTED)}
        for k, rule in enumerate(self.rules):
            if len(rule.tokens) == 1:
                continue
            mask = rule.targets(columns)
            for name, setting in rule.attrs.items():
                j = SET.index(name)
                later = mask & (order[:, j] < k)
                order[later, j] = k
                value[later, j] = setting
        pos, morph, lemma, tag, dep = (value[:, j].copy() for j in range(len(SET)))
        doc.from_array([POS, MORPH], cast(Any, np.stack([pos, morph], axis=1)))
        for column, name in ((tag, "TAG"), (dep, "DEP")):
            for i in np.flatnonzero(column != table[:, COLUMNS.index(name)]).tolist():
                setattr(doc[i], name.lower(), int(column[i]))
        todo = np.flatnonzero(lemma == 0)
        if len(todo):
            # A lemma is the lemmatizer's for (word, part of speech, morphology): each such key once per process.
            triples = np.stack([table[todo, COLUMNS.index("ORTH")], pos[todo], morph[todo]], axis=1)
            unique, first, where = np.unique(triples, axis=0, return_index=True, return_inverse=True)
            strings = doc.vocab.strings
            if len(self.lemmas) + len(unique) > CACHE_ENTRIES:
                self.lemmas.clear()
            found = np.zeros(len(unique), dtype=np.uint64)
            for u, key in enumerate(map(tuple, unique.tolist())):
                got = self.lemmas.get(key)
                if got is None:
                    token = doc[int(todo[first[u]])]
                    got = self.lemmas[key] = strings.add(self.lemmatizer.lemma(token))
                found[u] = got
            lemma[todo] = found[where.reshape(-1)]
            doc.from_array([LEMMA], cast(Any, lemma))
        return doc


def _test(vocab: Any, name: str, spec: Any) -> Test | None:
    """A vectorised test of one attribute of a pattern token, or None for a test this module does not support."""
    strings = vocab.strings

    def hashes(values: Sequence[Any]) -> np.ndarray:
        return np.array([strings.add(v) if v else 0 for v in values], dtype=np.uint64)

    if name == "IS_SPACE":
        if not isinstance(spec, bool):
            return None
        return lambda cols: (cols["IS_SPACE"] != 0) == spec
    if isinstance(spec, str):
        value = hashes([spec])[0]
        return lambda cols: cols[name] == value
    if not isinstance(spec, Mapping) or len(spec) != 1:
        return None
    ((op, arg),) = spec.items()
    if op in ("IN", "NOT_IN") and isinstance(arg, list) and all(isinstance(v, str) for v in arg):
        values = hashes(arg)
        if op == "IN":
            return lambda cols: np.isin(cols[name], values)
        return lambda cols: ~np.isin(cols[name], values)
    if op == "REGEX" and isinstance(arg, str):
        regex = re.compile(arg)
        seen: dict[int, bool] = {}

        def search(cols: dict[str, np.ndarray]) -> np.ndarray:
            column = cols[name]
            unique, inverse = np.unique(column, return_inverse=True)
            hit = [seen.setdefault(h, bool(regex.search(strings[h]))) for h in unique.tolist()]
            return np.asarray(hit, dtype=bool)[inverse.reshape(-1)]

        return search
    return None


def _token_test(vocab: Any, token: Mapping[str, Any]) -> Test | None:
    tests = []
    for name, spec in token.items():
        if name not in TESTED:
            return None
        test = _test(vocab, name, spec)
        if test is None:
            return None
        tests.append(test)

    def all_of(cols: dict[str, np.ndarray]) -> np.ndarray:
        out = np.ones(len(cols["TAG"]), dtype=bool)
        for test in tests:
            out &= test(cols)
        return out

    return all_of


def from_pipeline(nlp: Language) -> ArrayAttributes | None:
    """The array form of ``nlp``'s attribute ruler and lemmatizer, or None where either is missing or not of the
    supported kind (the pipeline then keeps its own)."""
    from spacy.attrs import IDS
    from spacy.pipeline import AttributeRuler, Lemmatizer

    if RULER not in nlp.pipe_names or LEMMATIZER not in nlp.pipe_names:
        return None
    ruler, lemmatizer = nlp.get_pipe(RULER), nlp.get_pipe(LEMMATIZER)
    if not isinstance(ruler, AttributeRuler) or not isinstance(lemmatizer, Lemmatizer):
        return None
    if lemmatizer.mode != "rule" or lemmatizer.overwrite:
        return None
    names = {IDS[name]: name for name in SET}
    rules: list[Rule] = []
    for k, entry in enumerate(cast(list[dict[str, Any]], ruler.patterns)):
        attrs = ruler.attrs[k]
        if any(a not in names for a in attrs):
            return None
        for pattern in entry["patterns"]:
            if not isinstance(pattern, list) or not pattern:
                return None
            tokens = [_token_test(nlp.vocab, t) for t in pattern]
            if any(t is None for t in tokens):
                return None
            tag = pattern[0].get("TAG") if len(pattern) == 1 else None
            rules.append(
                Rule(
                    [t for t in tokens if t is not None],
                    ruler.indices[k],
                    {names[a]: int(v) for a, v in attrs.items()},
                    nlp.vocab.strings.add(tag) if isinstance(tag, str) and tag else None,
                )
            )
    return ArrayAttributes(rules, RuleLemmas.of(lemmatizer))


@dataclass
class RuleLemmas:
    """The first lemma spaCy's rule lemmatizer gives a token, from its own tables.

    spaCy's ``rule_lemmatize`` tests each candidate form for membership in a list of the part of speech's words
    (57,528 nouns), a scan of the list each time: about 110 µs a call, 3 % of an analysis while the lemma cache
    fills. Here the lists are sets and the same steps are taken in the same order (the rules' forms, known words
    first, then the exceptions, then the unknown forms, else the word itself); a token of a part of speech without
    tables, a base form and a space take spaCy's own path.
    """

    lemmatizer: Any
    #: Per lower-case part of speech: (its words, its exceptions, its suffix rules).
    tables: dict[str, tuple[frozenset[str], dict[str, list[str]], list[tuple[str, str]]]]

    @classmethod
    def of(cls, lemmatizer: Any) -> RuleLemmas:
        from spacy.parts_of_speech import IDS as POS_IDS

        index, exceptions, rules = (
            lemmatizer.lookups.get_table(t, {}) for t in ("lemma_index", "lemma_exc", "lemma_rules")
        )
        tables = {}
        for name in POS_IDS:
            pos = name.lower()
            if pos in ("", "eol", "space"):
                continue
            words, exc, rule = index.get(pos), exceptions.get(pos), rules.get(pos)
            if any((words, exc, rule)):
                tables[pos] = (frozenset(words or ()), dict(exc or {}), [(old, new) for old, new in rule or ()])
        return cls(lemmatizer, tables)

    def lemma(self, token: Any) -> str:
        entry = self.tables.get(token.pos_.lower())
        if entry is None or self.lemmatizer.is_base_form(token):
            return str(self.lemmatizer.rule_lemmatize(token)[0])
        words, exceptions, rules = entry
        original = token.text
        string = original.lower()
        forms: list[str] = []
        unknown: list[str] = []
        for old, new in rules:
            if string.endswith(old):
                form = string[: len(string) - len(old)] + new
                if not form:
                    continue
                if form in words:
                    forms.insert(0, form)
                elif not form.isalpha():
                    forms.append(form)
                else:
                    unknown.append(form)
        forms = list(dict.fromkeys(forms))
        for form in exceptions.get(string, []):
            if form not in forms:
                forms.insert(0, form)
        return (forms or unknown or [original])[0]


def install(nlp: Language) -> bool:
    """Put :class:`ArrayAttributes` in place of ``nlp``'s attribute ruler and lemmatizer (same position, same
    attributes); False, and ``nlp`` unchanged, where :func:`from_pipeline` does not support them."""
    return install_component(nlp, NAME, from_pipeline, (RULER, LEMMATIZER), "attribute ruler and rule lemmatizer")
