"""The local runner: analyses new or changed articles only, in one process or a pool, and stores the results."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck import __version__, open_store
from crosscheck.ingest import ingest
from crosscheck.runners.local import analyze_store

STAGES = ["parse", "entities", "quantities", "dates"]


def test_analyze_once_then_only_what_changed(examples_dir: Path, db_path: Path) -> None:
    with open_store(db_path) as store:
        ingest([str(examples_dir)], store)
        assert analyze_store(store, stages=STAGES, workers=1) == 3
        assert analyze_store(store, stages=STAGES, workers=1) == 0  # nothing new
        assert store.needs_analysis(STAGES, __version__) == []
        # Another stage list makes every article due again.
        assert len(store.needs_analysis([*STAGES, "attribution"], __version__)) == 3
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
