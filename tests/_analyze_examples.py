"""Run the analysis stages once per test session over the bundled examples (shared by the stage tests)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from crosscheck.analyze.pipeline import Document, Pipeline, build_pipeline
from crosscheck.article import Article

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
STAGES = ("parse", "entities", "quantities", "dates")


@lru_cache(maxsize=1)
def pipeline() -> Pipeline:
    return build_pipeline(list(STAGES), dates={"reference_year": 2026})


@lru_cache(maxsize=16)
def analyzed(name: str, published: str | None = None) -> Document:
    """The example ``name`` (file stem) through parse, entities, quantities and dates."""
    text = (EXAMPLES / f"{name}.txt").read_text("utf-8")
    return analyze_text(text, published=published)


def analyze_text(text: str, *, published: str | None = None) -> Document:
    doc = Document(article=Article(raw=text, origin="test", text=text, published=published))
    pipeline()([doc])
    return doc
