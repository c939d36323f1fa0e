"""The local runner: analyses new or changed articles only, in one process or a pool, and stores the results."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from crosscheck import Store, open_store
from crosscheck.analyze.parse import split_pieces
from crosscheck.analyze.pipeline import Document, Layer, register_stage
from crosscheck.article import Article
from crosscheck.cli import main
from crosscheck.ingest import ingest
from crosscheck.runners.base import analysis_version, due, longest_first_batches, shrinking_batches
from crosscheck.runners.local import analyze_store

STAGES = ["parse", "entities", "quantities", "dates"]


def test_analyze_once_then_only_what_changed(examples_dir: Path, db_path: Path) -> None:
    with open_store(db_path) as store:
        ingest([str(examples_dir)], store)
        assert analyze_store(store, stages=STAGES, workers=1) == 3
        assert analyze_store(store, stages=STAGES, workers=1) == 0  # nothing new
        assert store.needs_analysis(STAGES, analysis_version()) == []
        # Another stage list makes every article due again.
        assert len(store.needs_analysis([*STAGES, "attribution"], analysis_version())) == 3
        rabbit = next(a for a in store.articles() if "Run Rabbit Run" in a.text)
        analysis = store.analysis(rabbit.id)
        assert analysis is not None
        assert any(q["text"].lower().startswith("more than 200") for q in analysis["quantities"])
        assert {"T-72"} <= {e["text"] for e in analysis["entities"] if e["label"] == "EQUIPMENT"}
        assert store.stats()["analyzed"] == 3


@pytest.mark.slow
def test_process_pool_gives_the_same_results(examples_dir: Path, tmp_path: Path) -> None:
    results = {}
    for workers in (1, 2):
        with open_store(tmp_path / f"w{workers}.db") as store:
            ingest([str(examples_dir)], store)
            assert analyze_store(store, stages=STAGES, workers=workers, batch_size=1) == 3
            results[workers] = {a.id: store.analysis(a.id) for a in store.articles()}
    assert results[1] == results[2]


class _Explode:
    """A stage that raises on any article mentioning a marker word (a stand-in for a stage bug on one input)."""

    name: ClassVar[str] = "test-explode"
    requires: ClassVar[tuple[str, ...]] = ("doc",)
    provides: ClassVar[tuple[str, ...]] = ("test-explode",)
    layers: ClassVar[tuple[Layer, ...]] = (Layer("test-explode", many=False, internal=True),)

    def __call__(self, docs: Sequence[Document]) -> None:
        for d in docs:
            if "EXPLODE" in d.text:
                raise ValueError("cannot handle this article")
            d.layers["test-explode"] = True


register_stage("test-explode")(_Explode)


def _articles(store: Store, texts: list[str]) -> list[str]:
    ids = []
    for n, text in enumerate(texts):
        article = Article(raw=text, origin=f"t{n}.txt", text=text, language="en")
        store.add_article(article)
        ids.append(article.id)
    return ids


def test_a_pool_takes_the_longest_articles_first(store: Store, example_texts: dict[str, str]) -> None:
    texts = sorted(example_texts.values(), key=len)
    short, middle, long = texts
    ids = _articles(store, [middle, short, long, short + " Updated.", middle[: len(short)]])
    lengths = store.text_lengths([*ids, "no-such-article"])
    assert lengths == {i: len(store.require(i).text) for i in ids}
    # Longest first; the two articles of one length keep the order they were given in.
    order = [ids[2], ids[0], ids[3], ids[1], ids[4]]
    assert longest_first_batches(store, ids, 1, 10**9) == [[i] for i in order]
    assert longest_first_batches(store, ids[::-1], 5, 10**9) == [[ids[2], ids[0], ids[3], ids[4], ids[1]]]
    # At most this many characters a batch, and an article longer than that alone.
    bound = lengths[ids[0]] + lengths[ids[3]]
    assert longest_first_batches(store, ids, 4, bound) == [[ids[2]], [ids[0], ids[3]], [ids[1], ids[4]]]


def test_a_failing_article_is_recorded_and_the_rest_are_analysed(store: Store, example_texts: dict[str, str]) -> None:
    texts = list(example_texts.values())
    ids = _articles(store, [texts[0], texts[1] + "\nEXPLODE", texts[2]])
    assert analyze_store(store, stages=["parse", "entities", "test-explode"], workers=1, batch_size=3) == 3
    statuses = {a.id: a.status for a in store.articles()}
    assert statuses == {ids[0]: "analyzed", ids[1]: "failed", ids[2]: "analyzed"}
    [(failed_id, reason)] = store.failures()
    assert failed_id == ids[1]
    assert "stage 'test-explode' raised ValueError: cannot handle this article" in reason
    assert store.analysis(ids[1]) is None
    # The next run retries the failure (and only it).
    assert due(store, ["parse", "entities", "test-explode"]) == [ids[1]]


def test_failures_are_listed_by_stats(db_path: Path, example_texts: dict[str, str]) -> None:
    with open_store(db_path) as store:
        ids = _articles(store, [next(iter(example_texts.values())) + " EXPLODE"])
        analyze_store(store, stages=["parse", "test-explode"], workers=1)
    result = CliRunner().invoke(main, ["stats", "--db", str(db_path)])
    assert result.exit_code == 0
    assert f"failed  {ids[0]}: stage 'test-explode' raised ValueError" in result.output
    assert "failed     1" in result.output


@pytest.mark.slow
def test_an_article_over_a_million_characters_is_analysed_in_pieces(
    store: Store, example_texts: dict[str, str]
) -> None:
    base = example_texts["kherson-liberated.txt"]
    huge = "\n\n".join([base] * (1_050_000 // len(base) + 1))
    assert len(huge) > 1_000_000  # over spaCy's max_length: one nlp() call raises E088
    small = example_texts["kharkiv-stunning-defeat.txt"]
    ids = _articles(store, [huge, small])
    assert analyze_store(store, stages=["parse", "entities"], workers=1, batch_size=2) == 2
    assert store.failures() == []
    analysis = store.analysis(ids[0])
    assert analysis is not None
    kherson = [e for e in analysis["entities"] if e["text"] == "Kherson"]
    assert len(kherson) > 100
    assert all(huge[e["start"] : e["end"]] == e["text"] for e in analysis["entities"])  # offsets into the whole
    assert max(e["start"] for e in kherson) > 1_000_000


def test_long_text_pieces_cover_the_text_and_cut_at_breaks() -> None:
    text = ("Kherson was liberated. " * 40 + "\n\n") * 30
    pieces = split_pieces(text, max_chars=2_000)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    assert all(b - a <= 2_000 for a, b in pieces)
    assert all(text[b - 2 : b] == "\n\n" for _, b in pieces[:-1])


def test_articles_in_other_languages_get_no_english_model_layers(store: Store) -> None:
    italian = (
        "Le truppe russe si sono ritirate da Kherson, ha dichiarato il ministero della Difesa ucraino. "
        "Secondo fonti locali, più di 200 soldati sono stati fatti prigionieri."
    )
    article = Article(raw=italian, origin="it.txt", text=italian, language="it")
    store.add_article(article)
    analyze_store(store, stages=STAGES, workers=1)
    analysis = store.analysis(article.id)
    assert analysis is not None
    assert analysis.get("entities", []) == [] and analysis.get("quantities", []) == []
    [note] = analysis["notes"]
    assert note["kind"] == "unsupported-language" and "'it'" in note["message"]


def _export(store: Store) -> dict[str, dict[str, object]]:
    from crosscheck.export import article_record

    return {a.id: article_record(store, a) for a in store.articles()}


@pytest.mark.slow
def test_an_article_analysed_alone_or_in_a_mixed_batch_gets_the_same_analysis(
    tmp_path: Path, example_texts: dict[str, str]
) -> None:
    # Twenty other real-text articles: the examples' paragraphs recombined, so batch-mates differ in length and wording.
    paragraphs = [p for t in example_texts.values() for p in t.split("\n") if len(p.split()) > 8]
    others = ["\n".join(paragraphs[(7 * k) % len(paragraphs) :][: 2 + k % 5]) for k in range(20)]
    with open_store(tmp_path / "alone.db") as alone:
        for n, text in enumerate(example_texts.values()):
            alone.add_article(Article(raw=text, origin=f"e{n}.txt", text=text, language="en"))
        analyze_store(alone, workers=1, batch_size=1)
        expected = _export(alone)
    with open_store(tmp_path / "mixed.db") as mixed:
        texts = others[:10] + list(example_texts.values()) + others[10:]
        for n, text in enumerate(texts):
            origin = f"e{n - 10}.txt" if 10 <= n < 13 else f"o{n}.txt"
            mixed.add_article(Article(raw=text, origin=origin, text=text, language="en"))
        analyze_store(mixed, workers=1, batch_size=16)
        got = _export(mixed)
    for article_id, record in expected.items():
        assert got[article_id]["claims"] == record["claims"]
        assert got[article_id]["techniques"] == record["techniques"]
        assert got[article_id] == record


def test_pool_batches_shrink_with_the_work_left() -> None:
    lengths = [20_000, 18_000] + [6_000] * 30 + [1_000] * 20
    batches = shrinking_batches(lengths, 2, 16, 100_000, 8_000)
    assert [i for batch in batches for i in batch] == list(range(len(lengths)))  # every text once, in order
    chars = [sum(lengths[i] for i in batch) for batch in batches]
    assert chars[0] == 56_000  # at most a quarter of the 238,000 characters
    assert all(len(batch) <= 16 and c <= 100_000 for batch, c in zip(batches, chars, strict=True))
    left = sum(lengths)
    for batch, c in zip(batches, chars, strict=True):  # each at most a quarter of what was left, or the floor
        assert len(batch) == 1 or c <= max(8_000, left // 4)
        left -= c
    assert chars[1] < chars[0] and max(chars[-4:]) <= 8_000  # shrinking, down to the floor at the end
    assert shrinking_batches([150_000, 10], 4, 16, 100_000, 8_000) == [[0], [1]]  # a text longer than the bound alone
    assert shrinking_batches([], 2, 16, 100_000, 8_000) == []


def test_the_analysis_version_names_the_package_and_the_shipped_models_and_data() -> None:
    import crosscheck
    from crosscheck.runners import base

    version = analysis_version()
    package, digest = version.split("+")
    assert package == crosscheck.__version__ and len(digest) == 12
    base.analysis_version.cache_clear()
    assert analysis_version() == version  # the same files, the same version


def test_the_analysis_version_changes_with_the_fusions_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from crosscheck.models import runtime
    from crosscheck.runners import base

    version = analysis_version()
    monkeypatch.setattr(runtime, "DISABLED_OPTIMIZERS", ("BiasGeluFusion",))
    base.analysis_version.cache_clear()
    try:
        assert analysis_version() != version
    finally:
        monkeypatch.undo()
        base.analysis_version.cache_clear()
    assert analysis_version() == version


def test_a_process_that_skips_the_exit_collections_still_exits_cleanly(tmp_path: Path) -> None:
    """With the collector's exit passes skipped, a process still runs its exit handlers and flushes its output."""
    import subprocess
    import sys

    script = tmp_path / "exit.py"
    script.write_text(
        "import atexit, sys\n"
        "from crosscheck.runners.base import no_collection_at_exit\n"
        "no_collection_at_exit(); no_collection_at_exit()\n"
        "cycle = [open(sys.argv[1], 'w')]; cycle.append(cycle); cycle[0].write('kept')\n"
        "atexit.register(lambda: cycle[0].close())\n"
        "sys.stdout.write('done')\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.txt"
    result = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done"
    assert out.read_text(encoding="utf-8") == "kept"
