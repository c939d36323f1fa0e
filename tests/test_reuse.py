"""Text reuse: fingerprints, alignment to spans on both sides, first publisher, furniture, order independence."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHashLSH

from crosscheck.article import Article
from crosscheck.corpus.reuse import (
    UNKNOWN,
    BandIndex,
    Fingerprint,
    FingerprintError,
    ReuseIndex,
    ReusePassage,
    align,
    banding,
    find_reuse,
    fingerprint,
    first_publisher,
    load_options,
    outlet_pairs,
)
from crosscheck.ingest.clean import clean_text

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _clean(name: str) -> str:
    return clean_text((EXAMPLES / name).read_text("utf-8")).text


@pytest.fixture(scope="module")
def kharkiv() -> str:
    return _clean("kharkiv-stunning-defeat.txt")


@pytest.fixture(scope="module")
def kherson() -> str:
    return _clean("kherson-liberated.txt")


@pytest.fixture(scope="module")
def video() -> str:
    return _clean("kherson-run-rabbit-run-video.txt")


def _paras(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def _article(article_id: str, text: str, **fields: str | None) -> Article:
    return Article(raw="", origin=f"test:{article_id}", text=text, id=article_id, language="en", **fields)  # type: ignore[arg-type]


def _changed(paragraph: str) -> str:
    """A paragraph with a few words replaced (every seventh word) and one deleted."""
    words = paragraph.split()
    out = [("altered" if i % 7 == 3 else w) for i, w in enumerate(words)]
    del out[len(out) // 2]
    return " ".join(out)


def _copy_with_changed_paragraph(source: str, host: str) -> tuple[str, list[str], str]:
    """Paragraphs 2-5 of ``source`` inside ``host``, paragraph 3 of them reworded; the copy, the copied, the edit."""
    src, hst = _paras(source), _paras(host)
    copied = src[2:6]
    edited = _changed(copied[1])
    inserted = [copied[0], edited, *copied[2:]]
    return "\n\n".join(hst[:3] + inserted + hst[3:]), copied, edited


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


# ---- alignment and spans ---------------------------------------------------------------------------------------


def test_copied_paragraphs_are_found_with_spans_on_both_sides(kharkiv: str, kherson: str) -> None:
    copy, copied, edited = _copy_with_changed_paragraph(kharkiv, kherson)
    index = ReuseIndex()
    assert index.add(_article("src", kharkiv, published="2022-09-12")) == []
    passages = index.add(_article("copy", copy, published="2022-09-13"))
    assert passages and all(p.other_article == "src" and p.first == "src" for p in passages)
    # Every copied paragraph is inside the passages, in the copy and in the source.
    for paragraph in (copied[0], edited, *copied[2:]):
        start = copy.index(paragraph)
        assert sum(_overlap((p.start, p.end), (start, start + len(paragraph))) for p in passages) >= 0.9 * len(
            paragraph
        )
    for paragraph in copied:
        start = kharkiv.index(paragraph)
        covered = sum(_overlap((p.other_start, p.other_end), (start, start + len(paragraph))) for p in passages)
        assert covered >= 0.9 * len(paragraph)
    # The host's own paragraphs are not reuse.
    host_only = copy.index(_paras(kherson)[0])
    assert all(p.start > host_only + len(_paras(kherson)[0]) for p in passages)
    # Both spans hold the same text, but for the edit; the passage with the edit scores below 1.
    for p in passages:
        assert copy[p.start : p.end].replace(edited, copied[1]) == kharkiv[p.other_start : p.other_end]
    edited_start = copy.index(edited)
    around_edit = [p for p in passages if _overlap((p.start, p.end), (edited_start, edited_start + len(edited)))]
    assert around_edit and min(p.score for p in around_edit) < 1.0
    assert all(0.0 <= p.score <= 1.0 for p in passages)
    # The earlier article sees the same passages from its side.
    mirrored = index.passages("src")
    assert sorted((p.other_start, p.other_end, p.start, p.end) for p in mirrored) == sorted(
        (p.start, p.end, p.other_start, p.other_end) for p in passages
    )


def test_align_is_symmetric(kharkiv: str, kherson: str) -> None:
    copy, _, _ = _copy_with_changed_paragraph(kharkiv, kherson)
    forward = align(copy, kharkiv)
    backward = align(kharkiv, copy)
    assert forward
    key = lambda r: (r.start, r.other_start)  # noqa: E731
    assert sorted((r.mirrored() for r in backward), key=key) == sorted(forward, key=key)


def test_reordered_paragraphs_are_separate_passages(kharkiv: str) -> None:
    paras = _paras(kharkiv)
    order = [3, 1, 4, 0, 2, *range(5, len(paras))]
    shuffled = "\n\n".join(paras[i] for i in order)
    runs = align(shuffled, kharkiv)
    for i in (1, 3, 4):
        start = kharkiv.index(paras[i])
        assert any(
            kharkiv[r.other_start : r.other_end] == shuffled[r.start : r.end]
            and _overlap((r.other_start, r.other_end), (start, start + len(paras[i]))) >= 0.9 * len(paras[i])
            for r in runs
        ), paras[i][:60]


def test_unrelated_articles_share_nothing(kharkiv: str, kherson: str, video: str) -> None:
    found = find_reuse([_article("a", kharkiv), _article("b", kherson), _article("c", video)])
    assert found == {"a": [], "b": [], "c": []}


def test_near_duplicate_and_shared_passages(kharkiv: str, kherson: str) -> None:
    index = ReuseIndex()
    index.add(_article("src", kharkiv))
    index.add(_article("dup", "\n\n".join(_paras(kharkiv)[:-1]) + "\n\nReposted with thanks."))
    partial, _, _ = _copy_with_changed_paragraph(kharkiv, kherson)
    index.add(_article("part", partial))
    related = {r.other_article: r for r in index.related("src")}
    assert related["dup"].near_duplicate and related["dup"].kind == "near-duplicate"
    assert related["dup"].coverage > 0.85 and related["dup"].other_coverage > 0.95
    assert not related["part"].near_duplicate and related["part"].kind == "shared-passages"
    assert 0.2 < related["part"].other_coverage < 0.6


def test_long_paragraph_is_cut_into_sentence_windows(kharkiv: str) -> None:
    one_line = " ".join(_paras(kharkiv))  # about 500 words on one line
    fp = fingerprint(one_line)
    options = load_options()
    assert len(fp.passages) > 3
    for p in fp.passages:
        assert p.words <= options.passage_max_words
    # Windows end at sentence ends (the last one at the end of the text).
    for p in fp.passages[:-1]:
        assert one_line[p.end - 1] in ".!?”\"'’" or one_line[p.end] in ".!?”\"'’", one_line[p.end - 20 : p.end + 2]
    copy = "Introduction to the repost.\n\n" + one_line
    assert align(copy, one_line)[0].words >= 0.95 * len(one_line.split())


# ---- first publisher -------------------------------------------------------------------------------------------


def test_first_publisher_by_dates() -> None:
    fp = first_publisher
    assert fp("a", "b", published="2022-11-10", other_published="2022-11-11") == "a"
    assert fp("a", "b", published="2022-11-11T09:00:00+02:00", other_published="2022-11-11T08:30:00+00:00") == "a"
    assert fp("a", "b", published="2022-11-11T12:00:00", other_published="2022-11-11T08:00:00") == "b"
    # Ties and a date without a time on the same day: unknown, and the crawl times are not consulted.
    assert (
        fp(
            "a",
            "b",
            published="2022-11-11",
            other_published="2022-11-11",
            fetched="2022-11-11",
            other_fetched="2022-11-12",
        )
        == UNKNOWN
    )
    assert fp("a", "b", published="2022-11-11", other_published="2022-11-11T23:00:00+00:00") == UNKNOWN
    # A missing date on either side: the crawl times decide when both have one, else unknown.
    assert fp("a", "b", published=None, other_published="2022-11-11") == UNKNOWN
    assert (
        fp(
            "a",
            "b",
            published="2022-11-09",
            other_published=None,
            fetched="2022-11-12T10:00",
            other_fetched="2022-11-12T09:00",
        )
        == "b"
    )
    assert fp("a", "b", published=None, other_published=None) == UNKNOWN
    assert fp("a", "b", published="not a date", other_published="2022-11-11") == UNKNOWN
    # One time with a zone and one without: only more than a day apart is certain.
    assert fp("a", "b", published="2022-11-11T23:00:00", other_published="2022-11-12T01:00:00+03:00") == UNKNOWN
    assert fp("a", "b", published="2022-11-09T23:00:00", other_published="2022-11-12T01:00:00+03:00") == "a"


def test_first_publisher_in_the_passages(kharkiv: str, kherson: str) -> None:
    copy, _, _ = _copy_with_changed_paragraph(kharkiv, kherson)
    dated = find_reuse(
        [
            _article("copy", copy, published="2022-09-14T08:00:00+00:00"),
            _article("src", kharkiv, published="2022-09-13"),
        ]
    )
    assert {p.first for p in dated["copy"]} == {"src"}
    undated = find_reuse([_article("copy", copy), _article("src", kharkiv, published="2022-09-13")])
    assert undated["copy"] and {p.first for p in undated["copy"]} == {UNKNOWN}


# ---- furniture -------------------------------------------------------------------------------------------------

# Furniture lines of the bundled pages (the cleaner removes them from those pages; other pages keep theirs).
FURNITURE = (
    "To suggest a correction or clarification, write to us here",
    "You can also highlight the text and press Ctrl + Enter",
    "More from the author’s weekly update in his Newsletter on several key developments.",
    "Subscribe to our Telegram channel to get the latest news from the front line first.",
    "Follow us on Facebook, Twitter and Instagram for more updates from Ukraine.",
)
BIO = (
    "Media analyst and journalist. Fully committed to insightful, analytical, investigative journalism and debunking "
    "disinformation. My goal is to produce analytical articles on Ukraine, and Europe, based on trustworthy sources."
)


def test_furniture_lines_alone_are_not_reuse(kharkiv: str, kherson: str) -> None:
    tail = "\n\n" + "\n\n".join(FURNITURE)
    found = find_reuse([_article("a", kharkiv + tail, outlet="x"), _article("b", kherson + tail, outlet="y")])
    assert found == {"a": [], "b": []}
    # The same lines under a copied story do not stop the story from being found.
    story = find_reuse([_article("a", kharkiv + tail), _article("b", kharkiv + tail)])
    assert story["a"] and story["a"][0].score == 1.0


def _small_articles(kharkiv: str, kherson: str, video: str) -> list[str]:
    """Fourteen short unrelated texts: the examples' long paragraphs, one each."""
    paras = [p for text in (kharkiv, kherson, video) for p in _paras(text) if len(p.split()) >= 25]
    assert len(paras) >= 14
    return paras[:14]


