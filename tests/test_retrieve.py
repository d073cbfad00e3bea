"""Hybrid retrieval: pure scoring functions and the retriever over a small index."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import Config
from rag.index import Index
from rag.retrieve import (
    Retriever,
    check_mode,
    dense_scores,
    ranking,
    reciprocal_rank_fusion,
    top_rows,
)


def _retriever(docs, embedder, **config):
    cfg = Config(**config)
    passages = [p for d in docs for p in d.paragraphs]
    return Retriever(Index.build(docs, passages, embedder, cfg), embedder, cfg)


def test_rrf_known_values():
    # candidate 0 ranked 1st by A and 2nd by B; candidate 1 the reverse; 2 only 3rd by A
    fused = reciprocal_rank_fusion([np.array([0, 1, 2]), np.array([1, 0])], [1.0, 1.0], k=60, n=3)
    assert fused[0] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 63)
    weighted = reciprocal_rank_fusion([np.array([0, 1]), np.array([1, 0])], [1.0, 2.0], k=1, n=2)
    assert weighted[1] > weighted[0]


def test_ranking_and_top_rows_are_deterministic_on_ties():
    scores = np.array([0.5, 0.9, 0.5, 0.1])
    assert ranking(scores).tolist() == [1, 0, 2, 3]
    assert top_rows(scores, 3).tolist() == [1, 0, 2]
    assert top_rows(scores, 10).tolist() == [1, 0, 2, 3]
    assert top_rows(scores, 0).tolist() == []


def test_dense_score_rewards_the_best_sentence():
    q = np.array([1.0, 0.0])
    passages = np.array([[0.6, 0.8], [0.7, 0.714]], dtype=np.float32)
    # passage 0 holds a sentence pointing exactly at the query; passage 1 does not
    sentences = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.714]], dtype=np.float32)
    start, stop = np.array([0, 2]), np.array([2, 3])
    scores, best = dense_scores(q, np.array([0, 1]), passages, sentences, start, stop, sentence_weight=0.5)
    assert best.tolist() == [0, 2]
    assert scores[0] == pytest.approx(0.5 * 0.6 + 0.5 * 1.0)
    assert scores[0] > scores[1]
    only_whole, _ = dense_scores(q, np.array([0, 1]), passages, sentences, start, stop, sentence_weight=0.0)
    assert only_whole[1] > only_whole[0]


def test_bad_mode_and_k(small_docs, hash_embedder):
    with pytest.raises(ValueError, match="allowed: hybrid, dense, bm25"):
        check_mode("fuzzy")
    r = _retriever(small_docs, hash_embedder)
    with pytest.raises(ValueError, match="k must be at least 1"):
        r.search("Lyon", k=0)
    with pytest.raises(ValueError, match="empty"):
        r.search("   ")


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_finds_the_answering_paragraph(small_docs, hash_embedder, mode):
    r = _retriever(small_docs, hash_embedder)
    hits = r.search("Quand commencent les vendanges à Bordeaux ?", k=3, mode=mode)
    assert hits[0].passage.id == "a:p2"
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].best_sentence == "Les vendanges commencent en septembre."
    assert all(hits[i].score >= hits[i + 1].score for i in range(len(hits) - 1))
    d = hits[0].to_dict()
    assert set(d) == {"rank", "passage_id", "doc_id", "paragraph", "section", "text",
                      "best_sentence", "score", "dense_score", "bm25_score", "rerank_score"}
    assert d["doc_id"] == "a" and d["paragraph"] == 2
    assert d["rerank_score"] is None  # no reranker: the fused order stands


def test_hybrid_uses_both_signals(small_docs, hash_embedder):
    r = _retriever(small_docs, hash_embedder)
    hit = r.search("glacier Rhône", k=1)[0]
    assert hit.passage.id == "b:p1"
    assert hit.dense_score > 0 and hit.bm25_score > 0


def test_k_larger_than_corpus(small_docs, hash_embedder):
    r = _retriever(small_docs, hash_embedder)
    assert len(r.search("Lyon", k=50, mode="dense")) == 5


def test_zscore_fusion_keeps_a_clear_dense_leader():
    from rag.retrieve import zscore_fusion

    dense = np.array([0.9, 0.5, 0.5, 0.5])
    bm25 = np.array([0.0, 3.0, 0.0, 0.0])  # BM25 prefers another candidate, weakly weighted
    fused = zscore_fusion(dense, bm25, 0.2)
    assert int(np.argmax(fused)) == 0
    assert fused[1] > fused[2]  # BM25 still breaks the tie among the rest
    assert np.allclose(zscore_fusion(np.ones(3), np.ones(3), 1.0), 0.0)  # no spread, no signal


def test_config_rejects_unknown_fusion():
    with pytest.raises(ValueError, match="allowed: zscore, rrf"):
        Config().with_(fusion="max")
