"""Tests of rag/bm25.py: a saved bm25s index scored without importing bm25s."""

from __future__ import annotations

import numpy as np
import pytest

from rag.bm25 import SavedBM25



def test_saved_bm25_scores_like_bm25s(tmp_path):
    import bm25s

    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(300)]
    corpus = [[str(w) for w in rng.choice(words, rng.integers(1, 40))] for _ in range(500)]
    model = bm25s.BM25()
    model.index(corpus, show_progress=False)
    model.save(str(tmp_path / "bm25"), show_progress=False)
    saved = SavedBM25.load(tmp_path / "bm25", mmap=True)
    for _ in range(50):
        query = [str(w) for w in rng.choice(words, 4)] + ["unknown-term"]
        np.testing.assert_array_equal(saved.get_scores(query), model.get_scores(query))
    docs, scores = saved.top_k(["w1", "w2"], 5)
    full = saved.get_scores(["w1", "w2"])
    assert list(scores) == sorted(full, reverse=True)[:5]
    assert all(full[d] == s for d, s in zip(docs, scores))
    assert len(saved.get_scores([])) == 500 and not saved.get_scores(["nothing"]).any()


def test_saved_bm25_refuses_methods_it_cannot_score(tmp_path):
    import bm25s

    model = bm25s.BM25(method="bm25+")
    model.index([["a", "b"], ["b", "c"]], show_progress=False)
    model.save(str(tmp_path / "bm25"), show_progress=False)
    with pytest.raises(ValueError, match="BM25 method 'bm25\\+' is not supported"):
        SavedBM25.load(tmp_path / "bm25")