def test_a_passage_in_many_articles_of_many_outlets_is_furniture(kharkiv: str, kherson: str, video: str) -> None:
    texts = [p + "\n\n" + BIO for p in _small_articles(kharkiv, kherson, video)]
    # Shared by two articles only, the bio is shared text like any other.
    two = find_reuse([_article(f"t{i}", texts[i], outlet=f"o{i}") for i in range(2)])
    assert [texts[0][p.start : p.end] for p in two["t0"]] == [BIO]
    # In fourteen articles of seven outlets it is furniture, whatever the order of adding.
    articles = [_article(f"t{i}", t, outlet=f"o{i % 7}") for i, t in enumerate(texts)]
    for order in (articles, articles[::-1]):
        index = ReuseIndex()
        for article in order:
            index.add(article)
        assert index.all_passages() == []


def test_a_long_text_in_many_articles_is_still_reuse(kharkiv: str, kherson: str, video: str) -> None:
    # A wire story printed by fourteen outlets: every passage is common, the shared run is long.
    wire = "\n\n".join(_paras(kharkiv)[1:6])
    assert len(wire.split()) > load_options().long_segment_words
    texts = [p + "\n\n" + wire for p in _small_articles(kharkiv, kherson, video)]
    found = find_reuse([_article(f"t{i}", t, outlet=f"o{i}") for i, t in enumerate(texts)])
    assert all(len(found[f"t{i}"]) == 13 for i in range(14))
    assert all(texts[0][p.start : p.end] == wire for p in found["t0"])


