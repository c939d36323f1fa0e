"""Ingest end to end: the CLI over real pages, summaries, re-runs, and a killed ingest resumed."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import datasets_or_skip
from crosscheck import Store, errors, open_store
from crosscheck.cli import main
from crosscheck.ingest import ingest


def test_ingest_examples_then_rerun_is_a_no_op(examples_dir: Path, db_path: Path) -> None:
    with open_store(db_path) as store:
        first = ingest([str(examples_dir)], store)
        assert (first.ingested, first.duplicates, len(first.skipped)) == (3, 0, 0)
        second = ingest([str(examples_dir)], store)
        assert (second.ingested, second.unchanged, second.duplicates) == (0, 3, 0)
        assert store.count() == 3
        titles = {a.title for a in store.articles()}
        assert "Ukrainian Army liberated Kherson, Russian troops fled" in titles
        assert all(a.language == "en" for a in store.articles())


def test_copies_under_other_names_are_duplicates(examples_dir: Path, tmp_path: Path, db_path: Path) -> None:
    copy = tmp_path / "copy-of-kharkiv.txt"
    copy.write_text((examples_dir / "kharkiv-stunning-defeat.txt").read_text("utf-8") + "\n\n")
    with open_store(db_path) as store:
        summary = ingest([str(examples_dir), str(copy)], store)
        assert (summary.ingested, summary.duplicates) == (3, 1)


def test_bad_inputs_are_reported_and_the_batch_goes_on(examples_dir: Path, tmp_path: Path, db_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("")
    (bad / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (bad / "furniture-only.txt").write_text("Recent Posts\n\n3 days ago\n\nShare this article\n")
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", str(bad), str(examples_dir), "--db", str(db_path), "-q"])
    assert result.exit_code == 0, result.output
    assert "ingested 3" in result.output and "skipped 3" in result.output
    assert "empty.txt: empty" in result.output
    assert "image.txt: binary" in result.output
    assert "furniture-only.txt: empty: no story text left after cleaning" in result.output
    stats = runner.invoke(main, ["stats", "--db", str(db_path)])
    assert "skipped    3" in stats.output


def _make_corpus(folder: Path, examples_dir: Path, n: int) -> None:
    sources = sorted(examples_dir.glob("*.txt"))
    for i in range(n):
        text = sources[i % len(sources)].read_text("utf-8")
        dispatch = f"This dispatch, number {i}, was filed from sector {i * 7 % 101} after the evening briefing."
        (folder / f"page-{i:04d}.txt").write_text(f"{text}\n\n{dispatch}\n", "utf-8")


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_killed_ingest_is_consistent_and_resumes(examples_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    n = 600
    _make_corpus(corpus, examples_dir, n)
    db = tmp_path / "kill.db"
    command = [sys.executable, "-m", "crosscheck.cli", "ingest", str(corpus), "--db", str(db), "-q"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _count(db) < 25 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; raise n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = _count(db)
    assert 25 <= done_before < n
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Every stored article has its origin row: each input was one transaction.
        orphans = conn.execute(
            "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM origins o WHERE o.article_id = a.id)"
        ).fetchone()[0]
        assert orphans == 0
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)
    with open_store(db) as store:
        assert store.count() == n
        assert store.stats()["duplicates"] == 0
    # The re-run stores exactly what the killed run had not, and recognises what it had.
    assert f"ingested {n - done_before}, duplicates 0, unchanged {done_before}, skipped 0" in rerun.stdout


# --- short records: posts, statements, headlines --------------------------------------------------------------------

NEWS = [
    "Russian forces launched 43 drones and three cruise missiles at Ukraine overnight, the air force said.",
    "Air defence units shot down 38 of the drones over the Kyiv, Odesa and Mykolaiv regions.",
    "Two people were killed and nine wounded when a missile hit an apartment block in Dnipro.",
    "Power was cut to more than 200,000 homes in Kharkiv after strikes on energy infrastructure.",
    "Ukraine's General Staff said Russian troops had attacked near Avdiivka 27 times in the past day.",
    "The mayor of Mykolaiv said water supplies would be restored by the evening.",
    "Russia's defence ministry claimed its forces had taken the village of Krasnohorivka.",
    "Zelensky met the Dutch prime minister in Kyiv to discuss F-16 deliveries.",
    "The IAEA said the Zaporizhzhia nuclear plant lost external power for the eighth time.",
    "Grain exports through the Black Sea corridor rose to 4.2 million tonnes in November.",
    "Explosions were heard in occupied Melitopol early on Sunday.",
    "The Kremlin said it saw no basis for peace talks.",
    "A train carrying humanitarian aid arrived in Kherson.",
    "Ukrainian forces have crossed the Dnipro, a spokeswoman said.",
    "Belgorod's governor said shelling damaged a school.",
    "EU leaders agreed to open accession talks with Ukraine.",
    "The UN says nearly 10,000 civilians have been killed.",
    "Shelling killed a 60-year-old man in Kherson.",
    "Ukraine received its first Patriot battery.",
    "Sirens sounded across the country for three hours.",
    "Three ships left Odesa carrying wheat.",
    "Sumy region reported 94 explosions in one day.",
    "Russia's central bank raised its key rate to 16%.",
    "Parliament extended martial law again.",
    "Rescuers pulled four people from the rubble.",
    "Kyiv's metro sheltered thousands overnight.",
    "Vnukovo airport briefly suspended flights.",
    "Drones hit an oil depot in Bryansk.",
    "230 Ukrainian soldiers returned home today.",
    "Heavy fighting continues around Bakhmut.",
    "Norway pledged $1.5 billion in aid.",
    "Civilians were ordered to leave the left bank.",
    "Eleven people were injured in Kharkiv.",
    "A Su-34 bomber was shot down over Donetsk.",
    "Kyiv says 19,000 children were deported.",
    "Odesa's historic centre was hit again.",
    "Farmers blocked the Polish border.",
    "The Uman death toll rose to 23.",
    "Kyiv–Lviv trains are running again.",
    "Strikes hit Kharkiv again.",
]
HEADLINES = [
    "Russia launches largest drone attack of the war on Kyiv",
    "Ukraine retakes village near Bakhmut",
    "Zaporizhzhia plant loses power again",
    "EU approves aid package for Ukraine",
    "Kherson under fire",
    "Grain talks stall in Istanbul",
    "Ukraine war: what we know on day 300",
    "Explosions rock Crimean bridge",
    "Kyiv without power",
    "Prisoner swap brings 100 soldiers home",
]
FURNITURE_RECORDS = [
    "Home | News | World | Politics | Sport | Contact",
    "Subscribe to our newsletter",
    "Read more",
    "Share this article",
    "Follow us on Telegram",
    "© 2024 Example Media. All rights reserved.",
    "Advertisement",
    "3 hours ago",
    "Leave a comment",
    "Download the Example News app for iPhone and Android",
    "Sign up for our daily newsletter",
    "Share on Facebook",
    "Like, share and subscribe!",
    "Tags: Ukraine, Russia, war",
    "Related articles",
    "Posted 2 hours ago",
    "Copyright 2024 Example News",
    "Click here to share",
    "Privacy Policy",
    "Home » News » Europe",
]
POST_STYLES = [
    lambda s, other: s,
    lambda s, other: f"{s} #Ukraine",
    lambda s, other: f"BREAKING: {s}",
    lambda s, other: f"⚡️ {s}",
    lambda s, other: f"{s}\n\n#Ukraine #StandWithUkraine",
    lambda s, other: f"{s} https://t.me/example_news/1234",
    lambda s, other: s.rstrip("."),
    lambda s, other: f"{s}\n\n{other}",
]


def generated_posts() -> list[tuple[str, str | None]]:
    """200 records as channels and feeds post them, with the story text each must keep (None: furniture)."""
    posts: list[tuple[str, str | None]] = []
    for i, sentence in enumerate(NEWS):
        other = NEWS[(i + 11) % len(NEWS)]
        for k in range(3):
            post = POST_STYLES[(i + k) % len(POST_STYLES)](sentence, other)
            posts.append((post, post))
        posts.append((f"{sentence}\n\nSubscribe to our channel for updates", sentence))
    for headline in HEADLINES:
        posts += [(headline, headline), (f"{headline} #Ukraine", f"{headline} #Ukraine")]
    posts += [(line, None) for line in FURNITURE_RECORDS]
    return posts


def test_short_records_are_stories_and_furniture_records_are_skipped(tmp_path: Path, store: Store) -> None:
    posts = generated_posts()
    assert len(posts) == 200
    feed = tmp_path / "posts.jsonl"
    feed.write_text("".join(json.dumps({"text": post}) + "\n" for post, _ in posts), "utf-8")
    summary = ingest([str(feed)], store)
    rows = store.conn.execute("SELECT o.origin, a.text FROM origins o JOIN articles a ON a.id = o.article_id")
    kept = {origin: text for origin, text in rows}  # a post whose story is another post's is a duplicate of it
    skipped = {s.origin: s for s in summary.skipped}
    for line, (post, story) in enumerate(posts, 1):
        origin = f"{feed}#L{line}"
        if story is None:
            assert origin in skipped and skipped[origin].code == errors.SKIP_EMPTY, post
        else:
            assert kept.get(origin) == story, post
    assert (summary.ingested + summary.duplicates, len(summary.skipped)) == (180, 20)


def test_a_one_word_record_is_not_a_story(tmp_path: Path, store: Store) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"text": "(APPLAUSE)"}\n{"text": "So Ford is leaving."}\n', "utf-8")
    summary = ingest([str(feed)], store)
    assert [a.text for a in store.articles()] == ["So Ford is leaving."]
    assert [(s.code, s.reason) for s in summary.skipped] == [
        (errors.SKIP_EMPTY, "no story text left after cleaning (1 word)")
    ]


def _checkthat_sentences() -> list[str]:
    """One-sentence items of CheckThat! 2024 (dev, dev-test) and 2019 (annotated test debates)."""
    sentences = []
    ct24 = datasets_or_skip("checkthat2024-task1-en") / "data"
    for name in ("CT24_checkworthy_english_dev.tsv", "CT24_checkworthy_english_dev-test.tsv"):
        with (ct24 / name).open(encoding="utf-8", newline="") as handle:
            sentences += [row["Text"] for row in csv.DictReader(handle, delimiter="\t")]
    ct19 = datasets_or_skip("checkthat2019-task1-en") / "data" / "test_annotated"
    for path in sorted(ct19.glob("*.tsv")):
        for line in path.read_text("utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and parts[2].strip():
                sentences.append(parts[2])
    return sentences


@pytest.mark.datasets
@pytest.mark.slow
def test_checkthat_sentences_as_records_are_kept(tmp_path: Path, store: Store) -> None:
    """Each sentence of the check-worthiness benchmarks as a JSONL record: 8,430 sentences (CT24 1,350, CT19 7,080).

    Measured 2026-12-01 (``ingest`` into a fresh store): before short records were cleaned as records, 3,276 (38.9%;
    CT24 23.9%, CT19 41.7%) were skipped as "no story text left", 3,266 of them for being under 40 characters; now
    726 (8.6%; CT24 none) are, every one a single word: "(APPLAUSE)" 478 times, "(LAUGHTER)" 43, "(CROSSTALK)" 25,
    "#NAME?" 16 (a spreadsheet's error in the CT24 files), "USA!", "Yes.", "Okay." and the like.
    """
    sentences = _checkthat_sentences()
    feed = tmp_path / "checkthat.jsonl"
    feed.write_text("".join(json.dumps({"text": s}) + "\n" for s in sentences), "utf-8")
    summary = ingest([str(feed)], store)
    assert summary.total == len(sentences)
    by_line = {int(s.origin.rsplit("#L", 1)[1]): s for s in summary.skipped}
    for line, skip in by_line.items():
        assert skip.code == errors.SKIP_EMPTY
        assert len(sentences[line - 1].split()) == 1, sentences[line - 1]
    assert len(by_line) / len(sentences) < 0.10


# --- boilerplate-only pages -----------------------------------------------------------------------------------------

NAV = "Home | News | World | Politics | Sport | Contact"


def test_a_boilerplate_only_text_page_is_skipped(tmp_path: Path, store: Store) -> None:
    page = tmp_path / "front.txt"
    page.write_text(f"{NAV}\n\nSubscribe to our newsletter\n\n© 2024 Example Media. All rights reserved.\n", "utf-8")
    summary = ingest([str(page)], store)
    assert store.count() == 0
    assert [(s.code, s.reason) for s in summary.skipped] == [
        (errors.SKIP_EMPTY, "no story text left after cleaning (0 characters)")
    ]


def test_a_boilerplate_only_html_page_is_skipped(tmp_path: Path, store: Store) -> None:
    page = tmp_path / "front.html"
    page.write_text(
        f"<html><head><title>Example News</title></head><body><nav>{NAV}</nav>"
        "<div>Subscribe to our newsletter</div><footer>© 2024 Example Media. All rights reserved.</footer>"
        "</body></html>",
        "utf-8",
    )
    summary = ingest([str(page)], store)
    assert store.count() == 0
    assert [s.code for s in summary.skipped] == [errors.SKIP_NO_TEXT]


# --- input errors, re-runs with other options, stale skips ----------------------------------------------------------


def test_missing_paths_and_fieldless_files_exit_1_after_the_rest(
    examples_dir: Path, tmp_path: Path, db_path: Path
) -> None:
    table = tmp_path / "people.csv"
    table.write_text("name,age\nIvan,40\n", "utf-8")
    feed = tmp_path / "posts.jsonl"
    feed.write_text('{"body": "Kherson was liberated on 11 November."}\n{"body": "Strikes hit Kharkiv."}\n', "utf-8")
    missing = tmp_path / "typo.txt"
    runner = CliRunner()
    args = ["ingest", str(missing), str(table), str(feed), str(examples_dir), "--db", str(db_path), "-q"]
    result = runner.invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "ingested 3, duplicates 0, unchanged 0, skipped 3" in result.output
    assert f"skipped {missing}: unreadable: no such file or directory" in result.output
    assert f"skipped {table}: malformed: no 'text' or 'html' column in the header (columns: name, age)" in result.output
    assert f"skipped {feed}: malformed: no 'text' or 'html' field in any of its 2 JSON objects (fields: body)" in (
        result.output
    )
    assert f"[E050] no such file or directory: {missing}; no 'text' or 'html' field or column" in result.output
    with open_store(db_path) as store:
        assert store.count() == 3 and len(store.skipped()) == 3

    only_fieldless = runner.invoke(main, ["ingest", str(table), "--db", str(db_path), "-q"])
    assert only_fieldless.exit_code == 1 and "[E051]" in only_fieldless.output
    fine = runner.invoke(main, ["ingest", str(feed), "--text-field", "body", "--db", str(db_path), "-q"])
    assert fine.exit_code == 0 and "ingested 2" in fine.output


def test_a_missing_file_inside_a_directory_is_a_skip_not_an_error(tmp_path: Path, db_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    result = CliRunner().invoke(main, ["ingest", str(folder), "--db", str(db_path), "-q"])
    assert result.exit_code == 0 and "broken symbolic link" in result.output


def test_rerun_with_other_field_options_updates_the_metadata(tmp_path: Path, db_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    rows = [
        {"text": NEWS[0], "link": "https://www.kyivindependent.com/a", "source": "The Kyiv Independent"},
        {"text": NEWS[1], "link": "https://www.pravda.com.ua/eng/b"},
    ]
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    runner = CliRunner()
    first = runner.invoke(main, ["ingest", str(feed), "--db", str(db_path), "-q"])
    assert "ingested 2" in first.output
    with open_store(db_path) as store:
        assert [(a.url, a.outlet) for a in store.articles()] == [(None, None), (None, None)]
    args = ["ingest", str(feed), "--url-field", "link", "--outlet-field", "source", "--db", str(db_path), "-q"]
    second = runner.invoke(main, args)
    assert "ingested 0, duplicates 0, unchanged 0, skipped 0, updated 2" in second.output, second.output
    with open_store(db_path) as store:
        assert [(a.url, a.outlet) for a in store.articles()] == [
            ("https://www.kyivindependent.com/a", "The Kyiv Independent"),
            ("https://www.pravda.com.ua/eng/b", "pravda.com.ua"),
        ]
    third = runner.invoke(main, args)
    assert "ingested 0, duplicates 0, unchanged 2, skipped 0 " in third.output


def test_a_whole_file_skip_is_not_counted_once_its_records_are_read(tmp_path: Path, db_path: Path) -> None:
    table = tmp_path / "export.csv"
    table.write_text(f'headline,body\nKharkiv,"{NEWS[0]}"\nKherson,"{NEWS[1]}"\n', "utf-8")
    runner = CliRunner()
    first = runner.invoke(main, ["ingest", str(table), "--db", str(db_path), "-q"])
    assert first.exit_code == 1 and "skipped 1" in first.output
    assert "skipped    1" in runner.invoke(main, ["stats", "--db", str(db_path)]).output
    second = runner.invoke(main, ["ingest", str(table), "--text-field", "body", "--db", str(db_path), "-q"])
    assert second.exit_code == 0 and "ingested 2" in second.output
    stats = runner.invoke(main, ["stats", "--db", str(db_path)]).output
    assert "articles   2" in stats and "skipped    0" in stats

    runner.invoke(main, ["ingest", str(table), "--db", str(db_path), "-q"])  # the wrong field again: skipped again
    assert "skipped    1" in runner.invoke(main, ["stats", "--db", str(db_path)]).output
    third = runner.invoke(main, ["ingest", str(table), "--text-field", "body", "--db", str(db_path), "-q"])
    assert "unchanged 2" in third.output
    assert "skipped    0" in runner.invoke(main, ["stats", "--db", str(db_path)]).output
