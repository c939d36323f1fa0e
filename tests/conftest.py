"""Shared fixtures: the bundled examples, stores, the labelled corpora (tests needing them skip without them)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from crosscheck import Store, open_store

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DATASETS = Path(os.environ.get("CROSSCHECK_DATASETS", ROOT.parent / "shared" / "datasets"))
EXAMPLE_NAMES = ("kherson-liberated.txt", "kharkiv-stunning-defeat.txt", "kherson-run-rabbit-run-video.txt")


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture
def example_texts() -> dict[str, str]:
    return {name: (EXAMPLES / name).read_text("utf-8") for name in EXAMPLE_NAMES}


@pytest.fixture
def store() -> Iterator[Store]:
    with open_store(":memory:") as s:
        yield s


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "crosscheck.db"


@pytest.fixture
def no_model_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shipped models keep no outputs between calls: a test that scores a text twice gets it computed twice."""
    from crosscheck.analyze.claims import load_checkworthiness
    from crosscheck.analyze.techniques import load_technique_model
    from crosscheck.corpus.embed import load_encoder

    encoder = load_encoder()
    models = (load_checkworthiness(), load_technique_model().si, load_technique_model().tc, encoder, encoder.trunk)
    for model in models:
        if model is None:
            continue
        model.clear_cache()
        monkeypatch.setattr(model, "cache_size", 0)
    yield
    for model in models:
        if model is not None:
            model.clear_cache()  # the byte count of what was cached before is gone with it


def datasets_or_skip(name: str) -> Path:
    """The path of a shared dataset, or skip the test when the corpora are not beside the checkout."""
    path = DATASETS / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture(scope="session")
def linked_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three examples ingested, analysed with every stage and linked, once per test session (read-only use)."""
    from crosscheck.corpus import link_corpus
    from crosscheck.ingest import ingest
    from crosscheck.runners.local import analyze_store

    path = tmp_path_factory.mktemp("linked") / "examples.db"
    with open_store(path) as s:
        ingest([str(EXAMPLES)], s)
        analyze_store(s, workers=1)
        link_corpus(s)
    return path