# ---- fingerprints ----------------------------------------------------------------------------------------------


def test_fingerprints_round_trip_through_bytes(kharkiv: str) -> None:
    fp = fingerprint(kharkiv)
    data = fp.to_bytes()
    back = Fingerprint.from_bytes(data)
    assert back == fp and back.to_bytes() == data
    assert back.minhash(0).jaccard(fp.minhash(0)) == 1.0
    assert [kharkiv[p.start : p.end] for p in back.passages] == [kharkiv[p.start : p.end] for p in fp.passages]
    for bad in (b"", b"XXXX" + data[4:], data[:-4]):
        with pytest.raises(FingerprintError) as err:
            Fingerprint.from_bytes(bad)
        assert err.value.code == "E080"


def test_a_fingerprint_must_match_its_text_and_options(kharkiv: str, kherson: str) -> None:
    index = ReuseIndex()
    with pytest.raises(FingerprintError) as err:
        index.add(_article("a", kherson), fingerprint=fingerprint(kharkiv))
    assert err.value.code == "E081"
    other = load_options().replace(seed=7)
    with pytest.raises(FingerprintError) as err:
        index.add(_article("a", kharkiv), fingerprint=fingerprint(kharkiv, options=other))
    assert err.value.code == "E082"


def test_index_rebuilt_from_stored_fingerprints(kharkiv: str, kherson: str) -> None:
    copy, _, _ = _copy_with_changed_paragraph(kharkiv, kherson)
    stored = {"src": kharkiv, "other": kherson}
    blobs = {aid: fingerprint(text).to_bytes() for aid, text in stored.items()}
    looked_up: list[str] = []

    def text_of(article_id: str) -> str:
        looked_up.append(article_id)
        return stored[article_id]

    rebuilt = ReuseIndex(texts=text_of)
    for aid, blob in blobs.items():
        rebuilt.restore(_article(aid, "", published="2022-09-12"), blob)
    passages = rebuilt.add(_article("copy", copy, published="2022-09-13"))
    fresh = ReuseIndex()
    for aid, text in stored.items():
        fresh.add(_article(aid, text, published="2022-09-12"))
    assert passages == fresh.add(_article("copy", copy, published="2022-09-13"))
    assert "src" in looked_up


