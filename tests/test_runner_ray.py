"""The Ray runner: the same store (and export) as the local runner, failures isolated, a killed worker's batch redone,
and clear errors when Ray is missing or misused. One Ray session for the module (starting Ray takes seconds)."""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner

from _faulty_stages import KILL, KILL_FLAG, RAISE
from crosscheck import Store, open_store
from crosscheck.article import Article
from crosscheck.cli import main
from crosscheck.corpus import link_corpus
from crosscheck.export import export
from crosscheck.ingest import ingest
from crosscheck.runners.local import analyze_store

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
QUICK = ["parse", "entities", "quantities", "dates"]
#: Every stage but claim_vectors: linking then embeds the claims itself.
NO_VECTORS = ["parse", "entities", "quantities", "dates", "attribution", "claims"]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A local Ray with 2 CPUs whose workers know the test stages; yields the kill-once flag file's path."""
    ray = pytest.importorskip("ray")
    flag = tmp_path_factory.mktemp("ray") / "killed"
    paths = [str(TESTS), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
        runtime_env={
            "env_vars": {"PYTHONPATH": os.pathsep.join(p for p in paths if p), KILL_FLAG: str(flag)},
            "worker_process_setup_hook": "_faulty_stages.register",
        },
    )
    yield flag
    ray.shutdown()


def _jsonl(path: Path) -> str:
    out = io.StringIO()
    with open_store(path) as store:
        export(store, "jsonl", out)
    return out.getvalue()


def _add(store: Store, texts: list[str]) -> list[str]:
    ids = []
    for n, text in enumerate(texts):
        article = Article(raw=text, origin=f"t{n}.txt", text=text, language="en")
        store.add_article(article)
        ids.append(article.id)
    return ids


@pytest.mark.slow
def test_ray_gives_the_local_runners_export_on_the_examples(
    ray_cluster: Path, linked_db: Path, examples_dir: Path, tmp_path: Path
) -> None:
    from crosscheck.runners.ray import analyze_store_ray

    path = tmp_path / "ray.db"
    with open_store(path) as store:
        ingest([str(examples_dir)], store)
        assert analyze_store_ray(store) == 3
        assert store.failures() == []
        link_corpus(store)
    got, expected = _jsonl(path), _jsonl(linked_db)
    assert got == expected
    assert '"relation": "contradicts"' in got  # the examples' disagreeing figures, found from Ray's analyses


@pytest.mark.slow
def test_a_failing_article_is_recorded_and_the_batch_goes_on(ray_cluster: Path, tmp_path: Path) -> None:
    from crosscheck.runners.ray import analyze_store_ray

    texts = [(ROOT / "examples" / name).read_text("utf-8") for name in sorted(os.listdir(ROOT / "examples"))]
    with open_store(tmp_path / "faulty.db") as store:
        ids = _add(store, [texts[0], texts[1] + f"\n{RAISE}", texts[2]])
        assert analyze_store_ray(store, stages=["parse", "test-faulty"], batch_size=3) == 3
        assert {a.id: a.status for a in store.articles()} == {ids[0]: "analyzed", ids[1]: "failed", ids[2]: "analyzed"}
        [(failed, reason)] = store.failures()
        assert failed == ids[1] and "stage 'test-faulty' raised ValueError: cannot handle this article" in reason


def _dispatches(n: int, kill_at: int | None = None) -> list[str]:
    base = (ROOT / "examples" / "kherson-liberated.txt").read_text("utf-8")
    return [
        f"{base}\n\nDispatch {i} from sector {i * 7 % 31}." + (f" {KILL}" if i == kill_at else "") for i in range(n)
    ]


@pytest.mark.slow
def test_a_killed_worker_loses_only_its_batch_which_ray_redoes(ray_cluster: Path, tmp_path: Path) -> None:
    from crosscheck.runners.ray import analyze_store_ray

    stages = ["parse", "entities", "test-faulty"]
    ray_cluster.unlink(missing_ok=True)
    with open_store(tmp_path / "ray.db") as store:
        _add(store, _dispatches(8, kill_at=5))
        assert analyze_store_ray(store, stages=stages, batch_size=2) == 8
        assert ray_cluster.exists(), "no worker was killed: the test proves nothing"
        assert store.failures() == [] and store.stats()["analyzed"] == 8
    with open_store(tmp_path / "local.db") as store:  # the flag is set: nothing is killed here
        _add(store, _dispatches(8, kill_at=5))
        analyze_store(store, stages=stages, workers=1)
    assert _jsonl(tmp_path / "ray.db") == _jsonl(tmp_path / "local.db")


@pytest.mark.slow
def test_link_on_ray_embeds_the_claims_the_analysis_left_without_vectors(
    ray_cluster: Path, examples_dir: Path, tmp_path: Path
) -> None:
    from crosscheck.runners.ray import embed_claims_ray

    first = tmp_path / "local.db"
    with open_store(first) as store:
        ingest([str(examples_dir)], store)
        analyze_store(store, stages=NO_VECTORS, workers=1)
        assert store.claim_vectors()[0] == []
    (tmp_path / "ray.db").write_bytes(first.read_bytes())
    with open_store(first) as store:
        local = link_corpus(store)
    with open_store(tmp_path / "ray.db") as store:
        on_ray = link_corpus(store, embedder=partial(embed_claims_ray))
        claims = store.stats()["claims"]
    assert local.links.embedded == on_ray.links.embedded == claims > 0
    assert sum(on_ray.links.links.values()) > 0  # the examples' claims are linked once they have vectors
    assert _jsonl(tmp_path / "ray.db") == _jsonl(first)


@pytest.mark.slow
def test_the_cli_runs_analyze_on_ray(ray_cluster: Path, examples_dir: Path, db_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", str(examples_dir), "--db", str(db_path), "-q"]).exit_code == 0
    result = runner.invoke(
        main, ["analyze", "--db", str(db_path), "--runner", "ray", "--stages", ",".join(QUICK), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "analysed 3 of 3 articles with parse, entities, quantities, dates" in result.output


def test_without_ray_the_ray_runner_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, examples_dir: Path, db_path: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", str(examples_dir), "--db", str(db_path), "-q"]).exit_code == 0
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    for command in ("analyze", "link"):
        result = runner.invoke(main, [command, "--db", str(db_path), "--runner", "ray", "-q"])
        assert result.exit_code == 1
        assert "[E110]" in result.output and "pip install 'crosscheck[ray]'" in result.output
    with open_store(db_path) as store:
        assert store.stats()["analyzed"] == 0


def test_an_address_needs_the_ray_runner(examples_dir: Path, db_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["ingest", str(examples_dir), "--db", str(db_path), "-q"])
    for command in ("analyze", "link"):
        result = runner.invoke(main, [command, "--db", str(db_path), "--address", "head:6379", "-q"])
        assert result.exit_code == 1 and "[E111] --address is for the Ray runner" in result.output


def test_the_ray_runner_needs_a_database_file(store: Store) -> None:
    pytest.importorskip("ray")
    from crosscheck.errors import RunnerError
    from crosscheck.runners.ray import analyze_store_ray

    with pytest.raises(RunnerError) as caught:
        analyze_store_ray(store, stages=QUICK)
    assert caught.value.code == "E113"
