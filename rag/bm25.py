"""BM25 scores read from a saved bm25s index, without importing bm25s.

bm25s builds the index (`rag.index`) and saves it as a sparse matrix of
precomputed per-term, per-document scores in CSC form (`data`, `indices`,
`indptr` .npy files), with its vocabulary and parameters as JSON. Scoring a
query is then a sum of the columns of its terms, which numpy does alone:
importing bm25s pulls in numba and scipy (0.3-0.6 s), most of the cold start
of `renvoi ask`. Large arrays are memory-mapped, so a big index need not sit in
memory whole (loading it still checksums every file once).

`SavedBM25` keeps the two members of `bm25s.BM25` that retrieval uses,
`vocab_dict` and `get_scores`, with the same results (float32 sums in the
same order), and adds `top_k`. It handles the methods whose scores are all in
the matrix ("lucene", "robertson", "atire"); an index of another method is
refused. This module does not build indexes or tokenize text.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# Methods of bm25s whose every score lives in the sparse matrix (BM25L and
# BM25+ add a per-term score for documents that lack the term).
METHODS = ("lucene", "robertson", "atire")
# Arrays over this size are memory-mapped rather than read.
MMAP_BYTES = 64 << 20
_FILES = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy")


def load_array(path: Path, mmap: bool | None = None) -> np.ndarray:
    """An .npy array; `mmap` None: memory-mapped when over MMAP_BYTES (a query reads only its rows)."""
    big = Path(path).stat().st_size > MMAP_BYTES if mmap is None else mmap
    return np.load(path, mmap_mode="r" if big else None, allow_pickle=False)


class SavedBM25:
    """A loaded bm25s score matrix (state: the arrays and the vocabulary)."""

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                 vocab_dict: dict[str, int], num_docs: int, params: dict):
        if len(data) != len(indices) or (len(indptr) and int(indptr[-1]) != len(data)):
            raise ValueError("BM25 index arrays do not match each other")
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.vocab_dict = vocab_dict
        self.num_docs = num_docs
        self.params = params

    @classmethod
    def load(cls, folder: Path, mmap: bool | None = None) -> "SavedBM25":
        """Read a folder written by `bm25s.BM25.save`; `mmap` None: map the large arrays."""
        folder = Path(folder)
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        if not isinstance(params, dict) or not isinstance(vocab, dict):
            raise ValueError("BM25 parameters or vocabulary are not JSON objects")
        method = params.get("method", "lucene")
        if method not in METHODS:
            raise ValueError(f"BM25 method {method!r} is not supported here; supported: {', '.join(METHODS)}")
        arrays = [load_array(folder / name, mmap) for name in _FILES]
        num_docs = int(params.get("num_docs", 0))
        return cls(*arrays, vocab_dict=vocab, num_docs=num_docs, params=params)

    def get_scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every document for a list of terms (unknown terms ignored; repeats count)."""
        if not isinstance(query_tokens, list):
            raise ValueError(f"query_tokens must be a list of terms, got {type(query_tokens).__name__}")
        # bm25s lists the empty term in its vocabulary without a column: ids past the
        # last column score nothing.
        ids = [i for i in (self.vocab_dict.get(t, -1) for t in query_tokens) if 0 <= i < len(self.indptr) - 1]
        scores = np.zeros(self.num_docs, dtype=np.float32)
        if not ids:
            return scores
        starts, ends = self.indptr[ids], self.indptr[np.asarray(ids) + 1]
        rows = np.concatenate([self.indices[a:b] for a, b in zip(starts, ends)])
        values = np.concatenate([self.data[a:b] for a, b in zip(starts, ends)])
        # np.add.at sums in float32 in posting order, as bm25s does: same scores, same ties.
        np.add.at(scores, rows, values.astype(np.float32, copy=False))
        return scores

    def top_k(self, query_tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(documents, scores) of the k best documents, best first; only documents with a positive score."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        scores = self.get_scores(query_tokens)
        hit = np.flatnonzero(scores > 0)
        if len(hit) > k:
            hit = hit[np.argpartition(-scores[hit], k - 1)[:k]]
        order = hit[np.lexsort((hit, -scores[hit]))]
        return order, scores[order]

    def save(self, folder: str | Path, show_progress: bool = False) -> None:
        """Write the same files `bm25s.BM25.save` does (so a loaded index can be saved again)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in zip(_FILES, (self.data, self.indices, self.indptr)):
            np.save(folder / name, np.asarray(array))
        (folder / "vocab.index.json").write_text(json.dumps(self.vocab_dict, ensure_ascii=False), encoding="utf-8")
        (folder / "params.index.json").write_text(json.dumps(self.params, indent=4), encoding="utf-8")