# ---- determinism -----------------------------------------------------------------------------------------------


def _corpus(kharkiv: str, kherson: str, video: str) -> list[Article]:
    copy, _, _ = _copy_with_changed_paragraph(kharkiv, kherson)
    reordered = "\n\n".join(reversed(_paras(video)))
    tail = "\n\n" + "\n\n".join(FURNITURE[:3])
    return [
        _article("src", kharkiv + tail, published="2022-09-12", outlet="a"),
        _article("copy", copy, published="2022-09-13", outlet="b"),
        _article("host", kherson + tail, outlet="c"),
        _article("video", video, fetched="2022-11-12T10:00:00+00:00", outlet="d"),
        _article("video-copy", reordered, fetched="2022-11-13T10:00:00+00:00", outlet="e"),
    ]


def test_results_do_not_depend_on_the_order_of_adding(kharkiv: str, kherson: str, video: str) -> None:
    articles = _corpus(kharkiv, kherson, video)
    results = []
    for order in itertools.islice(itertools.permutations(articles), 0, None, 17):
        index = ReuseIndex()
        for article in order:
            index.add(article)
        results.append((index.all_passages(), {a.id: index.passages(a.id) for a in articles}))
    assert len(results) > 5
    assert all(r == results[0] for r in results)
    everything = results[0][0]
    # The copy is built on the host's text, so it shares passages with both.
    assert {(aid, p.other_article) for aid, p in everything} == {
        ("copy", "src"),
        ("copy", "host"),
        ("video", "video-copy"),
    }
    assert {p.first for aid, p in everything if aid == "video"} == {"video"}


