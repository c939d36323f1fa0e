"""Claim linking on the examples: the known contradiction, corroboration and cross-article links, and `check`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from crosscheck import open_store
from crosscheck.cli import main
from crosscheck.corpus.check import check, read_claims_file
from crosscheck.corpus.compare import compare_numbers, compare_polarity, interval
from crosscheck.corpus.link import LINK_VERSION, ClaimIndex, link_store
from crosscheck.errors import InputError

KHERSON_LIBERATED = "99d9b01e0b8547ac"
KHARKIV = "37c0afe1aa0f3acc"
RABBIT = "0dea36b8dd20e3cb"

pytestmark = pytest.mark.slow


def _decided(db: Path) -> list[dict[str, object]]:
    with open_store(db, create=False) as store:
        out = []
        for link in store.decided_links(limit=50):
            rows = store.claim_rows([link.claim, link.other_claim])
            out.append(
                {
                    "relation": link.relation,
                    "reason": link.reason,
                    "texts": {rows[link.claim].text, rows[link.other_claim].text},
                    "articles": {link.article_id, link.other_article},
                }
            )
        return out


def test_the_kharkiv_area_figures_contradict_with_both_sources_named(linked_db: Path) -> None:
    [found] = [d for d in _decided(linked_db) if "2,500 km²" in str(d["reason"])]
    assert found["relation"] == "contradicts"
    assert "6,000 km²" in str(found["reason"]) and "same area" in str(found["reason"])
    assert "A conservative estimate" in str(found["reason"])
    assert "Deputy Defense Minister" in str(found["reason"])


def test_more_than_200_and_201_soldiers_corroborate(linked_db: Path) -> None:
    [found] = [d for d in _decided(linked_db) if "201" in str(d["reason"])]
    assert found["relation"] == "corroborates"
    assert "more than 200" in str(found["reason"]) and "agree" in str(found["reason"])


def test_kherson_claims_are_linked_across_the_two_kherson_articles(linked_db: Path) -> None:
    with open_store(linked_db, create=False) as store:
        links = store.links(KHERSON_LIBERATED)
        across = [item for item in links if item["other_article"] == RABBIT]
        assert across, links
        texts = store.claim_rows(x for item in across for x in (item["claim"], item["other_claim"]))
        assert all(
            "Kherson" in texts[item["claim"]].text or "Kherson" in texts[item["other_claim"]].text for item in across
        )
        # Each link is stored from both sides, with the same cluster on both.
        back = store.links(RABBIT)
        assert {(i["other_claim"], i["claim"]) for i in across} <= {(i["claim"], i["other_claim"]) for i in back}
        assert {i["cluster"] for i in across} == {i["cluster"] for i in back if i["other_article"] == KHERSON_LIBERATED}


def test_check_lists_the_kherson_articles(linked_db: Path) -> None:
    with open_store(linked_db, create=False) as store:
        results = check(store, "Russian troops fled Kherson")
    articles = {r.article for r in results}
    assert {KHERSON_LIBERATED, RABBIT} <= articles
    assert KHARKIV not in articles  # about Kharkiv: it names no Kherson
    for r in results:
        assert r.relation in ("corroborates", "contradicts", "discusses") and r.reason
        assert r.evidence["text"] and r.evidence["end"] > r.evidence["start"]


def test_check_a_figure_against_the_stored_ones(linked_db: Path) -> None:
    with open_store(linked_db, create=False) as store:
        results = check(store, "Ukraine recaptured 6,000 square kilometres around Kharkiv")
    [result] = [r for r in results if r.article == KHARKIV]
    assert result.relation == "contradicts"
    assert "6,000 km² vs 2,500 km²" in result.reason


def test_check_command_jsonl_follows_the_contract(linked_db: Path, tmp_path: Path) -> None:
    claims = tmp_path / "claims.csv"
    claims.write_text("claim,note\nRussian troops fled Kherson,x\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--claims", str(claims), "--db", str(linked_db), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert lines
    for line in lines:
        assert set(line) >= {
            "claim",
            "article",
            "url",
            "outlet",
            "published",
            "relation",
            "score",
            "evidence",
            "reason",
        }
        assert set(line["evidence"]) == {"claim_id", "start", "end", "text"}


def test_linking_again_does_nothing_and_export_carries_links(linked_db: Path) -> None:
    with open_store(linked_db, create=False) as store:
        assert store.due_for_linking(LINK_VERSION) == []
        assert link_store(store).articles == 0
    result = CliRunner().invoke(main, ["export", "--db", str(linked_db)])
    records = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    kharkiv = next(r for r in records if r["id"] == KHARKIV)
    claim_ids = {c["id"] for r in records for c in r["claims"]}
    for item in kharkiv["links"]:
        assert set(item) >= {"claim", "cluster", "relation", "other_article", "other_claim", "reason", "score"}
        assert item["claim"] in claim_ids and item["other_claim"] in claim_ids


def test_re_analysis_removes_links_and_makes_the_article_due(linked_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(linked_db.read_bytes())
    with open_store(copy) as store:
        before = store.links(KHARKIV)
        assert before
        analysis = store.analysis(KHARKIV)
        assert analysis is not None
        store.save_analysis(KHARKIV, ["parse"], "other", {**analysis, "claims": analysis["claims"][:1]})
        assert store.links(KHARKIV) == []  # the claims were replaced: their links went with them (foreign keys)
        assert KHARKIV in store.due_for_linking(LINK_VERSION)
        orphans = store.conn.execute(
            "SELECT count(*) FROM links WHERE claim NOT IN (SELECT id FROM claims) "
            "OR other_claim NOT IN (SELECT id FROM claims)"
        ).fetchone()[0]
        assert orphans == 0


def test_numbers_with_qualifiers() -> None:
    soldiers = {"unit": "people", "counted": "Russian soldiers"}
    more_than_200 = {**soldiers, "value": 200.0, "qualifier": "more than"}
    exactly_201 = {**soldiers, "value": 201.0, "qualifier": None}
    assert interval(more_than_200)[0] > 200 and interval(exactly_201) == pytest.approx((194.97, 207.03))
    agree = compare_numbers([more_than_200], [exactly_201])
    assert agree is not None and agree.relation == "corroborates"
    fewer = compare_numbers([{**soldiers, "value": 150.0, "qualifier": "about"}], [more_than_200])
    assert fewer is not None and fewer.relation == "contradicts"
    area = {"unit": "km²", "counted": "area"}
    small, large = {**area, "value": 2500.0}, {**area, "value": 6000.0, "qualifier": "closer to"}
    assert compare_numbers([small], [large]).relation == "contradicts"  # type: ignore[union-attr]
    later = compare_numbers([small], [large], "2022-09-08", "2022-09-20")
    assert later is not None and later.relation == "related" and "12 days apart" in later.reason
    assert compare_numbers([small], [{"unit": "people", "counted": "soldiers", "value": 2500.0}]) is None


def test_a_claim_and_its_denial_contradict() -> None:
    verdict = compare_polarity(
        "Russian troops fled Kherson.", "The Russian defence ministry denied that its troops fled Kherson."
    )
    assert verdict is not None and verdict.relation == "contradicts" and "denied" in verdict.reason
    assert compare_polarity("Russian troops fled Kherson.", "Russian soldiers left Kherson in haste.") is None


def test_claims_files(tmp_path: Path) -> None:
    lines = tmp_path / "claims.txt"
    lines.write_text("Russian troops fled Kherson\n\nUkraine recaptured Izium\n", encoding="utf-8")
    assert read_claims_file(str(lines)) == ["Russian troops fled Kherson", "Ukraine recaptured Izium"]
    jsonl = tmp_path / "claims.jsonl"
    jsonl.write_text('{"claim": "Kherson was liberated"}\n{"other": 1}\n', encoding="utf-8")
    assert read_claims_file(str(jsonl)) == ["Kherson was liberated"]
    empty = tmp_path / "empty.csv"
    empty.write_text("claim\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="E090"):
        read_claims_file(str(empty))


def test_claims_command_filters_clusters(linked_db: Path) -> None:
    def run(*args: str) -> list[dict[str, object]]:
        result = CliRunner().invoke(main, ["claims", "--db", str(linked_db), "--json", *args])
        assert result.exit_code == 0, result.output
        return [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]

    everything = run()
    assert len(everything) >= 2
    contradictions = run("--relation", "contradicts")
    assert contradictions and all("contradicts" in c["relations"] for c in contradictions)  # type: ignore[operator]
    assert any("2,500" in str(c["links"]) for c in contradictions)
    by_source = run("--source", "Deputy Defense Minister")
    assert by_source and all(
        any("Deputy Defense Minister" in str(x["source"]) for x in c["claims"])  # type: ignore[attr-defined]
        for c in by_source
    )
    assert run("--place", "Odesa", "--relation", "contradicts") == []


def test_timeline_json_for_the_dashboard(linked_db: Path) -> None:
    result = CliRunner().invoke(main, ["timeline", "--db", str(linked_db), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"events", "per_day", "narratives"}
    days = [e["day"] for e in data["events"]]
    assert days == sorted(days) and sum(data["per_day"].values()) == len(days)
    assert "2022-08-31" in data["per_day"]  # "Wednesday, August 31" in the rabbit video article
    assert all({"name", "lat", "lon", "kind"} <= set(p) for e in data["events"] for p in e["places"])


def test_copies_of_a_vector_are_indexed_once_and_each_found() -> None:
    rng = np.random.default_rng(5)
    distinct = rng.normal(size=(40, 16)).astype(np.float32)
    distinct /= np.linalg.norm(distinct, axis=1, keepdims=True)
    # Row 3's vector printed by five outlets, row 7's by three, scattered through storage order.
    copies = [*range(40), 3, 7, 3, 3, 7, 3]
    index = ClaimIndex(distinct[copies])
    assert (index.size, index.unique) == (46, 40)
    sims, rows = index.search(distinct[[3, 7, 11]], 4)
    # The copies come first, in storage order, then the next nearest vector.
    assert rows[0].tolist()[:4] == [3, 40, 42, 43]
    assert rows[1].tolist()[:3] == [7, 41, 44]
    assert rows[2].tolist()[0] == 11
    assert np.allclose(sims[0], 1.0, atol=1e-5) and sims[1][3] < 0.999
    # Without copies, the index is a plain nearest-neighbour search.
    flat = ClaimIndex(distinct)
    assert flat.unique == flat.size == 40
    expected = np.argsort(-(distinct[:5] @ distinct.T), axis=1, kind="stable")[:, :3]
    assert flat.search(distinct[:5], 3)[1].tolist() == expected.tolist()
