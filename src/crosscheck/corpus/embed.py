"""Sentence embeddings for claim linking: all-MiniLM-L6-v2 (``models/sentence-encoder``), int8 weights on onnxruntime.

The model is split in two: its embeddings and first three layers are the shared encoder trunk
(``models/encoder-trunk``), which the check-worthiness model reads too, and ``models/sentence-encoder`` holds the
upper three layers, the mean pooling over the word pieces and the L2 normalisation, so a row of :func:`embed` is the
sentence-transformers embedding of the text (cosine = dot product). A claim scored by the claims stage is embedded
from the trunk's cached hidden states of that pass: only the upper layers run again. Texts are encoded in unpadded
batches of texts with the same token length, and the pooling is a batched matrix product
(``training/quantize_weights.py``), which computes every text's sum alone, so a vector is the one its text gets
alone, whatever it is encoded with. A text encoded before in this process comes from the model's cache
(:meth:`~crosscheck.models.runtime.OnnxModel.rows`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..models.runtime import OnnxModel, load_onnx_model

#: Width of the embeddings (also ``dimensions`` in the model's config.json).
DIMENSIONS = 384
#: Texts per batch at most (texts of the same token length, unpadded).
BATCH_SIZE = 32


def load_encoder(name: str = "sentence-encoder") -> OnnxModel:
    """The shipped sentence encoder (or a model folder with the same files)."""
    return load_onnx_model(name)


def embed(texts: Sequence[str], *, model: OnnxModel | None = None) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text, shape ``(len(texts), 384)``."""
    model = model or load_encoder()
    out = np.zeros((len(texts), int(model.config.get("dimensions", DIMENSIONS))), dtype=np.float32)
    for i, (outputs, _) in enumerate(model.rows(texts, batch_size=BATCH_SIZE)):
        out[i] = np.asarray(outputs[0], dtype=np.float32)
    return out