def test_add_many_equals_adding_one_by_one(kharkiv: str, kherson: str, video: str) -> None:
    articles = _corpus(kharkiv, kherson, video)
    rng = random.Random(3)
    shuffled = list(articles)
    rng.shuffle(shuffled)
    batch = ReuseIndex().add_many(shuffled)
    single = ReuseIndex()
    for article in articles:
        single.add(article)
    assert batch == {a.id: single.passages(a.id) for a in shuffled}
    again = single.add(articles[0])  # adding an id again changes nothing
    assert again == single.passages(articles[0].id)


# ---- outlet pairs ----------------------------------------------------------------------------------------------


def test_outlet_pairs_count_copier_and_first_publisher() -> None:
    def passage(start: int, other: str, first: str) -> ReusePassage:
        return ReusePassage(start, start + 50, other, start, start + 50, first, 1.0)

    passages = {
        "b1": [passage(0, "a1", "a1"), passage(100, "a1", "a1")],
        "a1": [passage(0, "b1", "a1"), passage(100, "b1", "a1")],  # the same two, seen from the source
        "b2": [passage(0, "a2", "a2")],
        "c1": [passage(0, "a1", UNKNOWN)],
        "a3": [passage(0, "b3", "b3")],
    }
    outlets = {"a1": "site-a", "a2": "site-a", "a3": "site-a", "b1": "site-b", "b2": "site-b", "b3": "site-b"}
    rows = outlet_pairs(passages, outlets)
    assert [(r.copier, r.source, r.articles, r.source_articles, r.passages) for r in rows] == [
        ("site-b", "site-a", 2, 2, 3),
        ("site-a", "site-b", 1, 1, 1),
    ]


def test_outlet_pairs_from_an_index(kharkiv: str, kherson: str, video: str) -> None:
    articles = _corpus(kharkiv, kherson, video)
    index = ReuseIndex()
    index.add_many(articles)
    rows = outlet_pairs({a.id: index.passages(a.id) for a in articles}, {a.id: a.outlet for a in articles})
    # "host" has no date, so who copied whom between it and "copy" is unknown and not counted.
    assert {(r.copier, r.source) for r in rows} == {("b", "a"), ("e", "d")}


# ---- candidate index -------------------------------------------------------------------------------------------


def _edited(text: str, share: float, rng: random.Random) -> str:
    """``text`` with about ``share`` of its words replaced by other words of the text, line by line."""
    vocabulary = sorted(set(text.split()))
    return "\n\n".join(
        " ".join(rng.choice(vocabulary) if rng.random() < share else w for w in p.split()) for p in _paras(text)
    )


def _band_agreement(a: np.ndarray, b: np.ndarray, bands: int, rows: int) -> bool:
    span = bands * rows
    return bool((a[:span] == b[:span]).reshape(bands, rows).all(axis=1).any())


def test_band_index_finds_exactly_the_candidates_of_minhash_lsh(kharkiv: str, kherson: str, video: str) -> None:
    options = load_options()
    bands, rows = banding(options.lsh_threshold, options.num_perm)
    assert (bands, rows) == (21, 3)
    rng = random.Random(11)
    originals = (kharkiv, kherson, video)
    indexed = [fingerprint(t) for t in originals] + [fingerprint(_edited(t, 0.3, rng)) for t in originals]
    queried = [fingerprint(_edited(t, share, rng)) for t in originals for share in (0.05, 0.15, 0.45)]
    lsh = MinHashLSH(threshold=options.lsh_threshold, num_perm=options.num_perm)
    index = BandIndex(bands, rows)
    for group, fp in enumerate(indexed):
        assert index.add(fp.hashvalues, range(len(fp.passages))) == group
        for row in range(len(fp.passages)):
            lsh.insert((group, row), fp.minhash(row))
    assert len(index) == sum(len(fp.passages) for fp in indexed)
    found = 0
    partial = 0
    for fp in queried:
        got = index.query(fp.hashvalues, range(len(fp.passages)))
        for row, candidates in enumerate(got):
            assert candidates == sorted(lsh.query(fp.minhash(row)))
            found += len(candidates)
            for group, other in candidates:
                same = np.count_nonzero(fp.hashvalues[row] == indexed[group].hashvalues[other])
                partial += same < options.num_perm // 2
    assert found > 30 and partial > 5  # near copies, and passages that agree on a band or two and little else


