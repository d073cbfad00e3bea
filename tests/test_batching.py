"""rag.batching: questions asked at once are embedded together only where that changes no vector."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from conftest import HashEmbedder
from rag.batching import QueryBatcher, batch_invariant

QUESTIONS = [f"Question {i} sur le glacier du Rhône et les trains de nuit numéro {i}" for i in range(24)]


class SlowEmbedder(HashEmbedder):
    """A hashing embedder that takes a while per call and records the batch sizes it saw."""

    def __init__(self):
        super().__init__()
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def embed_queries(self, texts):
        with self.lock:
            self.sizes.append(len(texts))
        threading.Event().wait(0.02)
        return super().embed_queries(texts)


class BatchDependent(HashEmbedder):
    """Like an int8 model quantized per batch: a vector depends on the batch it is in."""

    def embed_queries(self, texts):
        v = super().embed_queries(texts) + 0.01 * len(texts)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


class Failing(HashEmbedder):
    def embed_queries(self, texts):
        if any("boom" in t for t in texts):
            raise ValueError("cannot embed 'boom'")
        return super().embed_queries(texts)


def test_batch_invariance_is_told_from_the_vectors():
    assert batch_invariant(HashEmbedder())
    assert not batch_invariant(BatchDependent())


def test_concurrent_questions_are_embedded_in_small_batches_with_the_vectors_they_get_alone():
    inner = SlowEmbedder()
    batcher = QueryBatcher(inner, max_batch=4, wait_ms=5)
    try:
        inner.sizes.clear()  # the probes of batch_invariant
        with ThreadPoolExecutor(max_workers=12) as pool:
            got = list(pool.map(lambda q: batcher.embed_queries([q]), QUESTIONS))
    finally:
        batcher.close()
    alone = [HashEmbedder().embed_queries([q]) for q in QUESTIONS]
    for g, a in zip(got, alone):
        np.testing.assert_array_equal(g, a)
    assert sum(inner.sizes) == len(QUESTIONS)
    assert max(inner.sizes) > 1 and max(inner.sizes) <= 4
    assert len(inner.sizes) < len(QUESTIONS)


def test_an_embedder_that_depends_on_its_batch_embeds_each_question_alone():
    batcher = QueryBatcher(BatchDependent())
    assert not batcher.batched
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda q: batcher.embed_queries([q]), QUESTIONS))
    for q, g in zip(QUESTIONS, got):
        np.testing.assert_array_equal(g, BatchDependent().embed_queries([q]))


def test_a_question_that_fails_fails_alone():
    batcher = QueryBatcher(Failing(), max_batch=8, wait_ms=20)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(batcher.embed_queries, [q]) for q in ("glacier", "boom", "trains", "port")]
        with pytest.raises(ValueError, match="boom"):
            futures[1].result()
        for i in (0, 2, 3):
            assert futures[i].result().shape == (1, 64)
    finally:
        batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.embed_queries(["glacier"])


def test_the_batcher_speaks_for_its_embedder():
    batcher = QueryBatcher(HashEmbedder(dim=32), batched=False)
    assert batcher.model_id == HashEmbedder.model_id and batcher.dim == 32
    with pytest.raises(ValueError, match="max_batch"):
        QueryBatcher(HashEmbedder(), max_batch=0)
