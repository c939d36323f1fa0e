"""The ``claim_vectors`` stage: a sentence embedding of each claim, for linking claims across articles.

The vectors come from the shipped sentence encoder (:mod:`crosscheck.corpus.embed`, all-MiniLM-L6-v2); they are
stored beside the claims (not exported) and feed the nearest-neighbour index of ``crosscheck link``. The encoder's
lower layers are the trunk the check-worthiness model shares, so after the claims stage only its upper three layers
run for each claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from .pipeline import Document, Layer, register_stage

#: Recorded with every vector, so vectors of another encoder are never compared with these.
ENCODER = "sentence-encoder/all-MiniLM-L6-v2"


@register_stage("claim_vectors")
class ClaimVectorsStage:
    name: ClassVar[str] = "claim_vectors"
    requires: ClassVar[tuple[str, ...]] = ("claims",)
    provides: ClassVar[tuple[str, ...]] = ("claim_vectors",)
    layers: ClassVar[tuple[Layer, ...]] = (
        Layer(
            "claim_vectors", many=False, internal=True, description="an embedding of each claim (stored, not exported)"
        ),
    )

    def __init__(self) -> None:
        from ..corpus.embed import load_encoder

        self.model = load_encoder()

    def __call__(self, docs: Sequence[Document]) -> None:
        from ..corpus.embed import embed

        texts = [c.text for d in docs for c in d.claims]
        vectors = embed(texts, model=self.model)
        row = 0
        for d in docs:
            by_claim = {}
            for claim in d.claims:
                by_claim[claim.id] = vectors[row]
                row += 1
            d.layers["claim_vectors"] = {"model": ENCODER, "vectors": by_claim}