def test_band_index_grows_and_merges_runs(kharkiv: str, kherson: str, video: str) -> None:
    bands, rows = 21, 3
    rng = random.Random(5)
    sources = [fingerprint(_edited(t, share, rng)) for t in (kharkiv, kherson, video) for share in (0.0, 0.1, 0.3)]
    index = BandIndex(bands, rows, max_run=2000)
    added: list[np.ndarray] = []
    for step in range(60):  # the same texts again and again: equal keys in every run, and across runs
        fp = sources[rng.randrange(len(sources))]
        chosen = sorted(rng.sample(range(len(fp.passages)), k=rng.randint(0, len(fp.passages))))
        assert index.add(fp.hashvalues, chosen) == step
        added.append(fp.hashvalues[chosen])
        runs = index.runs
        assert sum(runs) == bands * sum(len(v) for v in added)
        assert all(np.all(run.keys[:-1] <= run.keys[1:]) for run in index._runs)
        for run in index._runs:  # the directory: keys with top bits b start at starts[b]
            top = (run.keys >> np.uint64(64 - run.bits)).astype(np.int64) if run.bits else np.zeros(len(run.keys))
            assert np.array_equal(run.starts, np.searchsorted(top, np.arange(len(run.starts))))
        small = [n for n in runs if n < index.max_run // 2]
        assert len(small) <= 2 + int(np.log2(max(1, sum(small))))
        if step % 10 == 9:
            query = sources[rng.randrange(len(sources))].hashvalues
            got = index.query(query, range(len(query)))
            for row, candidates in enumerate(got):
                groups = {g for g, _ in candidates}
                expected = [
                    (g, chosen_row)
                    for g, values in enumerate(added)
                    for chosen_row, other in zip(_rows_of(index, g), values, strict=True)
                    if _band_agreement(query[row], other, bands, rows)
                ]
                assert candidates == expected, (step, row, groups)
    assert max(index.runs) <= index.max_run and len(index.runs) > 3


def _rows_of(index: BandIndex, group: int) -> list[int]:
    return [row for g, row in zip(index._group, index._row, strict=True) if g == group]


class _CollidingBands(BandIndex):
    """Every band of every passage gets the same key: only the comparison of the values tells them apart."""

    def keys(self, values: np.ndarray) -> np.ndarray:
        return np.zeros((len(values), self.bands), dtype=np.uint64)


def test_a_shared_key_alone_makes_no_candidate(kharkiv: str, kherson: str) -> None:
    a, b = fingerprint(kharkiv), fingerprint(kherson)
    copy = fingerprint(kharkiv.split("\n\n")[0] + "\n\n" + kherson)
    index = _CollidingBands(21, 3)
    index.add(a.hashvalues, range(len(a.passages)))
    index.add(b.hashvalues, range(len(b.passages)))
    got = index.query(copy.hashvalues, range(len(copy.passages)))
    expected = [
        [
            (g, r)
            for g, fp in enumerate((a, b))
            for r in range(len(fp.passages))
            if _band_agreement(q, fp.hashvalues[r], 21, 3)
        ]
        for q in copy.hashvalues
    ]
    assert got == expected
    assert got[0] == [(0, 0)] and all(got[1:])  # the first paragraph of one, the other text whole
